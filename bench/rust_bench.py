#!/usr/bin/env python3
"""Times the heapkit crate's collections benchmark: the same Rust workload
(bindings/rust/examples/shared/collections_workload.rs) built twice, with
Rust's default allocator (System, glibc malloc) and with heapkit::Heapkit as
#[global_allocator], and, when libheapkit.so is given, the System build
again under LD_PRELOAD=libheapkit.so (heapkit by interposition, for scale).

Runs alternate (round r runs every allocator once, the order rotated each
round), since timing noise on these machines is 12-19% between runs and
drifts with the load. Two tables: the median wall time and the median CPU
time (user + system of the process, less disturbed by other programs on a
loaded machine) per phase and allocator, with each allocator's ratio to
System, and the median peak RSS. The workload prints a checksum, which must
agree across allocators. bench/run_rust_bench.sh builds the binaries and
calls this.
"""

import argparse
import os
import statistics
import subprocess
import sys


def run_once(cmd, env):
    """{phase: (wall_ms, cpu_ms)}, plus 'peak_rss_kib' and 'checksum'."""
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    figures = {}
    for line in out.splitlines():
        name, *values = line.split()
        if name == "checksum":
            figures[name] = values[0]
        elif name == "peak_rss_kib":
            figures[name] = float(values[0])
        else:
            figures[name] = (float(values[0]), float(values[1]))
    return figures


def cell(value, base, unit=""):
    text = f"{value:.0f}{unit}" if unit else f"{value:.1f}"
    if base is not None and base > 0:
        text += f" ({value / base:.2f}x)"
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--system", required=True, help="bench_system binary")
    ap.add_argument("--heapkit", required=True, help="bench_heapkit binary")
    ap.add_argument("--libheapkit", help="libheapkit.so: also run bench_system with it preloaded")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()

    base_env = dict(os.environ)
    base_env.pop("LD_PRELOAD", None)
    runs = [("System (glibc)", [args.system], base_env), ("Heapkit", [args.heapkit], base_env)]
    if args.libheapkit:
        runs.append(("System+preload", [args.system], dict(base_env, LD_PRELOAD=args.libheapkit)))

    results = {name: [] for name, _, _ in runs}
    checksums = set()
    for r in range(args.rounds):
        for name, cmd, env in runs[r % len(runs):] + runs[:r % len(runs)]:
            figures = run_once(cmd, env)
            checksums.add(figures.pop("checksum"))
            results[name].append(figures)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    if len(checksums) != 1:
        sys.exit(f"rust_bench: the allocators computed different checksums {sorted(checksums)}: a bug, not a timing")

    names = [name for name, _, _ in runs]
    base = names[0]
    phases = [k for k in results[base][0] if k != "peak_rss_kib"]
    col = 22

    def median(name, key, i=None):
        return statistics.median(f[key] if i is None else f[key][i] for f in results[name])

    print(f"heapkit crate benchmark: medians of {args.rounds} alternating runs; ratio to {base}")
    if args.libheapkit:
        print(f"System+preload: the System binary under LD_PRELOAD={args.libheapkit}")
    for title, i in (("wall ms", 0), ("CPU ms", 1)):
        print(f"\n{title:<10}" + "".join(f"{n:>{col}}" for n in names))
        for k in phases:
            b = median(base, k, i)
            print(f"{k:<10}" + "".join(f"{cell(median(n, k, i), None if n == base else b):>{col}}" for n in names))
    b = median(base, "peak_rss_kib")
    print(f"\n{'peak RSS':<10}" + "".join(
        f"{cell(median(n, 'peak_rss_kib'), None if n == base else b, ' KiB'):>{col}}" for n in names))


if __name__ == "__main__":
    main()
