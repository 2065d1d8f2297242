#!/usr/bin/env python3
"""Compares oomsleuth's biggest retained objects with hprof-analyzer's report JSON.

Usage: bench/compare_peer.py --dump DUMP --oomsleuth OURS.json --peer REPORT.json [--ranks BIN] [--json OUT]
                             [--inspect OOMSLEUTH --cache-dir DIR]

hprof-analyzer's `top.biggest_objects` is MAT's "Biggest Objects": the top-level entries of the dominator
tree (objects only the virtual root dominates). Give OURS as `oomsleuth dominators DUMP --json --depth 1
--min-percent 0 --max-children N` (the same list: the root's children) or `oomsleuth top --json` (any
object). With --inspect, each object only the peer lists is looked up with `oomsleuth inspect ID --json`
(our retained size and immediate dominator: why it is not top-level here).

hprof-analyzer names an object by `obj_index_1based`: 1 + its rank among the sorted, distinct ids of all
instances, arrays and class dumps. BIN (`cargo run --release --example hprof_ranks`, bench/hprof_ranks.rs)
maps those ranks to ids by reading the dump itself, so the match is by object id, then checked by class.
Prints, per object in either list: id, class, both retained sizes and their difference; then a summary.
"""
import argparse
import json
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--oomsleuth", required=True, help="oomsleuth top --json output")
    ap.add_argument("--peer", required=True, help="hprof-analyzer report JSON (-f json)")
    ap.add_argument("--ranks", default="target/release/examples/hprof_ranks")
    ap.add_argument("--json", help="write the comparison here")
    ap.add_argument("--inspect", help="the oomsleuth binary, to look up objects only the peer lists")
    ap.add_argument("--cache-dir", help="oomsleuth's --cache-dir for --inspect (its index cache)")
    a = ap.parse_args()

    doc = json.load(open(a.oomsleuth))
    if "root" in doc:
        ours = [{"id": c["id"], "description": c["description"], "retained_bytes": c["retained_bytes"],
                 "shallow_bytes": c["shallow_bytes"]} for c in doc["root"].get("children", [])]
    else:
        ours = doc["objects"]
    peer = json.load(open(a.peer))["top"]["biggest_objects"]
    ranks = [str(p["obj_index_1based"] - 1) for p in peer]
    out = subprocess.run([a.ranks, a.dump, *ranks], check=True, capture_output=True, text=True).stdout
    rank_id = dict(line.split() for line in out.splitlines())
    peer_by_id = {}
    for p in peer:
        pid = rank_id.get(str(p["obj_index_1based"] - 1), "-")
        peer_by_id[int(pid, 16) if pid != "-" else None] = p
    ours_by_id = {int(o["id"], 16): o for o in ours}

    rows = []
    order = [int(o["id"], 16) for o in ours] + [i for i in peer_by_id if i not in ours_by_id]
    for i in order:
        o, p = ours_by_id.get(i), peer_by_id.get(i)
        rows.append({
            "id": None if i is None else f"0x{i:x}",
            "class": o["description"] if o else p["display_class"],
            "peer_class": p["display_class"] if p else None,
            "oomsleuth_rank": next((k + 1 for k, x in enumerate(ours) if int(x["id"], 16) == i), None),
            "peer_rank": next((k + 1 for k, x in enumerate(peer) if x is p), None),
            "oomsleuth_retained": o["retained_bytes"] if o else None,
            "peer_retained": p["retained"] if p else None,
            "oomsleuth_shallow": o["shallow_bytes"] if o else None,
            "peer_shallow": p["shallow"] if p else None,
        })

    if a.inspect:
        for r in rows:
            if r["oomsleuth_retained"] is not None or r["id"] is None:
                continue
            cmd = [a.inspect, "inspect", a.dump, r["id"], "--json", "-q"]
            if a.cache_dir:
                cmd += ["--cache-dir", a.cache_dir]
            got = subprocess.run(cmd, capture_output=True, text=True)
            if got.returncode == 0:
                o = json.loads(got.stdout)
                r["oomsleuth_retained_not_listed"] = o.get("retained_bytes")
                r["oomsleuth_shallow"] = o.get("shallow_bytes")
                d = o.get("dominator")
                r["oomsleuth_dominator"] = f"{d['id']} {d['description']}" if isinstance(d, dict) else d

    n_ours, n_peer = len(ours), len(peer)
    both = [r for r in rows if r["oomsleuth_retained"] is not None and r["peer_retained"] is not None]
    equal = [r for r in both if r["oomsleuth_retained"] == r["peer_retained"]]
    print(f"top retained objects: oomsleuth {n_ours}, hprof-analyzer {n_peer}; in both lists {len(both)}, "
          f"same retained size {len(equal)}")
    hdr = f"{'id':<20} {'ours#':>5} {'peer#':>5} {'oomsleuth':>15} {'peer':>15} {'diff':>14} {'diff %':>8}  class"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        ours_r, peer_r = r["oomsleuth_retained"], r["peer_retained"]
        if ours_r is not None and peer_r is not None:
            d = ours_r - peer_r
            pct = f"{d / peer_r * 100:+.3f}" if peer_r else "-"
            ds = f"{d:+,}"
        else:
            ds, pct = "only one", "-"
        cls = r["class"] + (f"  (peer: {r['peer_class']})" if r["peer_class"] and r["peer_class"] != r["class"] else "")
        if ours_r is None and r.get("oomsleuth_retained_not_listed") is not None:
            ours_r = None
            cls += (f"  [oomsleuth: retains {r['oomsleuth_retained_not_listed']:,}, shallow {r['oomsleuth_shallow']:,},"
                    f" dominated by {r.get('oomsleuth_dominator') or 'the roots'}]")
        if r["oomsleuth_shallow"] is not None and r["peer_shallow"] is not None \
                and r["oomsleuth_shallow"] != r["peer_shallow"]:
            cls += f"  [shallow: ours {r['oomsleuth_shallow']:,}, peer {r['peer_shallow']:,}]"
        num = lambda v: f"{v:,}" if v is not None else "-"
        print(f"{r['id'] or '?':<20} {r['oomsleuth_rank'] or '-':>5} {r['peer_rank'] or '-':>5} "
              f"{num(ours_r):>15} {num(peer_r):>15} {ds:>14} {pct:>8}  {cls}")
    summary = f"{len(both)}/{max(n_ours, n_peer)} in both top lists, {len(equal)} with equal retained size"
    print(summary)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"summary": summary, "rows": rows}, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
