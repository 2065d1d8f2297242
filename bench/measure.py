#!/usr/bin/env python3
"""Runs a command and measures its wall time and peak anonymous memory; prints one JSON object.

Usage: bench/measure.py [-n RUNS] [--interval S] [--stdout FILE] [--stderr FILE] [--env K=V]... [--] CMD [ARG]...

Output (stdout, one line of JSON):
  {"cmd": [...], "runs": [{"wall_s", "peak_rss_anon_kb", "max_rss_kb", "exit", "samples"}, ...],
   "wall_s": best wall time over the runs that exited 0 (or over all runs if none did),
   "peak_rss_anon_kb": highest peak over all runs, "max_rss_kb": highest VmHWM-like ru_maxrss,
   "exit": first non-zero exit code, else 0}

Memory: RssAnon from /proc/PID/status (anonymous pages only: heap, stacks, anonymous mmaps), summed over
the process and all its descendants, sampled every --interval seconds (default 0.02). RssAnon does not
include file-backed pages, so an mmap'd input file does not count, unlike VmHWM/VmRSS or ru_maxrss
(reported as max_rss_kb for reference only; it is the largest single process's peak RSS incl. file pages).
A sampled peak can miss a spike shorter than the interval.

Wall time: from just before fork/exec to the moment waitpid returns (not rounded to the interval).
The child's stdout goes to /dev/null unless --stdout FILE is given (the last run's output is kept);
its stderr is inherited unless --stderr FILE is given.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time


def rss_anon_kb(pid):
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"RssAnon:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def descendants(root):
    """root and all its descendants (by scanning /proc/*/stat for parent ids)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name (field 2) may contain spaces and parentheses: split after the last ')'
        fields = stat[stat.rfind(b")") + 2:].split()
        ppid = int(fields[1])
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def run_once(cmd, interval, stdout, stderr, env, tree):
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL
    err = open(stderr, "wb") if stderr else None
    done = threading.Event()
    result = {}

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)

    def waiter():
        _, status, rusage = os.wait4(proc.pid, 0)
        result["t1"] = time.perf_counter()
        result["status"] = status
        result["maxrss"] = rusage.ru_maxrss
        done.set()

    # Sample before reaping: the waiter thread reaps, the sampler reads /proc until then.
    th = threading.Thread(target=waiter, daemon=True)
    th.start()
    peak = 0
    samples = 0
    tick = 0
    pids = [proc.pid]
    while not done.is_set():
        if tree and tick % 5 == 0:  # refresh the process tree every 5 samples (~100 ms)
            pids = descendants(proc.pid)
        tick += 1
        total = sum(rss_anon_kb(p) for p in pids)
        if not done.is_set():
            peak = max(peak, total)
            samples += 1
        done.wait(interval)
    th.join()
    proc.returncode = os.waitstatus_to_exitcode(result["status"])
    if stdout:
        out.close()
    if err:
        err.close()
    return {
        "wall_s": round(result["t1"] - t0, 4),
        "peak_rss_anon_kb": peak,
        "max_rss_kb": result["maxrss"],
        "exit": proc.returncode,
        "samples": samples,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=1, help="number of runs (best wall time is reported)")
    ap.add_argument("--interval", type=float, default=0.02, help="sampling interval in seconds")
    ap.add_argument("--stdout", help="file for the command's stdout (default /dev/null)")
    ap.add_argument("--stderr", help="file for the command's stderr (default: inherited)")
    ap.add_argument("--env", action="append", default=[], metavar="K=V", help="extra environment variable")
    ap.add_argument("--no-tree", action="store_true", help="sample only the top process, not its descendants")
    ap.add_argument("--before-each", help="shell command run before each run (not timed), e.g. cache cleanup")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command given")
    env = dict(os.environ)
    for kv in a.env:
        k, _, v = kv.partition("=")
        env[k] = v

    runs = []
    for _ in range(max(1, a.runs)):
        if a.before_each:
            subprocess.run(a.before_each, shell=True, check=False)
        try:
            runs.append(run_once(cmd, a.interval, a.stdout, a.stderr, env, not a.no_tree))
        except FileNotFoundError as e:
            runs.append({"wall_s": None, "peak_rss_anon_kb": 0, "max_rss_kb": 0, "exit": 127, "samples": 0,
                         "error": str(e)})
            break
    ok = [r for r in runs if r["exit"] == 0 and r["wall_s"] is not None]
    pool = ok or [r for r in runs if r["wall_s"] is not None]
    res = {
        "cmd": cmd,
        "runs": runs,
        "wall_s": min(r["wall_s"] for r in pool) if pool else None,
        "peak_rss_anon_kb": max(r["peak_rss_anon_kb"] for r in runs),
        "max_rss_kb": max(r["max_rss_kb"] for r in runs),
        "exit": next((r["exit"] for r in runs if r["exit"] != 0), 0),
    }
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
