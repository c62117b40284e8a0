#!/usr/bin/env python3
"""Runs the public lesson tests (what a student's `./course check` and the
grader's public part run) N times in a row and reports whether every run gave
every test the same outcome: a test that passes or fails by timing shows here.

  /usr/bin/python3 harness/bench/repeat_public.py --runs 20 [--load 2]

`--load K` adds K busy processes for the whole time (a loaded machine)."""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def burn() -> None:
    while True:
        pass


def one_run(bin_dir: Path, report: Path) -> dict[str, str]:
    report.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider",
                    "-m", "not hidden and not slow", f"--course-report={report}",
                    str(ROOT / "lessons")], cwd=ROOT, capture_output=True, timeout=1800,
                   env=dict(os.environ, COURSE_BIN_DIR=str(bin_dir)))
    return {r["nodeid"]: r["outcome"] for r in json.loads(report.read_text())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--load", type=int, default=0, help="busy processes beside the runs")
    parser.add_argument("--bin-dir", type=Path, default=ROOT / "build" / "bin")
    args = parser.parse_args()
    burners = [multiprocessing.Process(target=burn, daemon=True) for _ in range(args.load)]
    for b in burners:
        b.start()
    outcomes: dict[str, list[str]] = collections.defaultdict(list)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for n in range(1, args.runs + 1):
                run_started = time.monotonic()
                result = one_run(args.bin_dir, Path(scratch) / "report.json")
                for nodeid, outcome in result.items():
                    outcomes[nodeid].append(outcome)
                counts = collections.Counter(result.values())
                print(f"run {n:2}: {len(result)} tests, " + ", ".join(
                    f"{k} {v}" for k, v in sorted(counts.items())) +
                      f"  ({time.monotonic() - run_started:.0f} s, load "
                      f"{os.getloadavg()[0]:.1f})", flush=True)
    finally:
        for b in burners:
            b.terminate()
    varied = {nodeid: seen for nodeid, seen in outcomes.items()
              if len(set(seen)) > 1 or len(seen) != args.runs}
    print(f"\n{args.runs} runs of {len(outcomes)} public tests in "
          f"{time.monotonic() - started:.0f} s with {args.load} busy processes beside them:")
    if not varied:
        print("every test had the same outcome in every run")
        return 0
    for nodeid, seen in sorted(varied.items()):
        print(f"  VARIED {nodeid}: {collections.Counter(seen)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
