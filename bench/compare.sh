#!/usr/bin/env bash
# Times each rsplugins binary against its C monitoring-plugins counterpart on
# the same work, in one run (three rounds of 100 runs each, the order
# swapped in the second), and prints median wall time, the ratio ours/C and
# max RSS. Speed targets live here, not in tests (shared machines are noisy).
#
#   bench/compare.sh            # all cases
#   bench/compare.sh load proc  # cases whose name starts with these words ("floor": the floor rows)
#   bench/compare.sh --cases    # only print the cases, `name|C command|our command` a line
#                               # (bench/hot-functions.sh profiles ours)
#
# Our binaries are taken from target/dist, or from RSPLUGINS_BENCH_BIN.
#
# Needs root for apt-get the first time (Debian's monitoring-plugins, hyperfine).
# Network cases need the real servers: tests/testbed/setup.sh (a case whose
# server is down is reported as such, not timed).
set -euo pipefail
cd "$(dirname "$0")/.."

C=/usr/lib/nagios/plugins
R=${RSPLUGINS_BENCH_BIN:-target/dist}
OUT=bench/results
mkdir -p "$OUT"

# Synthetic /proc with 10,000 processes for the check_proc_rs scaling case.
FIX=$OUT/proc10k
if [ -x plugins/check_proc_rs/bench/make_fixture.sh ] && [ ! -f "$FIX/uptime" ]; then
  plugins/check_proc_rs/bench/make_fixture.sh "$FIX" 10000 >/dev/null
fi

# name | C command (empty: no C counterpart) | our command
CASES=$(cat <<CASES
load|$C/check_load -w 5,4,3 -c 10,8,6|$R/check_load_rs -w 5,4,3 -c 10,8,6
load-percpu|$C/check_load -r -w 1,1,1 -c 2,2,2|$R/check_load_rs -r -w 1,1,1 -c 2,2,2
proc|$C/check_procs -w 250 -c 400|$R/check_proc_rs -w 250 -c 400
proc-command|$C/check_procs -C sshd -c 0:|$R/check_proc_rs -C sshd -c 0:
proc-args|$C/check_procs -a sleep -c 0:|$R/check_proc_rs -a sleep -c 0:
proc-10k-fixture||$R/check_proc_rs --proc-root $FIX -w 20000 -c 30000
disk|$C/check_disk -w 20% -c 10% -p /|$R/check_disk_rs -w 20% -c 10% -p /
disk-all|$C/check_disk -w 20% -c 10%|$R/check_disk_rs -w 20% -c 10%
swap|$C/check_swap -n ok -w 50% -c 25%|$R/check_swap_rs -n ok -w 50% -c 25%
mem||$R/check_mem_rs -w 10% -c 5%
tcp|$C/check_tcp -H 127.0.0.1 -p 25|$R/check_tcp_rs -H 127.0.0.1 -p 25
tcp-expect|$C/check_tcp -H 127.0.0.1 -p 25 -e 220|$R/check_tcp_rs -H 127.0.0.1 -p 25 -e 220
smtp|$C/check_smtp -H 127.0.0.1|$R/check_smtp_rs -H 127.0.0.1
smtp-starttls|$C/check_smtp -H 127.0.0.1 -S|$R/check_smtp_rs -H 127.0.0.1 -S
pop3|$C/check_pop -H 127.0.0.1|$R/check_pop3_rs -H 127.0.0.1
imap|$C/check_imap -H 127.0.0.1|$R/check_imap_rs -H 127.0.0.1
ftp|$C/check_ftp -H 127.0.0.1|$R/check_ftp_rs -H 127.0.0.1
ssh|$C/check_ssh -H 127.0.0.1|$R/check_ssh_rs -H 127.0.0.1
dns|$C/check_dns -H www.example.test -s 127.0.0.1|$R/check_dns_rs -H www.example.test -s 127.0.0.1
dns-expect|$C/check_dns -H www.example.test -s 127.0.0.1 -a 192.0.2.10|$R/check_dns_rs -H www.example.test -s 127.0.0.1 -a 192.0.2.10
dig|$C/check_dig -H 127.0.0.1 -l example.test -T MX|$R/check_dig_rs -H 127.0.0.1 -l example.test -T MX
dig-expect|$C/check_dig -H 127.0.0.1 -l mail.example.test -a 192.0.2.25|$R/check_dig_rs -H 127.0.0.1 -l mail.example.test -a 192.0.2.25
http|$C/check_http -H localhost -u /health -s OK|$R/check_http_rs -H localhost -u /health -s OK
https|$C/check_http -H localhost -S -u /health -s OK|$R/check_http_rs -H localhost -S -u /health -s OK
mysql|$C/check_mysql -H 127.0.0.1 -u monitor -p monpass|$R/check_mysql_rs -H 127.0.0.1 -u monitor -p monpass
mysql-query|$C/check_mysql_query -H 127.0.0.1 -u monitor -p monpass -q select(5)|$R/check_mysql_query_rs -H 127.0.0.1 -u monitor -p monpass -q select(5)
db-mysql|$C/check_mysql -H 127.0.0.1 -u monitor -p monpass|$R/check_db_rs --type mysql -H 127.0.0.1 -u monitor -P monpass
db-pgsql|$C/check_pgsql -H 127.0.0.1 -l monitor -p monpass -d monitest|$R/check_db_rs --type pgsql -H 127.0.0.1 -u monitor -P monpass -d monitest
pgsql|$C/check_pgsql -H 127.0.0.1 -l monitor -p monpass -d monitest|$R/check_pgsql_rs -H 127.0.0.1 -l monitor -p monpass -d monitest
pgsql-query|$C/check_pgsql -H 127.0.0.1 -l monitor -p monpass -d monitest -q select(5)|$R/check_pgsql_rs -H 127.0.0.1 -l monitor -p monpass -d monitest -q select(5)
CASES
)
if [ "${1:-}" = --cases ]; then
  printf '%s\n' "$CASES"
  exit 0
fi

if [ ! -x "$C/check_load" ] || [ ! -x "$C/check_disk" ] || ! command -v hyperfine >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    monitoring-plugins-basic monitoring-plugins-standard hyperfine time >/dev/null
fi


wanted() { # name [prefix...]: true when no prefix is given or one matches
  local name=$1; shift
  [ $# -eq 0 ] && return 0
  for w in "$@"; do case "$name" in "$w"*) return 0 ;; esac; done
  return 1
}

# package_of BINARY -- the plugin package building it (an alias binary lives in
# plugins/<package>/src/bin/<binary>.rs, check_dig_rs in check_dns_rs).
package_of() {
  local bin=$1 f
  [ -d "plugins/$bin" ] && { echo "$bin"; return; }
  for f in plugins/*/src/bin/"$bin".rs; do
    [ -f "$f" ] && { f=${f#plugins/}; echo "${f%%/*}"; return; }
  done
}

# One package at a time: a workspace-wide build would unify library features
# and link TLS code into local plugins that never use it. Only the packages of
# the chosen cases (fat LTO costs ~40 s a package).
packages=()
while IFS='|' read -r name _ ours; do
  { [ -n "$name" ] && wanted "$name" "$@"; } || continue
  bin=${ours%% *}
  pkg=$(package_of "${bin#"$R"/}")
  [ -n "$pkg" ] && [[ " ${packages[*]} " != *" $pkg "* ]] && packages+=("$pkg")
done <<< "$CASES"
# As the package builds them (the local checks linked statically): xtask's build.
[ ${#packages[@]} -eq 0 ] || cargo run -q -p xtask -- build --profile dist "${packages[@]}"


median_ms() { # json file, command index
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]; print("%.2f" % (r["median"]*1000))' "$1" "$2"
}

median_ms_of() { # command, json files: the median over every run of that command in them
  python3 -c '
import json, statistics, sys
times = [t for f in sys.argv[2:] for r in json.load(open(f))["results"]
         if r["command"] == sys.argv[1] for t in r["times"]]
print("%.2f" % (statistics.median(times) * 1000))' "$@"
}

max_rss_kb() { # command...
  local max=0 rss
  for _ in 1 2 3 4 5; do
    rss=$( /usr/bin/time -f '%M' "$@" 2>&1 </dev/null >/dev/null | tail -n1 )
    [ "$rss" -gt "$max" ] 2>/dev/null && max=$rss
  done
  echo "$max"
}

printf '%-18s %10s %10s %8s %10s %10s\n' case "C ms" "ours ms" ratio "C KB" "ours KB"

# Floor rows, in the same run: what starting any process costs here (/bin/true), and a
# stripped Rust hello-world linked dynamically and statically, to read each ratio against.
if wanted floor "$@"; then
  FLOOR=$OUT/floor
  mkdir -p "$FLOOR"
  if [ ! -x "$FLOOR/hello-static" ]; then
    printf 'fn main() { println!("hello"); }\n' > "$FLOOR/hello.rs"
    rustc -O -C strip=symbols -o "$FLOOR/hello-dynamic" "$FLOOR/hello.rs"
    rustc -O -C strip=symbols -C target-feature=+crt-static -o "$FLOOR/hello-static" "$FLOOR/hello.rs"
  fi
  for floor in /bin/true "$FLOOR/hello-dynamic" "$FLOOR/hello-static"; do
    json=$OUT/floor-$(basename "$floor").json
    hyperfine -N -i --warmup 20 --runs 300 --export-json "$json" "$floor" >/dev/null 2>&1
    printf '%-18s %10s %10s %8s %10s %10s\n' "floor ${floor##*hello-}" - \
      "$(median_ms "$json" 0)" - - "$(max_rss_kb "$floor")"
  done
fi
while IFS='|' read -r name ccmd ours; do
  [ -n "$name" ] || continue
  wanted "$name" "$@" || continue
  ourbin=${ours%% *}
  [ -x "$ourbin" ] || { printf '%-18s (not built: %s)\n' "$name" "$ourbin"; continue; }
  # shellcheck disable=SC2086
  if [ -n "$ccmd" ] && [ "$($ccmd </dev/null >/dev/null 2>&1; echo $?)" -ge 2 ]; then
    printf '%-18s (C plugin fails here: server down? run tests/testbed/setup.sh)\n' "$name"
    continue
  fi
  json=$OUT/$name.json
  if [ -n "$ccmd" ]; then
    # Three rounds of 100 runs, the order swapped in the second: hyperfine runs one command's
    # runs back to back, and a machine whose speed drifts would otherwise favour one side.
    rounds=()
    for round in 1 2 3; do
      rounds+=("$OUT/$name-$round.json")
      if [ "$round" = 2 ]; then order=("$ours" "$ccmd"); else order=("$ccmd" "$ours"); fi
      hyperfine -N -i --warmup 10 --runs 100 --export-json "$OUT/$name-$round.json" \
        "${order[@]}" >/dev/null 2>&1
    done
    cms=$(median_ms_of "$ccmd" "${rounds[@]}"); oms=$(median_ms_of "$ours" "${rounds[@]}")
    ratio=$(python3 -c "print('%.2f' % ($oms/$cms))")
    # shellcheck disable=SC2086
    crss=$(max_rss_kb $ccmd)
  else
    hyperfine -N -i --warmup 20 --runs 300 --export-json "$json" "$ours" >/dev/null 2>&1
    cms=-; oms=$(median_ms "$json" 0); ratio=-; crss=-
  fi
  # shellcheck disable=SC2086
  orss=$(max_rss_kb $ours)
  printf '%-18s %10s %10s %8s %10s %10s\n' "$name" "$cms" "$oms" "$ratio" "$crss" "$orss"
done <<< "$CASES"
