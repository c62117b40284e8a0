#!/usr/bin/env python3
"""Lesson 15's concurrency benchmark: one load generator, the echo servers below.

    /usr/bin/python3 harness/bench/run_bench.py [--bin-dir build/bin] [--runs 3]

Servers: threaded_echo_server (the course::socketserver library), Python's
socketserver.ThreadingTCPServer (lesson 15's Python twin, as the seed writes
it), a plain C++ thread-per-connection server (bench_thread_echo), the same
with plain blocking calls (bench_thread_echo --blocking: the ceiling of one
thread per client, no poll(), so not stop-aware) and a
single-threaded epoll server (bench_epoll_echo). Load (bench_load, C++):
ping-pong with 64-byte messages at 1, 10 and 100 connections; connect-request-
close with 10 concurrent clients; K idle connections opened in one burst and
then checked, K = 1,000 and 10,000. Loopback only; everything shares the
machine's cores. Prints a table (each figure also as a ratio to Python's),
writes the figures as JSON and a plot as SVG (no matplotlib needed).
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
    "plain": "plain C++ threads",
    "blocking": "plain C++ threads, blocking",
    "epoll": "epoll, one thread",
    # lesson 17's event loops (single-threaded, per-connection output buffers)
    "l17-select": "select_echo_server (lesson 17)",
    "l17-poll": "poll_echo_server (lesson 17)",
    "l17-epoll": "epoll_echo_server (lesson 17)",
}
COLOURS = {"python": "#3572A5", "library": "#d62728", "plain": "#ff7f0e", "blocking": "#e6ab02",
           "epoll": "#2ca02c",
           "l17-select": "#9467bd", "l17-poll": "#8c564b", "l17-epoll": "#17becf"}


def server_argv(kind, bin_dir):
    if kind == "python":
        twin = ROOT / "lessons/15-socketserver/python/threaded_echo_server.py"
        return [sys.executable, str(twin), "--port", "0", "--quiet"]
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


def measure(kind, bin_dir, load_args, limit):
    """Starts a fresh server, runs one load, returns the loader's figures + peak RSS."""
    server = subprocess.Popen(server_argv(kind, bin_dir), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
        done = subprocess.run([str(bin_dir / "bench_load"), *load_args, "--port", str(port)],
                              capture_output=True, text=True, timeout=limit)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["rss_mib"] = peak_rss_mib(server.pid)
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


def round_ratio(results, kind, reference, shape, c):
    """The median over rounds of kind/reference, each round's pair measured seconds
    apart. This VM's speed shifts now and then by a third for a minute or more;
    a ratio of two medians then compares a fast round with a slow one."""
    mine = results[kind][shape][c]["all_rps"]
    theirs = results[reference][shape][c]["all_rps"]
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
    secs = str(args.seconds)
    started = time.monotonic()

    # Runs are interleaved (run 1 of every server, then run 2 of every server...) and one
    # unrecorded warm-up goes first: a machine that speeds up or slows down during the
    # command (CPU frequency, another job) then shifts every server alike, not just one.
    def rounds(load_args):
        figures = {kind: [] for kind in kinds}
        for _ in range(args.runs):
            for kind in kinds:
                figures[kind].append(measure(kind, args.bin_dir, load_args, 60))
        return figures

    def summary(runs):
        out = {k: median_of(runs, k) for k in ("rps", "p50_us", "p99_us", "rss_mib")}
        out["all_rps"] = [x["rps"] for x in runs]
        return out

    measure(kinds[0], args.bin_dir, ["pingpong", "--connections", "10", "--seconds", secs], 60)
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
                                               "--timeout", "8"], 60)
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
    print(f"{'load':<16}{'server':<32}{'req/s':>10}{'':>8}{'p50 us':>10}{'':>8}{'p99 us':>10}"
          f"{'':>8}{'RSS MiB':>9}{'':>8}")
    for shape, keys in (("pingpong", (1, 10, 100)), ("ccr", (10,))):
        for c in keys:
            for kind in kinds:
                m = results[kind][shape][c]
                base = ref[shape][c] if ref else None
                print(f"{shape + ' C=' + str(c):<16}{SERVERS[kind]:<32}{m['rps']:>10.0f}"
                      f"{ratio(m['rps'], base and base['rps']):>8}{m['p50_us']:>10.0f}"
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

    if {"python", "library", "plain"} <= set(kinds):
        lib, py, plain = (results[k] for k in ("library", "python", "plain"))
        print("\ntargets:")
        medians = (lib["pingpong"][100]["rps"] / py["pingpong"][100]["rps"],
                   lib["pingpong"][100]["rps"] / plain["pingpong"][100]["rps"],
                   lib["ccr"][10]["rps"] / py["ccr"][10]["rps"])
        print("  (each ratio: the median of the per-round ratios; in brackets, the ratio of "
              "the medians)")
        checks = [
            ("C=100 req/s >= 2x Python", round_ratio(results, "library", "python", "pingpong", 100), 2.0, medians[0]),
            ("C=100 req/s >= 0.95x plain C++", round_ratio(results, "library", "plain", "pingpong", 100), 0.95, medians[1]),
            ("connect-request-close >= 3x Python", round_ratio(results, "library", "python", "ccr", 10), 3.0, medians[2]),
            ("10,000 burst: every connection echoed", lib["hold"][10000]["echoed"] / 10000, 1.0, None),
            ("RSS with 10,000 held < 256 MiB", 256 / max(lib["hold"][10000]["rss_mib"], 1e-9), 1.0, None),
        ]
        for text, value, need, of_medians in checks:
            extra = f" [{of_medians:.2f}]" if of_medians is not None else ""
            print(f"  {'ok  ' if value >= need else 'MISS'} {text}: {value:.2f}{extra} (need {need})")
        if "blocking" in kinds:  # not a target: the fastest a thread per client gets here
            value = round_ratio(results, "blocking", "python", "pingpong", 100)
            print(f"  (for scale: plain blocking recv/send threads, not stop-aware, reach "
                  f"{value:.2f}x Python at C=100)")

    if {"epoll", "l17-epoll"} <= set(kinds):  # lesson 17's target: within 10% of the reference
        value = round_ratio(results, "l17-epoll", "epoll", "pingpong", 100)
        print(f"  {'ok  ' if value >= 0.9 else 'MISS'} lesson 17 epoll_echo_server C=100 req/s "
              f">= 0.9x the epoll reference: {value:.2f} (need 0.9)")


if __name__ == "__main__":
    main()
