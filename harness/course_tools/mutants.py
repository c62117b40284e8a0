"""./course mutants: do the lessons' public tests notice the typical mistakes?

Mutation testing with a hand-written catalogue. Beside each lesson,
lessons/NN-*/mutants.toml lists mistakes a student (or a tired maintainer)
makes, each as one exact text replacement in one of the lesson's C++ files:

    [[mutant]]
    file = "udp_sender.cpp"             # in the lesson's folder
    exercise = "01.1"                   # optional: a wrong solution of this exercise
    mistake = "one line: the mistake it models"
    find = '''ssize_t sent = ...'''     # must occur exactly once in the file
    replace = '''...'''

For every entry the tool applies the replacement to a scratch copy of the
tree, rebuilds what changed, and runs the lesson's PUBLIC tests (those
`./course check` runs: -m "not hidden and not slow") against the scratch
build, stopping at the first failure. The mutant is

    caught     some public test failed (or the run passed --timeout),
    missed     every public test passed: the tests cannot tell the mistake apart,
    stillborn  it did not compile (the entry needs fixing; not counted).

How it builds. One snapshot is taken when the run starts (the working tree,
or a commit with --rev): sources, lessons with their tests, the pytest
plugin. Each worker (--jobs) copies it once into its own scratch tree and
configures its own CMake build directory; the first build of a lesson's
programs there is the reference, kept aside. A mutant is then an incremental
ninja build of the one changed file (about a second), checked to have
relinked at least one of the lesson's programs. Afterwards the file gets its
text and time back and the reference objects and programs are copied back
with theirs, so ninja has nothing to rebuild and the next mutant starts from
the reference programs (checked byte for byte). Copying build/ instead and
re-pointing its paths is no faster: ninja sees every command changed and
rebuilds common/ anyway. The real working tree and build/ are only read.

Tests that already fail without any mutant (the baseline run) are left out
of the mutants' runs, and said so. The closing line is

    mutants: K caught of N (P%)

and the exit status is 1 when fewer than 90% are caught, when a mutant of an
exercise is missed, or when a mutant could not be judged (error)."""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import io
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import tarfile
import sys
import tempfile
import threading
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import meta

CATALOGUE = "mutants.toml"
THRESHOLD = 90.0          # percent caught, at least
FALLBACK_LESSONS = ["01", "13"]   # --changed, when no lesson folder changed
PUBLIC = "not hidden and not slow"  # what ./course check runs
KEYS = {"file", "find", "replace", "mistake", "exercise"}


class CatalogueError(Exception):
    """A mutants.toml that cannot be used as it is (every problem, one per line)."""


@dataclass
class Mutant:
    lesson: str        # "01"
    folder: str        # "01-udp-sendto-recvfrom"
    number: int        # its place in the lesson's catalogue, from 1
    file: str          # relative to the lesson's folder
    find: str
    replace: str
    mistake: str
    exercise: str = ""

    @property
    def key(self) -> str:
        return f"{self.lesson}#{self.number}"

    @property
    def path(self) -> str:
        return f"lessons/{self.folder}/{self.file}"

    def apply(self, text: str) -> str:
        count = text.count(self.find)
        if count != 1:
            raise CatalogueError(f"{self.where()}: `find` occurs {count} times in {self.path}, "
                                 "not exactly once")
        return text.replace(self.find, self.replace, 1)

    def where(self) -> str:
        return f"lessons/{self.folder}/{CATALOGUE}: mutant {self.number} ({self.mistake!r})"


@dataclass
class Result:
    mutant: Mutant
    status: str                  # caught, missed, stillborn, error, not run
    failure: str = ""            # the first failing test, or why
    detail: str = ""             # compiler errors, pytest's tail
    seconds: float = 0.0
    rebuilt: list[str] = field(default_factory=list)
    identical: bool = False      # the rebuilt binaries are byte for byte the reference ones


# ---------------------------------------------------------------- the catalogue

def _lesson_key(lesson: dict) -> str:
    return lesson["number"]


def load(root: Path, lessons: list[dict] | None = None) -> list[Mutant]:
    """Every mutant of the given lessons (default: all), checked: known keys,
    an existing file of the lesson, an exercise of the lesson that owns that
    file, a `find` that occurs exactly once. CatalogueError lists every problem."""
    lessons = meta.lessons(root) if lessons is None else lessons
    mutants: list[Mutant] = []
    problems: list[str] = []
    for lesson in lessons:
        folder = root / "lessons" / lesson["folder"]
        path = folder / CATALOGUE
        if not path.exists():
            continue
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except tomllib.TOMLDecodeError as error:
            problems.append(f"{path.relative_to(root)}: {error}")
            continue
        unknown_top = set(data) - {"mutant"}
        if unknown_top:
            problems.append(f"{path.relative_to(root)}: unknown tables {sorted(unknown_top)} "
                            "(entries are [[mutant]])")
        exercises = {ex["id"]: ex for ex in meta.exercises(lesson)}
        texts: dict[str, str] = {}
        for number, entry in enumerate(data.get("mutant", []), 1):
            where = f"{path.relative_to(root)}: mutant {number}"
            missing = [k for k in ("file", "find", "replace", "mistake") if k not in entry]
            unknown = set(entry) - KEYS
            if missing or unknown:
                problems.append(f"{where}: " + "; ".join(
                    ([f"missing {', '.join(missing)}"] if missing else []) +
                    ([f"unknown keys {sorted(unknown)}"] if unknown else [])))
                continue
            if not all(isinstance(entry[k], str) for k in entry):
                problems.append(f"{where}: every value must be a string")
                continue
            mutant = Mutant(lesson["number"], lesson["folder"], number, entry["file"],
                            entry["find"], entry["replace"], entry["mistake"].strip(),
                            entry.get("exercise", ""))
            where = mutant.where()
            source = folder / mutant.file
            if "/" in mutant.file or not source.is_file():
                problems.append(f"{where}: no file {mutant.file} in lessons/{lesson['folder']}")
                continue
            if not mutant.mistake or "\n" in mutant.mistake:
                problems.append(f"{where}: `mistake` must be one line")
            if not mutant.find:
                problems.append(f"{where}: `find` is empty")
                continue
            if mutant.find == mutant.replace:
                problems.append(f"{where}: `replace` is the same as `find`")
            if mutant.exercise:
                ex = exercises.get(mutant.exercise)
                if ex is None:
                    problems.append(f"{where}: lesson {lesson['number']} has no exercise "
                                    f"{mutant.exercise}")
                elif mutant.file not in ex.get("files", []):
                    problems.append(f"{where}: {mutant.file} is not one of exercise "
                                    f"{mutant.exercise}'s files {ex.get('files', [])}")
            text = texts.setdefault(mutant.file, source.read_text(encoding="utf-8"))
            count = text.count(mutant.find)
            if count != 1:
                problems.append(f"{where}: `find` occurs {count} times in {mutant.path}, "
                                "not exactly once:\n    " + mutant.find.replace("\n", "\n    "))
                continue
            mutants.append(mutant)
    if problems:
        raise CatalogueError("\n".join(problems))
    return mutants


def select(root: Path, keys: list[str]) -> tuple[list[dict], list[Mutant]]:
    """'01' or '1' or a folder name: that lesson's mutants; '01.2': that
    exercise's. No keys: every lesson. KeyError for an unknown key."""
    if not keys:
        lessons = meta.lessons(root)
        return lessons, load(root, lessons)
    chosen: list[dict] = []
    wanted: dict[str, set[str] | None] = {}  # lesson -> exercises (None: all its mutants)
    for key in keys:
        lesson, ex = meta.find_exercise(root, key)
        if lesson["number"] not in wanted:
            chosen.append(lesson)
            wanted[lesson["number"]] = set()
        if ex is None:
            wanted[lesson["number"]] = None
        elif wanted[lesson["number"]] is not None:
            wanted[lesson["number"]].add(ex["id"])
    chosen.sort(key=_lesson_key)
    mutants = [m for m in load(root, chosen)
               if wanted[m.lesson] is None or m.exercise in wanted[m.lesson]]
    return chosen, mutants


def changed_lessons(root: Path, fallback: list[str] | None = None) -> list[str]:
    """The lessons whose folder the last commit changed (against its parent);
    `fallback` (01 and 13) when there is no parent or no lesson changed."""
    fallback = FALLBACK_LESSONS if fallback is None else fallback

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=60)

    if git("rev-parse", "--verify", "--quiet", "HEAD~1^{commit}").returncode != 0:
        return list(fallback)
    done = git("diff", "--name-only", "HEAD~1", "HEAD")
    if done.returncode != 0:
        return list(fallback)
    folders = {lesson["folder"]: lesson["number"] for lesson in meta.lessons(root)}
    found = set()
    for name in done.stdout.splitlines():
        parts = name.split("/")
        if len(parts) >= 3 and parts[0] == "lessons" and parts[1] in folders:
            found.add(folders[parts[1]])
    return sorted(found) or list(fallback)


# ---------------------------------------------------------------- building

def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def compile_errors(output: str, limit: int = 20) -> str:
    keep = [line for line in output.splitlines()
            if re.search(r"(error|warning|note):|^\s+\d+ \|", line)]
    return "\n".join(keep[:limit]) or _tail(output, limit)


def test_programs(root: Path, lesson: dict) -> list[str]:
    """The programs a lesson's tests need: its own, and any other lesson's that
    its test files name in quotes (lessons 04 and 08 use tcp_client)."""
    names = meta.lesson_targets(lesson)
    everyone = [n for other in meta.lessons(root) for n in meta.lesson_targets(other)]
    text = "".join(p.read_text(encoding="utf-8")
                   for p in meta.test_files(root / "lessons" / lesson["folder"]))
    for name in everyone:
        if name not in names and re.search(rf"[\"']{re.escape(name)}[\"']", text):
            names.append(name)
    return names


# What a test run needs, besides the build: the sources, the lessons with their
# tests and Python twins, the pytest plugin, course.toml.
SNAPSHOT = ["CMakeLists.txt", "cmake", "common", "lessons", "harness/course_harness",
            "harness/course_tools", "conftest.py", "pytest.ini", "course.toml"]


def _ignore(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n in ("__pycache__", ".pytest_cache") or n.endswith(".pyc")}


def snapshot(root: Path, dest: Path, rev: str | None = None) -> Path:
    """A copy of what the runs need, taken once: from the working tree, or with
    `rev` from that commit (git archive). Later edits in the checkout, by you or
    anyone else, do not reach a run that has started."""
    dest.mkdir(parents=True, exist_ok=True)
    if rev:
        present = [name for name in SNAPSHOT if subprocess.run(
            ["git", "cat-file", "-e", f"{rev}:{name}"], cwd=root, capture_output=True,
            timeout=60).returncode == 0]
        archive = subprocess.run(["git", "archive", "--format=tar", rev, "--", *present],
                                 cwd=root, capture_output=True, timeout=300)
        if archive.returncode != 0:
            raise RuntimeError(f"git archive {rev}: {archive.stderr.decode(errors='replace')}")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            for member in tar.getmembers():
                if member.name.startswith("/") or ".." in Path(member.name).parts:
                    raise RuntimeError(f"git archive {rev}: unexpected path {member.name}")
            tar.extractall(dest)
        return dest
    for name in SNAPSHOT:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=_ignore, dirs_exist_ok=True,
                            symlinks=True)
        elif source.exists():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


class Workspace:
    """One worker's scratch tree (src/) and build directory (build/)."""

    def __init__(self, tree: Path, base: Path, python: str):
        self.tree = tree  # the run's snapshot, copied into src/ once
        self.base = base
        self.src = base / "src"
        self.build_dir = base / "build"
        self.bin = self.build_dir / "bin"
        self.python = python
        self.seeded = False
        self.seconds = 0.0
        self.reference: dict[Path, tuple[Path, int]] = {}
        self.reference_digests: dict[str, str] = {}

    def seed(self) -> None:
        started = time.monotonic()
        shutil.copytree(self.tree, self.src, symlinks=True, dirs_exist_ok=True)
        args = ["cmake", "-S", str(self.src), "-B", str(self.build_dir),
                "-DCMAKE_BUILD_TYPE=RelWithDebInfo", f"-DCOURSE_PYTHON={self.python}"]
        if shutil.which("ninja"):
            args += ["-G", "Ninja"]
        done = subprocess.run(args, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"cmake could not configure the scratch tree {self.src}:\n"
                               + _tail(done.stdout + done.stderr))
        self.seeded = True
        self.seconds += time.monotonic() - started

    def build(self, targets: list[str], timeout: float = 900) -> tuple[bool, str]:
        try:
            done = subprocess.run(["cmake", "--build", str(self.build_dir), "--parallel",
                                   str(min(os.cpu_count() or 2, 4)), "--target", *targets],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False, f"the build took longer than {timeout:.0f} s"
        return done.returncode == 0, done.stdout + done.stderr

    def source(self, mutant: Mutant) -> Path:
        return self.src / "lessons" / mutant.folder / mutant.file

    def stamps(self, targets: list[str]) -> dict[str, int]:
        out = {}
        for name in targets:
            try:
                out[name] = (self.bin / name).stat().st_mtime_ns
            except FileNotFoundError:
                out[name] = 0
        return out

    def digest(self, name: str) -> str:
        try:
            return hashlib.sha256((self.bin / name).read_bytes()).hexdigest()
        except FileNotFoundError:
            return ""

    # The reference build of a lesson, kept aside once: after a mutant, its
    # objects and programs are copied back with their times, the source gets its
    # old time back too, and ninja has nothing left to do (no second compile).
    def _outputs(self, folder: str, targets: list[str]) -> list[Path]:
        found = [self.bin / name for name in targets]
        found += [p for p in (self.build_dir / "lessons" / folder).rglob("*") if p.is_file()]
        return found

    def keep_reference(self, folder: str, targets: list[str]) -> None:
        self.reference = {}
        self.reference_digests = {name: self.digest(name) for name in targets}
        store = self.base / "reference"
        shutil.rmtree(store, ignore_errors=True)
        for path in self._outputs(folder, targets):
            copy = store / path.relative_to(self.build_dir)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
            self.reference[path] = (copy, path.stat().st_mtime_ns)

    def restore_reference(self, folder: str, targets: list[str]) -> None:
        for path, (copy, mtime) in self.reference.items():
            try:
                unchanged = path.stat().st_mtime_ns == mtime
            except FileNotFoundError:
                unchanged = False
            if not unchanged:
                path.unlink(missing_ok=True)  # a new inode: never write through a link
                shutil.copy2(copy, path)


# ---------------------------------------------------------------- testing

_RUNNING: set[subprocess.Popen] = set()   # test runs under way (killed on Ctrl-C)
_LOCK = threading.Lock()


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Run:
    outcome: str                 # passed, failed, timeout, error
    failures: list[str]          # node ids, in the order they failed
    output: str
    seconds: float


def run_tests(lesson: dict, workspace: Workspace, python: str, timeout: float,
              deselect: list[str] | None = None, first_failure: bool = True) -> Run:
    """The lesson's public tests (the workspace's copy) against the workspace's
    programs, at most `timeout` seconds (then the whole process group is killed)."""
    report = workspace.base / "report.json"
    report.unlink(missing_ok=True)
    args = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", PUBLIC,
            f"--bin-dir={workspace.bin}", f"--course-report={report}",
            f"--basetemp={workspace.base / 'pytest'}", "-o", "console_output_style=classic"]
    if first_failure:
        args.append("-x")
    for node in deselect or []:
        args.append(f"--deselect={node}")
    args.append(f"lessons/{lesson['folder']}")
    env = dict(os.environ, COURSE_BIN_DIR=str(workspace.bin), PYTHONDONTWRITEBYTECODE="1")
    env.pop("COURSE_SANITIZER", None)
    started = time.monotonic()
    # Its own session, so that a hung run can be killed with every server it started.
    process = subprocess.Popen(args, cwd=workspace.src, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    with _LOCK:
        _RUNNING.add(process)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        output, _ = process.communicate()
        return Run("timeout", [], output or "", time.monotonic() - started)
    finally:
        with _LOCK:
            _RUNNING.discard(process)
    seconds = time.monotonic() - started
    try:
        results = json.loads(report.read_text()) if report.exists() else []
    except ValueError:
        results = []
    failures = [r["nodeid"] for r in results if r["outcome"] in ("failed", "error")]
    if not failures:  # no report (pytest crashed early): its summary lines then
        failures = re.findall(r"^(?:FAILED|ERROR) (\S+)", output, re.M)
    if failures:
        return Run("failed", failures, output, seconds)
    passed = sum(r["outcome"] == "passed" for r in results)
    if process.returncode == 0 and passed:
        return Run("passed", [], output, seconds)
    return Run("error", [], output, seconds)  # no tests, a collection error, ...


def short_node(node: str) -> str:
    return re.sub(r"^lessons/[^/]+/", "", node.replace(os.sep, "/"))


# ---------------------------------------------------------------- one lesson

class Runner:
    def __init__(self, root: Path, python: str, timeout: float, budget: float | None,
                 say=None):
        self.root = root
        self.python = python
        self.timeout = timeout
        self.deadline = time.monotonic() + budget if budget else None
        self.say = say or (lambda line: None)
        self.notes: list[str] = []   # baseline failures, workspace times, ...
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def note(self, line: str) -> None:
        with self.lock:
            self.notes.append(line)
        self.say(line)

    def out_of_time(self) -> bool:
        return self.stopped.is_set() or (self.deadline is not None
                                         and time.monotonic() > self.deadline)

    def lesson(self, workspace: Workspace, lesson: dict, mutants: list[Mutant]) -> list[Result]:
        if self.out_of_time():
            return [Result(m, "not run", "time budget spent") for m in mutants]
        if not workspace.seeded:
            workspace.seed()
        targets = test_programs(workspace.src, lesson)
        started = time.monotonic()
        ok, output = workspace.build(targets)
        if not ok:
            why = "the unchanged lesson did not build in the scratch tree"
            self.note(f"lesson {lesson['number']}: {why}:\n{compile_errors(output)}")
            return [Result(m, "error", why, compile_errors(output)) for m in mutants]
        baseline = run_tests(lesson, workspace, self.python, self.timeout,
                             first_failure=False)
        if baseline.outcome in ("timeout", "error"):
            why = f"the unchanged lesson's tests: {baseline.outcome}"
            self.note(f"lesson {lesson['number']}: {why}\n{_tail(baseline.output, 15)}")
            return [Result(m, "error", why, _tail(baseline.output)) for m in mutants]
        broken = baseline.failures
        if broken:
            self.note(f"lesson {lesson['number']}: {len(broken)} public test(s) fail without "
                      "any mutant, left out of its mutants' runs: "
                      + ", ".join(short_node(n) for n in broken))
        self.say(f"lesson {lesson['number']}: baseline built and tested in "
                 f"{time.monotonic() - started:.0f} s; {len(mutants)} mutants")
        workspace.keep_reference(lesson["folder"], targets)
        results = []
        for mutant in mutants:
            if self.out_of_time():
                results.append(Result(mutant, "not run", "time budget spent"))
                continue
            result = self.mutant(workspace, lesson, mutant, targets, broken)
            results.append(result)
            self.say(f"  {mutant.key:<6} {result.status:<9} {result.seconds:5.1f} s  "
                     f"{mutant.file}: {mutant.mistake}"
                     + (f"  [{result.failure}]" if result.failure else ""))
        return results

    def mutant(self, workspace: Workspace, lesson: dict, mutant: Mutant, targets: list[str],
               broken: list[str]) -> Result:
        started = time.monotonic()
        path = workspace.source(mutant)
        original = path.read_text(encoding="utf-8")
        try:
            mutated = mutant.apply(original)
        except CatalogueError as error:
            return Result(mutant, "error", str(error), seconds=time.monotonic() - started)
        before = workspace.stamps(targets)
        digests = workspace.reference_digests
        source_times = path.stat()
        try:
            path.write_text(mutated, encoding="utf-8")
            ok, output = workspace.build(targets)
            if not ok:
                return Result(mutant, "stillborn", "did not compile", compile_errors(output),
                              time.monotonic() - started)
            after = workspace.stamps(targets)
            rebuilt = [name for name in targets if after[name] != before[name]]
            if not rebuilt:
                return Result(mutant, "error", "no program was rebuilt: the file feeds none of "
                              "the lesson's programs", seconds=time.monotonic() - started)
            identical = all(workspace.digest(name) == digests[name] for name in rebuilt)
            run = run_tests(lesson, workspace, self.python, self.timeout, deselect=broken)
        finally:
            # Back to the reference: the source with its old time, the objects and
            # programs from the copy. Then ninja must find nothing to do (if it
            # does rebuild something, that is slower but still right), and the
            # programs must be the reference ones again.
            path.write_text(original, encoding="utf-8")
            os.utime(path, ns=(source_times.st_atime_ns, source_times.st_mtime_ns))
            workspace.restore_reference(mutant.folder, targets)
            ok, output = workspace.build(targets)
            if not ok:
                raise RuntimeError(f"{mutant.where()}: the restored lesson does not build:\n"
                                   + compile_errors(output))
            changed = [name for name in targets
                       if workspace.digest(name) != workspace.reference_digests[name]]
            if changed:  # ninja rebuilt them, and not byte for byte: take the copies
                self.note(f"{mutant.key}: after restoring, ninja rebuilt {', '.join(changed)} "
                          "differently; the reference copies were put back")
                for name in changed:
                    (workspace.bin / name).unlink(missing_ok=True)
                    shutil.copy2(workspace.reference[workspace.bin / name][0], workspace.bin / name)
        seconds = time.monotonic() - started
        if run.outcome == "failed":
            return Result(mutant, "caught", short_node(run.failures[0]), "", seconds, rebuilt,
                          identical)
        if run.outcome == "timeout":
            return Result(mutant, "caught", f"(the test run passed its {self.timeout:.0f} s "
                          "limit)", _tail(run.output), seconds, rebuilt, identical)
        if run.outcome == "passed":
            return Result(mutant, "missed", "", "", seconds, rebuilt, identical)
        return Result(mutant, "error", "pytest did not run the tests", _tail(run.output),
                      seconds, rebuilt, identical)


def run(root: Path, lessons: list[dict], mutants: list[Mutant], jobs: int = 2,
        timeout: float = 180, budget: float | None = None, python: str | None = None,
        scratch: Path | None = None, keep: bool = False, say=None) -> tuple[list[Result], Runner]:
    """Runs the mutants, lessons in parallel on `jobs` workspaces. Results in
    catalogue order."""
    python = python or sys.executable
    base = Path(tempfile.mkdtemp(prefix="course-mutants-", dir=scratch))
    try:
        tree = snapshot(root, base / "tree")
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    runner = Runner(tree, python, timeout, budget, say)
    by_lesson = {lesson["number"]: [m for m in mutants if m.lesson == lesson["number"]]
                 for lesson in lessons}
    todo = [lesson for lesson in lessons if by_lesson[lesson["number"]]]
    todo.sort(key=lambda lesson: -len(by_lesson[lesson["number"]]))  # longest first
    jobs = max(1, min(jobs, len(todo) or 1))
    pool: queue.Queue[Workspace] = queue.Queue()
    for i in range(jobs):
        pool.put(Workspace(tree, base / f"worker{i + 1}", python))

    def work(lesson: dict) -> list[Result]:
        workspace = pool.get()
        try:
            return runner.lesson(workspace, lesson, by_lesson[lesson["number"]])
        finally:
            pool.put(workspace)

    results: dict[str, Result] = {}
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as executor:
            try:
                for done in executor.map(work, todo):
                    for result in done:
                        results[result.mutant.key] = result
            except BaseException:  # Ctrl-C: the workers start nothing more
                runner.stopped.set()
                with _LOCK:
                    for process in list(_RUNNING):
                        _kill(process)
                raise
    finally:
        if keep:
            runner.note(f"scratch trees kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return [results[m.key] for m in mutants if m.key in results], runner


# ---------------------------------------------------------------- report

def summary(results: list[Result]) -> tuple[int, int, str, int]:
    """(caught, counted, closing line, exit status)."""
    counted = [r for r in results if r.status in ("caught", "missed")]
    caught = sum(r.status == "caught" for r in counted)
    percent = 100.0 * caught / len(counted) if counted else 0.0
    line = f"mutants: {caught} caught of {len(counted)} ({percent:.0f}%)"
    failed = (not counted or percent < THRESHOLD
              or any(r.status == "missed" and r.mutant.exercise for r in results)
              or any(r.status == "error" for r in results))
    return caught, len(counted), line, 1 if failed else 0


def table(results: list[Result]) -> str:
    rows = [("lesson", "exercise", "file", "mistake", "result", "first failing test")]
    for r in results:
        rows.append((r.mutant.lesson, r.mutant.exercise or "-", r.mutant.file, r.mutant.mistake,
                     r.status + (" (same binary)" if r.identical else ""), r.failure or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join("  ".join(cell.ljust(widths[i]) if i < 5 else cell
                               for i, cell in enumerate(row)).rstrip() for row in rows)


def report(results: list[Result], runner: Runner | None = None, elapsed: float = 0.0) -> str:
    lines = [table(results), ""]
    for status, title in (("missed", "missed (every public test passed: a gap in the tests)"),
                          ("stillborn", "stillborn (did not compile: fix the entry)"),
                          ("error", "error (could not be judged)"),
                          ("not run", "not run")):
        chosen = [r for r in results if r.status == status]
        if not chosen:
            continue
        lines.append(f"{title}: {len(chosen)}")
        for r in chosen:
            m = r.mutant
            lines.append(f"  {m.key} {m.path}" + (f" (exercise {m.exercise})" if m.exercise else "")
                         + f": {m.mistake}")
            if status in ("stillborn", "error") and (r.failure or r.detail):
                for text in filter(None, [r.failure, r.detail]):
                    lines += ["      " + t for t in text.splitlines()[:12]]
        lines.append("")
    if runner and runner.notes:
        lines += ["notes:", *["  " + n for n in runner.notes], ""]
    if elapsed:
        lines.append(f"(took {elapsed:.0f} s)")
    lines.append(summary(results)[2])
    return "\n".join(lines)


def listing(mutants: list[Mutant]) -> str:
    rows = [("mutant", "exercise", "file", "mistake")]
    rows += [(m.key, m.exercise or "-", m.file, m.mistake) for m in mutants]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join([*(row[i].ljust(widths[i]) for i in range(3)), row[3]]) for row in rows]
    lessons = len({m.lesson for m in mutants})
    exercises = len({m.exercise for m in mutants if m.exercise})
    lines.append(f"\n{len(mutants)} mutants in {lessons} lessons "
                 f"({sum(bool(m.exercise) for m in mutants)} for {exercises} exercises)")
    return "\n".join(lines)


# ---------------------------------------------------------------- command line

def main(argv: list[str] | None = None, root: Path | None = None) -> int:
    root = root or Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(
        prog="mutants", description="Run the catalogue of typical mistakes (lessons/*/mutants.toml) "
        "against each lesson's public tests.")
    parser.add_argument("keys", nargs="*", metavar="LESSON|EXERCISE",
                        help="lessons (01) or exercises (01.2); default: all")
    parser.add_argument("--jobs", type=int, default=2, help="lessons run in parallel (default 2)")
    parser.add_argument("--timeout", type=float, default=180,
                        help="seconds one test run may take (default 180)")
    parser.add_argument("--list", action="store_true", help="print the catalogue and exit")
    parser.add_argument("--changed", action="store_true",
                        help="the lessons the last commit changed (else 01 and 13)")
    parser.add_argument("--budget", type=float, default=None,
                        help="start no mutant after this many seconds (the rest: not run)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--scratch", type=Path, help="where the scratch trees go (default: /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch trees")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--rev", help="test this commit (git archive), not the working tree")
    args = parser.parse_args(argv)

    keys = list(args.keys)
    if args.changed:
        keys += changed_lessons(root)
        print("mutants of lessons " + " ".join(keys), flush=True)
    committed = None
    if args.rev:  # the catalogue, the code and the tests all as committed
        committed = Path(tempfile.mkdtemp(prefix="course-mutants-rev-", dir=args.scratch))
        try:
            root = snapshot(root, committed, args.rev)
        except (RuntimeError, subprocess.SubprocessError) as error:
            shutil.rmtree(committed, ignore_errors=True)
            print(f"error: {error}", file=sys.stderr)
            return 2
    try:
        return _main(args, root, keys)
    finally:
        if committed:
            shutil.rmtree(committed, ignore_errors=True)


def _main(args: argparse.Namespace, root: Path, keys: list[str]) -> int:
    try:
        lessons, mutants = select(root, keys)
    except (KeyError, CatalogueError) as error:
        print(f"error: {error.args[0] if isinstance(error, KeyError) else error}",
              file=sys.stderr)
        return 2
    if args.list:
        print(listing(mutants))
        return 0
    if not mutants:
        print("error: no mutants for " + (" ".join(keys) or "any lesson"), file=sys.stderr)
        return 2

    lock = threading.Lock()

    def say(line: str) -> None:
        if not args.quiet:
            with lock:
                print(line, flush=True)

    started = time.monotonic()
    try:
        results, runner = run(root, lessons, mutants, jobs=args.jobs, timeout=args.timeout,
                              budget=args.budget, scratch=args.scratch, keep=args.keep, say=say)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    elapsed = time.monotonic() - started
    print()
    print(report(results, runner, elapsed))
    if args.json:
        args.json.write_text(json.dumps(
            {"summary": summary(results)[2], "seconds": round(elapsed, 1),
             "results": [dict(asdict(r), mutant=asdict(r.mutant)) for r in results]}, indent=1))
    return summary(results)[3]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
