#!/usr/bin/env python3
"""How long a class takes to grade: `./course grade --submissions DIR --jobs J`
on N made-up submissions of the whole course (the untouched starter, the
reference, and some exercises solved), hidden tests included.

Prints each submission's time, the wall time, the CPU time per submission and
what 60 submissions would take at this pace (the target: 60 in 30 minutes on
2 cores). Each job's first submission builds the whole course; the rest only
recompile what changed, so the projection uses the steady pace.

  /usr/bin/python3 harness/bench/grade_class.py --submissions 6 --jobs 2"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

from course_tools import meta, release, submissions  # noqa: E402


def make_submissions(folder: Path, count: int) -> None:
    ids = [ex["id"] for _, ex in meta.all_exercises(ROOT)]
    for n in range(count):
        kind = n % 3
        keep = set() if kind == 0 else set(ids) if kind == 1 else set(ids[n % 2::2])
        for path in release.region_files(ROOT):
            target = folder / f"student{n:02d}" / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(release.render_file(ROOT, path, keep))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="grade-class-bench-"))
    os.chmod(scratch, 0o755)
    try:
        make_submissions(scratch / "subs", args.submissions)
        started, cpu = time.monotonic(), children_cpu()
        results = submissions.grade_class(ROOT, scratch / "subs", scratch / "grades",
                                          sys.executable, jobs=args.jobs,
                                          work=scratch / "work")
        wall, cpu = time.monotonic() - started, children_cpu() - cpu
        times = [r.get("elapsed", 0.0) for r in results]
        first, rest = times[:args.jobs], times[args.jobs:]
        print(f"\n{args.submissions} whole-course submissions, {args.jobs} jobs, "
              f"{os.cpu_count()} cores: {wall:.0f} s wall, {cpu / len(results):.0f} s CPU "
              f"per submission")
        print(f"  first submission of each job (a full build): "
              f"{', '.join(f'{t:.0f} s' for t in first)}")
        if rest:
            pace = statistics.median(rest) / args.jobs
            projected = (max(first) + pace * (60 - args.jobs)) / 60
            print(f"  then {statistics.median(rest):.0f} s per submission (median), "
                  f"{pace:.0f} s per submission with {args.jobs} side by side")
            print(f"  60 submissions: about {projected:.0f} min at this wall-clock pace "
                  f"(target: 30 min or less)")
            cores = os.cpu_count() or 1
            print(f"  60 submissions by CPU time, the steady figure on a shared machine: "
                  f"60 x {cpu / len(results):.0f} s / {cores} cores = "
                  f"{60 * cpu / len(results) / cores / 60:.0f} min")
        graded = sum(r.get("grading_status") == "graded" for r in results)
        print(f"  graded: {graded} of {len(results)}; scores: "
              f"{', '.join(format(r['score'], 'g') for r in results)}")
        (scratch / "summary.json").write_text(json.dumps(
            {"wall": wall, "cpu_per_submission": cpu / len(results), "times": times}))
        return 0 if graded == len(results) else 1
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
