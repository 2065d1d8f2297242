#!/usr/bin/env bash
# Seeds the corpora of the native-memory parsers' fuzz targets with the real samples in tests/data
# (each target gets every sample: a parser must also survive the other formats), then runs each target.
# Usage: fuzz/seed-native.sh [SECONDS_PER_TARGET]   (default 60; needs cargo-fuzz and a nightly toolchain)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
targets=(parse_nmt parse_pmap parse_smaps parse_jstat parse_classlog parse_gclog parse_classfile parse_core)
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  cp tests/data/samples/*.txt tests/data/jdk8/* tests/data/FailingWrapper.class "fuzz/corpus/$t/" 2>/dev/null || true
done
for t in "${targets[@]}"; do
  echo "==> $t"
  cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=4096 -timeout=20 -max_len=65536 2>&1 | tail -n 3
done
