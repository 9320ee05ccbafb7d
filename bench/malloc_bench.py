#!/usr/bin/env python3
"""Runs heapkit malloc's benchmark suite: every workload under every allocator.

Each allocator is swapped in with LD_PRELOAD. Runs alternate round-robin
(round 1: workload 1 under every allocator, workload 2 under every allocator,
...; round 2 the same, the allocator order rotated), because timing noise on
these machines is 12-19% between runs and drifts with the load: only
alternating runs, compared by their medians, say anything.

Measured per run: wall time (the program's, or for redis the client's) and
peak RSS (ru_maxrss of the program under test, from GNU time). Printed: a table per
workload (median time and median peak RSS per allocator, heapkit's ratio to
each), geometric means of the ratios over the workloads, the fast-path
micro-benchmarks side by side. --json writes every run; --svg draws heapkit's
ratios. bench/run_malloc_bench.sh builds everything and calls this.
"""

import argparse
import datetime
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time

LIB = "/usr/lib/x86_64-linux-gnu"
PEER_LIBS = {
    "jemalloc": LIB + "/libjemalloc.so.2",
    "mimalloc": LIB + "/libmimalloc.so.2",
    "tcmalloc": LIB + "/libtcmalloc_minimal.so.4",
    "scudo": "/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.scudo_standalone-x86_64.so",
}
ALL_ALLOCATORS = ["glibc", "jemalloc", "mimalloc", "tcmalloc", "scudo", "heapkit"]
PYTHON = "/usr/bin/python3"  # Debian's: a plain ELF program (a pyenv shim is a shell script)

# name -> (kind, program or script, description)
WORKLOADS = [
    ("larson", "wl_larson", "server churn, 16-1000 B, sets handed to new threads (2 threads)"),
    ("xmalloc", "wl_xmalloc", "producer/consumer, every block freed by the other thread (2 threads)"),
    ("cache-scratch", "wl_cache_scratch", "passive false sharing, 8 B objects (2 threads)"),
    ("cache-thrash", "wl_cache_thrash", "active false sharing, 8 B objects (2 threads)"),
    ("mstress", "wl_mstress", "phases of 4 short-lived threads, blocks migrate and survive"),
    ("alloc-test", "wl_alloc_test", "Pareto sizes 8 B-64 KiB, 64 Ki working set (1 thread)"),
    ("glibc-simple", "wl_glibc_simple", "batches of one size 16 B-4 KiB allocated then freed"),
    ("cfrac", "wl_cfrac", "continued fraction of sqrt(N), bignums malloc'ed per operation"),
    ("espresso", "wl_espresso", "cubes and covers: small bit vectors, realloc'ed arrays"),
    ("realloc-growth", "wl_realloc_growth", "64 buffers grown by exact reallocs of 8-256 B"),
    ("large", "wl_large", "64 KiB-8 MiB blocks, every page touched, 16 live"),
    ("memory-return", "wl_memory_return", "256 MiB freed, 1 s idle, light work: RSS after"),
    ("redis", "redis", "redis-server under test, redis-benchmark 7 commands, pipelined"),
    ("sqlite", "sqlite", "sqlite3 :memory: insert, index, update, delete, integrity check"),
    ("python", "python", "python3 PYTHONMALLOC=malloc: dicts, lists, strings built and dropped"),
]


def preload_for(allocator, libheapkit, shim, program_links_allocator=False):
    if allocator == "heapkit":
        return libheapkit
    if allocator == "glibc":
        return shim if program_links_allocator else None
    return PEER_LIBS[allocator]


def env_with(preload, extra=None):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    env.update(extra or {})
    return env


TIME = "/usr/bin/time"  # GNU time: forks the program from its own small image and reports its ru_maxrss


def measured(argv, report, preload):
    """argv run under GNU time, which writes the program's peak RSS (kB) to `report`;
    the allocator is preloaded into the program only (through env), not into time.

    Not wait4 from here: the child of a fork (or vfork) of this Python process
    starts with Python's pages counted, so small programs would all show
    Python's own ~14 MiB as their peak."""
    return [TIME, "-f", "%M", "-o", report, "/usr/bin/env"] + (["LD_PRELOAD=" + preload] if preload else []) + argv


def read_maxrss(report):
    try:
        with open(report) as f:
            lines = [line for line in f.read().split() if line.isdigit()]
        return int(lines[-1]) if lines else None
    except OSError:
        return None


def run_program(argv, preload, extra_env=None, stdin_data=None):
    """Runs argv to completion; returns (seconds, maxrss_kb, returncode, stdout, stderr)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as inp, \
            tempfile.NamedTemporaryFile(suffix=".time") as report:
        if stdin_data is not None:
            inp.write(stdin_data.encode())
            inp.seek(0)
        start = time.perf_counter()
        proc = subprocess.Popen(measured(argv, report.name, preload), stdin=inp, stdout=out, stderr=err,
                                env=env_with(None, extra_env))
        proc.wait()
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return seconds, read_maxrss(report.name), proc.returncode, out.read().decode(
            errors="replace"), err.read().decode(errors="replace")


def parse_results(stdout):
    results = {}
    for line in stdout.splitlines():
        if line.startswith("RESULT ") and "=" in line:
            key, value = line[7:].split("=", 1)
            try:
                results[key.strip()] = float(value)
            except ValueError:
                pass
    return results


# ---- real programs ----

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_command(port, *args):
    """Sends one command (RESP) and returns the raw reply."""
    payload = "*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a.encode()), a) for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload.encode())
        data = b""
        while not data.endswith(b"\r\n") or (data.startswith(b"$") and data.count(b"\r\n") < 2):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace")


def run_redis(preload, quick):
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning", "--logfile", ""]
    with tempfile.TemporaryFile() as log, tempfile.NamedTemporaryFile(suffix=".time") as report:
        server = subprocess.Popen(measured(argv, report.name, preload), stdout=log, stderr=log, env=env_with(None),
                                  start_new_session=True)
        try:
            deadline = time.time() + 20
            while True:
                try:
                    if redis_command(port, "PING").startswith("+PONG"):
                        break
                except OSError:
                    pass
                if server.poll() is not None or time.time() > deadline:
                    if server.poll() is None:
                        os.killpg(server.pid, 9)
                        server.wait()
                    log.seek(0)
                    return None, None, 1, "redis-server did not start: " + log.read().decode(errors="replace")
                time.sleep(0.02)
            n = "10000" if quick else "100000"
            bench = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", n, "-c", "20", "-P", "8", "-d",
                     "200", "-r", "100000", "-q", "-t", "set,get,incr,lpush,lpop,sadd,hset,zadd"]
            start = time.perf_counter()
            done = subprocess.run(bench, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
            seconds = time.perf_counter() - start
            # Self-check: the data is there and a value survives a round trip.
            ok = done.returncode == 0
            value = "heapkit-check-" + "x" * 300
            ok = ok and redis_command(port, "SET", "hk:check", value).startswith("+OK")
            reply = redis_command(port, "GET", "hk:check")
            ok = ok and value in reply
            dbsize = redis_command(port, "DBSIZE")
            ok = ok and dbsize.startswith(":") and int(dbsize[1:].strip()) > 1000
            redis_command_quiet(port, "SHUTDOWN", "NOSAVE")
        except Exception as e:  # noqa: BLE001 - report any failure as a failed run
            os.killpg(server.pid, 9)
            server.wait()
            return None, None, 1, "redis run failed: %r" % (e,)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()
            return None, None, 1, "redis-server did not shut down"
        rss = read_maxrss(report.name)
        if not ok or rss is None:
            return seconds, rss, 1, "redis check failed: " + done.stdout.decode(errors="replace")[-400:]
        return seconds, rss, 0, ""


def redis_command_quiet(port, *args):
    try:
        redis_command(port, *args)
    except OSError:
        pass  # SHUTDOWN closes the connection without a reply


SQLITE_ROWS = 200000


def sqlite_script(rows):
    return """
PRAGMA cache_size = -262144;
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v REAL, note TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n})
INSERT INTO t SELECT x, printf('%08x', (x * 2654435761) % 4294967296), ((x * 7919) % 100003) / 7.0,
                     printf('row %d: %s', x, hex(x * x)) FROM c;
CREATE INDEX t_k ON t(k);
CREATE INDEX t_v ON t(v, note);
SELECT CASE WHEN count(*) = {n} THEN 'ok rows' ELSE 'bad rows' END FROM t;
UPDATE t SET note = note || ' updated' WHERE id % 5 = 0;
DELETE FROM t WHERE id % 3 = 0;
SELECT CASE WHEN count(*) = {n} - {n} / 3 THEN 'ok delete' ELSE 'bad delete' END FROM t;
SELECT CASE WHEN count(*) = (SELECT count(*) FROM t WHERE id % 5 = 0) THEN 'ok update' ELSE 'bad update' END
  FROM t WHERE note LIKE '% updated';
SELECT CASE WHEN count(DISTINCT k) > {n} / 2 THEN 'ok keys' ELSE 'bad keys' END FROM t INDEXED BY t_k;
PRAGMA integrity_check;
""".format(n=rows)


def run_sqlite(preload, quick):
    rows = SQLITE_ROWS // 10 if quick else SQLITE_ROWS
    seconds, rss, rc, out, err = run_program(["sqlite3", ":memory:"], preload, stdin_data=sqlite_script(rows))
    expected = ["ok rows", "ok delete", "ok update", "ok keys", "ok"]
    if rc == 0 and out.split() != " ".join(expected).split():
        return seconds, rss, 1, "sqlite check failed: %r %s" % (out[-300:], err[-300:])
    return seconds, rss, rc, err


PYTHON_SCRIPT = r"""
import sys
scale = float(sys.argv[1])
total = 0
for round in range(2):
    n = int(150000 * scale)
    index = {}
    for i in range(n):
        key = "key-%d-%d" % (round, i)
        index[key] = [i, str(i * 7), (i, key), {"v": i % 97}]
    records = [{"id": i, "name": "n%d" % i, "tags": ["t%d" % (i % 13), "u%d" % (i % 7)]} for i in range(n)]
    words = " ".join("w%d" % (i % 5000) for i in range(n)).split()
    counts = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    check = sum(v[0] for v in index.values()) + sum(r["id"] for r in records) + sum(counts.values())
    expect = n * (n - 1) + n
    if check != expect:
        print("bad check", check, expect)
        sys.exit(1)
    total += check
    del index, records, words, counts
print("ok", total)
"""


def run_python(preload, quick):
    seconds, rss, rc, out, err = run_program([PYTHON, "-I", "-c", PYTHON_SCRIPT, "0.1" if quick else "1"], preload,
                                             extra_env={"PYTHONMALLOC": "malloc"})
    if rc == 0 and not out.startswith("ok"):
        return seconds, rss, 1, "python check failed: " + out[-300:]
    return seconds, rss, rc, err


def run_one(workload, program, allocator, args):
    quick = args.quick
    if program == "redis":
        seconds, rss, rc, msg = run_redis(preload_for(allocator, args.libheapkit, args.shim, True), quick)
        return {"time": seconds, "rss_kb": rss, "rc": rc, "message": msg, "results": {}}
    if program == "sqlite":
        seconds, rss, rc, msg = run_sqlite(preload_for(allocator, args.libheapkit, args.shim), quick)
        return {"time": seconds, "rss_kb": rss, "rc": rc, "message": msg, "results": {}}
    if program == "python":
        seconds, rss, rc, msg = run_python(preload_for(allocator, args.libheapkit, args.shim), quick)
        return {"time": seconds, "rss_kb": rss, "rc": rc, "message": msg, "results": {}}
    argv = [os.path.join(args.bin, program)] + (["--quick"] if quick else [])
    seconds, rss, rc, out, err = run_program(argv, preload_for(allocator, args.libheapkit, args.shim))
    return {"time": seconds, "rss_kb": rss, "rc": rc, "message": err.strip()[-400:], "results": parse_results(out)}


# ---- micro-benchmarks ----

def run_fastpath(args, allocators):
    """Runs malloc_fastpath_bench under each allocator (alternating, args.rounds times); median ns per item."""
    exe = os.path.join(args.bin, "malloc_fastpath_bench")
    times = {}  # name -> allocator -> [ns per item]
    rounds = 1 if args.quick else max(1, min(args.rounds, 3))
    for r in range(rounds):
        for allocator in allocators[r % len(allocators):] + allocators[:r % len(allocators)]:
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                argv = [exe, "--benchmark_repetitions=1", "--benchmark_min_time=%s" % ("0.02" if args.quick else "0.1"),
                        "--benchmark_out=" + out.name, "--benchmark_out_format=json"]
                done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      env=env_with(preload_for(allocator, args.libheapkit, args.shim)))
                if done.returncode != 0:
                    print("malloc_fastpath_bench failed under %s: %s" % (allocator, done.stderr.decode()[-300:]))
                    continue
                data = json.load(open(out.name))
            for b in data["benchmarks"]:
                if b.get("run_type") != "iteration":
                    continue
                items = b.get("items_per_second")
                if not items:
                    continue
                name = b["run_name"].replace("/malloc", "").replace("/real_time", "")
                times.setdefault(name, {}).setdefault(allocator, []).append(1e9 / items)
    return {name: {a: statistics.median(v) for a, v in per.items()} for name, per in times.items()}


# ---- output ----

def geomean(values):
    values = [v for v in values if v and v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def summarise(runs, workloads, allocators):
    """workload -> allocator -> {time, rss_kb, spread, extra medians}"""
    table = {}
    for name in workloads:
        table[name] = {}
        for a in allocators:
            ok = [r for r in runs if r["workload"] == name and r["allocator"] == a and r["rc"] == 0]
            failed = [r for r in runs if r["workload"] == name and r["allocator"] == a and r["rc"] != 0]
            if not ok:
                table[name][a] = {"failed": len(failed)}
                continue
            ts = [r["time"] for r in ok]
            med = statistics.median(ts)
            entry = {"time": med, "rss_kb": statistics.median([r["rss_kb"] for r in ok]),
                     "spread": (max(ts) - min(ts)) / med if med > 0 else 0.0, "runs": len(ok), "failed": len(failed)}
            keys = set().union(*[r["results"].keys() for r in ok])
            for k in sorted(keys):
                vals = [r["results"][k] for r in ok if k in r["results"]]
                entry[k] = statistics.median(vals)
            table[name][a] = entry
    return table


def print_tables(table, allocators, descriptions):
    peers = [a for a in allocators if a != "heapkit"]
    lines = []
    for name, per in table.items():
        lines.append("")
        lines.append("%s: %s" % (name, descriptions.get(name, "")))
        extra = "rss_after_kb" if any("rss_after_kb" in e for e in per.values()) else None
        head = "  %-9s %9s %7s %10s %12s %12s" % ("allocator", "time s", "spread", "peak MiB", "hk/x time",
                                                  "hk/x RSS")
        if extra:
            head += " %14s" % "RSS after MiB"
        lines.append(head)
        hk = per.get("heapkit", {})
        for a in allocators:
            e = per[a]
            if "time" not in e:
                lines.append("  %-9s FAILED (%d runs)" % (a, e.get("failed", 0)))
                continue
            rt = "%11.2fx" % (hk["time"] / e["time"]) if "time" in hk and a != "heapkit" else "%12s" % "-"
            rr = "%11.2fx" % (hk["rss_kb"] / e["rss_kb"]) if "rss_kb" in hk and a != "heapkit" else "%12s" % "-"
            row = "  %-9s %9.3f %6.0f%% %10.1f %s %s" % (a, e["time"], 100 * e["spread"], e["rss_kb"] / 1024, rt, rr)
            if extra and extra in e:
                row += " %14.1f" % (e[extra] / 1024)
            if e.get("failed"):
                row += "  (%d failed runs)" % e["failed"]
            lines.append(row)
    lines.append("")
    lines.append("geometric mean over workloads of heapkit / peer (< 1: heapkit faster or smaller)")
    lines.append("  %-9s %10s %10s %10s" % ("peer", "time", "peak RSS", "workloads"))
    geo = {}
    for p in peers:
        tr = [per["heapkit"]["time"] / per[p]["time"] for per in table.values() if "time" in per.get("heapkit", {})
              and "time" in per.get(p, {})]
        rr = [per["heapkit"]["rss_kb"] / per[p]["rss_kb"] for per in table.values()
              if "time" in per.get("heapkit", {}) and "time" in per.get(p, {})]
        geo[p] = {"time": geomean(tr), "rss": geomean(rr), "workloads": len(tr)}
        lines.append("  %-9s %9.2fx %9.2fx %10d" % (p, geo[p]["time"], geo[p]["rss"], len(tr)))
    return "\n".join(lines), geo


def print_fastpath(fast, allocators):
    if not fast:
        return ""
    lines = ["", "fast paths (malloc_fastpath_bench, median ns per operation; hk/x = heapkit / peer)"]
    lines.append("  %-22s" % "case" + "".join(" %9s" % a for a in allocators) +
                 "".join(" %11s" % ("hk/" + a) for a in allocators if a != "heapkit"))
    for name, per in fast.items():
        row = "  %-22s" % name + "".join(" %9.2f" % per[a] if a in per else " %9s" % "-" for a in allocators)
        hk = per.get("heapkit")
        for a in allocators:
            if a == "heapkit":
                continue
            row += " %10.2fx" % (hk / per[a]) if hk and a in per else " %11s" % "-"
        lines.append(row)
    return "\n".join(lines)


def svg_rows(table, peers, geo):
    """(label, {peer: (time ratio or None, RSS ratio or None)}) per workload, then the extra rows."""
    rows = []
    for name, per in table.items():
        hk = per.get("heapkit", {})
        if "time" not in hk:
            continue
        rows.append((name, {p: (hk["time"] / per[p]["time"], hk["rss_kb"] / per[p]["rss_kb"]) for p in peers
                            if "time" in per.get(p, {})}))
        if "rss_after_kb" in hk:
            rows.append((name + ": RSS after", {p: (None, hk["rss_after_kb"] / per[p]["rss_after_kb"]) for p in peers
                                                if per.get(p, {}).get("rss_after_kb")}))
    rows.append(("geometric mean", {p: (geo[p]["time"], geo[p]["rss"]) for p in peers if p in geo}))
    return rows


def write_svg(path, rows, peers, title):
    """Two panels (time, peak RSS): per row, one bar per peer = heapkit / peer on a log scale."""
    colours = {"glibc": "#4e79a7", "jemalloc": "#f28e2b", "mimalloc": "#59a14f", "tcmalloc": "#e15759",
               "scudo": "#b07aa1"}
    lo, hi = -4.0, 4.0  # log2 range: 1/16 .. 16 (longer bars are clipped; the tooltip has the value)
    row_h, bar_h = 6 + 7 * len(peers), 6
    label_w, panel_w, gap, top = 170, 330, 40, 60
    height = top + row_h * len(rows) + 60
    width = label_w + 2 * panel_w + gap + 20
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="11">' % (width, height), '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="18" font-size="14">%s</text>' % title,
           '<text x="10" y="34">bar = heapkit / peer (medians of alternating runs), log scale; left of 1 = '
           'heapkit faster / smaller</text>']
    for pi, label in enumerate(["time", "peak RSS (memory-return: RSS after)"]):
        x0 = label_w + pi * (panel_w + gap)

        def xpos(ratio):
            v = min(max(math.log2(ratio), lo), hi)
            return x0 + (v - lo) / (hi - lo) * panel_w

        out.append('<text x="%d" y="%d" font-weight="bold" text-anchor="middle">%s</text>' % (
            x0 + panel_w / 2, top - 8, label))
        for t in range(int(lo), int(hi) + 1):
            x = xpos(2.0 ** t)
            out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>' % (
                x, top, x, top + row_h * len(rows), "#333" if t == 0 else "#ddd"))
            lab = ("%g" % 2.0 ** t) if t >= 0 else "1/%d" % 2 ** -t
            out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (x, top + row_h * len(rows) + 14,
                                                                                 lab))
        for wi, (name, ratios) in enumerate(rows):
            y = top + wi * row_h + 3
            if pi == 0:
                weight = ' font-weight="bold"' if name == "geometric mean" else ""
                out.append('<text x="%d" y="%d" text-anchor="end"%s>%s</text>' % (label_w - 6, y + row_h / 2, weight,
                                                                                   name))
            for k, p in enumerate(peers):
                ratio = ratios.get(p, (None, None))[pi]
                if not ratio:
                    continue
                x1, x2 = xpos(1.0), xpos(ratio)
                out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"><title>%s vs %s: %.2fx'
                           '</title></rect>' % (min(x1, x2), y + k * 7, max(abs(x2 - x1), 1), bar_h, colours.get(
                               p, "#999"), name, p, ratio))
    ly = height - 24
    for k, p in enumerate(peers):
        out.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">vs %s</text>' % (
            label_w + k * 90, ly, colours.get(p, "#999"), label_w + k * 90 + 14, ly + 9, p))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="directory with the wl_* programs and malloc_fastpath_bench")
    ap.add_argument("--libheapkit", required=True)
    ap.add_argument("--shim", required=True, help="libhk_glibc_shim.so")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", action="append", default=[], help="workload name (repeatable, or comma list)")
    ap.add_argument("--allocators", default=",".join(ALL_ALLOCATORS))
    ap.add_argument("--quick", action="store_true", help="1 round, smaller sizes")
    ap.add_argument("--no-fastpath", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--svg")
    args = ap.parse_args()
    if args.quick:
        args.rounds = 1
    allocators = [a.strip() for a in args.allocators.split(",") if a.strip()]
    for a in allocators:
        if a not in ALL_ALLOCATORS:
            sys.exit("unknown allocator %s (known: %s)" % (a, ", ".join(ALL_ALLOCATORS)))
        if a in PEER_LIBS and not os.path.exists(PEER_LIBS[a]):
            sys.exit("%s is not installed: %s missing" % (a, PEER_LIBS[a]))
    for path in (args.libheapkit, args.shim):
        if not os.path.exists(path):
            sys.exit("missing %s: build the malloc_bench_programs target first" % path)
    for a in allocators:
        # A preload that fails is only a warning of ld.so, and the run would measure glibc: refuse it.
        lib = preload_for(a, args.libheapkit, args.shim, True)
        if lib:
            probe = subprocess.run(["/bin/true"], env=env_with(lib), stderr=subprocess.PIPE)
            if probe.returncode != 0 or probe.stderr:
                sys.exit("LD_PRELOAD=%s does not load: %s" % (lib, probe.stderr.decode()[-300:]))
    only = [w.strip() for o in args.only for w in o.split(",") if w.strip()]
    workloads = [w for w in WORKLOADS if not only or w[0] in only]
    if only and len(workloads) != len(only):
        sys.exit("unknown workload in %s (known: %s)" % (only, ", ".join(w[0] for w in WORKLOADS)))
    descriptions = {w[0]: w[2] for w in WORKLOADS}

    started = datetime.datetime.now(datetime.timezone.utc)
    print("heapkit malloc benchmark: %s, %d round(s)%s, %s, %d cores, load average %s" % (
        started.strftime("%Y-%m-%d %H:%M UTC"), args.rounds, " (quick)" if args.quick else "", platform.node(),
        os.cpu_count(), "%.2f %.2f %.2f" % os.getloadavg()), flush=True)
    runs = []
    t0 = time.time()
    for r in range(args.rounds):
        for name, program, _ in workloads:
            order = allocators[r % len(allocators):] + allocators[:r % len(allocators)]
            for a in order:
                res = run_one(name, program, a, args)
                res.update({"workload": name, "allocator": a, "round": r + 1})
                runs.append(res)
                if res["rc"] != 0:
                    print("  FAILED %s under %s (round %d): %s" % (name, a, r + 1, res["message"]), flush=True)
        print("  round %d/%d done (%.0f s)" % (r + 1, args.rounds, time.time() - t0), flush=True)

    table = summarise(runs, [w[0] for w in workloads], allocators)
    text, geo = print_tables(table, allocators, descriptions)
    print(text)
    fast = {} if args.no_fastpath else run_fastpath(args, allocators)
    print(print_fastpath(fast, allocators))
    print("\nload average at the end: %.2f %.2f %.2f; total %.0f s" % (os.getloadavg() + (time.time() - t0,)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"started": started.isoformat(), "rounds": args.rounds, "quick": args.quick,
                       "allocators": allocators, "runs": runs, "medians": table, "geomean_heapkit_over_peer": geo,
                       "fastpath_ns": fast}, f, indent=1)
    if args.svg and "heapkit" in allocators:
        peers = [a for a in allocators if a != "heapkit"]
        write_svg(args.svg, svg_rows(table, peers, geo), peers, "heapkit malloc vs peers, %s, %d round%s" % (
            started.strftime("%Y-%m-%d"), args.rounds, "" if args.rounds == 1 else "s"))
    failed = [r for r in runs if r["rc"] != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
