#!/usr/bin/env bash
# Fills fuzz/corpus/read_cache with small dumps and the caches oomsleuth wrote for them (as the
# regression test writes them), then runs the cache fuzzer.
# Usage: fuzz/seed-cache.sh [SECONDS]   (default 600; needs cargo-fuzz and a nightly toolchain)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
OOMSLEUTH_CACHE_FUZZ_SEEDS="$PWD/fuzz/corpus/read_cache" cargo test --test tests -- --exact regression::forgery_load_accepts_a_real_cache_and_rejects_garbage
cargo +nightly fuzz run read_cache -- -max_total_time="$secs" -rss_limit_mb=4096 -timeout=20 -jobs=1
