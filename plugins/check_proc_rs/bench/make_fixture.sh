#!/usr/bin/env bash
# Builds a synthetic /proc tree with COUNT processes (pids 1..COUNT) for
# check_proc_rs benchmarks: an uptime file and, per process, a stat line as
# the kernel writes it, a status file (user ids, locked memory: read by -u
# and -s L) and a NUL-separated cmdline.
#
#   plugins/check_proc_rs/bench/make_fixture.sh DIR COUNT
#   target/dist/check_proc_rs --proc-root DIR -w 20000 -c 30000
#
# Every tenth process is a kernel thread (no cmdline), every tenth a zombie,
# every tenth in uninterruptible sleep; names, sizes, ages and users (0 or
# 1000) vary.
set -euo pipefail

if [ $# -ne 2 ] || ! [ "$2" -ge 1 ] 2>/dev/null; then
  echo "usage: $0 DIR COUNT" >&2
  exit 2
fi
dir=$1
count=$2

mkdir -p "$dir"
cd "$dir"
uptime=864000
printf '%d.00 1700000.00\n' "$uptime" > uptime
seq 1 "$count" | xargs mkdir -p

names=(systemd sshd nginx postgres java python3 bash cron kworker/0:1 defunct)
states=(S S S R S S D S I Z)
tail_fields='0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0'
for ((pid = 1; pid <= count; pid++)); do
  i=$((pid % 10))
  name=${names[i]}
  state=${states[i]}
  flags=4194560
  if [ "$pid" -eq 1 ]; then
    name=systemd state=S ppid=0 i=0
  elif [ "$i" -eq 8 ]; then
    ppid=2 flags=69238880   # PF_KTHREAD set
  elif [ $((pid % 3)) -eq 0 ]; then
    ppid=1
  else
    ppid=$((pid - 1))
  fi
  age=$(( (pid * 7919) % uptime ))
  start=$(( (uptime - age) * 100 ))
  utime=$(( (pid * 31) % 5000 ))
  stime=$(( (pid * 17) % 3000 ))
  vsize=$(( (pid % 97 + 1) * 1048576 ))
  rss=$(( (pid % 89 + 1) * 64 ))
  threads=$(( pid % 5 + 1 ))
  printf '%d (%s) %s %d %d %d 0 -1 %d 100 0 0 0 %d %d 0 0 20 0 %d 0 %d %d %d 18446744073709551615 %s\n' \
    "$pid" "$name" "$state" "$ppid" "$pid" "$pid" "$flags" "$utime" "$stime" \
    "$threads" "$start" "$vsize" "$rss" "$tail_fields" > "$pid/stat"
  uid=$(( pid % 4 == 0 ? 0 : 1000 ))
  printf 'Name:\t%s\nState:\t%s\nPid:\t%d\nPPid:\t%d\nUid:\t%d\t%d\t%d\t%d\nVmLck:\t       0 kB\nThreads:\t%d\n' \
    "$name" "$state" "$pid" "$ppid" "$uid" "$uid" "$uid" "$uid" "$threads" > "$pid/status"
  if [ "$i" -eq 8 ] || [ "$i" -eq 9 ]; then
    : > "$pid/cmdline"
  else
    printf '/usr/bin/%s\0--worker\0%d\0' "$name" "$pid" > "$pid/cmdline"
  fi
done
echo "$count processes in $dir"
