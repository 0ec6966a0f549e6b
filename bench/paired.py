#!/usr/bin/env python3
"""Before/after on a noisy machine: runs two lockstep binaries in turn
(A B, then B A, ...) on the same migrations, each with its own project
directory and SQLite database, and compares them pair by pair. Sequential
hyperfine runs of one command after the other see the machine's load and
disk drift between them; alternating puts both under the same conditions.

    bench/paired.py WORK RUNS full|noop NEW OLD

WORK holds `migrations/` (bench/migrate-1000.sh writes it). `full` applies
everything to an empty database each run; `noop` applies once, then
measures runs with nothing to do. Prints the medians (wall, and the
child's user and system CPU from getrusage) and the paired differences:
the median, the quartiles, and in how many pairs NEW was slower.
"""
import glob
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

work, runs, mode, new, old = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
binaries = {"new": new, "old": old}


def reset(d):
    for f in glob.glob(f"{d}/l.db*"):
        os.remove(f)
    shutil.rmtree(f"{d}/.lockstep", ignore_errors=True)


def run(binary, d):
    cmd = [binary, "-C", d, "--database", f"sqlite:{d}/l.db", "--host-id", "bench", "apply"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall * 1000, (after.ru_utime - before.ru_utime) * 1000, (after.ru_stime - before.ru_stime) * 1000


results = {name: [] for name in binaries}
for name, binary in binaries.items():
    d = f"{work}/paired-{name}"
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    shutil.copytree(f"{work}/migrations", f"{d}/migrations")
    if mode == "noop":
        run(binary, d)
for i in range(runs):
    for name in (["new", "old"] if i % 2 == 0 else ["old", "new"]):
        d = f"{work}/paired-{name}"
        if mode == "full":
            reset(d)
        results[name].append(run(binaries[name], d))

for name in binaries:
    wall, user, system = (statistics.median(r[k] for r in results[name]) for k in range(3))
    print(f"{name}: median wall {wall:.1f} ms, user {user:.1f} ms, system {system:.1f} ms")
walls = sorted(n[0] - o[0] for n, o in zip(results["new"], results["old"]))
cpus = sorted(n[1] + n[2] - o[1] - o[2] for n, o in zip(results["new"], results["old"]))
ratio = statistics.median(r[0] for r in results["new"]) / statistics.median(r[0] for r in results["old"])
q = len(walls) // 4
print(
    f"{mode}: new/old wall {ratio:.2f}; paired new - old: wall median {statistics.median(walls):+.2f} ms "
    f"(quartiles {walls[q]:+.2f}, {walls[-q - 1]:+.2f}), new slower in {sum(w > 0 for w in walls)} of {runs}; "
    f"CPU median {statistics.median(cpus):+.2f} ms, new used more in {sum(c > 0 for c in cpus)} of {runs}"
)
