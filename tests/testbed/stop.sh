#!/usr/bin/env bash
# Stop every daemon started by tests/testbed/setup.sh and remove /etc/rsplugins-testbed.env
# (so tests no longer see a testbed). Idempotent: succeeds when nothing runs.
# Packages, configuration, users and certificates are kept; setup.sh restarts everything quickly.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

[ "$(id -u)" = 0 ] || tb_die "stop.sh must run as root"
mkdir -p "$TB_LOG_DIR"
rm -f "$TB_ENV_FILE"

failed=()
run_stop() { # NAME FUNCTION [ARGS...]
  local name=$1
  shift
  if "$@"; then
    tb_log "$name stopped"
  else
    failed+=("$name")
    tb_log "$name: ports still busy after 10 s"
  fi
}

command -v postfix >/dev/null && run_stop postfix tb_stop_postfix
run_stop dovecot tb_stop_dovecot
run_stop vsftpd tb_stop_vsftpd "$TB_VSFTPD_CONF" "$TB_VSFTPD_PID" "${TB_VSFTPD_PORTS[@]}"
run_stop vsftpd-implicit tb_stop_vsftpd "$TB_VSFTPD_IMPLICIT_CONF" "$TB_VSFTPD_IMPLICIT_PID" \
  "${TB_VSFTPD_IMPLICIT_PORTS[@]}"
run_stop sshd tb_stop_sshd
run_stop named-secondary tb_stop_named "$TB_NAMED2_PID" "${TB_NAMED2_PORTS[@]}"
run_stop named tb_stop_named "$TB_NAMED_PID" "${TB_NAMED_PORTS[@]}"
run_stop nginx tb_stop_nginx
# replicas first: a primary stopped first would leave them retrying to connect
run_stop mariadb-replica tb_stop_mysql_replica
run_stop mariadb tb_stop_mysql
run_stop pgsql-standby tb_stop_pgsql_standby
run_stop pgsql tb_stop_pgsql

if [ ${#failed[@]} -gt 0 ]; then
  tb_die "still listening after stop: ${failed[*]} (check \`ss -ltnp\`)"
fi
tb_log "testbed stopped"
