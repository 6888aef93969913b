#!/usr/bin/env bash
# rsplugins distributed testbed: an Icinga 2 master and an Icinga 2 agent on this machine, talking
# over loopback TLS, for tests/tests/distributed.rs. The master schedules the checks; the agent
# runs our plugins and event handlers (command_endpoint), as in a real scale-out.
#
#   distributed.sh start [--plugin-dir DIR] [--icinga2-defs PATH]...
#   distributed.sh reload [--force]     re-stage the definitions, validate, reload what changed;
#                                       returns once the master and the agent run it
#   distributed.sh stop                 stop both, remove the env file (certificates are kept)
#   distributed.sh status
#   distributed.sh stop-agent           stop only the agent (the master keeps running)
#   distributed.sh start-agent          start it again; returns once it runs checks again
#   distributed.sh force SERVICE        force a check of the agent host's SERVICE on the master
#   distributed.sh result SERVICE       print its attributes as the master's REST API has them
#
# Topology (all names fixed, see the env file):
#   master  NodeName rsplugins-master, zone "master", API 127.0.0.3:5665 (REST API for the tests)
#   agent   NodeName rsplugins-agent,  zone "rsplugins-agent" (parent "master"), 127.0.0.2:5665,
#           accept_config and accept_commands true; both endpoints dial each other
#   global zone "global-templates": our CheckCommand and EventCommand definition files (default:
#           this checkout's contrib/icinga2/rsplugins-commands.conf and
#           rsplugins-eventcommands.conf; a PATH may end in a `*SUFFIX` file pattern) are copied
#           into the master's zones.d/global-templates and reach the agent by Icinga's config
#           sync. Each node defines `const PluginDir` = --plugin-dir (default: target/debug).
#   The master's zones.d/master has the Host "rsplugins-agent" (check_command cluster-zone, run
#   by the master), the Service template "rsplugins-agent-service" (host_name, command_endpoint
#   and zone set; checks only when forced) and the readiness probe "rsplugins-agent!distributed-sync".
#   The tests' own objects go into the objects directory (the master includes *.conf from it;
#   import the template, which sets the zone a command_endpoint needs; then `reload`), or are
#   created through the master's REST API (runtime objects: no reload; a master that `start`
#   finds stopped starts without those of earlier runs).
#
# Each instance has its own tree under /var/lib/rsplugins-distributed/{master,agent} through
# Icinga's -DConfiguration.* path constants, given to EVERY icinga2 invocation (validation and
# pki included: even `daemon -C` writes CacheDir). Nothing of Debian's /etc/icinga2,
# /var/lib/icinga2 or of tests/testbed/engines.sh's instance is read or written. No systemd: the
# daemons run detached (stdio /dev/null). PKI is made offline once (icinga2 pki new-ca, new-cert,
# sign-csr: 4096-bit keys, a few seconds each) and kept across stop/start.
#
# "The agent runs it" is proven end to end: the probe's CheckCommand lives in the global zone and
# is named after a checksum of the staged definitions, so a forced probe check comes back OK only
# once the agent has received, validated and loaded exactly those files.
#
# Mind Icinga's cold-start window: a master younger than 300 s (since its last start OR reload)
# leaves a check of a disconnected agent without any result instead of the UNKNOWN "Remote Icinga
# instance ... is not connected". `reload` therefore reloads only what changed (unless --force).
#
# Loopback only. Writes /etc/rsplugins-distributed.env at the end of start/reload (see README.md).
# Run as root on Debian 12 after tests/testbed/setup.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

D_ENV_FILE=/etc/rsplugins-distributed.env
D_ROOT=/var/lib/rsplugins-distributed
D_LOG_DIR=/var/log/rsplugins-distributed
D_USER=nagios
# The daemons' environment (also what their plugins and handlers get).
D_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
D_PORT=5665
D_MASTER=rsplugins-master
D_MASTER_IP=127.0.0.3
D_MASTER_ZONE=master
D_AGENT=rsplugins-agent
D_AGENT_IP=127.0.0.2
D_AGENT_ZONE=$D_AGENT
D_GLOBAL_ZONE=global-templates
D_TEMPLATE=rsplugins-agent-service
D_PROBE_SVC=distributed-sync
D_OBJECTS=$D_ROOT/tests.d
D_SETTINGS=$D_ROOT/settings
D_LOCK=$D_ROOT/lock
D_API_USER=rsplugins
D_API_PASSWORD_FILE=$D_ROOT/api-password
D_CA=$D_ROOT/master/data/ca/ca.crt
D_API=https://$D_MASTER:$D_PORT
D_API_RESOLVE=$D_MASTER:$D_PORT:$D_MASTER_IP
D_STAGED=$D_ROOT/master/etc/zones.d/$D_GLOBAL_ZONE
D_AGENT_SYNCED=$D_ROOT/agent/data/api/zones/$D_GLOBAL_ZONE/_etc
D_PROBE_FILE=zz-rsplugins-distributed-sync.conf

d_log() { tb_log "distributed: $*"; }

# d_die MESSAGE [LOGFILE...] -- fail loudly; the tests must not take a broken setup for a good one.
d_die() { tb_fail distributed "$D_ENV_FILE" "$@"; }

# Per instance (master|agent)
i_dir() { echo "$D_ROOT/$1"; }
i_conf() { echo "$D_ROOT/$1/etc/icinga2.conf"; }
i_pidfile() { echo "$D_ROOT/$1/run/icinga2.pid"; }
i_log() { echo "$D_LOG_DIR/$1.log"; }
i_errlog() { echo "$D_LOG_DIR/$1-error.log"; }
i_ip() { if [ "$1" = master ]; then echo "$D_MASTER_IP"; else echo "$D_AGENT_IP"; fi; }
i_node() { if [ "$1" = master ]; then echo "$D_MASTER"; else echo "$D_AGENT"; fi; }

# The -D set of an instance: every path Icinga writes, inside its own tree. ZonesDir must be
# given (it is derived from the built-in ConfigDir before -D applies); the daemon passes its argv,
# so these, on to its reloads and to the config-sync validation child.
i_defines() {
  local d=$D_ROOT/$1
  printf '%s\n' \
    "-DConfiguration.ConfigDir=$d/etc" "-DConfiguration.ZonesDir=$d/etc/zones.d" \
    "-DConfiguration.DataDir=$d/data" "-DConfiguration.CacheDir=$d/cache" \
    "-DConfiguration.LogDir=$d/log" "-DConfiguration.SpoolDir=$d/spool" \
    "-DConfiguration.InitRunDir=$d/run" "-DConfiguration.PidPath=$d/run/icinga2.pid" \
    "-DConfiguration.StatePath=$d/data/icinga2.state" \
    "-DConfiguration.ModAttrPath=$d/data/modified-attributes.conf" \
    "-DConfiguration.ObjectsPath=$d/cache/icinga2.debug" \
    "-DConfiguration.VarsPath=$d/cache/icinga2.vars"
}

# i2 INST ARGS... -- icinga2 with the instance's paths and a clean environment.
i2() {
  local inst=$1 defs
  shift
  mapfile -t defs < <(i_defines "$inst")
  env -i PATH="$D_PATH" LANG=C.UTF-8 icinga2 "$@" "${defs[@]}"
}

# The umbrella pid of our instance: alive (not a zombie) and really ours (its argv names our
# config: pid reuse). (No `... | grep -q` anywhere in this script: under pipefail the writer's
# SIGPIPE, when grep exits at the first match, would make a match look like a failure.)
i_pid() {
  local pid cmd
  pid=$(tb_pidfile_pid "$(i_pidfile "$1")") || return 1
  cmd=$(tb_cmdline "$pid")
  [[ $cmd == *"-c $(i_conf "$1") "* ]] || return 1
  echo "$pid"
}
i_running() { i_pid "$1" >/dev/null 2>&1; }

# Is ADDR:PORT (or the wildcard) taken by somebody? (ss, not a connect: pitfall, a probe
# connection makes the ApiListener log truncated TLS streams)
listeners() { ss -Hltn "sport = :$D_PORT" 2>/dev/null | awk '{print $4}'; }
i_listening() { grep -qxF "$1:$D_PORT" <<<"$(listeners)"; }
port_taken() {
  grep -qE "^(${1//./\\.}|0\.0\.0\.0|\*|\[::\]):$D_PORT$" <<<"$(listeners)"
}

# d_wait SECONDS COMMAND... -- poll every 0.1 s; false after SECONDS.
d_wait() {
  local t=$1 i
  shift
  for ((i = 0; i < t * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# The master's REST API (TLS verified against our CA; the certificate's name is the NodeName)
# ---------------------------------------------------------------------------------------------
d_api() { # METHOD PATH [JSON]
  local pw
  pw=$(cat "$D_API_PASSWORD_FILE")
  # the password on stdin (curl -K -), not in argv
  curl -sS --max-time 10 --cacert "$D_CA" --resolve "$D_API_RESOLVE" -K - \
    -H 'Accept: application/json' -X "$1" "$D_API$2" ${3:+-d "$3"} <<<"user = \"$D_API_USER:$pw\""
}

master_program_start() {
  d_api GET /v1/status/IcingaApplication 2>/dev/null |
    jq -r '.results[0].status.icingaapplication.app.program_start // empty' 2>/dev/null
}
agent_connected() {
  [ "$(d_api GET "/v1/objects/endpoints/$D_AGENT?attrs=connected" 2>/dev/null |
    jq -r '.results[0].attrs.connected' 2>/dev/null)" = true ]
}
svc_path() { echo "/v1/objects/services/$D_AGENT%21$1"; }
svc_attrs() {
  d_api GET "$(svc_path "$1")?attrs=state&attrs=state_type&attrs=last_check_result&attrs=last_check&attrs=next_check"
}
reschedule() {
  d_api POST /v1/actions/reschedule-check \
    "{\"type\":\"Service\",\"service\":\"$D_AGENT!$1\",\"force\":true}" >/dev/null
}

# force_wait SERVICE SECONDS -- force a check on the master, wait for a result that started
# after the request; prints the service's attributes (JSON).
force_wait() {
  local svc=$1 t=$2 t0 r i
  t0=$(date +%s.%N)
  reschedule "$svc" || return 1
  for ((i = 0; i < t * 10; i++)); do
    r=$(svc_attrs "$svc" 2>/dev/null) || r='{}'
    if jq -e --argjson t0 "$t0" \
      '(.results[0].attrs.last_check_result.execution_start // 0) >= $t0' <<<"$r" >/dev/null 2>&1; then
      jq -c '.results[0].attrs' <<<"$r"
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# The probe: OK from the agent, with the checksum of the definitions the master has staged.
probe_ok() {
  local h=$1 a
  a=$(force_wait "$D_PROBE_SVC" 3) || return 1
  if [ "$(jq -r '.last_check_result.state' <<<"$a")" = 0 ] &&
    [[ $(jq -r '.last_check_result.output' <<<"$a") == *"($h)"* ]]; then
    return 0
  fi
  PROBE_LAST=$(jq -r '.last_check_result.output' <<<"$a")
  return 1
}
PROBE_LAST=

# wait_agent_runs SECONDS -- connected, and the agent runs the staged definitions.
wait_agent_runs() {
  local t=$1 h t0
  h=$(cat "$D_ROOT/staged.md5")
  t0=$(date +%s.%N)
  d_wait "$t" agent_connected ||
    d_die "the master did not connect to the agent within ${t} s" "$(i_log agent)" "$(i_log master)"
  d_wait "$t" probe_ok "$h" ||
    d_die "the agent did not run the synced definitions ($h) within ${t} s (last probe output: '${PROBE_LAST:-none}'); its synced copy: $D_AGENT_SYNCED" \
      "$(i_log agent)"
  d_log "agent runs the global zone's definitions ($h), $(tb_elapsed "$t0") s"
}

# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------

# expand PATH -- the Icinga 2 definition files PATH names (see tb_expand; the same rule as
# engines.sh).
expand() { tb_expand "$1" conf; }

# stage_defs PATH... -- copy the definition files into the master's global zone directory
# (only what changed is rewritten: the config sync and the checksums see real changes only),
# write the probe command named after their checksum.
stage_defs() {
  local p f k name keep=() h
  install -d -m 0755 -o "$D_USER" -g "$D_USER" "$D_STAGED"
  for p in "$@"; do
    while read -r f; do
      [ -n "$f" ] || continue
      name=$(basename "$f")
      case $name in *.conf) ;; *) name=$name.conf ;; esac
      [ "$name" != "$D_PROBE_FILE" ] || d_die "a definition file may not be named $D_PROBE_FILE"
      for k in "${keep[@]}"; do [ "$k" != "$name" ] || d_die "two definition files named $name"; done
      keep+=("$name")
      write_file "$D_STAGED/$name" 0644 <"$f" || true
    done < <(expand "$p")
  done
  for f in "$D_STAGED"/*; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    [ "$name" = "$D_PROBE_FILE" ] && continue
    grep -qxF "$name" <<<"$(printf '%s\n' "${keep[@]}")" || rm -f "$f"
  done
  h=$(for name in $(printf '%s\n' "${keep[@]}" | sort); do echo "$name"; cat "$D_STAGED/$name"; done |
    md5sum | cut -c1-12)
  echo "$h" >"$D_ROOT/staged.md5"
  write_file "$D_STAGED/$D_PROBE_FILE" 0644 <<EOF || true
// Written by rsplugins tests/testbed/distributed.sh: the readiness probe. Its name is the
// checksum of the other files of this global zone; an agent that runs it has them all.
object CheckCommand "rsplugins-distributed-sync-$h" {
  import "dummy"
  vars.dummy_state = 0
  vars.dummy_text = "global zone $D_GLOBAL_ZONE synced ($h)"
}
EOF
  chown -R "$D_USER:$D_USER" "$D_STAGED"
}

# write_configs PLUGIN_DIR -- both nodes' icinga2.conf and the master's zones.d/master.
write_configs() {
  local plugin_dir=$1 pw h
  pw=$(cat "$D_API_PASSWORD_FILE")
  h=$(cat "$D_ROOT/staged.md5")
  # 0640 root:nagios: icinga2 drops to nagios before it reads its configuration; the master's
  # holds the API password.
  write_file "$(i_conf master)" 0640 <<EOF || true
// Written by rsplugins tests/testbed/distributed.sh (rewritten on start): the MASTER.
// Tests' objects: $D_OBJECTS/*.conf (import "$D_TEMPLATE").
const PluginDir = "$plugin_dir"
const NodeName = "$D_MASTER"
const ZoneName = "$D_MASTER_ZONE"
const TicketSalt = ""

include <itl>
include <plugins>

object IcingaApplication "app" {
  enable_event_handlers = true
}
// notice: "Running command" (and "Executing event handler") lines are logged
object FileLogger "main-log" {
  severity = "notice"
  path = "$(i_log master)"
}
object CheckerComponent "checker" { }

object Endpoint "$D_MASTER" { }
object Endpoint "$D_AGENT" {
  host = "$D_AGENT_IP"
  port = "$D_PORT"
}
object Zone "$D_MASTER_ZONE" {
  endpoints = [ "$D_MASTER" ]
}
object Zone "$D_AGENT_ZONE" {
  endpoints = [ "$D_AGENT" ]
  parent = "$D_MASTER_ZONE"
}
object Zone "$D_GLOBAL_ZONE" {
  global = true
}

object ApiListener "api" {
  bind_host = "$D_MASTER_IP"
  bind_port = $D_PORT
  accept_config = false
  accept_commands = false
}
object ApiUser "$D_API_USER" {
  password = "$pw"
  permissions = [ "*" ]
}

include "$D_OBJECTS/*.conf"
EOF
  write_file "$(i_conf agent)" 0640 <<EOF || true
// Written by rsplugins tests/testbed/distributed.sh (rewritten on start): the AGENT. It has no
// objects of its own: the master sends the checks and event handlers (command_endpoint), and
// the commands come from the global zone $D_GLOBAL_ZONE by the config sync.
const PluginDir = "$plugin_dir"
const NodeName = "$D_AGENT"
const ZoneName = "$D_AGENT_ZONE"
const TicketSalt = ""

include <itl>
include <plugins>

object IcingaApplication "app" {
  enable_event_handlers = true
}
object FileLogger "main-log" {
  severity = "notice"
  path = "$(i_log agent)"
}
object CheckerComponent "checker" { }

// The agent dials the master too: after its (re)start it is connected at once, not after the
// master's 10 s reconnect timer.
object Endpoint "$D_MASTER" {
  host = "$D_MASTER_IP"
  port = "$D_PORT"
}
object Endpoint "$D_AGENT" { }
object Zone "$D_MASTER_ZONE" {
  endpoints = [ "$D_MASTER" ]
}
object Zone "$D_AGENT_ZONE" {
  endpoints = [ "$D_AGENT" ]
  parent = "$D_MASTER_ZONE"
}
object Zone "$D_GLOBAL_ZONE" {
  global = true
}

object ApiListener "api" {
  bind_host = "$D_AGENT_IP"
  bind_port = $D_PORT
  accept_config = true
  accept_commands = true
}
EOF
  chgrp "$D_USER" "$(i_conf master)" "$(i_conf agent)"
  install -d -m 0755 -o "$D_USER" -g "$D_USER" "$D_ROOT/master/etc/zones.d/$D_MASTER_ZONE"
  write_file "$D_ROOT/master/etc/zones.d/$D_MASTER_ZONE/rsplugins-distributed.conf" 0644 <<EOF || true
// Written by rsplugins tests/testbed/distributed.sh: the master zone's fixed objects.

// The agent's host, checked by the master itself: DOWN when the agent's zone is not connected.
object Host "$D_AGENT" {
  address = "127.0.0.1"
  check_command = "cluster-zone"
  check_interval = 10s
  retry_interval = 1s
  max_check_attempts = 1
  enable_notifications = false
  enable_flapping = false
}

// Services of the agent host that the agent runs. Checks only when forced unless a service
// says otherwise; no event handler unless it enables one.
template Service "$D_TEMPLATE" {
  host_name = "$D_AGENT"
  command_endpoint = "$D_AGENT"
  zone = "$D_MASTER_ZONE"
  max_check_attempts = 1
  check_interval = 1d
  retry_interval = 1d
  enable_active_checks = false
  enable_notifications = false
  enable_event_handler = false
  enable_flapping = false
}

// Readiness: its command is the global zone's probe (named after the definitions' checksum).
object Service "$D_PROBE_SVC" {
  import "$D_TEMPLATE"
  check_command = "rsplugins-distributed-sync-$h"
}
EOF
  chown -R "$D_USER:$D_USER" "$D_ROOT/master/etc/zones.d"
}

# checksum INST -- what the instance's configuration is made of; stored in loaded.md5 once it
# runs it, so a change not loaded yet (a failed reload) is still seen next time.
checksum() {
  local inst=$1 f
  {
    cat "$(i_conf "$inst")" "$D_ROOT/$inst/data/certs/$(i_node "$inst").crt"
    if [ "$inst" = master ]; then
      find "$D_ROOT/master/etc/zones.d" "$D_OBJECTS" -type f -name '*.conf' | sort |
        while read -r f; do echo "$f"; cat "$f"; done
    fi
  } | md5sum | cut -d' ' -f1
}
mark_loaded() { checksum "$1" >"$D_ROOT/$1/loaded.md5"; }
changed() { [ "$(checksum "$1")" != "$(cat "$D_ROOT/$1/loaded.md5" 2>/dev/null)" ]; }

i_validate() {
  local inst=$1 out
  out=$(i2 "$inst" daemon -c "$(i_conf "$inst")" -C -x warning 2>&1) ||
    { printf '%s\n' "$out" >&2; d_die "$inst: configuration $(i_conf "$inst") does not validate (errors above)"; }
}

# ---------------------------------------------------------------------------------------------
# Daemons
# ---------------------------------------------------------------------------------------------
i_start() {
  local inst=$1 ip old='' defs
  ip=$(i_ip "$inst")
  mapfile -t defs < <(i_defines "$inst")
  ! port_taken "$ip" || d_die "$ip:$D_PORT (or *:$D_PORT) is already taken by another process: $(ss -Hltnp "sport = :$D_PORT")"
  [ "$inst" = master ] && old=$(master_program_start 2>/dev/null || true)
  if [ "$inst" = master ]; then
    # Objects created through the REST API by an earlier run (its _api package) belong to a
    # test run that is over; a fresh master starts without them.
    rm -rf "$D_ROOT/master/data/api/packages/_api"
  fi
  # -d detaches once the configuration is loaded. stdio to /dev/null, the lock's fd closed and
  # the working directory / : a daemon keeps what it inherits (a piped caller would hang, the
  # lock would stay held, and the handlers it runs would start in a directory a test may delete:
  # `sh: getcwd() failed` from every init script).
  (cd / && setsid -w env -i PATH="$D_PATH" LANG=C.UTF-8 icinga2 daemon -c "$(i_conf "$inst")" \
    "${defs[@]}" -d -e "$(i_errlog "$inst")" </dev/null >/dev/null 2>&1 9>&-) ||
    d_die "$inst failed to start" "$(i_errlog "$inst")" "$(i_log "$inst")"
  d_wait 30 i_listening "$ip" ||
    d_die "$inst started but does not listen on $ip:$D_PORT within 30 s" "$(i_errlog "$inst")" "$(i_log "$inst")"
  if [ "$inst" = master ]; then
    d_wait 30 master_api_new "$old" ||
      d_die "the master's API did not answer within 30 s" "$(i_errlog master)" "$(i_log master)"
  fi
  mark_loaded "$inst"
  d_log "$inst started (pid $(i_pid "$inst"), $ip:$D_PORT)"
}
master_api_new() {
  local cur
  cur=$(master_program_start || true)
  [ -n "$cur" ] && [ "$cur" != "$1" ]
}

# i_reload INST -- the master: SIGHUP (the umbrella starts a new worker with the same argv), then
# wait until its API reports the new start. The agent (no API of its own to ask, no state worth
# keeping) is restarted.
i_reload() {
  local inst=$1 pid old=''
  pid=$(i_pid "$inst") || { i_start "$inst"; return 0; }
  if [ "$inst" = agent ]; then
    i_stop agent
    i_start agent
    return 0
  fi
  [ "$inst" = master ] && old=$(master_program_start || true)
  kill -HUP "$pid"
  if [ "$inst" = master ]; then
    d_wait 30 master_api_new "$old" ||
      d_die "the master did not come back within 30 s after a reload" "$(i_errlog master)" "$(i_log master)"
  fi
  mark_loaded "$inst"
  d_log "$inst reloaded (pid $pid)"
}

# i_stop INST -- SIGTERM to the umbrella process only (it stops its worker; a SIGTERM sent to the
# worker too can leave it hanging until SIGKILL); SIGKILL to it and its process tree only if it
# is not gone within 30 s.
i_stop() {
  local inst=$1 pid kids k ip
  ip=$(i_ip "$inst")
  if pid=$(i_pid "$inst"); then
    kids=$(descendants "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    if ! d_wait 30 i_gone "$pid"; then
      d_log "$inst (pid $pid) still runs 30 s after SIGTERM: SIGKILL to it and its processes"
      # shellcheck disable=SC2086
      kill -KILL "$pid" $kids 2>/dev/null || true
    fi
    for k in $kids; do d_wait 10 i_gone "$k" || kill -KILL "$k" 2>/dev/null || true; done
    d_log "$inst stopped (pid $pid)"
  fi
  rm -f "$(i_pidfile "$inst")"
  d_wait 10 i_not_listening "$ip" || d_die "$inst: $ip:$D_PORT still listening 10 s after the stop"
}
i_not_listening() { ! i_listening "$1"; }
i_gone() { ! tb_pid_alive "$1"; }
descendants() {
  local c
  while read -r c; do
    echo "$c"
    descendants "$c"
  done < <(awk -v p="$1" '/^PPid:/ && $2 == p { split(FILENAME, f, "/"); print f[3] }' /proc/[0-9]*/status 2>/dev/null)
}

# ---------------------------------------------------------------------------------------------
# Verbs
# ---------------------------------------------------------------------------------------------
take_lock() {
  install -d -m 0755 "$D_ROOT"
  exec 9>"$D_LOCK"
  flock -w 120 9 || d_die "another distributed.sh holds $D_LOCK for 120 s"
}

# pki -- one CA (the master's), both certificates signed offline; kept while valid.
pki() {
  local inst node certs
  if [ ! -s "$D_CA" ]; then
    d_log "PKI: new CA (4096-bit RSA: a few seconds)"
    i2 master pki new-ca >/dev/null 2>&1 || d_die "icinga2 pki new-ca failed"
  fi
  for inst in master agent; do
    node=$(i_node "$inst")
    certs=$D_ROOT/$inst/data/certs
    if ! openssl verify -CAfile "$D_CA" "$certs/$node.crt" >/dev/null 2>&1 ||
      ! openssl x509 -noout -checkend 2592000 -in "$certs/$node.crt" >/dev/null 2>&1; then
      d_log "PKI: certificate for $node"
      rm -f "$certs/$node.crt" "$certs/$node.key" "$certs/$node.csr"
      i2 "$inst" pki new-cert --cn "$node" --key "$certs/$node.key" --csr "$certs/$node.csr" >/dev/null 2>&1 ||
        d_die "icinga2 pki new-cert for $node failed"
      i2 master pki sign-csr --csr "$certs/$node.csr" --cert "$certs/$node.crt" >/dev/null 2>&1 ||
        d_die "icinga2 pki sign-csr for $node failed"
    fi
    cmp -s "$D_CA" "$certs/ca.crt" || install -m 0644 -o "$D_USER" -g "$D_USER" "$D_CA" "$certs/ca.crt"
  done
}

write_env() {
  local plugin_dir=$1 def_list=$2
  write_file "$D_ENV_FILE" 0644 <<EOF || true
# Written by rsplugins tests/testbed/distributed.sh; removed by \`distributed.sh stop\`. KEY=VALUE, unquoted.
RSPLUGINS_DISTRIBUTED=1
RSPLUGINS_DISTRIBUTED_SCRIPT=$HERE/distributed.sh
RSPLUGINS_DISTRIBUTED_PLUGIN_DIR=$plugin_dir
RSPLUGINS_DISTRIBUTED_ICINGA2_DEFS=$def_list
RSPLUGINS_DISTRIBUTED_STAGED_DEFS_DIR=$D_STAGED
RSPLUGINS_DISTRIBUTED_AGENT_SYNCED_DIR=$D_AGENT_SYNCED
RSPLUGINS_DISTRIBUTED_USER=$D_USER
RSPLUGINS_DISTRIBUTED_PATH=$D_PATH
RSPLUGINS_DISTRIBUTED_MASTER=$D_MASTER
RSPLUGINS_DISTRIBUTED_MASTER_ZONE=$D_MASTER_ZONE
RSPLUGINS_DISTRIBUTED_AGENT=$D_AGENT
RSPLUGINS_DISTRIBUTED_AGENT_ZONE=$D_AGENT_ZONE
RSPLUGINS_DISTRIBUTED_GLOBAL_ZONE=$D_GLOBAL_ZONE
RSPLUGINS_DISTRIBUTED_HOST=$D_AGENT
RSPLUGINS_DISTRIBUTED_SERVICE_TEMPLATE=$D_TEMPLATE
RSPLUGINS_DISTRIBUTED_PROBE_SERVICE=$D_PROBE_SVC
RSPLUGINS_DISTRIBUTED_OBJECTS_DIR=$D_OBJECTS
RSPLUGINS_DISTRIBUTED_API=$D_API
RSPLUGINS_DISTRIBUTED_API_RESOLVE=$D_API_RESOLVE
RSPLUGINS_DISTRIBUTED_API_USER=$D_API_USER
RSPLUGINS_DISTRIBUTED_API_PASSWORD_FILE=$D_API_PASSWORD_FILE
RSPLUGINS_DISTRIBUTED_CA=$D_CA
RSPLUGINS_DISTRIBUTED_MASTER_LOG=$(i_log master)
RSPLUGINS_DISTRIBUTED_AGENT_LOG=$(i_log agent)
RSPLUGINS_DISTRIBUTED_MASTER_PIDFILE=$(i_pidfile master)
RSPLUGINS_DISTRIBUTED_AGENT_PIDFILE=$(i_pidfile agent)
RSPLUGINS_DISTRIBUTED_MASTER_ADDRESS=$D_MASTER_IP:$D_PORT
RSPLUGINS_DISTRIBUTED_AGENT_ADDRESS=$D_AGENT_IP:$D_PORT
EOF
}

# settle -- stage, write, validate, start or reload what is not running or changed, wait until the
# agent runs the definitions, write the env file. FORCE=1 reloads the master even when unchanged.
settle() {
  local force=$1 plugin_dir defs=() inst
  # shellcheck source=/dev/null
  . "$D_SETTINGS"
  # shellcheck disable=SC2154  # set by the settings file
  plugin_dir=$SET_PLUGIN_DIR
  # shellcheck disable=SC2154
  defs=("${SET_DEFS[@]}")
  local p
  for p in "${defs[@]}"; do
    [ -n "$(expand "$p")" ] || d_die "--icinga2-defs $p names no file"
  done
  stage_defs "${defs[@]}"
  write_configs "$plugin_dir"
  i_validate agent
  i_validate master
  for inst in agent master; do
    if ! i_running "$inst"; then
      d_log "$inst: starting"
      i_start "$inst"
    elif changed "$inst" || { [ "$inst" = master ] && [ "$force" = 1 ]; }; then
      d_log "$inst: configuration changed (or --force), reloading"
      i_reload "$inst"
    else
      d_log "$inst already running (pid $(i_pid "$inst")), configuration unchanged"
    fi
  done
  wait_agent_runs 60
  local IFS=:
  write_env "$plugin_dir" "${defs[*]}"
  unset IFS
}

cmd_start() {
  local plugin_dir=$REPO/target/debug defs=()
  while [ $# -gt 0 ]; do
    case $1 in
      --plugin-dir) plugin_dir=${2:?--plugin-dir needs a directory}; shift 2 ;;
      --icinga2-defs) defs+=("${2:?--icinga2-defs needs a path}"); shift 2 ;;
      *) d_die "start: unknown option '$1' (see the head of $0)" ;;
    esac
  done
  [ ${#defs[@]} -gt 0 ] ||
    defs=("$REPO/contrib/icinga2/rsplugins-commands.conf" "$REPO/contrib/icinga2/rsplugins-eventcommands.conf")
  plugin_dir=${plugin_dir%/}
  local p
  for p in "$plugin_dir" "${defs[@]}"; do
    [[ $p != *[[:space:]:]* ]] || d_die "paths with spaces or colons are not supported: '$p'"
    [[ $p == /* ]] || d_die "give absolute paths: '$p'"
  done
  for p in "${defs[@]}"; do
    [ -n "$(expand "$p")" ] || d_die "--icinga2-defs $p names no file"
  done

  local T0
  T0=$(date +%s.%N)
  take_lock
  mkdir -p "$TB_LOG_DIR"

  # --- packages
  write_file /usr/sbin/policy-rc.d 0755 <<'EOF' || true
#!/bin/sh
# Written by rsplugins tests/testbed: never start services from package scripts.
exit 101
EOF
  local missing why
  mapfile -t missing < <(tb_missing icinga2 curl jq openssl iproute2 util-linux)
  if [ ${#missing[@]} -gt 0 ]; then
    local apt_log=$TB_LOG_DIR/apt-distributed.log
    why=$(tb_apt_install "$apt_log" "${missing[@]}") || d_die "$why" "$apt_log"
  fi
  getent passwd "$D_USER" >/dev/null || d_die "user $D_USER missing (the icinga2 package creates it)"

  # The agent runs our binaries as nagios: every directory above them must be searchable.
  local d=$plugin_dir
  while [ ! -d "$d" ]; do d=$(dirname "$d"); done
  setpriv --reuid "$D_USER" --regid "$D_USER" --clear-groups test -x "$d" ||
    d_die "user $D_USER cannot reach $d (plugin dir $plugin_dir): make its parents world-searchable (chmod o+x)"
  [ -d "$plugin_dir" ] || d_log "note: $plugin_dir does not exist yet (build or install the plugins before the tests)"

  # --- loopback: all of 127/8 is local on Linux; add an address only where it is not
  local ip
  for ip in "$D_MASTER_IP" "$D_AGENT_IP"; do
    [[ $(ip -o route get "$ip" 2>/dev/null) == local\ * ]] || ip addr add "$ip/32" dev lo ||
      d_die "cannot make $ip a local address"
  done

  # --- directories (the daemons and the pki CLI run as nagios; the tests write tests.d as root)
  install -d -m 0755 "$D_ROOT" "$D_OBJECTS"
  install -d -m 0755 -o "$D_USER" -g "$D_USER" "$D_LOG_DIR"
  local inst sub
  for inst in master agent; do
    install -d -m 0755 "$D_ROOT/$inst" "$D_ROOT/$inst/etc"
    for sub in etc/zones.d data data/certs cache log spool run; do
      install -d -m 0750 -o "$D_USER" -g "$D_USER" "$D_ROOT/$inst/$sub"
    done
  done
  # the tests read the CA, the synced copies and the logs
  chmod 0755 "$D_ROOT/master/data" "$D_ROOT/agent/data"

  pki
  chmod 0755 "$D_ROOT/master/data/ca"
  chmod 0644 "$D_CA"
  [ -s "$D_API_PASSWORD_FILE" ] || (umask 077 && openssl rand -hex 16 >"$D_API_PASSWORD_FILE")

  {
    echo "# Written by rsplugins tests/testbed/distributed.sh start"
    printf 'SET_PLUGIN_DIR=%q\n' "$plugin_dir"
    printf 'SET_DEFS=(%s)\n' "$(printf '%q ' "${defs[@]}")"
  } | write_file "$D_SETTINGS" 0644 || true

  settle 0
  d_log "ready ($(tb_elapsed "$T0") s); env file $D_ENV_FILE"
  printf '  %-6s %-22s log %s\n' master "$D_MASTER_IP:$D_PORT" "$(i_log master)" \
    agent "$D_AGENT_IP:$D_PORT" "$(i_log agent)"
}

cmd_reload() {
  local force=0
  case ${1:-} in
    --force) force=1 ;;
    '') ;;
    *) d_die "reload: --force or nothing, not '$1'" ;;
  esac
  [ -f "$D_SETTINGS" ] || d_die "not set up: run \`$0 start\` first"
  take_lock
  settle "$force"
}

cmd_stop() {
  rm -f "$D_ENV_FILE"
  [ -d "$D_ROOT" ] || { d_log "nothing to stop"; return 0; }
  take_lock
  i_stop master
  i_stop agent
  d_log "stopped (configuration and certificates kept in $D_ROOT)"
}

cmd_stop_agent() {
  [ -f "$D_SETTINGS" ] || d_die "not set up: run \`$0 start\` first"
  take_lock
  i_stop agent
  if i_running master; then
    d_wait 20 agent_disconnected || d_die "the master still shows the agent connected 20 s after its stop"
  fi
}
agent_disconnected() { ! agent_connected; }

cmd_start_agent() {
  [ -f "$D_SETTINGS" ] || d_die "not set up: run \`$0 start\` first"
  take_lock
  if i_running agent; then
    d_log "agent already running (pid $(i_pid agent))"
  else
    i_validate agent
    i_start agent
  fi
  i_running master || d_die "the master is not running (run \`$0 start\`)"
  wait_agent_runs 60
}

cmd_status() {
  local rc=0 inst ps
  for inst in master agent; do
    if i_running "$inst"; then
      echo "$inst running (pid $(i_pid "$inst"), $(i_ip "$inst"):$D_PORT, log $(i_log "$inst"))"
    else
      echo "$inst not running"
      rc=1
    fi
  done
  if i_running master; then
    ps=$(master_program_start || true)
    [ -n "$ps" ] && echo "master configuration started $(tb_elapsed "$ps") s ago (Icinga's 300 s cold-start window)"
    if agent_connected; then echo "agent connected to the master"; else echo "agent NOT connected"; rc=1; fi
  fi
  return $rc
}

cmd_force() {
  local svc=${1:?force SERVICE}
  d_api POST /v1/actions/reschedule-check "{\"type\":\"Service\",\"service\":\"$D_AGENT!$svc\",\"force\":true}"
  echo
}

cmd_result() {
  local svc=${1:?result SERVICE}
  svc_attrs "$svc"
  echo
}

[ "$(id -u)" = 0 ] || d_die "distributed.sh must run as root"
verb=${1:-start}
[ $# -gt 0 ] && shift
case $verb in
  start) cmd_start "$@" ;;
  reload) cmd_reload "$@" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  stop-agent) cmd_stop_agent ;;
  start-agent) cmd_start_agent ;;
  force) cmd_force "$@" ;;
  result) cmd_result "$@" ;;
  *) d_die "unknown verb '$verb': start, reload, stop, status, stop-agent, start-agent, force, result" ;;
esac
