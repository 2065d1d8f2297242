#!/usr/bin/env bash
# Benchmarks `oomsleuth histogram` against dd (the read limit) and hprof-slurp (the peer), and `oomsleuth top`
# cold (no index cache) and cached (second run) against hprof-slurp and, with --with-oracle, VisualVM's heap
# library, and `oomsleuth analyze` cold against `top` cold (the main job costs at most 1.3x the index), on
# one dump.
#
# Usage: bench/run.sh [options] [DUMP.hprof | SIZE]      (default SIZE=4g -> target/bench/heap-4g.hprof)
#   -n, --runs N       runs per tool, best wall time is kept (default 3, or $RUNS)
#   --with-oracle      also time VisualVM's heap library (../shared/oracle/run.sh DUMP, JAVA_OPTS=-Xmx20g; the
#                      *.hwcache beside the dump is removed before each run). Slow and needs ~15x the dump in
#                      RAM: only on dumps of 1 GB or less. See bench/README.md
#   --no-top           skip `oomsleuth top` (and `analyze`)
#   --no-analyze       skip `oomsleuth analyze` cold (timed against cold `top`: target at most 1.3x)
#   --diff             also time `oomsleuth diff DUMP GROWN --json` cold (no index caches) and cached (both
#                      caches there), GROWN being --diff-with or, for a SIZE, heap-SIZE-grown.hprof: the same
#                      generator (seed, chain length) at 1.25x SIZE, made if missing (target: cached <= 10 s)
#   --diff-with GROWN  the later dump for --diff (implies --diff)
#   --diff-only        time `diff` alone (implies --diff; no dd, histogram, hprof-slurp, top, analyze)
#   --oracle-runs N    runs for the (slow) oracle (default 1)
#   --with-hprof-analyzer / --no-hprof-analyzer
#                      time the Rust peer `hprof-analyzer DUMP report.json` (cold: it keeps no cache on this
#                      path) against `analyze` cold, and compare their top-level dominators ("Biggest
#                      Objects", bench/compare_peer.py). On by default when found ($HPROF_ANALYZER, PATH)
#   -j, --threads N    pass -j N to oomsleuth (default: all cores); recorded in the results
#   --peer-only        only `analyze` cold and hprof-analyzer (no dd, histogram, hprof-slurp, top)
#   --top-n N          retained objects compared with hprof-analyzer (default 20, the peer's default list)
#   --build            run `cargo build --release` even if target/release/oomsleuth exists
#   --name NAME        results go to target/bench/results-NAME.json (default: dump file name sans .hprof)
#   --interval S       memory sampling interval (default 0.02)
# A SIZE (e.g. 1g) makes target/bench/heap-SIZE.hprof with make-dump.sh if missing.
# Per-tool outputs (the histogram JSON, hprof-slurp's report, ...) are kept in target/bench/out-NAME/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bench_dir=$root/target/bench

runs=${RUNS:-3}
oracle_runs=1
with_oracle=0
with_top=1
with_analyze=1
with_diff=0
diff_only=0
grown=
force_build=0
name=
interval=0.02
with_peer=auto
threads=
top_n=20
peer_only=0
arg=
while [ $# -gt 0 ]; do
  case $1 in
    -n|--runs) runs=$2; shift 2 ;;
    --with-oracle) with_oracle=1; shift ;;
    --no-top) with_top=0; shift ;;
    --no-analyze) with_analyze=0; shift ;;
    --diff) with_diff=1; shift ;;
    --diff-with) with_diff=1; grown=$2; shift 2 ;;
    --diff-only) with_diff=1; diff_only=1; with_top=0; shift ;;
    --oracle-runs) oracle_runs=$2; shift 2 ;;
    --with-hprof-analyzer) with_peer=1; shift ;;
    --no-hprof-analyzer) with_peer=0; shift ;;
    -j|--threads) threads=$2; shift 2 ;;
    --top-n) top_n=$2; shift 2 ;;
    --peer-only) peer_only=1; with_peer=1; shift ;;
    --build) force_build=1; shift ;;
    --name) name=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) [ -n "$arg" ] && { echo "run.sh: one DUMP or SIZE only" >&2; exit 2; }; arg=$1; shift ;;
  esac
done
arg=${arg:-4g}

say() { printf '\n== %s\n' "$*" >&2; }

# ---- the dump -----------------------------------------------------------------------------------------
if [ -f "$arg" ]; then
  dump=$arg
elif [[ $arg =~ ^[0-9]+(\.[0-9]+)?[kKmMgGtT]?$ ]]; then
  dump=$bench_dir/heap-$arg.hprof
  "$here/make-dump.sh" "$arg" "$dump"
elif [[ $(basename "$arg") =~ ^heap-([0-9]+(\.[0-9]+)?[kKmMgGtT]?)\.hprof$ ]]; then
  "$here/make-dump.sh" "${BASH_REMATCH[1]}" "$arg"
  dump=$arg
else
  echo "run.sh: $arg: no such dump (and not a SIZE like 4g)" >&2
  exit 2
fi
dump=$(cd "$(dirname "$dump")" && pwd)/$(basename "$dump")
if [ "$with_diff" = 1 ] && [ -z "$grown" ]; then
  # A grown version of the same heap: the generator with the same seed and chain length at 1.25x the size
  # (its first tenants are the same objects; more tenants, a fuller global index).
  [[ $arg =~ ^[0-9]+(\.[0-9]+)?[kKmMgGtT]?$ ]] || { echo "run.sh: --diff on a DUMP needs --diff-with GROWN" >&2; exit 2; }
  read -r grown_mb chain < <(python3 -c '
import sys
s = sys.argv[1].lower()
m = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}
mb = float(s[:-1]) * m[s[-1]] if s[-1] in m else float(s) / 1048576
print(int(mb * 1.25), max(100_000, min(2_000_000, int(mb * 1024))))' "$arg")
  grown=$bench_dir/heap-$arg-grown.hprof
  BIGHEAP_CHAIN=${BIGHEAP_CHAIN:-$chain} "$here/make-dump.sh" "${grown_mb}m" "$grown"
fi
dump_bytes=$(stat -L -c %s "$dump")
name=${name:-$(basename "$dump" .hprof)}
out_dir=$bench_dir/out-$name
mkdir -p "$out_dir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/oomsleuth-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

measure() { # measure LABEL RUNS [measure.py options] -- CMD...
  local label=$1 n=$2; shift 2
  say "$label ($n run(s))"
  python3 "$here/measure.py" -n "$n" --interval "$interval" "$@" >"$tmp/$label.json"
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))
for r in m["runs"]: print("   wall %ss  peak RssAnon %.1f MB  exit %s" % (r["wall_s"], r["peak_rss_anon_kb"]/1024, r["exit"]))' \
    "$tmp/$label.json" >&2
  specs+=("$label=$tmp/$label.json")
}
specs=()
meta=(--meta "runs=$runs" --meta "nproc=$(nproc)" --meta "kernel=$(uname -r)" --meta "loadavg_at_start=$(cut -d' ' -f1-3 /proc/loadavg)")

# ---- tools --------------------------------------------------------------------------------------------
oomsleuth=$root/target/release/oomsleuth
jflag=()
[ -n "$threads" ] && { jflag=(-j "$threads"); meta+=(--meta "threads=$threads"); }
if [ ! -x "$oomsleuth" ] || [ "$force_build" = 1 ]; then
  say "cargo build --release"
  if ! (cd "$root" && cargo build --release >&2); then
    echo "run.sh: cargo build --release failed; $( [ -x "$oomsleuth" ] && echo 'using the existing (stale) binary' || echo 'skipping oomsleuth')" >&2
  fi
fi
has_subcommand() { # the binary exists and `oomsleuth SUB --help` succeeds and says something
  [ -x "$oomsleuth" ] || return 1
  local h
  h=$("$oomsleuth" "$1" --help 2>/dev/null) || return 1
  [ -n "$h" ]
}

slurp=$bench_dir/tools/bin/hprof-slurp
if [ ! -x "$slurp" ] && [ "$diff_only" = 0 ] && [ "$peer_only" = 0 ]; then
  if command -v hprof-slurp >/dev/null; then
    slurp=$(command -v hprof-slurp)
  else
    say "cargo install hprof-slurp --root $bench_dir/tools (takes a few minutes)"
    cargo install hprof-slurp --locked --root "$bench_dir/tools" >&2 || echo "run.sh: cargo install hprof-slurp failed" >&2
  fi
fi
# hprof-slurp <= 0.5 wants `-i FILE`; newer versions take the file as a positional argument.
slurp_args=("$dump")
if [ -x "$slurp" ] && "$slurp" --help 2>&1 | grep -qE -- '-i, --input'; then slurp_args=(-i "$dump"); fi

peer=${HPROF_ANALYZER:-$(command -v hprof-analyzer || true)}
if [ "$with_peer" = auto ]; then
  if [ -n "$peer" ] && [ -x "$peer" ] && [ "$with_top" = 1 ] && [ "$with_analyze" = 1 ]; then with_peer=1; else with_peer=0; fi
elif [ "$with_peer" = 1 ] && { [ -z "$peer" ] || [ ! -x "$peer" ]; }; then
  echo "run.sh: --with-hprof-analyzer: no binary (set HPROF_ANALYZER or put hprof-analyzer on PATH)" >&2
  with_peer=0
fi

# ---- warm the page cache ------------------------------------------------------------------------------
avail_kb=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
if [ $(( dump_bytes / 1024 )) -gt $(( avail_kb * 9 / 10 )) ]; then
  echo "run.sh: WARNING: the dump ($(( dump_bytes >> 20 )) MB) may not fit in the page cache ($(( avail_kb >> 10 )) MB available): timings will include disk reads" >&2
fi
say "warming the page cache: $dump ($(awk -v s="$dump_bytes" 'BEGIN {printf "%.2f GB", s / 1e9}'))"
cat "$dump" >/dev/null

# ---- measurements -------------------------------------------------------------------------------------
if [ "$diff_only" = 0 ] && [ "$peer_only" = 0 ]; then
measure dd "$runs" -- dd if="$dump" of=/dev/null bs=4M status=none

if has_subcommand histogram; then
  measure histogram "$runs" --stdout "$out_dir/histogram.json" -- "$oomsleuth" histogram "${jflag[@]}" "$dump" --json
else
  echo "run.sh: SKIP oomsleuth histogram: $( [ -x "$oomsleuth" ] && echo "'$oomsleuth histogram' is not implemented yet" || echo "no $oomsleuth (build failed?)")" >&2
  specs+=("histogram=skip:not available")
fi

if [ -x "$slurp" ]; then
  # run from a scratch directory: hprof-slurp may write files into its working directory
  measure hprof-slurp "$runs" --stdout "$out_dir/hprof-slurp.txt" -- bash -c 'cd "$1" && shift && exec "$@"' _ "$tmp" "$slurp" "${slurp_args[@]}"
  objects=$(awk -F': ' '/GC (instance|object array|primitive array) dump:/ {n += $2} END {if (n) print n}' "$out_dir/hprof-slurp.txt")
  [ -n "$objects" ] && meta+=(--meta "objects=$objects")
  meta+=(--meta "hprof_slurp_version=$("$slurp" --version 2>/dev/null | awk '{print $2}')")
else
  echo "run.sh: SKIP hprof-slurp: not installed" >&2
  specs+=("hprof-slurp=skip:not installed")
fi

fi # diff_only

if [ "$with_top" = 1 ]; then
  if has_subcommand top; then
    # Cold: the index cache (and its scratch files) in a fresh directory, removed before each run. Cached: the
    # same command again on the cache the last cold run wrote.
    cache=$tmp/index-cache
    if [ "$peer_only" = 0 ]; then
    measure top-cold "$runs" --stdout "$out_dir/top.json" --stderr "$out_dir/top-cold.stderr" \
      --env OOMSLEUTH_TIMINGS=1 --before-each "rm -rf '$cache'" -- "$oomsleuth" top "${jflag[@]}" "$dump" --json --cache-dir "$cache"
    sed 's/^/   /' "$out_dir/top-cold.stderr" >&2
    measure top-cached "$runs" --stdout "$out_dir/top-cached.json" --stderr "$out_dir/top-cached.stderr" \
      --env OOMSLEUTH_TIMINGS=1 -- "$oomsleuth" top "${jflag[@]}" "$dump" --json --cache-dir "$cache"
    cmp -s "$out_dir/top.json" "$out_dir/top-cached.json" || echo "run.sh: WARNING: cached top differs from cold top" >&2
    meta+=(--meta "index_cache_bytes=$(du -cb "$cache" | tail -1 | cut -f1)")
    rm -rf "$cache"
    fi # peer_only
    if [ "$with_analyze" = 1 ] && has_subcommand analyze; then
      # The main job, cold, against cold top (target: at most 1.3x): the same index plus the analyses.
      measure analyze-cold "$runs" --stdout "$out_dir/analyze.json" --stderr "$out_dir/analyze-cold.stderr" \
        --env OOMSLEUTH_TIMINGS=1 --before-each "rm -rf '$cache'" -- "$oomsleuth" analyze "${jflag[@]}" "$dump" --json --cache-dir "$cache"
      sed 's/^/   /' "$out_dir/analyze-cold.stderr" >&2
      if [ "$with_peer" = 1 ]; then
        # The last cold run's cache answers at once: the top-level dominators (MAT's "Biggest Objects", the
        # peer's list) to compare with the peer's. The cache stays for the comparison's lookups.
        "$oomsleuth" dominators "${jflag[@]}" "$dump" --json --depth 1 --min-percent 0 --max-children "$top_n" \
          --cache-dir "$cache" -q >"$out_dir/dominators-compare.json" 2>/dev/null \
          || echo "run.sh: oomsleuth dominators for the comparison failed" >&2
        peer_cache=$cache
      else
        rm -rf "$cache"
      fi
    fi
  else
    echo "run.sh: SKIP oomsleuth top: not implemented yet" >&2
    specs+=("top-cold=skip:not available")
  fi
fi

if [ "$with_peer" = 1 ]; then
  # The Rust peer's full report (leak suspects, top consumers: its dominator tree), from a scratch directory.
  # This path writes no cache (only `hprof-analyzer heap ...` does), so every run is cold like `analyze`'s.
  measure hprof-analyzer "$runs" --stderr "$out_dir/hprof-analyzer.stderr" -- bash -c 'cd "$1" && shift && exec "$@"' _ "$tmp" \
    "$peer" "$dump" "$out_dir/hprof-analyzer.json" -f json --progress never -v
  meta+=(--meta "hprof_analyzer_version=$("$peer" --version 2>/dev/null | awk '{print $2}')")
  if [ -s "$out_dir/dominators-compare.json" ] && [ -s "$out_dir/hprof-analyzer.json" ]; then
    ranks_bin=$root/target/release/examples/hprof_ranks
    [ -x "$ranks_bin" ] || (cd "$root" && cargo build --release --example hprof_ranks >&2) || true
    say "top retained objects: oomsleuth against hprof-analyzer"
    python3 "$here/compare_peer.py" --dump "$dump" --ranks "$ranks_bin" --oomsleuth "$out_dir/dominators-compare.json" \
      --peer "$out_dir/hprof-analyzer.json" --json "$out_dir/compare-peer.json" --inspect "$oomsleuth" \
      --cache-dir "${peer_cache:-$tmp/none}" | tee "$out_dir/compare-peer.txt" >&2 || true
    [ -s "$out_dir/compare-peer.json" ] && meta+=(--meta "peer_agreement=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"])' "$out_dir/compare-peer.json")")
  fi
  [ -n "${peer_cache:-}" ] && rm -rf "$peer_cache"
fi

if [ "$with_diff" = 1 ]; then
  if has_subcommand diff; then
    # Cold: both index caches (and scratch files) in a fresh directory, removed before each run; cached: the
    # same command on the two caches the last cold run left.
    cat "$grown" >/dev/null
    cache=$tmp/diff-cache
    measure diff-cold "$runs" --stdout "$out_dir/diff.json" --stderr "$out_dir/diff-cold.stderr" \
      --env OOMSLEUTH_TIMINGS=1 --before-each "rm -rf '$cache'" -- "$oomsleuth" diff "${jflag[@]}" "$dump" "$grown" --json --cache-dir "$cache"
    sed 's/^/   /' "$out_dir/diff-cold.stderr" >&2
    measure diff-cached "$runs" --stdout "$out_dir/diff-cached.json" --stderr "$out_dir/diff-cached.stderr" \
      --env OOMSLEUTH_TIMINGS=1 -- "$oomsleuth" diff "${jflag[@]}" "$dump" "$grown" --json --cache-dir "$cache"
    sed 's/^/   /' "$out_dir/diff-cached.stderr" >&2
    cmp -s "$out_dir/diff.json" "$out_dir/diff-cached.json" || echo "run.sh: WARNING: cached diff differs from cold diff" >&2
    meta+=(--meta "diff_with=$grown" --meta "diff_with_bytes=$(stat -L -c %s "$grown")")
    rm -rf "$cache"
  else
    echo "run.sh: SKIP oomsleuth diff: not implemented in this build" >&2
    specs+=("diff-cold=skip:not available")
  fi
fi

if [ "$with_oracle" = 1 ]; then
  oracle=${ORACLE:-$root/../shared/oracle/run.sh}
  if [ -x "$oracle" ] || [ -f "$oracle" ]; then
    # untimed warm-up on a missing file: installs visualvm and compiles the oracle if needed, then fails fast
    say "oracle warm-up (install/compile only)"
    bash "$oracle" "$tmp/does-not-exist.hprof" >/dev/null 2>&1 || true
    dump_dir=$(dirname "$dump")
    measure oracle "$oracle_runs" --stdout "$out_dir/oracle.json" --env JAVA_OPTS=-Xmx20g \
      --before-each "rm -rf '$dump.hwcache' '$dump_dir'/*.hwcache" -- bash "$oracle" "$dump"
    rm -rf "$dump.hwcache" "$dump_dir"/*.hwcache
    meta+=(--meta "oracle_runs=$oracle_runs")
  else
    echo "run.sh: SKIP oracle: $oracle not found" >&2
    specs+=("oracle=skip:not found")
  fi
fi

[ -x "$oomsleuth" ] && meta+=(--meta "oomsleuth_version=$("$oomsleuth" --version 2>/dev/null || true)")
meta+=(--meta "loadavg_at_end=$(cut -d' ' -f1-3 /proc/loadavg)")
python3 "$here/report.py" --dump "$dump" --out "$bench_dir/results-$name.json" "${meta[@]}" "${specs[@]}"
