#!/usr/bin/env bash
# Lists the functions a typical check runs, for the dist binaries' layout: xtask/src/link.rs
# puts them first, together, so a check maps a few pages of code instead of nearly all of it.
#
#   bench/hot-functions.sh      # rewrites xtask/hot-functions.txt (commit it)
#
# Builds every installed binary as the package does but keeps the symbols (its own target
# directory, target/hot-profile), runs our command of each case of bench/compare.sh
# (`--cases`) under valgrind's callgrind (twice, and a network check once more against a
# closed port, so the CRITICAL path is in too) and keeps the functions of ours that ran (C
# names as they are; Rust names without the hash that changes with every build:
# `_ZN...17h<hash>E` becomes `_ZN...*`, a v0 name's crate hashes `*`).
# Needs the test servers (tests/testbed/setup.sh). A function missing from the list still
# works, it is only laid out with the cold code.
set -euo pipefail
cd "$(dirname "$0")/.."

C=/usr/lib/nagios/plugins
T=$PWD/target/hot-profile
R=$T/dist
OUT=$T/callgrind
LIST=xtask/hot-functions.txt
command -v valgrind >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null
}
CARGO_TARGET_DIR=$T CARGO_PROFILE_DIST_STRIP=false cargo run -q -p xtask -- build --profile dist

rm -rf "$OUT" && mkdir -p "$OUT"
n=0
profile() { # command...
  n=$((n + 1))
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$OUT/$n.out" "$@" \
    </dev/null >/dev/null 2>&1 || true
}
while IFS='|' read -r name _ ours; do
  [ -n "$name" ] || continue
  # shellcheck disable=SC2086
  { profile $ours; profile $ours; }
  # Nothing listens on the discard port (the database checks' -p is a password).
  case "$name $ours " in
    mysql* | pgsql* | db-*) ;;
    *" -H "*) profile $ours -p 9 ;;
  esac
done <<< "$(RSPLUGINS_BENCH_BIN=$R bash bench/compare.sh --cases)"

python3 - "$OUT" "$LIST" "$R" <<'PY'
import os, re, sys
out, dest, ours = sys.argv[1], sys.argv[2], sys.argv[3]
names = set()
for f in os.listdir(out):
    objects, ob, cob = {}, None, None
    for line in open(os.path.join(out, f), errors="replace"):
        # Names are given once with their id, then by id alone (callgrind's compression).
        m = re.match(r"^(ob|cob|fn|cfn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if not m:
            continue
        kind, ident, name = m.groups()
        if kind in ("ob", "cob"):
            if name:
                objects[ident] = name
            if kind == "ob":
                ob = cob = objects.get(ident)
            else:
                cob = objects.get(ident)
        elif name:
            # Only functions of our binaries, not of the C library they load.
            where = ob if kind == "fn" else cob
            if where and where.startswith(ours + "/"):
                # A recursive call's name carries its depth: f'2.
                names.add(re.sub(r"'\d+$", "", name))
        if kind == "cfn":
            cob = ob
patterns = set()
for name in names:
    if name.startswith("_ZN"):
        patterns.add(re.sub(r"17h[0-9a-f]{16}E$", "*", name))
    elif name.startswith("_R"):
        patterns.add(re.sub(r"Cs[0-9A-Za-z]+_", "Cs*_", name))
    elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
        # C names: main, compiler-builtins (__floattidf), the C library in a static binary.
        patterns.add(name)
with open(dest, "w") as f:
    f.write("# The functions a typical check runs, laid out first in the dist binaries\n")
    f.write("# (xtask/src/link.rs). Written by bench/hot-functions.sh: do not edit.\n")
    for p in sorted(patterns):
        f.write(p + "\n")
print(f"{dest}: {len(patterns)} functions from {len(os.listdir(out))} runs")
if len(patterns) < 100:
    sys.exit(f"only {len(patterns)} functions: did the runs fail? (valgrind, the test servers)")
PY
