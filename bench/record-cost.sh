#!/usr/bin/env bash
# What `oomsleuth record --every 1s` and `oomsleuth watch` cost the JVM they observe, in CPU
# (issue 17 wants < 1%).
#
# Usage: bench/record-cost.sh [SECONDS] [JAVA_HOME]   (default 30 s, the JDK of `java` on PATH)
#
# Runs fixtures/native/NativeLeaks in mode `healthy` without steps (an idle JVM, with NMT summary so
# that record takes every command it can) and reads its utime+stime from /proc/PID/stat over a window
# of SECONDS: first with nothing attached, then while `record --every 1s` runs. The recording starts
# before its window (its first GC.class_histogram, which pauses the JVM, falls outside it) and is
# ended by SIGINT after it (so the last histogram is never taken): the window holds only the
# per-second samples. Prints the target's CPU share in both windows, the difference, and the
# safepoint time record's manifest names for the window (included in the CPU figures: a safepoint
# costs the target CPU too). A third window runs `watch --json --every 1s` (hsperfdata and /proc
# only, no attach): the target's CPU then, the safepoints the JVM counted in it (sun.rt.safepoints,
# read by jstat from hsperfdata, which does not attach either), and watch's own CPU.
set -euo pipefail
secs=${1:-30}
java_home=${2:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${OOMSLEUTH_BIN:-$here/target/release/oomsleuth}
[ -x "$bin" ] || bin=$here/target/debug/oomsleuth
[ -x "$bin" ] || { echo "build oomsleuth first (cargo build)" >&2; exit 2; }
tmp=$(mktemp -d)
pid="" rec=""
cleanup() {
  [ -n "$rec" ] && kill "$rec" 2>/dev/null || true
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  exec 3>&- 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
javac --release 11 -nowarn -d "$tmp/classes" "$here"/fixtures/native/*.java >/dev/null
mkfifo "$tmp/in"
"$java_home/bin/java" -XX:NativeMemoryTracking=summary -Xms64m -Xmx64m -XX:+UseG1GC \
  -cp "$tmp/classes" NativeLeaks healthy "$tmp/info.json" <"$tmp/in" >"$tmp/out" 2>&1 &
pid=$!
exec 3>"$tmp/in"
until grep -q READY "$tmp/out" 2>/dev/null; do sleep 0.1; done
sleep 5 # let start-up compilation settle
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
window() { # window -> prints ticks used by the target over $secs seconds
  local a b
  a=$(ticks); sleep "$secs"; b=$(ticks); echo $((b - a))
}
safepoints() { "$java_home/bin/jstat" -J-Djstat.showUnsupported=true -snap "$pid" | awk -F= '$1 == "sun.rt.safepoints" { print $2 }'; }
spi0=$(safepoints)
idle=$(window)
spi1=$(safepoints)
"$bin" record "$pid" --duration 1h --every 1s -o "$tmp/bundle" >/dev/null 2>"$tmp/record.err" &
rec=$!
until [ -f "$tmp/bundle/manifest.json" ]; do sleep 0.1; done
sleep 2 # the first sample (and its class histogram) are behind us
t0=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["taken"][-1]["t"])' "$tmp/bundle/manifest.json")
busy=$(window)
t1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["taken"][-1]["t"])' "$tmp/bundle/manifest.json")
kill -INT "$rec"; wait "$rec" || true; rec=""
"$bin" watch "$pid" --json --every 1s >"$tmp/watch.jsonl" 2>"$tmp/watch.err" &
rec=$!
until [ -s "$tmp/watch.jsonl" ]; do sleep 0.1; done
sleep 2
own() { awk '{ print $14 + $15 }' "/proc/$rec/stat"; }
sp0=$(safepoints) w0=$(own)
watched=$(window)
sp1=$(safepoints) w1=$(own)
lines=$(wc -l <"$tmp/watch.jsonl")
kill -INT "$rec"; wait "$rec" || true; rec=""
[ "$lines" -ge "$secs" ] || { echo "watch wrote only $lines samples in ${secs} s: $(cat "$tmp/watch.err")" >&2; exit 1; }
python3 - "$tmp/bundle/manifest.json" "$t0" "$t1" "$idle" "$busy" "$hz" "$secs" "$("$java_home/bin/java" -version 2>&1 | head -1)" "$watched" "$((sp1 - sp0))" "$((w1 - w0))" "$((spi1 - spi0))" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
t0, t1 = float(sys.argv[2]), float(sys.argv[3])
idle, busy, hz, secs = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
inside = [t for t in m["taken"] if t0 < t["t"] <= t1]
pause = sum(t["pause_seconds"] or 0 for t in inside)
samples = len({t["sample"] for t in inside})
by = {}
for t in inside:
    if t["pause_seconds"]:
        by[t["what"]] = by.get(t["what"], 0) + t["pause_seconds"]
pct = lambda ticks: 100.0 * ticks / hz / secs
print(f"{sys.argv[8]}; window {secs:.0f} s, {samples} samples")
print(f"target CPU, idle:            {pct(idle):.2f}% of one core")
print(f"target CPU, while recorded:  {pct(busy):.2f}% of one core")
print(f"cost of record --every 1s:   {pct(busy) - pct(idle):.2f}% of one core")
print(f"safepoint time it caused:    {pause * 1e3:.1f} ms ({100 * pause / secs:.2f}%): " +
      ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in sorted(by.items(), key=lambda kv: -kv[1])))
watched, sp, own, sp_idle = (int(a) for a in sys.argv[9:13])
print(f"target CPU, while watched:   {pct(watched):.2f}% of one core")
print(f"cost of watch --every 1s:    {pct(watched) - pct(idle):.2f}% of one core; "
      f"{sp} safepoints in the window ({sp_idle} in the idle one); "
      f"watch itself used {pct(own):.2f}% of one core")
EOF
