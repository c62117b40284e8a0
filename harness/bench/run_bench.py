#!/usr/bin/env python3
"""Lesson 15's concurrency benchmark: one load generator, the echo servers below.

    /usr/bin/python3 harness/bench/run_bench.py [--bin-dir build/bin] [--runs 3]

Servers: threaded_echo_server (the course::socketserver library), Python's
socketserver.ThreadingTCPServer (lesson 15's Python twin, as the seed writes
it, but with a listen() backlog of 128: with socketserver's 5, 100 clients
connecting at once wait on SYN retries, and the figure measures the backlog,
not the server), a plain C++ thread-per-connection server (bench_thread_echo),
the same with plain blocking calls (bench_thread_echo --blocking: the ceiling
of one thread per client, no poll(), so not stop-aware) and a single-threaded
epoll server (bench_epoll_echo). Load (bench_load, C++):
ping-pong with 64-byte messages at 1, 10 and 100 connections; connect-request-
close with 10 concurrent clients; K idle connections opened in one burst and
then checked, K = 1,000 and 10,000. Loopback only; everything shares the
machine's cores. Prints a table (each figure also as a ratio to Python's),
writes the figures as JSON and a plot as SVG (no matplotlib needed).

Beside requests/s, the table gives the server's CPU time per request (utime +
stime from /proc/PID/stat, over the load only, divided by the requests served).
On a shared machine requests/s moves with whatever else runs; CPU per request
counts only the server's own work, so it is the figure to compare two builds
by (it still shifts by a third between rounds whose threads did or did not
share a core with the loader: compare medians of several rounds).

    --before-bin-dir DIR   also runs DIR/threaded_echo_server as "before" (the
                           library built from another commit), round by round
                           beside the current one, with its own targets
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SERVERS = {
    "python": "Python ThreadingTCPServer",
    "library": "threaded_echo_server (library)",
    "before": "threaded_echo_server (before)",
    "plain": "plain C++ threads",
    "blocking": "plain C++ threads, blocking",
    "epoll": "epoll, one thread",
    # lesson 17's event loops (single-threaded, per-connection output buffers)
    "l17-select": "select_echo_server (lesson 17)",
    "l17-poll": "poll_echo_server (lesson 17)",
    "l17-epoll": "epoll_echo_server (lesson 17)",
}
COLOURS = {"python": "#3572A5", "library": "#d62728", "before": "#7f7f7f", "plain": "#ff7f0e",
           "blocking": "#e6ab02",
           "epoll": "#2ca02c",
           "l17-select": "#9467bd", "l17-poll": "#8c564b", "l17-epoll": "#17becf"}


# The twin with socketserver.TCPServer.request_queue_size = 128 (the seed's 5 would
# measure SYN retries at C=100), the file itself unchanged.
PYTHON_BACKLOG_128 = ("import runpy, socketserver, sys; "
                      "socketserver.TCPServer.request_queue_size = 128; "
                      "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")


def server_argv(kind, bin_dir, before_dir=None):
    if kind == "python":
        twin = ROOT / "lessons/15-socketserver/python/threaded_echo_server.py"
        return [sys.executable, "-c", PYTHON_BACKLOG_128, str(twin), "--port", "0", "--quiet"]
    if kind == "before":
        return [str(before_dir / "threaded_echo_server"), "--port", "0", "--quiet"]
    name = {"library": "threaded_echo_server", "plain": "bench_thread_echo",
            "blocking": "bench_thread_echo",
            "epoll": "bench_epoll_echo", "l17-select": "select_echo_server",
            "l17-poll": "poll_echo_server", "l17-epoll": "epoll_echo_server"}[kind]
    argv = [str(bin_dir / name), "--port", "0"]
    if kind == "blocking":
        return argv + ["--blocking"]
    return argv + ["--quiet"] if kind == "library" or kind.startswith("l17-") else argv


def peak_rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid):
    """The process's CPU time so far, every thread's (exited ones too): utime + stime."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(kind, bin_dir, load_args, limit, before_dir=None):
    """Starts a fresh server, runs one load, returns the loader's figures, the server's
    peak RSS and its CPU time per request (over the load only, not its start)."""
    server = subprocess.Popen(server_argv(kind, bin_dir, before_dir), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
        cpu_before = cpu_seconds(server.pid)
        done = subprocess.run([str(bin_dir / "bench_load"), *load_args, "--port", str(port)],
                              capture_output=True, text=True, timeout=limit)
        cpu = cpu_seconds(server.pid) - cpu_before
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["rss_mib"] = peak_rss_mib(server.pid)
        result["cpu_us"] = cpu * 1e6 / result["requests"] if result.get("requests") else 0.0
        return result
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def round_ratio(results, kind, reference, shape, c, key="all_rps"):
    """The median over rounds of kind/reference, each round's pair measured seconds
    apart. This VM's speed shifts now and then by a third for a minute or more;
    a ratio of two medians then compares a fast round with a slow one."""
    mine = results[kind][shape][c][key]
    theirs = results[reference][shape][c][key]
    return statistics.median(a / b for a, b in zip(mine, theirs) if b > 0)


def ratio(value, reference):
    return f"{value / reference:5.2f}x" if reference else "   - "


def svg_plot(results, path):
    """requests/s against connections (log scale), one line per server."""
    width, height, left, right, top, bottom = 720, 380, 70, 250, 40, 50
    xs = [1, 10, 100]
    top_value = max(results[k]["pingpong"][c]["rps"] for k in results for c in xs) * 1.1
    def px(c):
        return left + xs.index(c) * (width - left - right) / (len(xs) - 1)
    def py(v):
        return top + (height - top - bottom) * (1 - v / top_value)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2 - 60}" y="22" font-size="14" text-anchor="middle">'
           'Echo ping-pong, 64-byte messages, loopback</text>']
    for i in range(6):  # grid and y labels
        v = top_value * i / 5
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{py(v):.1f}" y2="{py(v):.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end">'
                   f'{v / 1000:.0f}k</text>')
    for c in xs:
        out.append(f'<text x="{px(c):.1f}" y="{height - bottom + 18}" text-anchor="middle">{c}</text>')
    out.append(f'<text x="{(left + width - right) / 2:.1f}" y="{height - 12}" '
               'text-anchor="middle">connections (log scale)</text>')
    out.append(f'<text x="16" y="{(top + height - bottom) / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 16 {(top + height - bottom) / 2:.1f})">requests/s (median)</text>')
    for n, kind in enumerate(results):
        points = " ".join(f"{px(c):.1f},{py(results[kind]['pingpong'][c]['rps']):.1f}" for c in xs)
        colour = COLOURS[kind]
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        for c in xs:
            out.append(f'<circle cx="{px(c):.1f}" cy="{py(results[kind]["pingpong"][c]["rps"]):.1f}" '
                       f'r="3.5" fill="{colour}"/>')
        ly = top + 10 + n * 20
        out.append(f'<line x1="{width - right + 15}" x2="{width - right + 35}" y1="{ly}" y2="{ly}" '
                   f'stroke="{colour}" stroke-width="2.5"/>')
        out.append(f'<text x="{width - right + 40}" y="{ly + 4}">{SERVERS[kind]}</text>')
    out.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", type=Path, default=ROOT / "build" / "bin")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--servers",
                        default="python,library,plain,blocking,epoll,l17-select,l17-poll,l17-epoll")
    parser.add_argument("--before-bin-dir", type=Path,
                        help="also run DIR/threaded_echo_server (another commit's build) as 'before'")
    parser.add_argument("--json", type=Path, default=ROOT / "harness/bench/results.json")
    parser.add_argument("--svg", type=Path, default=ROOT / "docs/img/15-benchmark.svg")
    parser.add_argument("--report", action="store_true",
                        help="measure nothing: print the table and targets of the --json file")
    args = parser.parse_args()
    if args.report:
        results = json.loads(args.json.read_text(), object_hook=lambda d: {
            int(k) if k.isdigit() else k: v for k, v in d.items()})
        runs = len(next(iter(results.values()))["pingpong"][100]["all_rps"])
        report(results, list(results), runs, None)
        return
    kinds = args.servers.split(",")
    if args.before_bin_dir and "before" not in kinds:
        kinds.insert(kinds.index("library") + 1 if "library" in kinds else len(kinds), "before")
    before_dir = args.before_bin_dir
    secs = str(args.seconds)
    started = time.monotonic()

    # Runs are interleaved (run 1 of every server, then run 2 of every server...) and one
    # unrecorded warm-up goes first: a machine that speeds up or slows down during the
    # command (CPU frequency, another job) then shifts every server alike, not just one.
    def rounds(load_args):
        figures = {kind: [] for kind in kinds}
        for _ in range(args.runs):
            for kind in kinds:
                figures[kind].append(measure(kind, args.bin_dir, load_args, 60, before_dir))
        return figures

    def summary(runs):
        out = {k: median_of(runs, k) for k in ("rps", "p50_us", "p99_us", "rss_mib", "cpu_us")}
        out["all_rps"] = [x["rps"] for x in runs]
        out["all_cpu_us"] = [x["cpu_us"] for x in runs]
        return out

    measure(kinds[0], args.bin_dir, ["pingpong", "--connections", "10", "--seconds", secs], 60,
            before_dir)
    results = {kind: {"pingpong": {}, "ccr": {}, "hold": {}} for kind in kinds}
    for c in (1, 10, 100):
        for kind, runs in rounds(["pingpong", "--connections", str(c), "--seconds", secs]).items():
            results[kind]["pingpong"][c] = summary(runs)
        print(f"... ping-pong C={c} done ({time.monotonic() - started:.0f} s)", file=sys.stderr,
              flush=True)
    for kind, runs in rounds(["ccr", "--connections", "10", "--seconds", secs]).items():
        results[kind]["ccr"][10] = summary(runs)
    for k in (1000, 10000):
        for kind in kinds:
            one = measure(kind, args.bin_dir, ["hold", "--connections", str(k), "--hold", "1",
                                               "--timeout", "8"], 60, before_dir)
            results[kind]["hold"][k] = {key: one[key] for key in
                                        ("held", "echoed", "connect_seconds", "p50_us",
                                         "p99_us", "rss_mib")}
    print(f"... all loads done ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    report(results, kinds, args.runs, args.seconds)
    args.json.write_text(json.dumps(results, indent=1))
    svg_plot({k: results[k] for k in kinds}, args.svg)
    print(f"\nwrote {os.path.relpath(args.json, ROOT)} and {os.path.relpath(args.svg, ROOT)} "
          f"in {time.monotonic() - started:.0f} s")


def report(results, kinds, runs, seconds):
    """Prints the table (ratios to Python) and the issue's targets."""
    ref = results.get("python")
    length = f" of {seconds} s" if seconds else ""
    print(f"\nloopback, {os.cpu_count()} cores shared by loader and server; medians of {runs} "
          f"runs{length}; ratios are to Python's figure\n")
    print(f"{'load':<16}{'server':<32}{'req/s':>10}{'':>8}{'CPU us/req':>11}{'':>8}"
          f"{'p50 us':>10}{'':>8}{'p99 us':>10}{'':>8}{'RSS MiB':>9}{'':>8}")
    for shape, keys in (("pingpong", (1, 10, 100)), ("ccr", (10,))):
        for c in keys:
            for kind in kinds:
                m = results[kind][shape][c]
                base = ref[shape][c] if ref else None
                cpu = m.get("cpu_us")  # absent in results.json files from before it was measured
                print(f"{shape + ' C=' + str(c):<16}{SERVERS[kind]:<32}{m['rps']:>10.0f}"
                      f"{ratio(m['rps'], base and base['rps']):>8}"
                      f"{'-' if cpu is None else f'{cpu:.1f}':>11}"
                      f"{ratio(cpu, base and base.get('cpu_us')) if cpu else '':>8}"
                      f"{m['p50_us']:>10.0f}"
                      f"{ratio(m['p50_us'], base and base['p50_us']):>8}{m['p99_us']:>10.0f}"
                      f"{ratio(m['p99_us'], base and base['p99_us']):>8}{m['rss_mib']:>9.1f}"
                      f"{ratio(m['rss_mib'], base and base['rss_mib']):>8}")
    print(f"\n{'hold K idle':<16}{'server':<32}{'held':>8}{'':>8}{'echoed':>8}{'':>8}"
          f"{'connect s':>10}{'RSS MiB':>9}{'':>8}")
    for k in (1000, 10000):
        for kind in kinds:
            m = results[kind]["hold"][k]
            base = ref["hold"][k] if ref else None
            print(f"{'K=' + str(k):<16}{SERVERS[kind]:<32}{m['held']:>8}"
                  f"{ratio(m['held'], base and base['held']):>8}{m['echoed']:>8}"
                  f"{ratio(m['echoed'], base and base['echoed']):>8}{m['connect_seconds']:>10.2f}"
                  f"{m['rss_mib']:>9.1f}{ratio(m['rss_mib'], base and base['rss_mib']):>8}")

    for lib in (k for k in ("library", "before") if k in kinds):
        if {"python", "plain"} <= set(kinds):
            targets(results, lib, "blocking" in kinds)
    lesson17_target(results, kinds)


def targets(results, lib, blocking):
    """The issue's targets for `lib` ("library", or "before": another commit's build)."""
    mine, py, plain = (results[k] for k in (lib, "python", "plain"))
    print(f"\ntargets{'' if lib == 'library' else ' of ' + SERVERS[lib]}:")
    medians = (mine["pingpong"][100]["rps"] / py["pingpong"][100]["rps"],
               mine["pingpong"][100]["rps"] / plain["pingpong"][100]["rps"],
               mine["ccr"][10]["rps"] / py["ccr"][10]["rps"])
    print("  (each ratio: the median of the per-round ratios; in brackets, the ratio of "
          "the medians)")
    checks = [
        ("C=100 req/s >= 2x Python", round_ratio(results, lib, "python", "pingpong", 100), 2.0, medians[0]),
        ("C=100 req/s >= 0.95x plain C++", round_ratio(results, lib, "plain", "pingpong", 100), 0.95, medians[1]),
        ("connect-request-close >= 3x Python", round_ratio(results, lib, "python", "ccr", 10), 3.0, medians[2]),
        ("10,000 burst: every connection echoed", mine["hold"][10000]["echoed"] / 10000, 1.0, None),
        ("RSS with 10,000 held < 256 MiB", 256 / max(mine["hold"][10000]["rss_mib"], 1e-9), 1.0, None),
    ]
    for text, value, need, of_medians in checks:
        extra = f" [{of_medians:.2f}]" if of_medians is not None else ""
        print(f"  {'ok  ' if value >= need else 'MISS'} {text}: {value:.2f}{extra} (need {need})")
    if blocking:  # not a target: the fastest a thread per client gets here
        value = round_ratio(results, "blocking", "python", "pingpong", 100)
        print(f"  (for scale: plain blocking recv/send threads, not stop-aware, reach "
              f"{value:.2f}x Python at C=100)")
    # Not a target either, but the steadiest figure on a shared machine: the server's
    # CPU time per request, and its per-round ratio to plain C++ threads and to Python.
    for shape, c in (("pingpong", 100), ("ccr", 10)):
        if "all_cpu_us" not in mine[shape][c]:
            continue
        cpu = {k: results[k][shape][c]["cpu_us"] for k in (lib, "plain", "python")}
        print(f"  CPU per request, {shape} C={c}: {cpu[lib]:.1f} us; "
              f"plain C++ {cpu['plain']:.1f} us (ratio {round_ratio(results, lib, 'plain', shape, c, 'all_cpu_us'):.2f}), "
              f"Python {cpu['python']:.1f} us "
              f"(ratio {round_ratio(results, lib, 'python', shape, c, 'all_cpu_us'):.2f})")


def lesson17_target(results, kinds):
    if {"epoll", "l17-epoll"} <= set(kinds):  # lesson 17's target: within 10% of the reference
        value = round_ratio(results, "l17-epoll", "epoll", "pingpong", 100)
        print(f"  {'ok  ' if value >= 0.9 else 'MISS'} lesson 17 epoll_echo_server C=100 req/s "
              f">= 0.9x the epoll reference: {value:.2f} (need 0.9)")


if __name__ == "__main__":
    main()
