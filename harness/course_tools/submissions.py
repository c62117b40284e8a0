"""Grading submissions: each one in a fresh copy of the instructor's course.

Only the files the exercises name (`files` in course.toml) are taken from a
submission. Everything else (the tests, conftest.py, course.toml, the harness,
the CMake files, any .course/release.json) comes from the instructor's course,
so nothing a student edits, besides their own solutions, reaches the grade.

A class is graded by a few jobs side by side (`--jobs`). Each job keeps one
work folder, made equal to the instructor's course again before every
submission: a file whose content differs is rewritten (with a new time, so the
build recompiles it), an extra file is removed, and an unchanged file is left
alone (so the build stays incremental). Finished reports are kept, so an
interrupted run resumes where it stopped."""

from __future__ import annotations

import concurrent.futures
import csv
import hashlib
import json
import os
import queue
import shutil
import sys
import threading
import time
from pathlib import Path

from . import grade, meta, release
from .sandbox import Sandbox

IGNORED = {".git", "build", "site", "__pycache__", ".pytest_cache", ".course-state.json",
           "node_modules"}
MAX_FILE = 1 << 20  # a submitted file larger than 1 MiB is not taken (starter code instead)


def ignored(name: str) -> bool:
    return name in IGNORED or name.startswith("build-")


def student_files(root: Path) -> list[str]:
    """What is taken from a submission: the files with solution regions and the
    files the exercises name."""
    found = {p.relative_to(root).as_posix() for p in release.region_files(root)}
    for lesson, ex in meta.all_exercises(root):
        found.update(p.relative_to(root).as_posix() for p in meta.exercise_files(root, lesson, ex))
    return sorted(found)


def put(path: Path, data: bytes) -> bool:
    """Writes `data` unless the file already holds exactly that; True if written.
    A new write gets a new modification time, so the build recompiles it."""
    try:
        if path.is_file() and not path.is_symlink() and path.read_bytes() == data:
            return False
    except OSError:
        pass
    if path.is_symlink() or path.is_dir():
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".course-part")
    part.write_bytes(data)
    part.replace(path)
    return True


def sync_course(src: Path, dst: Path) -> int:
    """Makes `dst` hold exactly the instructor's course `src`; returns how many
    files it had to write or remove."""
    changed = 0
    dst.mkdir(parents=True, exist_ok=True)
    for folder, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not ignored(d))
        rel = Path(folder).relative_to(src)
        here = dst / rel
        wanted = set(dirs) | {f for f in files if not ignored(f)}
        if here.is_dir():
            for extra in here.iterdir():
                if extra.name not in wanted and extra.name != "__pycache__":
                    shutil.rmtree(extra) if extra.is_dir() and not extra.is_symlink() \
                        else extra.unlink()
                    changed += 1
        for name in files:
            if ignored(name):
                continue
            source = Path(folder) / name
            target = here / name
            if source.is_symlink():
                continue
            changed += put(target, source.read_bytes())
            os.chmod(target, source.stat().st_mode & 0o755)
    return changed


def find_in(submission: Path, rel: str, unique_names: set[str]) -> Path | None:
    """The submission's copy of `rel`: at the same path (a clone of the release),
    or, for an upload of single files, the one file of that name."""
    exact = submission / rel
    if exact.is_file() and not exact.is_symlink():
        return exact
    name = Path(rel).name
    if name not in unique_names:
        return None
    matches = [p for p in submission.rglob(name)
               if p.is_file() and not p.is_symlink() and ".git" not in p.parts]
    return matches[0] if len(matches) == 1 else None


def submitted_files(root: Path, submission: Path) -> dict[str, Path | None]:
    """{exercise file: the submission's copy of it, or None}."""
    files = student_files(root)
    names = [Path(rel).name for rel in files]
    unique = {n for n in names if names.count(n) == 1}
    return {rel: find_in(submission, rel, unique) for rel in files}


def take_submission(root: Path, course: Path, submission: Path) -> dict[str, str]:
    """Puts the submission's exercise files into `course`; returns what was taken:
    {file: "submitted" | "starter (not in the submission)" | "starter (larger than 1 MiB)"}."""
    taken = {}
    for rel, mine in submitted_files(root, submission).items():
        if mine is not None and mine.stat().st_size <= MAX_FILE:
            put(course / rel, mine.read_bytes())
            taken[rel] = "submitted"
        else:
            put(course / rel, release.render_file(root, root / rel, set()).encode())
            taken[rel] = ("starter (larger than 1 MiB)" if mine is not None
                          else "starter (not in the submission)")
    return taken


def test_files(course: Path) -> list[Path]:
    return [p for lesson in meta.lessons(course)
            for p in meta.test_files(course / "lessons" / lesson["folder"])]


def grade_one(root: Path, submission: Path, job_dir: Path, python: str, *, hidden: bool = True,
              keys: list[str] | None = None, timeout: float = 1800,
              sandbox: Sandbox | None = None, build_jobs: int | None = None,
              test_workers: str = "auto") -> dict:
    """Grades one submission in `job_dir` (kept between submissions of one job)."""
    sandbox = sandbox or Sandbox()
    job_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(job_dir, 0o711)
    course = job_dir / "course"
    sync_course(root, course)
    (course / meta.RELEASE_MANIFEST).unlink(missing_ok=True)  # never the student's plan
    taken = take_submission(root, course, submission)
    sandbox.lock_down(course, test_files(course))
    result = grade.grade(course, keys or [], job_dir / "build", python, hidden, timeout,
                         sandbox=sandbox, work=job_dir, build_jobs=build_jobs,
                         test_workers=test_workers)
    result["submission"] = {"files": taken}
    return result


def fingerprint(root: Path, submission: Path, keys: list[str], hidden: bool) -> str:
    """Same course, same submitted files, same options: the same grade."""
    digest = hashlib.sha256(json.dumps([keys, hidden]).encode())
    for path in sorted(p for p in [root / "course.toml", *test_files(root)]):
        digest.update(path.read_bytes())
    for rel, mine in submitted_files(root, submission).items():
        digest.update(rel.encode() + b"\0" + (mine.read_bytes() if mine else b"-"))
    return digest.hexdigest()


class Progress:
    """A bar on one line (when the output is a terminal), and a line per student."""

    def __init__(self, total: int, out=sys.stderr):
        self.total, self.done, self.out = total, 0, out
        self.started = time.monotonic()
        self.lock = threading.Lock()

    def finished(self, line: str) -> None:
        with self.lock:
            self.done += 1
            elapsed = time.monotonic() - self.started
            if self.out.isatty():
                self.out.write("\r\033[K")
            self.out.write(f"{line}\n")
            width = 30
            filled = width * self.done // max(self.total, 1)
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} " \
                  f"in {elapsed:.0f} s"
            self.out.write(bar if self.out.isatty() else bar + "\n")
            self.out.flush()


def grade_class(root: Path, submissions: Path, out_dir: Path, python: str, *, jobs: int = 1,
                hidden: bool = True, keys: list[str] | None = None, timeout: float = 1800,
                sandbox: bool = True, work: Path | None = None, out=sys.stderr) -> list[dict]:
    """Grades every sub-folder of `submissions`; writes out_dir/reports/NAME.json
    (kept: a second run resumes), out_dir/grades.csv and out_dir/grades.json."""
    root = root.resolve()
    students = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    reports = out_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    work = work or out_dir / "work"
    free: queue.Queue[int] = queue.Queue()
    for job in range(jobs):
        free.put(job)
    progress = Progress(len(students), out)
    build_jobs = max(1, (os.cpu_count() or 2) // jobs)
    test_workers = "auto" if jobs == 1 else str(max(2, 2 * (os.cpu_count() or 2) // jobs))

    def one(student: Path) -> dict:
        keys_ = keys or []
        stamp = fingerprint(root, student, keys_, hidden)
        saved = reports / f"{student.name}.json"
        if saved.exists():
            old = json.loads(saved.read_text())
            if old.get("fingerprint") == stamp:
                progress.finished(f"{student.name}: {old['score']:g} / {old['max_score']:g} "
                                  f"(kept from an earlier run)")
                return old
        job = free.get()
        started = time.monotonic()
        box = None
        try:
            box = Sandbox.claim(sandbox)
            result = grade_one(root, student, work / f"job{job}", python, hidden=hidden,
                               keys=keys_, timeout=timeout, sandbox=box,
                               build_jobs=build_jobs, test_workers=test_workers)
            result["grading_status"] = "graded"
        except Exception as error:  # noqa: BLE001 - one broken submission must not stop the class
            result = {"score": 0, "max_score": 0, "lessons": [], "tests": [],
                      "grading_status": "error", "note": f"{type(error).__name__}: {error}"}
        finally:
            if box is not None:
                box.release()
            free.put(job)
        result["student"] = student.name
        result["fingerprint"] = stamp
        part = saved.with_suffix(".part")
        part.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        part.replace(saved)
        progress.finished(f"{student.name}: {result['score']:g} / {result['max_score']:g} "
                          f"({result['grading_status']}, {time.monotonic() - started:.0f} s)")
        return result

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(one, students))
    if out.isatty():
        out.write("\n")
    write_gradebook(root, results, out_dir / "grades.csv")
    (out_dir / "grades.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    return results


def write_gradebook(root: Path, results: list[dict], path: Path) -> None:
    """One row per student, a column per exercise: what an LMS gradebook imports."""
    exercise_ids = [ex["id"] for _, ex in meta.all_exercises(root)]
    columns = ["student", "score", "max_score", "status", "passed", "failed", "not_gradable",
               *exercise_ids, "note"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for r in results:
            row = {"student": r["student"], "score": r["score"], "max_score": r["max_score"],
                   "status": r.get("grading_status", ""), "passed": r.get("passed", 0),
                   "failed": r.get("failed", 0), "not_gradable": r.get("not_gradable", 0),
                   "note": r.get("note", "")}
            for lesson in r.get("lessons", []):
                for ex in lesson["exercises"]:
                    row[ex["id"]] = ex["score"]
            writer.writerow(row)
