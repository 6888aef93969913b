#!/usr/bin/env bash
# Instruction counts of the local plugins (valgrind's callgrind): noise-free,
# so a change that makes a check cost more shows up in review and in CI.
#
#   bench/callgrind.sh            # measure, compare with bench/callgrind.counts; exit 1 on a
#                                 # case more than 10 % above its committed count
#   bench/callgrind.sh --update   # measure and rewrite bench/callgrind.counts (commit it)
#
# Runs the dist binaries (target/dist, as `cargo run -p xtask -- build` or the package build
# leaves them) on committed fixtures (bench/fixtures/: a /proc tree, a mount table; the
# process table is generated, deterministic) with an empty environment, so the counts depend
# only on our code, the toolchain and the C library.
set -euo pipefail
cd "$(dirname "$0")/.."

R=${RSPLUGINS_BENCH_BIN:-target/dist}
COUNTS=bench/callgrind.counts
LIMIT_PERCENT=10
F=bench/fixtures
PROCS=bench/results/callgrind-proc200
mode=${1:-check}
case $mode in --update) mode=update ;; check | --check) mode=check ;; *) echo "usage: $0 [--update]" >&2; exit 2 ;; esac

command -v valgrind >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null
}
mkdir -p bench/results
if [ ! -f "$PROCS/uptime" ]; then
  plugins/check_proc_rs/bench/make_fixture.sh "$PROCS" 200 >/dev/null
fi

# name | command (run as is, with an empty environment)
CASES=$(cat <<CASES
load|$R/check_load_rs --proc-root $F/proc -w 5,4,3 -c 10,8,6
load-percpu|$R/check_load_rs --proc-root $F/proc -r -w 1,1,1 -c 2,2,2
mem|$R/check_mem_rs --proc-root $F/proc -w 10% -c 5%
swap|$R/check_swap_rs --proc-root $F/proc -w 50% -c 25%
disk|$R/check_disk_rs --mountinfo $F/mountinfo -w 20% -c 10% -p /
proc-200|$R/check_proc_rs --proc-root $PROCS -w 250 -c 400
proc-200-args|$R/check_proc_rs --proc-root $PROCS -a sshd -c 0:
CASES
)

# instructions COMMAND... -- the total that callgrind collected
# (its exit code is the plugin's state: not a failure here)
instructions() {
  { env -i valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null || true; } |
    sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p'
}

declare -A committed=()
if [ -f "$COUNTS" ]; then
  while read -r name count; do
    case $name in '#'* | '') continue ;; esac
    committed[$name]=$count
  done <"$COUNTS"
fi

rc=0
out=$(mktemp)
printf '# Instruction counts (valgrind --tool=callgrind) of bench/callgrind.sh; CI fails on +%s %%.\n' \
  "$LIMIT_PERCENT" >"$out"
printf '%-16s %14s %14s %8s\n' case committed now change
while IFS='|' read -r name cmd; do
  [ -n "$name" ] || continue
  bin=${cmd%% *}
  [ -x "$bin" ] || { echo "$bin is not built (cargo run -p xtask -- build)" >&2; exit 1; }
  # shellcheck disable=SC2086
  now=$(instructions $cmd)
  [ -n "$now" ] || { echo "$name: callgrind gave no count" >&2; exit 1; }
  printf '%s %s\n' "$name" "$now" >>"$out"
  was=${committed[$name]:-}
  if [ -n "$was" ]; then
    change=$(awk -v a="$now" -v b="$was" 'BEGIN { printf "%+.1f%%", (a - b) * 100 / b }')
    if [ "$mode" = check ] && awk -v a="$now" -v b="$was" -v l="$LIMIT_PERCENT" 'BEGIN { exit !(a > b * (1 + l / 100)) }'; then
      change="$change  <- more than +$LIMIT_PERCENT %"
      rc=1
    fi
  else
    change="(new)"
    [ "$mode" = check ] && { change="(no committed count: run --update)"; rc=1; }
  fi
  printf '%-16s %14s %14s %8s\n' "$name" "${was:--}" "$now" "$change"
done <<<"$CASES"

if [ "$mode" = update ]; then
  mv "$out" "$COUNTS"
  echo "wrote $COUNTS"
else
  rm -f "$out"
  [ $rc = 0 ] || echo "instruction counts above their committed values by more than $LIMIT_PERCENT % (or missing): see above; if intended, run $0 --update and commit $COUNTS" >&2
fi
exit $rc
