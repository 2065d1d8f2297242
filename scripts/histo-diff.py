#!/usr/bin/env python3
"""Compares `oomsleuth histogram --json` with `jmap -histo:live` outputs (a developer aid).

usage: histo-diff.py OOMSLEUTH_JSON JMAP_HISTO [JMAP_HISTO_AFTER]
Prints the classes whose counts or bytes differ (only classes stable between the two jmap
histograms when both are given) and the share of classes whose bytes match.
"""
import json, re, sys
from collections import defaultdict

PRIM = {'Z': 'boolean', 'C': 'char', 'F': 'float', 'D': 'double', 'B': 'byte', 'S': 'short', 'I': 'int', 'J': 'long'}

def java_name(n):
    d = len(n) - len(n.lstrip('['))
    if d == 0:
        return n
    e = n[d:]
    base = PRIM.get(e) if len(e) == 1 else (e[1:-1] if e.startswith('L') and e.endswith(';') else e)
    return base + '[]' * d

def jmap(path):
    rows = defaultdict(lambda: [0, 0])
    for line in open(path):
        m = re.match(r'\s*\d+:\s+(\d+)\s+(\d+)\s+(\S+)', line)
        if m:
            r = rows[java_name(m.group(3))]
            r[0] += int(m.group(1)); r[1] += int(m.group(2))
    return rows

ours = defaultdict(lambda: [0, 0])
for c in json.load(open(sys.argv[1]))['classes']:
    ours[c['name']][0] += c['instances']; ours[c['name']][1] += c['shallow_bytes']
a = jmap(sys.argv[2])
b = jmap(sys.argv[3]) if len(sys.argv) > 3 else a
names = [n for n in a if a[n] == b.get(n)]
bad = [(n, a[n], ours.get(n)) for n in names if ours.get(n) != a[n]]
bad.sort(key=lambda x: -abs(x[1][1] - (x[2] or [0, 0])[1]))
for n, j, o in bad:
    print(f'{n:70s} jvm {j[0]:>9} {j[1]:>11}   ours {o}')
cnt_ok = sum(1 for n in names if ours.get(n, [0, 0])[0] == a[n][0])
bytes_ok = sum(1 for n in names if ours.get(n) == a[n])
print(f'stable classes {len(names)}; counts equal {cnt_ok}; counts+bytes equal {bytes_ok} ({100.0*bytes_ok/max(1,len(names)):.2f}%)')
