#!/usr/bin/env python3
"""How long a student waits (issue 19): the figures of the everyday loop, each
against its target.

  /usr/bin/python3 harness/bench/student_loop.py [--runs 3] [--lessons 04 14]
        [--edit 04] [--watch 04.1] [--full-test] [--skip-check] [--starter]

  check NN         ./course check NN for every lesson (or --lessons): the median
                   wall and CPU time of --runs runs (CPU: user + system of
                   ./course and everything it waited for).        target <= 2 s
  edit then check  a trivial edit (a comment line appended) to an exercise file,
                   then ./course check: the rebuild and the tests. No target of
                   its own; shown against check's.
  watch            ./course watch on one exercise: from the save of its file to
                   the result line (`exercise NN.M: ...`).         target <= 2 s
  ./course test    one run, with --full-test (it takes a minute). target <= 45 s
  check NN, to do  with --starter: check NN in a scratch copy turned into a
                   student's workspace (./course start): the exercises' tests
                   fail, as they do for a student who has just begun; a failing
                   test must not make the student wait either.  target <= 2 s

check and ./course test run in this checkout (they only build, and write
build/ and .course-state.json as any check does). The edits are made in a
scratch copy of the working tree (--scratch, kept between runs so that its
build stays warm; the first run there builds the lesson's programs), never in
this checkout. Every figure is printed with the load average when it was
taken: on a shared machine read CPU time, steadier than wall time.

A benchmark, not a test: nothing here fails on a slow figure."""

from __future__ import annotations

import argparse
import os
import queue
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK_TARGET = 2.0
WATCH_TARGET = 2.0
TEST_TARGET = 45.0
RESULT_LINE = r"^exercise {id}: (all public tests pass|\d+ of \d+ public tests fail)"


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], cwd: Path, env: dict | None = None,
          timeout: float = 1800) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds, the finished process) of one command."""
    cpu = children_cpu()
    started = time.monotonic()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    return time.monotonic() - started, children_cpu() - cpu, done


def verdict(seconds: float, target: float) -> str:
    return "ok" if seconds <= target else f"OVER by {seconds - target:.1f} s"


def course_env() -> dict:
    """The environment a student has: bytecode cached (in a private folder, so
    that this checkout gets no __pycache__), no COURSE_BUILD_DIR of ours."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("COURSE_BUILD_DIR", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "course-student-loop-pyc")
    env["NO_COLOR"] = "1"
    return env


def lesson_numbers(root: Path) -> list[str]:
    return sorted(p.name[:2] for p in (root / "lessons").iterdir()
                  if re.fullmatch(r"\d\d-.+", p.name) and p.is_dir())


def summary_line(output: str) -> str:
    found = re.findall(r"^course: .*$", output, re.M)
    return found[-1] if found else "(no summary line)"


# ---------------------------------------------------------------- check NN

def bench_check(root: Path, lessons: list[str], runs: int,
                what: str = "") -> list[tuple[str, float, float]]:
    print(f"\ncheck NN{what}: ./course check NN, median of {runs} runs (wall / CPU); "
          f"target <= {CHECK_TARGET:g} s")
    env = course_env()
    # warm up: build every lesson's programs, so that no figure includes a build
    timed([sys.executable, str(root / "course"), "build"], root, env)
    timed([sys.executable, str(root / "course"), "check", lessons[0]], root, env)
    rows = []
    for lesson in lessons:
        walls, cpus, outcome, failed = [], [], "", []
        for _ in range(runs):
            wall, cpu, done = timed([sys.executable, str(root / "course"), "check", lesson],
                                    root, env)
            walls.append(wall)
            cpus.append(cpu)
            outcome = summary_line(done.stdout)
            failed += re.findall(r"^  failed: (.*)$", done.stdout, re.M)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        rows.append((lesson, wall, cpu))
        print(f"  check {lesson}  {wall:5.2f} s / {cpu:5.2f} s cpu  "
              f"{verdict(wall, CHECK_TARGET):<16} {load()}  ({outcome})", flush=True)
        for nodeid in sorted(set(failed)):  # a test that failed in one of the runs
            print(f"      failed {failed.count(nodeid)} of {runs}: {nodeid}")
    worst = max(rows, key=lambda r: r[1])
    over = [r[0] for r in rows if r[1] > CHECK_TARGET]
    print(f"  worst: check {worst[0]} {worst[1]:.2f} s; over the target: "
          f"{' '.join(over) if over else 'none'}")
    return rows


# ---------------------------------------------------------------- the scratch copy

def sync_scratch(root: Path, scratch: Path) -> None:
    """Copies the working tree (tracked and untracked files, not the ignored
    ones: no build/) into `scratch`, file by file, only what differs, keeping
    modification times: its build stays valid from one run to the next."""
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "-c", "-o",
                             "--exclude-standard"], capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source, target = root / name, scratch / name
        try:
            info = source.stat()
        except OSError:
            continue  # listed, then deleted meanwhile
        if not source.is_file():
            continue
        try:
            there = target.stat()
            if there.st_size == info.st_size and there.st_mtime_ns == info.st_mtime_ns:
                continue
        except OSError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def exercise_file(root: Path, key: str) -> tuple[str, Path]:
    """'04' or '04.1' -> (exercise id, its first file) in `root`."""
    sys.path.insert(0, str(root / "harness"))
    from course_tools import meta
    lesson, ex = meta.find_exercise(root, key)
    ex = ex or meta.exercises(lesson)[0]
    return ex["id"], meta.exercise_files(root, lesson, ex)[0]


def edit(path: Path, original: str, n: int) -> None:
    """A save as an editor makes it: the file rewritten in place, one comment
    line more than the original (nothing else changes)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(original + f"// student_loop.py edit {n}\n")


def starter_scratch(root: Path, scratch: Path) -> Path:
    """`scratch`, a copy of the working tree turned into a student's workspace
    (./course start): the reference put back first, so that the copy takes
    this checkout's changes, then the starter code again."""
    env = course_env()
    course = [sys.executable, str(scratch / "course")]
    if (scratch / "course").exists():
        timed(course + ["start", "--undo"], scratch, env)
    sync_scratch(root, scratch)
    done = subprocess.run(course + ["start"], cwd=scratch, env=env, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise SystemExit(f"./course start failed in {scratch}:\n{done.stdout}{done.stderr}")
    return scratch


# ---------------------------------------------------------------- edit then check

def bench_edit(scratch: Path, key: str, runs: int) -> float:
    exercise, path = exercise_file(scratch, key)
    lesson = exercise.split(".")[0]
    rel = path.relative_to(scratch)
    print(f"\nedit then check: append a comment line to {rel} (scratch copy), then "
          f"./course check {lesson}; median of {runs} (wall / CPU); shown against check's "
          f"{CHECK_TARGET:g} s")
    env = course_env()
    original = path.read_text(encoding="utf-8")
    argv = [sys.executable, str(scratch / "course"), "check", lesson]
    wall, _, done = timed(argv, scratch, env)  # warm: builds the scratch copy the first time
    print(f"  (warm-up in {scratch}: {wall:.1f} s, {summary_line(done.stdout)})")
    walls, cpus = [], []
    try:
        for n in range(runs):
            edit(path, original, n)
            wall, cpu, done = timed(argv, scratch, env)
            walls.append(wall)
            cpus.append(cpu)
    finally:
        path.write_text(original, encoding="utf-8")
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(f"  edit+check {lesson}  {wall:5.2f} s / {cpu:5.2f} s cpu  "
          f"{verdict(wall, CHECK_TARGET):<16} {load()}  ({summary_line(done.stdout)})")
    timed(argv, scratch, env)  # the restored file built again: the copy stays warm
    return wall


# ---------------------------------------------------------------- watch

class Lines(threading.Thread):
    """A process's output lines as they come, each with the time it arrived."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self.start()

    def run(self):
        for line in iter(self.pipe.readline, ""):
            self.lines.put((time.monotonic(), line.rstrip("\n")))

    def until(self, pattern: str, timeout: float) -> tuple[float, str]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no line matching /{pattern}/ within {timeout:.0f} s")
            try:
                when, line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if re.search(pattern, line):
                return when, line


def bench_watch(scratch: Path, key: str, runs: int) -> float:
    exercise, path = exercise_file(scratch, key)
    rel = path.relative_to(scratch)
    print(f"\nwatch: ./course watch {exercise} (scratch copy); a save of {rel} to its "
          f"result line, median of {runs}; target <= {WATCH_TARGET:g} s")
    original = path.read_text(encoding="utf-8")
    result = RESULT_LINE.format(id=re.escape(exercise))
    proc = subprocess.Popen([sys.executable, str(scratch / "course"), "watch", exercise],
                            cwd=scratch, env=course_env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = Lines(proc.stdout)
    times, last = [], ""
    try:
        out.until(result, 900)  # the first run: it may build
        out.until(r"^watching ", 60)
        for n in range(runs):
            time.sleep(0.5)  # a student does not save twice in the same instant
            edit(path, original, n)
            saved = time.monotonic()
            when, last = out.until(result, 300)
            times.append(when - saved)
            out.until(r"^watching ", 60)
            print(f"  save {n + 1}: {when - saved:5.2f} s  {load()}", flush=True)
    finally:
        path.write_text(original, encoding="utf-8")
        try:
            proc.stdin.write("q\n")
            proc.stdin.flush()
            proc.wait(timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
    median = statistics.median(times)
    print(f"  watch {exercise}  save to result {median:5.2f} s (median; min {min(times):.2f}, "
          f"max {max(times):.2f})  {verdict(median, WATCH_TARGET):<16} {load()}  ({last})")
    return median


# ---------------------------------------------------------------- ./course test

def bench_test(root: Path) -> float:
    print(f"\n./course test: one run; target <= {TEST_TARGET:g} s")
    before = load()
    wall, cpu, done = timed([sys.executable, str(root / "course"), "test"], root, course_env(),
                            timeout=3600)
    print(f"  ./course test  {wall:6.1f} s / {cpu:6.1f} s cpu  {verdict(wall, TEST_TARGET):<16} "
          f"{before} -> {load()}  ({summary_line(done.stdout)})")
    failed = re.findall(r"^  failed: (.*)$", done.stdout, re.M)
    for nodeid in failed[:30]:
        print(f"    failed: {nodeid}")
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout (default: this one)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--lessons", nargs="+", metavar="NN", help="check only these lessons")
    parser.add_argument("--edit", default="04", metavar="NN[.M]",
                        help="the exercise edited for 'edit then check' (default 04)")
    parser.add_argument("--watch", default="04.1", metavar="NN.M",
                        help="the exercise ./course watch runs (default 04.1)")
    parser.add_argument("--scratch", type=Path,
                        default=Path(tempfile.gettempdir()) / "course-student-loop",
                        help="the scratch copy for the edits (kept between runs)")
    parser.add_argument("--skip-check", action="store_true", help="no check NN figures")
    parser.add_argument("--skip-edit", action="store_true", help="no edit-then-check figure")
    parser.add_argument("--skip-watch", action="store_true", help="no watch figure")
    parser.add_argument("--full-test", action="store_true", help="also one ./course test")
    parser.add_argument("--starter", action="store_true",
                        help="also check NN in a student's workspace (./course start)")
    parser.add_argument("--starter-scratch", type=Path,
                        default=Path(tempfile.gettempdir()) / "course-student-loop-starter",
                        help="the scratch copy made a workspace, for --starter")
    args = parser.parse_args()
    root = args.root.resolve()
    print(f"student_loop: {root}, {os.cpu_count()} cores, {load()} at the start; "
          f"{time.strftime('%Y-%m-%d %H:%M:%S')}")
    if not args.skip_check:
        bench_check(root, [n.zfill(2) for n in args.lessons] if args.lessons
                    else lesson_numbers(root), args.runs)
    for scratch in (args.scratch.resolve(), args.starter_scratch.resolve()):
        if scratch == root or root in scratch.parents:
            parser.error("the scratch copies must be outside the checkout")
    if args.starter:
        starter = starter_scratch(root, args.starter_scratch.resolve())
        bench_check(starter, [n.zfill(2) for n in args.lessons] if args.lessons
                    else lesson_numbers(root), args.runs,
                    what=f", exercises to do (./course start in {starter})")
    if not (args.skip_edit and args.skip_watch):
        scratch = args.scratch.resolve()
        sync_scratch(root, scratch)
        if not args.skip_edit:
            bench_edit(scratch, args.edit, args.runs)
        if not args.skip_watch:
            bench_watch(scratch, args.watch, max(args.runs, 3))
    if args.full_test:
        bench_test(root)
    print(f"\ndone; {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
