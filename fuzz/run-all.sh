#!/usr/bin/env bash
# Seeds every corpus, then runs every fuzz target SECONDS each (default 600), one after another, and
# says which crashed (their inputs are in fuzz/artifacts/TARGET/).
# Usage: fuzz/run-all.sh [SECONDS]   (needs `cargo install cargo-fuzz` and a nightly toolchain)
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
logs=fuzz/logs
mkdir -p "$logs"
OOMSLEUTH_FUZZ_SEEDS="$PWD/fuzz/corpus/read_dump" cargo test --test tests -- --exact synthetic::write_fuzz_seeds >"$logs/seed.log" 2>&1
OOMSLEUTH_CACHE_FUZZ_SEEDS="$PWD/fuzz/corpus/read_cache" cargo test --test tests -- --exact regression::forgery_load_accepts_a_real_cache_and_rejects_garbage >>"$logs/seed.log" 2>&1
native=(parse_nmt parse_pmap parse_smaps parse_jstat parse_classlog parse_gclog parse_classfile parse_core)
for t in "${native[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  cp tests/data/samples/*.txt tests/data/jdk8/* tests/data/FailingWrapper.class "fuzz/corpus/$t/" 2>/dev/null || true
done
crashed=()
for t in read_dump read_cache "${native[@]}"; do
  echo "==> $t (${secs} s)"
  cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=4096 -timeout=20 -max_len=1048576 >"$logs/$t.log" 2>&1
  rc=$?
  grep -h '^Done' "$logs/$t.log" | tail -n 1
  if [ "$rc" -ne 0 ] || grep -q 'SUMMARY: libFuzzer' "$logs/$t.log"; then
    crashed+=("$t")
    grep -m1 -B2 -A2 'panicked\|ERROR: libFuzzer' "$logs/$t.log"
  fi
done
if [ ${#crashed[@]} -gt 0 ]; then
  echo "crashed: ${crashed[*]} (see $logs/ and fuzz/artifacts/)"
  exit 1
fi
echo "no crash in any target"
