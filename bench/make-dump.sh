#!/usr/bin/env bash
# Generates a realistic HPROF heap dump of a given live heap size with bench/BigHeap.java.
#
# Usage: bench/make-dump.sh SIZE [OUT.hprof]
#   SIZE   target live heap, e.g. 512m, 1g, 4g (the .hprof is larger: ~1.3-1.6x, as HPROF uses 8-byte ids)
#   OUT    default: target/bench/heap-SIZE.hprof
# Cached: if OUT exists, nothing is done. The dump is written to OUT.partial and renamed when complete,
# so an interrupted run never leaves a truncated dump behind.
#
# Environment:
#   BIGHEAP_JAVA_OPTS  replaces the JVM options (default: -Xmx from SIZE, -Xmn, ParallelGC)
#   BIGHEAP_SEED       seed for the generated content (default 42)
#   BIGHEAP_CHAIN      length of the deep linked chains (default: SIZE/1024 within 100k..2M; 0: none)
#   BIGHEAP_TIMEOUT    seconds to wait for READY (default 1800)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
size=$1
out=${2:-$root/target/bench/heap-$size.hprof}

if [ -f "$out" ]; then
  echo "make-dump: $out exists ($(du -h "$out" | cut -f1)), nothing to do" >&2
  exit 0
fi

# SIZE in MiB (integer), for the JVM sizing below
size_mb=$(python3 -c '
import sys
s = sys.argv[1].strip().lower().rstrip("b")
m = {"k": 1/1024, "m": 1, "g": 1024, "t": 1024 * 1024}
f = m.get(s[-1:], None)
print(int(float(s[:-1]) * f) if f else int(float(s) / 1048576))' "$size")
if [ "$size_mb" -lt 16 ]; then
  echo "make-dump: SIZE '$size' is too small (min 16m)" >&2
  exit 2
fi

# Heap: live target + 50% + young generation headroom; capped well below the machine's RAM.
mem_mb=$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo)
young_mb=$(( size_mb / 4 ))
[ "$young_mb" -gt 1024 ] && young_mb=1024
[ "$young_mb" -lt 64 ] && young_mb=64
xmx_mb=$(( size_mb * 3 / 2 + young_mb + 256 ))
cap_mb=$(( mem_mb * 80 / 100 ))
if [ "$xmx_mb" -gt "$cap_mb" ]; then
  echo "make-dump: warning: -Xmx${xmx_mb}m capped to ${cap_mb}m (80% of RAM)" >&2
  xmx_mb=$cap_mb
fi
java_opts=${BIGHEAP_JAVA_OPTS:-"-Xms${xmx_mb}m -Xmx${xmx_mb}m -Xmn${young_mb}m -XX:+UseParallelGC -XX:-UsePerfData"}

# Compile (only when the source changed)
classes=$root/target/bench/classes
mkdir -p "$classes" "$(dirname "$out")"
if [ ! -f "$classes/BigHeap.class" ] || [ "$here/BigHeap.java" -nt "$classes/BigHeap.class" ]; then
  javac -nowarn -d "$classes" "$here/BigHeap.java"
fi

out_abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
partial=$out_abs.partial
rm -f "$partial"

work=$(mktemp -d "${TMPDIR:-/tmp}/make-dump.XXXXXX")
pid=
cleanup() {
  local rc=$?
  exec 3>&- 2>/dev/null || true          # closing stdin makes BigHeap exit by itself...
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true        # ...but do not rely on it
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  rm -f "$partial"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# stdin for the JVM: a FIFO we keep open read-write, so BigHeap blocks on it until we close it.
mkfifo "$work/stdin"
exec 3<>"$work/stdin"

echo "make-dump: building a ${size} live heap (java $java_opts)" >&2
t0=$(date +%s.%N)
# shellcheck disable=SC2086
java $java_opts -cp "$classes" BigHeap "$size" "${BIGHEAP_SEED:-42}" ${BIGHEAP_CHAIN:+"$BIGHEAP_CHAIN"} <"$work/stdin" >"$work/stdout" 2> >(tee "$work/stderr" >&2 3>&-) 3>&- &
pid=$!

timeout=${BIGHEAP_TIMEOUT:-1800}
while ! grep -q '^READY' "$work/stdout" 2>/dev/null; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "make-dump: BigHeap exited before READY" >&2
    cat "$work/stdout" >&2
    exit 1
  fi
  if [ "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {print int(a - b)}')" -gt "$timeout" ]; then
    echo "make-dump: no READY after ${timeout}s" >&2
    exit 1
  fi
  sleep 0.2
done
t1=$(date +%s.%N)

echo "make-dump: heap ready, dumping to $out_abs" >&2
jmap -dump:live,format=b,file="$partial" "$pid" >&2
t2=$(date +%s.%N)
sync -f "$partial" 2>/dev/null || true
mv "$partial" "$out_abs"

awk -v a="$t0" -v b="$t1" -v c="$t2" -v f="$out_abs" -v s="$(stat -c %s "$out_abs")" 'BEGIN {
  printf "make-dump: %s: %.2f GB (%.0f bytes); heap built in %.1fs, jmap in %.1fs, total %.1fs\n",
         f, s / 1e9, s, b - a, c - b, c - a }' >&2
