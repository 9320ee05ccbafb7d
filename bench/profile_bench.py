#!/usr/bin/env python3
"""heapkit profile against heaptrack on real programs, measured in one run.

For each workload (sqlite3 with 200k inserts and indexes, python3 building
and dropping large dicts with PYTHONMALLOC=malloc, g++ -O2 on a
template-heavy file of this project) it runs, alternating round by round:
  plain      the program alone
  heapkit    `heapkit profile -o TRACE -- program`
  heaptrack  `heaptrack -o TRACE program` (Debian's; records and interprets)
and measures wall time (medians over the rounds), then, once per tool, the
trace's size, the number of events it holds, and the analysis: `heapkit
report` (terminal and JSON) against `heaptrack_print`, wall time and peak RSS
from GNU time. Printed: slowdown over the plain run per tool, trace bytes per
event, analysis time and memory, heapkit's ratio to heaptrack for each.

bench/run_profile_bench.sh builds what it needs and calls this.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from malloc_bench import PYTHON, PYTHON_SCRIPT, SQLITE_ROWS, TIME, sqlite_script  # noqa: E402


def cc1plus_argv(gxx):
    """The compiler proper's command line that `gxx` would run (from `g++ -###`): heaptrack
    follows no exec'd child, so both tools are given cc1plus itself."""
    out = subprocess.run(gxx[:1] + ["-###"] + gxx[1:], capture_output=True, text=True).stderr
    for line in out.splitlines():
        if "cc1plus" in line and line.startswith(" "):
            return shlex.split(line)
    sys.exit("cannot find cc1plus in the output of %s -###" % gxx[0])


def workloads(root, quick, work):
    """name -> (argv, stdin text or None, extra env, description). `work` holds python's script:
    heaptrack's wrapper script does not pass a multi-line -c argument through intact."""
    script = os.path.join(work, "python_workload.py")
    with open(script, "w") as f:
        f.write(PYTHON_SCRIPT)
    gxx_source = os.path.join(root, "tests", "alloc", "tlsf_test.cpp")
    gxx = ["g++", "-std=c++20", "-O2", "-I" + os.path.join(root, "include"), "-I" + os.path.join(root, "tests"),
           "-S", gxx_source, "-o", os.devnull]
    rows = SQLITE_ROWS // 10 if quick else SQLITE_ROWS
    return [
        ("sqlite", ["sqlite3", ":memory:"], sqlite_script(rows), {},
         "sqlite3 :memory:, %d inserts, two indexes, update, delete" % rows),
        # not -I: isolated mode ignores PYTHONMALLOC, and pymalloc would hide the allocations
        ("python", [PYTHON, script, "0.1" if quick else "1"], None, {"PYTHONMALLOC": "malloc"},
         "python3 PYTHONMALLOC=malloc: dicts, lists, strings built and dropped"),
        ("g++", cc1plus_argv(gxx), None, {}, "cc1plus -O2 of tests/alloc/tlsf_test.cpp (GoogleTest, typed tests)"),
    ]


def timed(argv, stdin_text, env, cwd):
    """Runs argv under GNU time; returns (seconds, maxrss_kb, returncode, stderr tail)."""
    with tempfile.NamedTemporaryFile(suffix=".time") as report, tempfile.TemporaryFile() as inp:
        if stdin_text is not None:
            inp.write(stdin_text.encode())
            inp.seek(0)
        start = time.perf_counter()
        proc = subprocess.run([TIME, "-f", "%M", "-o", report.name] + argv, stdin=inp, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env=env, cwd=cwd)
        seconds = time.perf_counter() - start
        with open(report.name) as f:
            kb = [int(x) for x in f.read().split() if x.isdigit()]
        return seconds, (kb[-1] if kb else None), proc.returncode, proc.stderr.decode(errors="replace")[-400:]


def tool_argv(tool, heapkit, trace, argv):
    if tool == "plain":
        return argv
    if tool == "heapkit":
        return [heapkit, "profile", "-o", trace, "--"] + argv
    return ["heaptrack", "-o", trace] + argv


def trace_files(tool, trace):
    if tool == "heapkit":
        return sorted(glob.glob(trace) + glob.glob(trace + ".*"))
    return sorted(glob.glob(trace + "*"))


def heapkit_events(heapkit, files, env):
    """Events in the first process's heapkit trace (the workloads here run one process), from the
    report's JSON summary."""
    with tempfile.NamedTemporaryFile(suffix=".json") as js:
        subprocess.run([heapkit, "report", files[0], "--json", js.name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=env)
        try:
            with open(js.name) as f:
                return json.load(f)["summary"]["events"]
        except (OSError, ValueError, KeyError):
            return None


def heaptrack_events(text):
    """Calls to allocation functions and frees counted by heaptrack_print."""
    m = re.search(r"calls to allocation functions: (\d+)", text)
    allocs = int(m.group(1)) if m else 0
    # heaptrack_print does not print frees; its calls line is allocations only
    return allocs or None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heapkit", required=True, help="the heapkit command")
    ap.add_argument("--root", required=True, help="the source tree (for the g++ workload)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="", help="comma list of workloads")
    ap.add_argument("--quick", action="store_true", help="1 round, smaller inputs")
    ap.add_argument("--no-heaptrack", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.quick:
        args.rounds = 1
    tools = ["plain", "heapkit"] + ([] if args.no_heaptrack or not shutil.which("heaptrack") else ["heaptrack"])
    work = tempfile.mkdtemp(prefix="hk-profile-bench-")
    wls = [w for w in workloads(args.root, args.quick, work) if not args.only or w[0] in args.only.split(",")]
    base_env = dict(os.environ)
    base_env.pop("LD_PRELOAD", None)

    started = datetime.datetime.now(datetime.timezone.utc)
    print("heapkit profile benchmark: %s, %d round(s)%s, %s, %d cores, load %s" % (
        started.strftime("%Y-%m-%d %H:%M UTC"), args.rounds, " (quick)" if args.quick else "", platform.node(),
        os.cpu_count(), "%.2f %.2f %.2f" % os.getloadavg()), flush=True)
    runs = []
    for r in range(args.rounds):
        for name, argv, stdin_text, extra, _ in wls:
            order = tools[r % len(tools):] + tools[:r % len(tools)]
            for tool in order:
                trace = os.path.join(work, "%s-%s-%d" % (name, tool, r) + (".hkt" if tool == "heapkit" else ""))
                env = dict(base_env, **extra)
                secs, kb, rc, err = timed(tool_argv(tool, args.heapkit, trace, argv), stdin_text, env, work)
                runs.append({"workload": name, "tool": tool, "round": r + 1, "seconds": secs, "maxrss_kb": kb,
                             "rc": rc, "trace": trace if tool != "plain" else None})
                if rc != 0:
                    print("  FAILED %s under %s: rc %d: %s" % (name, tool, rc, err), flush=True)
        print("  round %d/%d done" % (r + 1, args.rounds), flush=True)

    results = {}
    for name, _, _, extra, desc in wls:
        row = {"description": desc}
        for tool in tools:
            times = [x["seconds"] for x in runs if x["workload"] == name and x["tool"] == tool and x["rc"] == 0]
            row[tool] = {"median_s": statistics.median(times) if times else None}
        plain = row["plain"]["median_s"]
        for tool in tools[1:]:
            t = row[tool]["median_s"]
            row[tool]["slowdown"] = t / plain if t and plain else None
            last = [x for x in runs if x["workload"] == name and x["tool"] == tool and x["rc"] == 0]
            if not last:
                continue
            files = trace_files(tool, last[-1]["trace"])
            row[tool]["trace_bytes"] = sum(os.path.getsize(f) for f in files)
            env = dict(base_env, **extra)
            if tool == "heapkit":
                secs, kb, rc, _ = timed([args.heapkit, "report", files[0]], None, env, work)
                row[tool]["events"] = heapkit_events(args.heapkit, files, env)
            else:
                secs, kb, rc, _ = timed(["heaptrack_print", "-f", files[0]], None, env, work)
                out = subprocess.run(["heaptrack_print", "-f", files[0], "-p", "0", "-a", "0", "-T", "0", "-l", "0"],
                                     capture_output=True, text=True).stdout
                row[tool]["events"] = heaptrack_events(out)
            row[tool]["analysis_s"] = secs
            row[tool]["analysis_maxrss_kb"] = kb
            row[tool]["analysis_rc"] = rc
            if row[tool].get("events"):
                row[tool]["bytes_per_event"] = row[tool]["trace_bytes"] / row[tool]["events"]
        results[name] = row

    def fmt(v, spec):
        return "-" if v is None else spec % v

    print("\n%-8s %-10s %9s %9s %12s %12s %9s %10s %12s" % (
        "workload", "tool", "median s", "slowdown", "trace bytes", "events", "B/event", "report s", "report MiB"))
    for name, row in results.items():
        for tool in tools:
            c = row[tool]
            kb = c.get("analysis_maxrss_kb")
            print("%-8s %-10s %9s %9s %12s %12s %9s %10s %12s" % (
                name, tool, fmt(c.get("median_s"), "%.3f"), fmt(c.get("slowdown"), "%.2fx"),
                fmt(c.get("trace_bytes"), "%d"), fmt(c.get("events"), "%d"), fmt(c.get("bytes_per_event"), "%.2f"),
                fmt(c.get("analysis_s"), "%.2f"), fmt(kb / 1024 if kb else None, "%.1f")))
        if "heaptrack" in row and row["heaptrack"].get("median_s") and row["heapkit"].get("median_s"):
            hk, ht = row["heapkit"], row["heaptrack"]
            print("%-8s heapkit/heaptrack: time %.2fx, trace %s, analysis time %s, analysis memory %s" % (
                "", hk["median_s"] / ht["median_s"],
                fmt(hk.get("trace_bytes", 0) / ht["trace_bytes"] if ht.get("trace_bytes") else None, "%.2fx"),
                fmt(hk["analysis_s"] / ht["analysis_s"] if ht.get("analysis_s") and hk.get("analysis_s") else None,
                    "%.2fx"),
                fmt(hk["analysis_maxrss_kb"] / ht["analysis_maxrss_kb"]
                    if ht.get("analysis_maxrss_kb") and hk.get("analysis_maxrss_kb") else None, "%.2fx")))
    print("\n(heaptrack's events are its allocation calls only; heapkit's count every call: allocations, frees, "
          "reallocs)")
    print("load average at the end: %.2f %.2f %.2f" % os.getloadavg())
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"started": started.isoformat(), "rounds": args.rounds, "runs": runs, "results": results}, f,
                      indent=1)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if any(x["rc"] != 0 for x in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
