# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts that source this
# Shared definitions for tests/testbed/setup.sh and tests/testbed/stop.sh.
# Sourced, never executed. Everything here is loopback-only test infrastructure.

TB_CERT_DIR=/etc/ssl/rsplugins-test
TB_ENV_FILE=/etc/rsplugins-testbed.env
TB_LOG_DIR=/var/log/rsplugins-testbed       # start-up output of the daemons, apt log

TB_POSTFIX_LOG=/var/log/postfix.log
TB_DOVECOT_LOG=/var/log/dovecot.log
TB_VSFTPD_CONF=/etc/vsftpd-rsplugins.conf
TB_VSFTPD_IMPLICIT_CONF=/etc/vsftpd-rsplugins-implicit.conf
TB_VSFTPD_PID=/run/vsftpd-rsplugins.pid
TB_VSFTPD_IMPLICIT_PID=/run/vsftpd-rsplugins-implicit.pid
TB_VSFTPD_LOG=/var/log/vsftpd-rsplugins.log
TB_VSFTPD_IMPLICIT_LOG=/var/log/vsftpd-rsplugins-implicit.log
TB_SSHD_PID=/run/sshd-rsplugins.pid
TB_SSHD_LOG=/var/log/sshd-rsplugins.log
TB_DOVECOT_PID=/run/dovecot/master.pid
TB_POSTFIX_PID=/var/spool/postfix/pid/master.pid

# BIND 9: a primary on port 53 and a secondary of the same zones on port 5300 (its serial can lag).
TB_NAMED_DIR=/etc/bind/rsplugins              # configuration and static zone files (root:bind)
TB_NAMED_DYN_DIR=/var/lib/bind/rsplugins      # lag.test, updated by the tests (bind-owned)
TB_NAMED2_DIR=/var/cache/bind/rsplugins-secondary
TB_NAMED_CONF=$TB_NAMED_DIR/primary.conf
TB_NAMED2_CONF=$TB_NAMED_DIR/secondary.conf
TB_NAMED_PID=/run/named/rsplugins-primary.pid
TB_NAMED2_PID=/run/named/rsplugins-secondary.pid
TB_NAMED_LOG=/var/log/named/rsplugins-primary.log
TB_NAMED2_LOG=/var/log/named/rsplugins-secondary.log
TB_NAMED2_PORT=5300

# nginx: our own main configuration file (never Debian's nginx.conf) and document root.
TB_NGINX_CONF=/etc/nginx/nginx-rsplugins.conf
TB_NGINX_HTPASSWD=/etc/nginx/rsplugins.htpasswd
TB_NGINX_ROOT=/var/www/rsplugins
TB_NGINX_LOG_DIR=/var/log/nginx-rsplugins
TB_NGINX_LOG=$TB_NGINX_LOG_DIR/error.log
TB_NGINX_PID=/run/nginx.pid                 # Debian's path: a plain `nginx -s reload` finds it

# MariaDB 10.11: the primary is Debian's instance (/etc/mysql/my.cnf plus our drop-in, datadir
# /var/lib/mysql); the replica has a defaults file, datadir, socket and pid file of its own.
TB_MYSQL_CNF=/etc/mysql/mariadb.conf.d/99-rsplugins.cnf
TB_MYSQL_PORT=3306
TB_MYSQL_SOCKET=/run/mysqld/mysqld.sock
TB_MYSQL_PID=/run/mysqld/mysqld.pid
TB_MYSQL_LOG_DIR=/var/log/mysql
TB_MYSQL_LOG=$TB_MYSQL_LOG_DIR/error.log
TB_MYSQL_REPLICA_CNF=/etc/mysql/rsplugins-replica.cnf
TB_MYSQL_REPLICA_PORT=3307
TB_MYSQL_REPLICA_DIR=/var/lib/mysql-replica
TB_MYSQL_REPLICA_SOCKET=/run/mysqld/mysqld-replica.sock
TB_MYSQL_REPLICA_PID=/run/mysqld/mysqld-replica.pid
TB_MYSQL_REPLICA_LOG=$TB_MYSQL_LOG_DIR/replica-error.log

# PostgreSQL 15: Debian's cluster 15/main (the primary) and a cluster 15/standby of our own,
# made once with pg_basebackup and streaming from the primary through a replication slot.
TB_PG_VERSION=15
TB_PG_PORT=5432
TB_PG_DIR=/var/lib/postgresql/$TB_PG_VERSION/main
TB_PG_STANDBY_CLUSTER=standby
TB_PG_STANDBY_PORT=5433
TB_PG_STANDBY_DIR=/var/lib/postgresql/$TB_PG_VERSION/$TB_PG_STANDBY_CLUSTER
TB_PG_SLOT=rsplugins_standby
TB_PG_SOCKET_DIR=/run/postgresql
TB_PG_SSL_DIR=/etc/postgresql/rsplugins-ssl    # postgres-owned copies of the testbed cert and key
TB_PG_LOG=/var/log/postgresql/postgresql-$TB_PG_VERSION-main.log
TB_PG_STANDBY_LOG=/var/log/postgresql/postgresql-$TB_PG_VERSION-$TB_PG_STANDBY_CLUSTER.log

# Database accounts, the same in all four servers (see README.md for the privileges).
TB_DB_USER=monitor
TB_DB_PASS=monpass
TB_DB_NAME=monitest
TB_DB_ADMIN_USER=dbadmin
TB_DB_ADMIN_PASS=adminpass
TB_DB_REPL_USER=replicator
TB_DB_REPL_PASS=replpass

# What setup.sh last provisioned in the databases (checksums), to skip work that is done.
TB_STATE_DIR=/var/lib/rsplugins-testbed

# IPv6 loopback present? (some containers disable IPv6; then only 127.0.0.1 is used)
if grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null; then
  TB_HAVE_V6=1
else
  TB_HAVE_V6=0
fi

v6() { [ "$TB_HAVE_V6" = 1 ] && printf '%s\n' "$@"; return 0; }

# Listening sockets of each service, as `ss -ltn` prints the local address.
# shellcheck disable=SC2207
TB_POSTFIX_PORTS=(127.0.0.1:25 $(v6 '[::1]:25') 127.0.0.1:2525 127.0.0.1:465 127.0.0.1:2526 127.0.0.1:2465)
# shellcheck disable=SC2207
TB_DOVECOT_PORTS=(127.0.0.1:110 127.0.0.1:143 127.0.0.1:993 127.0.0.1:995
                  $(v6 '[::1]:110' '[::1]:143' '[::1]:993' '[::1]:995'))
TB_VSFTPD_PORTS=(127.0.0.1:21)
TB_VSFTPD_IMPLICIT_PORTS=(127.0.0.1:990)
# shellcheck disable=SC2207
TB_SSHD_PORTS=(127.0.0.1:22 $(v6 '[::1]:22'))
# shellcheck disable=SC2207
TB_NAMED_PORTS=(127.0.0.1:53 $(v6 '[::1]:53'))
# shellcheck disable=SC2207
TB_NAMED2_PORTS=("127.0.0.1:$TB_NAMED2_PORT" $(v6 "[::1]:$TB_NAMED2_PORT"))
# shellcheck disable=SC2207
TB_NGINX_PORTS=(127.0.0.1:80 $(v6 '[::1]:80') 127.0.0.1:443 $(v6 '[::1]:443') 127.0.0.1:8443 127.0.0.1:8080)
# shellcheck disable=SC2207
TB_MYSQL_PORTS=("127.0.0.1:$TB_MYSQL_PORT" $(v6 "[::1]:$TB_MYSQL_PORT"))
# shellcheck disable=SC2207
TB_MYSQL_REPLICA_PORTS=("127.0.0.1:$TB_MYSQL_REPLICA_PORT" $(v6 "[::1]:$TB_MYSQL_REPLICA_PORT"))
# shellcheck disable=SC2207
TB_PG_PORTS=("127.0.0.1:$TB_PG_PORT" $(v6 "[::1]:$TB_PG_PORT"))
# shellcheck disable=SC2207
TB_PG_STANDBY_PORTS=("127.0.0.1:$TB_PG_STANDBY_PORT" $(v6 "[::1]:$TB_PG_STANDBY_PORT"))

tb_log() { printf '[testbed %s] %s\n' "$(date +%T)" "$*"; }

# write_file PATH MODE < CONTENT -- replace PATH only if the content differs; true if it changed.
write_file() {
  local path=$1 mode=$2 tmp
  tmp=$(mktemp "${path}.XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    chmod "$mode" "$path"
    return 1
  fi
  mv -f "$tmp" "$path"
  return 0
}

# tb_missing PKG... -- the Debian packages of the list that are not installed, one a line.
tb_missing() {
  local installed p
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null || true)
  for p in "$@"; do grep -q "^$p ii" <<<"$installed" || echo "$p"; done
}

# tb_apt_install LOG PKG... -- apt-get update, then install PKG without recommends, keeping
# existing configuration files; output to LOG. On failure prints which step failed.
tb_apt_install() {
  local log=$1
  shift
  export DEBIAN_FRONTEND=noninteractive
  tb_log "apt-get update (missing: $*; log $log)"
  apt-get update -q </dev/null >>"$log" 2>&1 || { echo "apt-get update failed"; return 1; }
  tb_log "apt-get install $*"
  apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "$@" </dev/null >>"$log" 2>&1 || { echo "apt-get install failed"; return 1; }
}

# tb_fail PREFIX ENV_FILE MESSAGE [LOGFILE...] -- fail loudly: remove ENV_FILE (the tests must not
# take a broken setup for a good one), print MESSAGE and the last lines of each LOGFILE, exit 1.
tb_fail() {
  local prefix=$1 env_file=$2 f
  rm -f "$env_file" 2>/dev/null || true
  printf '[%s] ERROR: %s\n' "$prefix" "$3" >&2
  shift 3
  for f in "$@"; do
    if [ -f "$f" ]; then
      printf '[%s] ---- last lines of %s ----\n' "$prefix" "$f" >&2
      tail -n 25 "$f" >&2 || true
    fi
  done
  exit 1
}

tb_die() { tb_fail testbed "$TB_ENV_FILE" "$@"; }

# tb_elapsed T0 -- seconds since T0 (date +%s.%N), one decimal.
tb_elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# tb_expand PATH EXT... -- the files PATH names now: PATH itself, the *.EXT files of a directory,
# or the files matching a `DIR/PREFIX*SUFFIX` pattern.
tb_expand() {
  local p=$1 f e
  shift
  if [ -d "$p" ]; then
    for e in "$@"; do
      for f in "$p"/*."$e"; do [ -f "$f" ] && echo "$f"; done
    done
  elif [[ $p == *'*'* ]]; then
    for f in $p; do [ -f "$f" ] && echo "$f"; done
  elif [ -f "$p" ]; then
    echo "$p"
  fi
  return 0
}

# All listening TCP sockets, one "LOCAL_ADDRESS PROCESS_NAMES" per line, the names of every process
# holding the socket comma-separated (e.g. "[::1]:25 smtpd,master": postfix's smtpd children
# inherit the listener and ss names them first while they linger, up to 100 s after a connection).
tb_listening() {
  ss -Hltnp 2>/dev/null | awk '{
    names = ""; rest = $0
    while (match(rest, /\("[^"]*",pid=/)) {
      names = names (names == "" ? "" : ",") substr(rest, RSTART + 2, RLENGTH - 8)
      rest = substr(rest, RSTART + RLENGTH)
    }
    print $4, names
  }'
}

# tb_is_listening LISTING ADDR:PORT [PROCESS] -- true if ADDR:PORT (or a wildcard on that port) is
# listed, and if PROCESS is given, held by a process of that name (among others).
tb_is_listening() {
  local listing=$1 spec=$2 proc=${3:-} port=${2##*:}
  local alts=("$spec" "*:$port" "[::]:$port")
  case $spec in
    127.*) alts+=("0.0.0.0:$port") ;;
  esac
  local a
  for a in "${alts[@]}"; do
    awk -v a="$a" -v p="$proc" '$1 == a && (p == "" || index("," $2 ",", "," p ",")) { f = 1 } END { exit !f }' \
      <<<"$listing" && return 0
  done
  return 1
}

# tb_all_listening PROCESS ADDR:PORT... -- true if every socket is listening, owned by PROCESS
# (a process name as ss shows it; "" for any).
tb_all_listening() {
  local proc=$1 listing s
  shift
  listing=$(tb_listening)
  for s in "$@"; do
    tb_is_listening "$listing" "$s" "$proc" || return 1
  done
  return 0
}

# tb_none_listening ADDR:PORT... -- true if no socket is listening (exact address only).
tb_none_listening() {
  local listing s
  listing=$(tb_listening)
  for s in "$@"; do
    awk -v a="$s" '$1 == a { f = 1 } END { exit !f }' <<<"$listing" && return 1
  done
  return 0
}

# tb_pid_alive PID -- true if PID exists and is not a zombie.
tb_pid_alive() {
  local pid=$1 state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# tb_pidfile_pid FILE -- prints the pid in FILE (postfix pads it with spaces) if it is alive.
tb_pidfile_pid() {
  local pid
  [ -r "$1" ] || return 1
  pid=$(tr -dc '0-9' <"$1" | head -c 12)
  tb_pid_alive "$pid" || return 1
  printf '%s\n' "$pid"
}

# tb_cmdline PID -- the command line with spaces between arguments.
tb_cmdline() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null | sed 's/ $//'; }

# tb_vsftpd_pids CONF -- the listener and session processes started with exactly this config.
tb_vsftpd_pids() {
  local conf=$1 p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    case "$(tb_cmdline "$p")" in
      "vsftpd $conf" | "/usr/sbin/vsftpd $conf") tb_pid_alive "$p" && echo "$p" ;;
    esac
  done
  return 0
}

# tb_kill_wait TIMEOUT_S PID... -- SIGTERM, wait until gone (or zombie), SIGKILL after TIMEOUT.
tb_kill_wait() {
  local timeout=$1 pid i alive
  shift
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    alive=0
    for pid in "$@"; do tb_pid_alive "$pid" && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null || true
  sleep 0.2
}

# tb_wait_closed TIMEOUT_S ADDR:PORT... -- wait until the sockets are released.
tb_wait_closed() {
  local timeout=$1 i
  shift
  for ((i = 0; i < timeout * 10; i++)); do
    tb_none_listening "$@" && return 0
    sleep 0.1
  done
  return 1
}

# ---- stopping, shared by setup.sh (restart path) and stop.sh ----------------------------

tb_stop_postfix() {
  local pid
  pid=$(tb_pidfile_pid "$TB_POSTFIX_PID" || true)
  if [ -n "$pid" ]; then
    postfix stop </dev/null >>"$TB_LOG_DIR/postfix-start.log" 2>&1 || true
    tb_kill_wait 10 "$pid"
  fi
  tb_wait_closed 10 "${TB_POSTFIX_PORTS[@]}"
}

tb_stop_dovecot() {
  local pid
  pid=$(tb_pidfile_pid "$TB_DOVECOT_PID" || true)
  [ -n "$pid" ] && tb_kill_wait 10 "$pid"
  tb_wait_closed 10 "${TB_DOVECOT_PORTS[@]}"
}

# tb_stop_vsftpd CONF PIDFILE PORTS...
tb_stop_vsftpd() {
  local conf=$1 pidfile=$2 pid pids
  shift 2
  pids=$(tb_vsftpd_pids "$conf")
  pid=$(tb_pidfile_pid "$pidfile" || true)
  if [ -n "$pid" ]; then
    case "$(tb_cmdline "$pid")" in *vsftpd*) pids="$pid $pids" ;; esac
  fi
  # shellcheck disable=SC2086
  [ -n "${pids// /}" ] && tb_kill_wait 10 $pids
  rm -f "$pidfile"
  tb_wait_closed 10 "$@"
}

tb_stop_sshd() {
  local pid
  pid=$(tb_pidfile_pid "$TB_SSHD_PID" || true)
  if [ -n "$pid" ]; then
    case "$(tb_cmdline "$pid")" in *sshd*) tb_kill_wait 10 "$pid" ;; esac
  fi
  rm -f "$TB_SSHD_PID"
  tb_wait_closed 10 "${TB_SSHD_PORTS[@]}"
}

# tb_stop_named PIDFILE PORTS... -- one of our named instances (never another program's).
tb_stop_named() {
  local pidfile=$1 pid
  shift
  pid=$(tb_pidfile_pid "$pidfile" || true)
  if [ -n "$pid" ]; then
    case "$(tb_cmdline "$pid")" in *named*) tb_kill_wait 10 "$pid" ;; esac
  fi
  rm -f "$pidfile"
  tb_wait_closed 10 "$@"
}

tb_stop_nginx() {
  local pid
  pid=$(tb_pidfile_pid "$TB_NGINX_PID" || true)
  if [ -n "$pid" ]; then
    # SIGTERM: fast shutdown; the master stops its workers and removes the pid file
    case "$(tb_cmdline "$pid")" in *nginx*) tb_kill_wait 10 "$pid" ;; esac
  fi
  tb_wait_closed 10 "${TB_NGINX_PORTS[@]}"
}

# tb_stop_mariadb PIDFILE PORTS... -- one of our mariadbd instances: SIGTERM is a clean shutdown
# (~1.5 s); SIGKILL only after 60 s.
tb_stop_mariadb() {
  local pidfile=$1 pid
  shift
  pid=$(tb_pidfile_pid "$pidfile" || true)
  if [ -n "$pid" ]; then
    case "$(tb_cmdline "$pid")" in *mariadbd* | *mysqld*) tb_kill_wait 60 "$pid" ;; esac
  fi
  tb_wait_closed 10 "$@"
}
tb_stop_mysql() { tb_stop_mariadb "$TB_MYSQL_PID" "${TB_MYSQL_PORTS[@]}"; }
tb_stop_mysql_replica() { tb_stop_mariadb "$TB_MYSQL_REPLICA_PID" "${TB_MYSQL_REPLICA_PORTS[@]}"; }

# tb_stop_pg CLUSTER PORTS... -- pg_ctlcluster's fast shutdown (clean: rolls back open
# transactions, disconnects clients, writes a shutdown checkpoint); it waits until the server is gone.
tb_stop_pg() {
  local cluster=$1
  shift
  if [ -f "/etc/postgresql/$TB_PG_VERSION/$cluster/postgresql.conf" ] && command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster "$TB_PG_VERSION" "$cluster" stop </dev/null >>"$TB_LOG_DIR/pgsql-stop.log" 2>&1 || true
  fi
  tb_wait_closed 10 "$@"
}
tb_stop_pgsql() { tb_stop_pg main "${TB_PG_PORTS[@]}"; }
tb_stop_pgsql_standby() { tb_stop_pg "$TB_PG_STANDBY_CLUSTER" "${TB_PG_STANDBY_PORTS[@]}"; }
