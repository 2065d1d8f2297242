#!/usr/bin/env bash
# Regenerates demo/leaking-map.hprof.gz: runs fixtures/src/LeakingMap.java (6,000 closed connections
# left under the key "$UNKNOWN") on the system JDK 17 and takes `jcmd GC.heap_dump -gz=1` from outside.
# Also keeps the JVM's own `jmap -histo:live` and what the fixture planted, beside the dump.
set -euo pipefail
cd "$(dirname "$0")/.."
java_home=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CAPTURE_GZ=1 bash fixtures/capture.sh "$java_home" LeakingMap "$out/cap" -- -XX:+UseCompressedOops -Xmx256m
cp "$out/cap/heap.hprof.gz" demo/leaking-map.hprof.gz
cp "$out/cap/histo-before.txt" demo/leaking-map.jmap-histo.txt
cp "$out/cap/planted.json" demo/leaking-map.planted.json
