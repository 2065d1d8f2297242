#!/usr/bin/env python3
"""Turns measure.py results into a table and a JSON results file (used by run.sh).

Usage: bench/report.py --dump DUMP --out RESULTS.json [--meta K=V]... TOOL=MEASURE.json|skip:REASON ...

TOOL names with a special meaning: dd (the read limit), histogram (oomsleuth histogram), hprof-slurp,
top-cold and top-cached (oomsleuth top without and with its index cache), oracle (VisualVM's heap library).
Others are just listed. Peak RSS (ru_maxrss, incl. the mapped dump and scratch files) is shown for reference.
"""
import argparse
import json
import os
import sys
import time

LABELS = {
    "dd": "dd bs=4M (read limit)",
    "histogram": "oomsleuth histogram --json",
    "hprof-slurp": "hprof-slurp",
    "top-cold": "oomsleuth top (cold)",
    "top-cached": "oomsleuth top (cached)",
    "analyze-cold": "oomsleuth analyze (cold)",
    "diff-cold": "oomsleuth diff (cold)",
    "diff-cached": "oomsleuth diff (cached)",
    "oracle": "visualvm oracle (-Xmx20g)",
    "hprof-analyzer": "hprof-analyzer (report)",
}

# targets from bench/README.md
MAX_DD_RATIO = 3.0
MIN_SPEEDUP_VS_SLURP = 4.0
MAX_MEM_PCT = 10.0
# issue 4: top (cold) vs the oracle, its anonymous memory, the cached second run
MIN_SPEEDUP_VS_ORACLE = 20.0
MAX_TOP_MEM_PCT = 50.0
MAX_CACHED_PCT = 10.0
# issue 13: analyze (cold) vs top (cold)
MAX_ANALYZE_VS_TOP = 1.3
# issue 16: diff of two dumps (the bench dump and a grown one) from their index caches
MAX_DIFF_CACHED_S = 10.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--meta", action="append", default=[])
    ap.add_argument("tools", nargs="+")
    a = ap.parse_args()

    size = os.path.getsize(a.dump)
    meta = dict(kv.split("=", 1) for kv in a.meta)
    tools = {}
    for spec in a.tools:
        name, _, src = spec.partition("=")
        if src.startswith("skip:"):
            tools[name] = {"status": "skipped", "reason": src[5:]}
            continue
        with open(src) as f:
            m = json.load(f)
        m["status"] = "ok" if m["exit"] == 0 else f"failed (exit {m['exit']})"
        tools[name] = m

    dd = tools.get("dd", {}).get("wall_s") if tools.get("dd", {}).get("status") == "ok" else None
    for t in tools.values():
        if t["status"] != "ok" or not t.get("wall_s"):
            continue
        t["gb_per_s"] = round(size / 1e9 / t["wall_s"], 3)
        t["ratio_to_dd"] = round(t["wall_s"] / dd, 2) if dd else None
        t["peak_rss_anon_mb"] = round(t["peak_rss_anon_kb"] / 1024, 1)
        t["mem_pct_of_dump"] = round(t["peak_rss_anon_kb"] * 1024 / size * 100, 2)

    def wall(name):
        t = tools.get(name)
        return t["wall_s"] if t and t["status"] == "ok" and t.get("wall_s") else None

    speedups = {}
    if wall("histogram") and wall("hprof-slurp"):
        speedups["histogram_vs_hprof_slurp"] = round(wall("hprof-slurp") / wall("histogram"), 2)
    if wall("top-cold") and wall("oracle"):
        speedups["top_vs_oracle"] = round(wall("oracle") / wall("top-cold"), 2)
    if wall("top-cold") and wall("hprof-slurp"):
        speedups["top_vs_hprof_slurp"] = round(wall("hprof-slurp") / wall("top-cold"), 2)
    if wall("analyze-cold") and wall("hprof-analyzer"):
        speedups["analyze_vs_hprof_analyzer"] = round(wall("hprof-analyzer") / wall("analyze-cold"), 2)
        ours, peer = tools["analyze-cold"], tools["hprof-analyzer"]
        speedups["analyze_anon_of_hprof_analyzer"] = round(ours["peak_rss_anon_kb"] / max(1, peer["peak_rss_anon_kb"]), 2)
        speedups["analyze_rss_of_hprof_analyzer"] = round(ours["max_rss_kb"] / max(1, peer["max_rss_kb"]), 2)
    if wall("top-cold") and wall("analyze-cold"):
        speedups["analyze_vs_top"] = round(wall("analyze-cold") / wall("top-cold"), 2)
    if wall("top-cold") and wall("top-cached"):
        speedups["top_cached_pct_of_cold"] = round(wall("top-cached") / wall("top-cold") * 100, 1)

    targets = {}
    h = tools.get("histogram")
    if h and h["status"] == "ok":
        if h.get("ratio_to_dd") is not None:
            targets["histogram_wall_le_3x_dd"] = {"value": h["ratio_to_dd"], "limit": MAX_DD_RATIO,
                                                  "pass": h["ratio_to_dd"] <= MAX_DD_RATIO}
        if "histogram_vs_hprof_slurp" in speedups:
            v = speedups["histogram_vs_hprof_slurp"]
            targets["histogram_ge_4x_faster_than_hprof_slurp"] = {"value": v, "limit": MIN_SPEEDUP_VS_SLURP,
                                                                  "pass": v >= MIN_SPEEDUP_VS_SLURP}
        targets["histogram_peak_rss_anon_lt_10pct_of_dump"] = {"value": h["mem_pct_of_dump"], "limit": MAX_MEM_PCT,
                                                               "pass": h["mem_pct_of_dump"] < MAX_MEM_PCT}

    t = tools.get("top-cold")
    if t and t["status"] == "ok":
        if "top_vs_oracle" in speedups:
            v = speedups["top_vs_oracle"]
            targets["top_ge_20x_faster_than_oracle"] = {"value": v, "limit": MIN_SPEEDUP_VS_ORACLE,
                                                        "pass": v >= MIN_SPEEDUP_VS_ORACLE}
        targets["top_peak_rss_anon_le_50pct_of_dump"] = {"value": t["mem_pct_of_dump"], "limit": MAX_TOP_MEM_PCT,
                                                         "pass": t["mem_pct_of_dump"] <= MAX_TOP_MEM_PCT}
        if "top_cached_pct_of_cold" in speedups:
            v = speedups["top_cached_pct_of_cold"]
            targets["top_cached_lt_10pct_of_cold"] = {"value": v, "limit": MAX_CACHED_PCT, "pass": v < MAX_CACHED_PCT}

    if wall("diff-cold") and wall("diff-cached"):
        speedups["diff_cached_pct_of_cold"] = round(wall("diff-cached") / wall("diff-cold") * 100, 1)
    if wall("diff-cached"):
        v = wall("diff-cached")
        targets["diff_cached_le_10s"] = {"value": v, "limit": MAX_DIFF_CACHED_S, "pass": v <= MAX_DIFF_CACHED_S}
    if "analyze_vs_top" in speedups:
        v = speedups["analyze_vs_top"]
        targets["analyze_cold_le_1_3x_top_cold"] = {"value": v, "limit": MAX_ANALYZE_VS_TOP,
                                                     "pass": v <= MAX_ANALYZE_VS_TOP}

    # table
    print()
    print(f"dump: {a.dump}  ({size / 1e9:.2f} GB, {size} bytes)  runs: {meta.get('runs', '?')}  (best wall time; peak over runs)")
    if meta.get("loadavg_at_start"):
        print(f"load average (1/5/15 min): {meta['loadavg_at_start']} at start, {meta.get('loadavg_at_end', '?')} at end"
              f" on {meta.get('nproc', '?')} cores (anything else running skews the timings)")
    if meta.get("objects"):
        print(f"objects (hprof-slurp: instances + object arrays + primitive arrays): {int(meta['objects']):,}")
    hdr = f"{'tool':<30} {'wall s':>9} {'GB/s':>7} {'peak RssAnon MB':>16} {'% of dump':>10} {'x dd':>7} {'peak RSS MB':>12}"
    print(hdr)
    print("-" * len(hdr))
    for name, t in tools.items():
        label = LABELS.get(name, name)
        if t["status"] != "ok":
            print(f"{label:<30} {t['status']}" + (f": {t['reason']}" if t.get("reason") else ""))
            continue
        ratio = f"{t['ratio_to_dd']:.2f}" if t.get("ratio_to_dd") is not None else "-"
        print(f"{label:<30} {t['wall_s']:>9.3f} {t['gb_per_s']:>7.2f} {t['peak_rss_anon_mb']:>16.1f} "
              f"{t['mem_pct_of_dump']:>9.2f}% {ratio:>7} {t['max_rss_kb'] / 1024:>12.1f}")
    print()
    if "histogram_vs_hprof_slurp" in speedups:
        print(f"oomsleuth histogram vs hprof-slurp: {speedups['histogram_vs_hprof_slurp']:.2f}x faster")
    if "top_vs_oracle" in speedups:
        print(f"oomsleuth top vs visualvm oracle:   {speedups['top_vs_oracle']:.2f}x faster")
    if "top_vs_hprof_slurp" in speedups:
        print(f"oomsleuth top vs hprof-slurp:       {speedups['top_vs_hprof_slurp']:.2f}x (hprof-slurp computes no graph)")
    if "top_cached_pct_of_cold" in speedups:
        print(f"oomsleuth top cached / cold:        {speedups['top_cached_pct_of_cold']:.1f}%")
    if "analyze_vs_hprof_analyzer" in speedups:
        print(f"oomsleuth analyze vs hprof-analyzer: {speedups['analyze_vs_hprof_analyzer']:.2f}x faster, "
              f"{speedups['analyze_anon_of_hprof_analyzer']:.2f}x its peak RssAnon, "
              f"{speedups['analyze_rss_of_hprof_analyzer']:.2f}x its peak RSS")
    if meta.get("peer_agreement"):
        print(f"top-level dominators vs hprof-analyzer: {meta['peer_agreement']}")
    for k, v in targets.items():
        print(f"target {k}: {v['value']} (limit {v['limit']}) {'PASS' if v['pass'] else 'FAIL'}")
    if not targets:
        print("targets: not evaluated (oomsleuth histogram did not run)")

    res = {
        "dump": os.path.abspath(a.dump),
        "dump_bytes": size,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "meta": meta,
        "tools": tools,
        "speedups": speedups,
        "targets": targets,
    }
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print(f"\nresults: {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
