#!/usr/bin/env bash
# rsplugins engine testbed: a real Icinga 2 and a real Nagios 4 on this machine, running our
# plugins from a directory of our choice, for tests/tests/engines.rs.
#
#   engines.sh start [--plugin-dir DIR] [--icinga2-defs PATH]... [--nagios-defs PATH]...
#   engines.sh reload [icinga2|nagios]     validate, reload, wait until the new config runs
#   engines.sh stop                        stop both, remove the env file
#   engines.sh status
#   engines.sh force icinga2|nagios SERVICE    force a check of SERVICE now
#   engines.sh result icinga2|nagios SERVICE   print its last result as the engine has it
#
# start (the default) installs icinga2 and nagios4-core when missing, writes a config tree of
# its own (never Debian's /etc/icinga2 or /etc/nagios4), and starts both engines detached (no
# systemd) or reloads them when their configuration changed. Idempotent and fast when nothing
# changed. Defaults: --plugin-dir is the workspace's target/debug; --icinga2-defs
# contrib/icinga2/*.conf and --nagios-defs contrib/nagios of this checkout (a PATH may end in a
# `*SUFFIX` file pattern; every matching file is included, also files that appear later, on
# the next reload). For the installed package: --plugin-dir /usr/lib/nagios/plugins and the
# installed definition files.
#
# Event handlers are on globally in both engines and off in the service template: a test's
# service that enables one runs it (tests/tests/healing_engines.rs); Nagios gives a handler 60 s.
#
# Loopback only: Icinga's REST API listens on 127.0.0.1:15665, Nagios has no listener. Both run
# checks as user nagios. Writes /etc/rsplugins-engines.env at the end (see README.md).
# Run as root on Debian 12 after tests/testbed/setup.sh (the tests also need its servers).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

ENG_ENV_FILE=/etc/rsplugins-engines.env
ENG_ROOT=/var/lib/rsplugins-engines
ENG_LOG_DIR=/var/log/rsplugins-engines
ENG_USER=nagios
ENG_HOST=localhost                       # host object name in both engines
ENG_TEMPLATE=rsplugins-test-service      # service template of both engines
# The daemons' environment, also what the tests give a plugin they run by hand.
ENG_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

I2=$ENG_ROOT/icinga2
I2_CONF=$I2/icinga2.conf
I2_OBJECTS=$I2/tests.d
I2_LOG=$ENG_LOG_DIR/icinga2.log
I2_ERRLOG=$ENG_LOG_DIR/icinga2-error.log
I2_STARTLOG=$ENG_LOG_DIR/icinga2-start.log
I2_PID=$I2/run/icinga2.pid
I2_API_PORT=15665
I2_API=https://127.0.0.1:$I2_API_PORT
I2_API_USER=rsplugins
I2_API_PASSWORD_FILE=$I2/api-password
I2_CA=$I2/data/certs/ca.crt
# Icinga's paths, all inside our tree (its defaults are Debian's instance's).
I2_DEFINES=(
  "-DConfiguration.DataDir=$I2/data" "-DConfiguration.CacheDir=$I2/cache"
  "-DConfiguration.LogDir=$ENG_LOG_DIR" "-DConfiguration.SpoolDir=$I2/spool"
  "-DConfiguration.InitRunDir=$I2/run" "-DConfiguration.PidPath=$I2_PID"
  "-DConfiguration.StatePath=$I2/data/icinga2.state"
  "-DConfiguration.ModAttrPath=$I2/data/modified-attributes.conf"
  "-DConfiguration.ObjectsPath=$I2/cache/icinga2.debug"
  "-DConfiguration.VarsPath=$I2/cache/icinga2.vars"
  "-DConfiguration.ZonesDir=$I2/zones.d"
)

NG=$ENG_ROOT/nagios4
NG_CONF=$NG/nagios.cfg
NG_OBJECTS=$NG/tests.d
NG_LOG=$ENG_LOG_DIR/nagios.log
NG_STARTLOG=$ENG_LOG_DIR/nagios-start.log
NG_PID=$NG/var/nagios.pid
NG_STATUS=$NG/var/status.dat
NG_CMD=$NG/var/rw/nagios.cmd
NG_DEFS=$NG/defs                         # the staged copies of our Nagios definitions
ENG_SETTINGS=$ENG_ROOT/settings          # what `start` was given; `reload` reuses it
INSTALLED_PLUGIN_DIR=/usr/lib/nagios/plugins

eng_log() { tb_log "engines: $*"; }

eng_die() { tb_fail engines "$ENG_ENV_FILE" "$@"; }
# expand PATH -- the definition files PATH names (see tb_expand).
expand() { tb_expand "$1" cfg conf; }

# stage_nagios_defs PLUGIN_DIR PATH... -- copy our Nagios definition files into $NG_DEFS, the
# directory nagios.cfg includes. Definitions that name our binaries by their installed path
# (/usr/lib/nagios/plugins/check_x_rs, as Debian's stock files name theirs) get $USER1$ instead
# when the plugins under test live elsewhere; that path is the only change.
stage_nagios_defs() {
  local plugin_dir=$1 p f dest
  shift
  install -d -m 0755 "$NG_DEFS"
  rm -f "$NG_DEFS"/*.cfg
  for p in "$@"; do
    while read -r f; do
      [ -n "$f" ] || continue
      dest=$NG_DEFS/$(basename "$f")
      [ -e "$dest" ] && dest=$NG_DEFS/$(basename "$(dirname "$f")")-$(basename "$f")
      case $dest in *.cfg) ;; *) dest=$dest.cfg ;; esac
      if [ "$plugin_dir" = "$INSTALLED_PLUGIN_DIR" ]; then
        cp "$f" "$dest"
      else
        # shellcheck disable=SC2016  # $USER1$ is Nagios's macro, written as is
        sed -E 's#'"$INSTALLED_PLUGIN_DIR"'/([A-Za-z0-9_]+_rs)([[:space:]]|$)#$USER1$/\1\2#g' "$f" >"$dest"
      fi
      chmod 0644 "$dest"
    done < <(expand "$p")
  done
}

# ---------------------------------------------------------------------------------------------
# Reading the engines
# ---------------------------------------------------------------------------------------------
i2_api() { # METHOD PATH [JSON]
  local pw
  pw=$(cat "$I2_API_PASSWORD_FILE")
  curl -sS --max-time 10 --cacert "$I2_CA" --resolve "localhost:$I2_API_PORT:127.0.0.1" \
    -u "$I2_API_USER:$pw" -H 'Accept: application/json' -X "$1" \
    "https://localhost:$I2_API_PORT$2" ${3:+-d "$3"}
}

i2_running() { tb_pidfile_pid "$I2_PID" >/dev/null 2>&1; }
ng_running() { tb_pidfile_pid "$NG_PID" >/dev/null 2>&1; }

# The start time of the configuration running now (changes on every reload).
i2_program_start() {
  i2_api GET /v1/status/IcingaApplication 2>/dev/null |
    grep -o '"program_start":[0-9.]*' | cut -d: -f2
}
ng_program_start() {
  [ -r "$NG_STATUS" ] || return 0
  awk -F= '/^programstatus \{/ { p = 1 } p && $1 ~ /^\tprogram_start$/ { print $2; exit }' "$NG_STATUS"
}
# Nagios writes status.dat every second: its "created" stamp must be recent.
ng_status_fresh() {
  local created now
  [ -r "$NG_STATUS" ] || return 1
  created=$(awk -F= '/^\tcreated=/ { print $2; exit }' "$NG_STATUS")
  now=$(date +%s)
  [ -n "$created" ] && [ $((now - created)) -le 3 ]
}

# wait_new ENGINE OLD_START TIMEOUT_S -- until the engine runs a configuration started after OLD.
wait_new() {
  local engine=$1 old=$2 timeout=$3 i cur
  for ((i = 0; i < timeout * 10; i++)); do
    if [ "$engine" = icinga2 ]; then cur=$(i2_program_start || true); else
      cur=$(ng_program_start || true)
      ng_status_fresh || cur=
    fi
    if [ -n "$cur" ] && [ "$cur" != "$old" ]; then return 0; fi
    sleep 0.1
  done
  return 1
}

# config_sum ENGINE -- checksum of what the engine's configuration is made of (our files, the
# definitions it includes; not the tests' objects). Stored in loaded.md5 once the engine runs
# it, so a change not yet loaded (e.g. a reload that failed) is still seen on the next start.
config_sum() {
  if [ "$1" = icinga2 ]; then
    # shellcheck source=/dev/null
    . "$ENG_SETTINGS"
    # shellcheck disable=SC2154  # set by the settings file
    { cat "$I2_CONF" "$I2/data/certs/localhost.crt"
      for p in "${SET_I2_DEFS[@]}"; do expand "$p"; done | sort | while read -r f; do echo "$f"; cat "$f"; done
    } | md5sum | cut -d' ' -f1
  else
    { cat "$NG_CONF" "$NG/base.cfg" "$NG/resource.cfg"
      for f in "$NG_DEFS"/*.cfg; do echo "$f"; cat "$f"; done
    } | md5sum | cut -d' ' -f1
  fi
}
mark_loaded() {
  if [ "$1" = icinga2 ]; then config_sum icinga2 >"$I2/loaded.md5"; else config_sum nagios >"$NG/loaded.md5"; fi
}

# ---------------------------------------------------------------------------------------------
# Validate, start, reload, stop
# ---------------------------------------------------------------------------------------------
i2_validate() {
  local out
  out=$(env -i PATH="$ENG_PATH" icinga2 daemon -c "$I2_CONF" "${I2_DEFINES[@]}" -C -x warning 2>&1) ||
    { printf '%s\n' "$out" >&2; return 1; }
  return 0
}
ng_validate() {
  local out
  out=$(nagios4 -v "$NG_CONF" 2>&1) || { printf '%s\n' "$out" | grep -E 'Error|Warning' >&2 || printf '%s\n' "$out" >&2; return 1; }
  return 0
}

i2_start() {
  local old
  old=$(i2_program_start || true)
  : >"$I2_STARTLOG"
  # -d detaches; stdio away from our caller (a piped `engines.sh start | tee` must return), and
  # the working directory / (the handlers it runs start there, not in a checkout).
  (cd / && setsid -w env -i PATH="$ENG_PATH" LANG=C.UTF-8 icinga2 daemon -c "$I2_CONF" "${I2_DEFINES[@]}" \
    -d -e "$I2_ERRLOG" </dev/null >>"$I2_STARTLOG" 2>&1) ||
    eng_die "icinga2 failed to start" "$I2_STARTLOG" "$I2_ERRLOG" "$I2_LOG"
  wait_new icinga2 "$old" 30 ||
    eng_die "icinga2 started but its API ($I2_API) did not answer within 30 s" "$I2_ERRLOG" "$I2_LOG"
  mark_loaded icinga2
}
ng_start() {
  local old
  old=$(ng_program_start || true)
  : >"$NG_STARTLOG"
  rm -f "$NG_CMD"   # a stale FIFO of a killed instance: nagios creates its own
  (cd / && setsid -w env -i PATH="$ENG_PATH" LANG=C.UTF-8 nagios4 -d "$NG_CONF" </dev/null >>"$NG_STARTLOG" 2>&1) ||
    eng_die "nagios4 failed to start" "$NG_STARTLOG" "$NG_LOG"
  wait_new nagios "$old" 30 || eng_die "nagios4 started but wrote no status.dat within 30 s" "$NG_STARTLOG" "$NG_LOG"
  mark_loaded nagios
}

# reload ENGINE -- validate (errors on stderr), SIGHUP, wait for the new configuration.
reload_one() {
  local engine=$1 old pid
  if [ "$engine" = icinga2 ]; then
    i2_validate || eng_die "icinga2: configuration $I2_CONF does not validate (errors above)"
    if ! pid=$(tb_pidfile_pid "$I2_PID"); then i2_start; return 0; fi
    old=$(i2_program_start || true)
  else
    # definitions regenerated or added since: stage them again
    # shellcheck source=/dev/null
    . "$ENG_SETTINGS"
    # shellcheck disable=SC2154  # set by the settings file
    stage_nagios_defs "$SET_PLUGIN_DIR" "${SET_NG_DEFS[@]}"
    ng_validate || eng_die "nagios4: configuration $NG_CONF does not validate (errors above)"
    if ! pid=$(tb_pidfile_pid "$NG_PID"); then ng_start; return 0; fi
    old=$(ng_program_start || true)
  fi
  kill -HUP "$pid"
  wait_new "$engine" "$old" 30 || eng_die "$engine did not come back within 30 s after a reload" "$I2_LOG" "$NG_LOG"
  mark_loaded "$engine"
}

i2_stop() {
  local pid
  pid=$(tb_pidfile_pid "$I2_PID" || true)
  # icinga2 runs as a pair (the daemon and its process spawn helper): the pid file names the
  # daemon; the helper exits with it.
  [ -n "$pid" ] && tb_kill_wait 20 "$pid"
  rm -f "$I2_PID"
}
ng_stop() {
  local pid
  pid=$(tb_pidfile_pid "$NG_PID" || true)
  [ -n "$pid" ] && tb_kill_wait 20 "$pid"
  rm -f "$NG_PID"
}

# ---------------------------------------------------------------------------------------------
# start: packages, configuration, daemons, env file
# ---------------------------------------------------------------------------------------------
cmd_start() {
  local plugin_dir=$REPO/target/debug i2_defs=() ng_defs=()
  while [ $# -gt 0 ]; do
    case $1 in
      --plugin-dir) plugin_dir=${2:?--plugin-dir needs a directory}; shift 2 ;;
      --icinga2-defs) i2_defs+=("${2:?--icinga2-defs needs a path}"); shift 2 ;;
      --nagios-defs) ng_defs+=("${2:?--nagios-defs needs a path}"); shift 2 ;;
      *) eng_die "start: unknown option '$1' (see the head of $0)" ;;
    esac
  done
  [ ${#i2_defs[@]} -gt 0 ] || i2_defs=("$REPO/contrib/icinga2/*.conf")
  [ ${#ng_defs[@]} -gt 0 ] || ng_defs=("$REPO/contrib/nagios")
  plugin_dir=${plugin_dir%/}
  local p
  for p in "$plugin_dir" "${i2_defs[@]}" "${ng_defs[@]}"; do
    # the env file and Nagios's $USER1$ cannot carry spaces
    [[ $p != *[[:space:]]* ]] || eng_die "paths with spaces are not supported: '$p'"
    [[ $p == /* ]] || eng_die "give absolute paths: '$p'"
  done
  for p in "${i2_defs[@]}"; do
    [ -n "$(expand "$p")" ] || eng_die "--icinga2-defs $p names no file"
  done
  for p in "${ng_defs[@]}"; do
    [ -n "$(expand "$p")" ] || eng_die "--nagios-defs $p names no file"
  done

  local T0
  T0=$(date +%s.%N)
  mkdir -p "$TB_LOG_DIR" "$ENG_LOG_DIR"

  # --- packages
  write_file /usr/sbin/policy-rc.d 0755 <<'EOF' || true
#!/bin/sh
# Written by rsplugins tests/testbed: never start services from package scripts.
exit 101
EOF
  local missing why
  mapfile -t missing < <(tb_missing icinga2 nagios4-core curl openssl util-linux)
  if [ ${#missing[@]} -gt 0 ]; then
    local apt_log=$TB_LOG_DIR/apt-engines.log
    why=$(tb_apt_install "$apt_log" "${missing[@]}") || eng_die "$why" "$apt_log"
  fi
  getent passwd "$ENG_USER" >/dev/null || eng_die "user $ENG_USER missing (the engine packages create it)"

  # The engines run our binaries as nagios: every directory above them must be searchable.
  local d=$plugin_dir
  while [ ! -d "$d" ]; do d=$(dirname "$d"); done
  setpriv --reuid "$ENG_USER" --regid "$ENG_USER" --clear-groups test -x "$d" ||
    eng_die "user $ENG_USER cannot reach $d (plugin dir $plugin_dir): make its parents world-searchable (chmod o+x)"
  [ -d "$plugin_dir" ] || eng_log "note: $plugin_dir does not exist yet (build the plugins before the tests)"

  # --- directories (the engines write as nagios; the tests write tests.d as root)
  install -d -m 0755 "$ENG_ROOT" "$I2" "$NG" "$I2_OBJECTS" "$NG_OBJECTS"
  install -d -m 0750 -o "$ENG_USER" -g "$ENG_USER" "$I2/data" "$I2/data/certs" "$I2/cache" \
    "$I2/spool" "$I2/run" "$I2/zones.d" "$NG/var" "$NG/var/rw" "$NG/var/spool" \
    "$NG/var/spool/checkresults" "$ENG_LOG_DIR"
  chmod 0755 "$ENG_LOG_DIR" "$NG/var" "$I2/data"   # the tests (root, or a reader) read logs and status.dat
  # The tests write their objects on every run; a stale (maybe broken) set must not block a start.
  rm -f "$I2_OBJECTS"/*.conf "$NG_OBJECTS"/*.cfg


  # --- Icinga 2: API certificates (our own CA, CN = NodeName) and password
  if ! openssl verify -CAfile "$I2_CA" "$I2/data/certs/localhost.crt" >/dev/null 2>&1 ||
     ! openssl x509 -noout -checkend 2592000 -in "$I2/data/certs/localhost.crt" >/dev/null 2>&1; then
    eng_log "icinga2: creating API certificates"
    local tmp
    tmp=$(mktemp -d)
    openssl req -x509 -new -newkey rsa:2048 -nodes -subj "/CN=rsplugins engines CA" -days 3650 \
      -keyout "$tmp/ca.key" -out "$tmp/ca.crt" 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -subj /CN=localhost \
      -keyout "$tmp/localhost.key" -out "$tmp/localhost.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tmp/ext"
    openssl x509 -req -in "$tmp/localhost.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" \
      -set_serial "0x7$(openssl rand -hex 15)" -days 3650 -sha256 -extfile "$tmp/ext" \
      -out "$tmp/localhost.crt" 2>/dev/null
    install -m 0644 -o "$ENG_USER" -g "$ENG_USER" "$tmp/ca.crt" "$tmp/localhost.crt" "$I2/data/certs/"
    install -m 0600 -o "$ENG_USER" -g "$ENG_USER" "$tmp/localhost.key" "$I2/data/certs/"
    rm -rf "$tmp"
  fi
  if [ ! -s "$I2_API_PASSWORD_FILE" ]; then
    (umask 077 && openssl rand -hex 16 >"$I2_API_PASSWORD_FILE")
  fi
  local pw v6addr=
  pw=$(cat "$I2_API_PASSWORD_FILE")
  [ "$TB_HAVE_V6" = 1 ] && v6addr='address6 = "::1"'

  local incl
  incl=$(for p in "${i2_defs[@]}"; do printf 'include "%s"\n' "$p"; done)
  # 0640 root:nagios: icinga2 drops to nagios before it reads its configuration, and the file
  # holds the API password.
  write_file "$I2_CONF" 0640 <<EOF || true
// Written by rsplugins tests/testbed/engines.sh (rewritten on start); the tests' objects go
// into $I2_OBJECTS.
const PluginDir = "$plugin_dir"
const NodeName = "localhost"
const ZoneName = "localhost"
const TicketSalt = ""

include <itl>
include <plugins>

// Event handlers on globally (Icinga's default, written out); the template keeps them off per
// service, so only the services of tests/tests/healing_engines.rs that enable them run one.
object IcingaApplication "app" {
  enable_event_handlers = true
}
object FileLogger "main-log" {
  severity = "information"
  path = "$I2_LOG"
}
object CheckerComponent "checker" { }
object Endpoint NodeName { }
object Zone ZoneName { endpoints = [ NodeName ] }
object ApiListener "api" {
  bind_host = "127.0.0.1"
  bind_port = $I2_API_PORT
  accept_config = false
  accept_commands = false
}
object ApiUser "$I2_API_USER" {
  password = "$pw"
  permissions = [ "*" ]
}
// Here only to parse every check result's performance data as Icinga's metric writers do: it
// logs "Ignoring invalid perfdata" for what it cannot parse (the tests look for that). It
// never sends anything: nothing listens on port 1 and it flushes only on shutdown.
object InfluxdbWriter "perfdata-parser" {
  host = "127.0.0.1"
  port = 1
  database = "none"
  flush_threshold = 1000000
  flush_interval = 1d
}

object Host "$ENG_HOST" {
  address = "127.0.0.1"
  $v6addr
  check_command = "dummy"
  enable_active_checks = false
}
// Checks run only when forced: results come from the tests, never from a schedule.
template Service "$ENG_TEMPLATE" {
  host_name = "$ENG_HOST"
  max_check_attempts = 1
  check_interval = 1d
  retry_interval = 1d
  enable_active_checks = false
  enable_notifications = false
  enable_event_handler = false
  enable_flapping = false
}

// Our command definitions, by path
$incl

include "$I2_OBJECTS/*.conf"
EOF
  chgrp "$ENG_USER" "$I2_CONF"

  # --- Nagios 4
  write_file "$NG/resource.cfg" 0644 <<EOF || true
# Written by rsplugins tests/testbed/engines.sh
\$USER1\$=$plugin_dir
EOF
  # Settings for `reload` (arrays written with printf %q).
  {
    echo "# Written by rsplugins tests/testbed/engines.sh start"
    printf 'SET_PLUGIN_DIR=%q\n' "$plugin_dir"
    printf 'SET_I2_DEFS=(%s)\n' "$(printf '%q ' "${i2_defs[@]}")"
    printf 'SET_NG_DEFS=(%s)\n' "$(printf '%q ' "${ng_defs[@]}")"
  } | write_file "$ENG_SETTINGS" 0644 || true
  stage_nagios_defs "$plugin_dir" "${ng_defs[@]}"
  write_file "$NG_CONF" 0644 <<EOF || true
# Written by rsplugins tests/testbed/engines.sh (rewritten on start); the tests' objects go into
# $NG_OBJECTS.
log_file=$NG_LOG
cfg_file=$NG/base.cfg
cfg_dir=$NG_DEFS
cfg_dir=$NG_OBJECTS
object_cache_file=$NG/var/objects.cache
precached_object_file=$NG/var/objects.precache
resource_file=$NG/resource.cfg
status_file=$NG_STATUS
status_update_interval=1
nagios_user=$ENG_USER
nagios_group=$ENG_USER
check_external_commands=1
command_file=$NG_CMD
lock_file=$NG_PID
temp_file=$NG/var/nagios.tmp
temp_path=$NG/var
check_result_path=$NG/var/spool/checkresults
check_result_reaper_frequency=1
query_socket=$NG/var/rw/nagios.qh
log_rotation_method=n
use_syslog=0
log_initial_states=0
log_external_commands=0
log_passive_checks=0
retain_state_information=0
state_retention_file=$NG/var/retention.dat
interval_length=1
service_check_timeout=60
service_check_timeout_state=c
host_check_timeout=60
check_for_updates=0
bare_update_check=1
enable_notifications=0
# Event handlers on globally; the template keeps them off per service, so only the services of
# tests/tests/healing_engines.rs that enable them run one. Their time-out is above the
# handlers' own -t (25 s by default).
enable_event_handlers=1
event_handler_timeout=60
log_event_handlers=1
log_service_retries=1
enable_flap_detection=0
process_performance_data=0
execute_host_checks=0
illegal_object_name_chars=\`~!\$%^&*|'"<>?,()=
illegal_macro_output_chars=\`~\$&|'"<>
admin_email=root@localhost
admin_pager=root@localhost
EOF
  write_file "$NG/base.cfg" 0644 <<EOF || true
# Written by rsplugins tests/testbed/engines.sh
define timeperiod {
    timeperiod_name 24x7
    alias           always
    sunday          00:00-24:00
    monday          00:00-24:00
    tuesday         00:00-24:00
    wednesday       00:00-24:00
    thursday        00:00-24:00
    friday          00:00-24:00
    saturday        00:00-24:00
}
define command {
    command_name    rsplugins-no-op
    command_line    /bin/true
}
define contact {
    contact_name                    nobody
    alias                           nobody
    host_notifications_enabled      0
    service_notifications_enabled   0
    host_notification_period        24x7
    service_notification_period     24x7
    host_notification_options       n
    service_notification_options    n
    host_notification_commands      rsplugins-no-op
    service_notification_commands   rsplugins-no-op
}
define host {
    host_name               $ENG_HOST
    alias                   $ENG_HOST
    address                 127.0.0.1
    max_check_attempts      1
    check_period            24x7
    active_checks_enabled   0
    contacts                nobody
    notification_interval   0
    notification_period     24x7
}
# Checks run only when forced (SCHEDULE_FORCED_SVC_CHECK), never from a schedule.
define service {
    name                    $ENG_TEMPLATE
    register                0
    host_name               $ENG_HOST
    max_check_attempts      1
    check_interval          86400
    retry_interval          86400
    check_period            24x7
    active_checks_enabled   0
    passive_checks_enabled  0
    contacts                nobody
    notification_interval   0
    notification_period     24x7
    notifications_enabled   0
    event_handler_enabled   0
    flap_detection_enabled  0
}
# Nagios refuses a configuration without a service.
define service {
    use                     $ENG_TEMPLATE
    service_description     rsplugins-engine-alive
    check_command           rsplugins-no-op
}
EOF

  # --- daemons
  i2_validate || eng_die "icinga2: configuration $I2_CONF does not validate (errors above)"
  ng_validate || eng_die "nagios4: configuration $NG_CONF does not validate (errors above)"
  if ! i2_running; then
    eng_log "icinga2: starting"
    i2_start
  elif [ "$(config_sum icinga2)" != "$(cat "$I2/loaded.md5" 2>/dev/null)" ] ||
    [ -z "$(i2_program_start || true)" ]; then
    eng_log "icinga2: configuration changed (or API silent), reloading"
    reload_one icinga2
  else
    eng_log "icinga2 already running"
  fi
  if ! ng_running; then
    eng_log "nagios4: starting"
    ng_start
  elif [ "$(config_sum nagios)" != "$(cat "$NG/loaded.md5" 2>/dev/null)" ] || ! ng_status_fresh; then
    eng_log "nagios4: configuration changed (or status.dat stale), reloading"
    reload_one nagios
  else
    eng_log "nagios4 already running"
  fi

  local IFS=:
  write_file "$ENG_ENV_FILE" 0644 <<EOF || true
# Written by rsplugins tests/testbed/engines.sh; removed by \`engines.sh stop\`. KEY=VALUE, unquoted.
RSPLUGINS_ENGINES=1
RSPLUGINS_ENGINES_SCRIPT=$HERE/engines.sh
RSPLUGINS_ENGINES_PLUGIN_DIR=$plugin_dir
RSPLUGINS_ENGINES_USER=$ENG_USER
RSPLUGINS_ENGINES_PATH=$ENG_PATH
RSPLUGINS_ENGINES_HOST=$ENG_HOST
RSPLUGINS_ENGINES_SERVICE_TEMPLATE=$ENG_TEMPLATE
RSPLUGINS_ENGINES_ICINGA2_DEFS=${i2_defs[*]}
RSPLUGINS_ENGINES_ICINGA2_OBJECTS_DIR=$I2_OBJECTS
RSPLUGINS_ENGINES_ICINGA2_LOG=$I2_LOG
RSPLUGINS_ENGINES_ICINGA2_API=$I2_API
RSPLUGINS_ENGINES_ICINGA2_API_USER=$I2_API_USER
RSPLUGINS_ENGINES_ICINGA2_API_PASSWORD_FILE=$I2_API_PASSWORD_FILE
RSPLUGINS_ENGINES_ICINGA2_CA=$I2_CA
RSPLUGINS_ENGINES_NAGIOS_DEFS=$NG_DEFS
RSPLUGINS_ENGINES_NAGIOS_SHIPPED_DEFS=${ng_defs[*]}
RSPLUGINS_ENGINES_NAGIOS_OBJECTS_DIR=$NG_OBJECTS
RSPLUGINS_ENGINES_NAGIOS_LOG=$NG_LOG
RSPLUGINS_ENGINES_NAGIOS_STATUS=$NG_STATUS
RSPLUGINS_ENGINES_NAGIOS_COMMAND_FILE=$NG_CMD
EOF
  unset IFS
  eng_log "engines ready ($(tb_elapsed "$T0") s); env file $ENG_ENV_FILE"
  printf '  %-8s %-60s OK\n' icinga2 "API $I2_API, log $I2_LOG" nagios4 "status $NG_STATUS, log $NG_LOG"
}

cmd_reload() {
  local which=${1:-both}
  if [ ! -f "$I2_CONF" ] || [ ! -f "$NG_CONF" ]; then eng_die "not set up: run \`$0 start\` first"; fi
  case $which in
    icinga2 | nagios) reload_one "$which" ;;
    both) reload_one icinga2; reload_one nagios ;;
    *) eng_die "reload: icinga2, nagios or nothing (both), not '$which'" ;;
  esac
}

cmd_stop() {
  rm -f "$ENG_ENV_FILE"
  i2_stop
  ng_stop
  eng_log "engines stopped"
}

cmd_status() {
  local rc=0
  if i2_running; then echo "icinga2 running (pid $(tb_pidfile_pid "$I2_PID"), API $I2_API)"; else echo "icinga2 not running"; rc=1; fi
  if ng_running; then echo "nagios4 running (pid $(tb_pidfile_pid "$NG_PID"), status $NG_STATUS)"; else echo "nagios4 not running"; rc=1; fi
  return $rc
}

# force ENGINE SERVICE
cmd_force() {
  local engine=${1:?force icinga2|nagios SERVICE} svc=${2:?force icinga2|nagios SERVICE} now
  now=$(date +%s)
  case $engine in
    icinga2)
      i2_api POST /v1/actions/reschedule-check \
        "{\"type\":\"Service\",\"filter\":\"service.name==\\\"$svc\\\"\",\"force\":true}"
      echo ;;
    nagios) printf '[%s] SCHEDULE_FORCED_SVC_CHECK;%s;%s;%s\n' "$now" "$ENG_HOST" "$svc" "$now" >"$NG_CMD" ;;
    *) eng_die "force: icinga2 or nagios, not '$engine'" ;;
  esac
}

# result ENGINE SERVICE
cmd_result() {
  local engine=${1:?result icinga2|nagios SERVICE} svc=${2:?result icinga2|nagios SERVICE}
  case $engine in
    icinga2) i2_api GET "/v1/objects/services/$ENG_HOST!$svc?attrs=state&attrs=last_check_result"; echo ;;
    nagios)
      awk -v svc="$svc" '/^servicestatus \{/ { b = ""; inb = 1 } inb { b = b $0 "\n" }
        inb && /^\t}/ { inb = 0; if (b ~ "\n\tservice_description=" svc "\n") printf "%s", b }' "$NG_STATUS" ;;
    *) eng_die "result: icinga2 or nagios, not '$engine'" ;;
  esac
}

[ "$(id -u)" = 0 ] || eng_die "engines.sh must run as root"
verb=${1:-start}
[ $# -gt 0 ] && shift
case $verb in
  start) cmd_start "$@" ;;
  reload) cmd_reload "$@" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  force) cmd_force "$@" ;;
  result) cmd_result "$@" ;;
  *) eng_die "unknown verb '$verb': start, reload, stop, status, force, result" ;;
esac
