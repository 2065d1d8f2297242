#!/usr/bin/env bash
# Fills fuzz/corpus/read_dump with small valid dumps (every version, id size, grouping, gzip shape)
# written by the test suite's HPROF writer, then runs the fuzzer.
# Usage: fuzz/seed.sh [SECONDS]   (default 600; needs `cargo install cargo-fuzz` and a nightly toolchain)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
OOMSLEUTH_FUZZ_SEEDS="$PWD/fuzz/corpus/read_dump" cargo test --test tests write_fuzz_seeds -- --exact synthetic::write_fuzz_seeds
cargo +nightly fuzz run read_dump -- -max_total_time="$secs" -rss_limit_mb=4096 -timeout=20
