#!/usr/bin/env python3
"""Soak test: every server in the catalog that serves clients concurrently runs
under sustained load from a few client threads for a bounded time. Reports
requests, errors, and fd / RSS drift between the start and the end.

    harness/bench/soak.py --seconds 300          # the long run
    harness/bench/soak.py --seconds 30 --check   # CI: zero errors, no fd growth

Loopback only; every loop is bounded in time."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

from course_harness.catalog import SERVERS, make_root  # noqa: E402
from course_harness.process import start_server  # noqa: E402


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def soak(spec, bin_dir: Path, seconds: float, clients: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        args = ["--port", "0", *spec.args]
        if spec.needs_root_dir:
            args += ["--root", str(make_root(Path(tmp)))]
        server = start_server(bin_dir / spec.program, *args)
        pid = server.proc.pid
        spec.good_client(server.host, server.port, server)  # warm up
        time.sleep(0.2)
        start_fds, start_rss = fds(pid), rss_kib(pid)
        counts = {"requests": 0, "errors": 0}
        errors: list[str] = []
        lock = threading.Lock()
        deadline = time.monotonic() + seconds

        def worker():
            while time.monotonic() < deadline:
                try:
                    spec.good_client(server.host, server.port, server)
                    with lock:
                        counts["requests"] += 1
                except Exception as e:  # noqa: BLE001 - every failure is counted
                    with lock:
                        counts["errors"] += 1
                        if len(errors) < 5:
                            errors.append(repr(e))

        threads = [threading.Thread(target=worker) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 30)
        time.sleep(0.5)  # let the last connections close
        end_fds, end_rss = fds(pid), rss_kib(pid)
        server.stop()
        return {"server": spec.program, **counts, "fd_start": start_fds, "fd_end": end_fds,
                "rss_start_kib": start_rss, "rss_end_kib": end_rss, "sample_errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300, help="total, split across servers")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--bin-dir", default=os.environ.get("COURSE_BIN_DIR",
                                                            ROOT / "build" / "bin"))
    parser.add_argument("--check", action="store_true",
                        help="exit 1 on any error or fd growth")
    args = parser.parse_args()
    bin_dir = Path(args.bin_dir)
    specs = [s for s in SERVERS if s.concurrent and (bin_dir / s.program).exists()
             and not s.prints_messages]
    if not specs:
        print("soak: no concurrent servers built")
        return 1
    each = args.seconds / len(specs)
    print(f"{'server':<24} {'requests':>9} {'errors':>7} {'fds start->end':>15} "
          f"{'RSS KiB start->end':>20}")
    bad = 0
    for spec in specs:
        r = soak(spec, bin_dir, each, args.clients)
        grew = r["fd_end"] > r["fd_start"]
        bad += r["errors"] > 0 or grew
        print(f"{r['server']:<24} {r['requests']:>9} {r['errors']:>7} "
              f"{r['fd_start']:>7}->{r['fd_end']:<7} {r['rss_start_kib']:>9}->{r['rss_end_kib']:<9}")
        for e in r["sample_errors"]:
            print(f"    {e}")
    print(f"soak: {len(specs) - bad} passed, {bad} failed")
    return 1 if (args.check and bad) else 0


if __name__ == "__main__":
    sys.exit(main())
