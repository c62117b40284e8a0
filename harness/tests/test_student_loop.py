"""The everyday loop's shortcuts (issue 19), each checked for being right, not
for being fast (harness/bench/student_loop.py measures the time):

- build.setup_once / test_python_once remember that the packages are installed
  and which python3 runs the tests, until dpkg's database or the lists change;
- build() skips cmake when no source, build file or package changed since the
  last build of the same programs, and only then;
- ./course check builds the other lessons' programs its tests run, runs a
  lesson's tests in parallel only when their last durations say it pays;
- ./course test runs ctest beside pytest and still reports its results;
- watch waits for an editor's save to settle instead of a fixed time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

from course_tools import build, student, testrun  # noqa: E402


@pytest.fixture
def stamps(tmp_path, monkeypatch):
    """build.py's remembered answers in a folder of this test's own, and a dpkg
    database the test can change."""
    status = tmp_path / "dpkg-status"
    status.write_text("Package: g++\n")
    monkeypatch.setattr(build, "BUILD", tmp_path / "build")
    monkeypatch.setattr(build, "DPKG_STATUS", status)
    return status


def touch_later(path: Path) -> None:
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


# ---------------------------------------------------------------- packages, python

def test_setup_runs_once_until_dpkg_changes(stamps, monkeypatch):
    asked = []
    monkeypatch.setattr(build, "setup", lambda groups, quiet=False: asked.append(list(groups)))
    build.setup_once(["build"])
    build.setup_once(["build"])
    assert asked == [["build"]]
    build.setup_once(["test"])  # another group: asked for it alone, once
    build.setup_once(["build"])
    build.setup_once(["test"])
    assert asked == [["build"], ["test"]]
    touch_later(stamps)  # apt installed or removed something
    build.setup_once(["build"])
    assert asked == [["build"], ["test"], ["build"]]


def test_a_failed_setup_is_asked_again(stamps, monkeypatch):
    from course_tools.console import CourseError

    def missing(groups, quiet=False):
        raise CourseError("these packages are missing: g++")

    monkeypatch.setattr(build, "setup", missing)
    for _ in range(2):
        with pytest.raises(CourseError):
            build.setup_once(["build"])


def test_a_new_package_in_the_lists_asks_again(stamps, monkeypatch):
    asked = []
    monkeypatch.setattr(build, "setup", lambda groups, quiet=False: asked.append(groups))
    build.setup_once(["build"])
    monkeypatch.setitem(build.PACKAGES, "build", [*build.PACKAGES["build"], "ccache"])
    build.setup_once(["build"])
    assert len(asked) == 2


def test_the_test_python_is_remembered(stamps, monkeypatch):
    asked = []

    def probe(required=True):
        asked.append(required)
        return sys.executable

    monkeypatch.setattr(build, "test_python", probe)
    assert build.test_python_once() == sys.executable
    assert build.test_python_once() == sys.executable
    assert asked == [True]
    monkeypatch.setenv("COURSE_PYTHON", "/nonexistent/python3")  # another choice: ask again
    build.test_python_once()
    assert len(asked) == 2


def test_no_test_python_is_not_remembered(stamps, monkeypatch):
    asked = []
    monkeypatch.setattr(build, "test_python", lambda required=True: asked.append(1))
    assert build.test_python_once(required=False) is None
    assert build.test_python_once(required=False) is None
    assert len(asked) == 2


# ---------------------------------------------------------------- nothing to build

@pytest.fixture
def course_tree(tmp_path, stamps, monkeypatch):
    """A course with one lesson, already configured (build.ninja), whose builds
    are recorded instead of run."""
    root = tmp_path / "course"
    (root / "lessons" / "01-x").mkdir(parents=True)
    (root / "common" / "src").mkdir(parents=True)
    (root / "CMakeLists.txt").write_text("project(x)\n")
    (root / "lessons" / "01-x" / "a.cpp").write_text("int main() {}\n")
    (root / "common" / "src" / "net.cpp").write_text("// net\n")
    build_dir = build.BUILD
    (build_dir / "bin").mkdir(parents=True)
    (build_dir / "build.ninja").write_text("# ninja\n")
    ran = []

    def fake_build(args, quiet, title):
        ran.append(args)
        for name in args[args.index("--target") + 1:] if "--target" in args else ["a", "b"]:
            (build_dir / "bin" / name).write_text("")

    monkeypatch.setattr(build, "ROOT", root)
    monkeypatch.setattr(build, "setup", lambda groups, quiet=False: None)
    monkeypatch.setattr(build, "run_build", fake_build)
    return root, build_dir, ran


def test_a_second_check_builds_nothing(course_tree):
    root, build_dir, ran = course_tree
    build.build(targets=["a"], quiet=True)
    build.build(targets=["a"], quiet=True)
    assert len(ran) == 1
    build.build(targets=["b"], quiet=True)  # not built yet
    build.build(targets=["a", "b"], quiet=True)
    assert len(ran) == 2


def test_any_change_builds_again(course_tree):
    root, build_dir, ran = course_tree
    build.build(targets=["a"], quiet=True)
    source = root / "lessons" / "01-x" / "a.cpp"
    changes = [
        lambda: touch_later(source),                                     # saved unchanged
        lambda: source.write_text("int main() { return 1; }\n"),         # edited
        lambda: (root / "lessons" / "01-x" / "b.hpp").write_text(""),    # a new file
        lambda: (root / "lessons" / "01-x" / "b.hpp").unlink(),          # a file removed
        lambda: touch_later(root / "common" / "src" / "net.cpp"),        # the library
        lambda: touch_later(root / "CMakeLists.txt"),
        lambda: touch_later(build_dir / "build.ninja"),                  # reconfigured
        lambda: touch_later(build.DPKG_STATUS),                          # a new compiler
        lambda: (build_dir / "bin" / "a").unlink(),                      # its program gone
    ]
    for n, change in enumerate(changes, 2):
        change()
        build.build(targets=["a"], quiet=True)
        assert len(ran) == n, f"change {n - 2} did not build again"
        build.build(targets=["a"], quiet=True)
        assert len(ran) == n, f"after change {n - 2}, the next build was not skipped"


def test_python_caches_do_not_count_as_changes(course_tree):
    root, _, ran = course_tree
    build.build(targets=["a"], quiet=True)
    cache = root / "lessons" / "01-x" / "__pycache__"
    cache.mkdir()
    (cache / "test_x.cpython-311.pyc").write_bytes(b"\0")
    build.build(targets=["a"], quiet=True)
    assert len(ran) == 1


def test_a_full_build_is_never_skipped_and_covers_a_check(course_tree):
    _, _, ran = course_tree
    build.build(quiet=True)
    build.build(quiet=True)
    assert len(ran) == 2  # everything: also what has no program in bin/ (the unit tests)
    build.build(targets=["a", "b"], quiet=True)
    assert len(ran) == 2


def test_a_failed_build_is_not_remembered(course_tree, monkeypatch):
    from course_tools.console import CourseError
    _, _, ran = course_tree

    def failing(args, quiet, title):
        ran.append(args)
        raise CourseError("cmake --build ... failed")

    monkeypatch.setattr(build, "run_build", failing)
    for _ in range(2):
        with pytest.raises(CourseError):
            build.build(targets=["a"], quiet=True)
    assert len(ran) == 2


def test_a_skipped_build_says_what_a_build_says(course_tree, capsys):
    build.build(targets=["a"], quiet=False)
    capsys.readouterr()
    build.build(targets=["a"], quiet=False)
    assert capsys.readouterr().out.strip().endswith("building (default)")


# ---------------------------------------------------------------- check

def test_check_builds_the_programs_its_tests_run_from_other_lessons(monkeypatch):
    """Lesson 04's tests run lesson 03's tcp_client: check builds it too."""
    asked = {}

    def fake_build(preset="default", quiet=False, targets=None):
        asked["targets"] = targets
        raise SystemExit  # nothing more to see

    monkeypatch.setattr(testrun, "build", fake_build)
    with pytest.raises(SystemExit):
        testrun.run_tests(["04"], public_only=True)
    assert {"tcp_echo_server", "upper_echo_server", "tcp_client"} <= set(asked["targets"])


def test_one_lesson_runs_in_parallel_only_when_it_pays():
    folder = "06-backlog-and-handshake"
    quick = {f"lessons/{folder}/test_a.py::test_{n}": 0.04 for n in range(20)}  # 0.8 s
    assert testrun.one_lesson_workers(quick, folder) == []
    assert testrun.one_lesson_workers({}, folder) == []  # never ran here: one process
    waits = {f"lessons/{folder}/test_a.py::test_{n}": 1.0 for n in range(8)}
    workers = testrun.one_lesson_workers(waits, folder)
    assert workers[0] == "-n" and 2 <= int(workers[1]) <= testrun.MOST_WORKERS
    # one long test and quick ones: more workers cannot make it shorter than the long one
    one_long = {f"lessons/{folder}/test_a.py::test_long": 3.0,
                f"lessons/{folder}/test_a.py::test_short": 0.05}
    assert testrun.one_lesson_workers(one_long, folder) == []
    other = {f"lessons/05-other/test_a.py::test_{n}": 1.0 for n in range(8)}
    assert testrun.one_lesson_workers(other, folder) == []
    # check leaves the hidden tests out: their durations do not count
    hidden = {f"test_a.py::test_{n}" for n in range(7)}
    assert testrun.one_lesson_workers(waits, folder, hidden) == []


def test_durations_are_remembered_per_test(tmp_path):
    path = tmp_path / "durations.json"
    testrun.remember_durations(path, [{"nodeid": "a::t", "outcome": "passed", "duration": 1.5},
                                      {"nodeid": "a::u", "outcome": "skipped", "duration": 0}])
    testrun.remember_durations(path, [{"nodeid": "a::v", "outcome": "failed", "duration": 0.2}])
    assert testrun.read_durations(path) == {"a::t": 1.5, "a::v": 0.2}
    # a slower run (a busy machine) counts half; a quicker one at once
    testrun.remember_durations(path, [{"nodeid": "a::t", "outcome": "passed", "duration": 2.5},
                                      {"nodeid": "a::v", "outcome": "passed", "duration": 0.1}])
    assert testrun.read_durations(path) == {"a::t": 2.0, "a::v": 0.1}
    path.write_text("not json")
    assert testrun.read_durations(path) == {}
    assert testrun.makespan([3, 1, 1, 1], 2) == 3
    assert testrun.makespan([1, 1, 1, 1], 2) == 2


def test_course_test_runs_ctest_beside_pytest_and_reports_it(tmp_path, monkeypatch, capsys):
    build_dir = tmp_path / "build"
    build_dir.mkdir()
    ran, pytest_started, ctest_finished = [], threading.Event(), threading.Event()

    def fake_run(argv, **kwargs):
        ran.append(argv[0])
        if argv[0] == "ctest":
            # still running when pytest starts: the two run side by side
            assert pytest_started.wait(10), "pytest did not start while ctest ran"
            report = Path(argv[argv.index("--output-junit") + 1])
            report.write_text('<testsuite><testcase name="net.parse" status="run" time="0.1"/>'
                              '</testsuite>')
            ctest_finished.set()
            return subprocess.CompletedProcess(argv, 0, "100% tests passed\n")
        pytest_started.set()
        report = Path(argv[argv.index("--course-report") + 1])
        report.write_text(json.dumps([]))
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr(testrun, "build", lambda *a, **k: build_dir)
    monkeypatch.setattr(testrun, "setup", lambda *a, **k: None)
    monkeypatch.setattr(testrun, "test_python", lambda: sys.executable)
    monkeypatch.setattr(testrun, "STATE", tmp_path / "state.json")
    monkeypatch.setattr(testrun.subprocess, "run", fake_run)
    from course_tools import student as student_module
    monkeypatch.setattr(student_module, "record", lambda *a, **k: None)
    testrun.run_tests([])
    out = capsys.readouterr().out
    assert ctest_finished.is_set() and sorted(ran) == sorted([sys.executable, "ctest"])
    assert "100% tests passed" in out  # ctest's own words, after pytest's
    common = next(line for line in out.splitlines() if line.startswith("common/ library"))
    assert common.split()[-4:] == ["1", "0", "0", "PASS"], common


# ---------------------------------------------------------------- watch

def test_watch_waits_for_a_save_in_steps_to_settle(tmp_path, monkeypatch):
    """An editor that saves in steps (a copy, then renamed over the file): watch
    runs the tests once, after the last step, not after the first. (The poll, so
    that each step lands in a known pause.)"""
    source = tmp_path / "a.cpp"
    source.write_text("x")
    changes = student.Changes([tmp_path])
    changes.close()  # no inotify: the modification times only
    steps = [lambda: os.replace(tmp_path / "a.cpp.new", source)]
    pauses = []

    def pause(seconds):
        pauses.append(seconds)
        if steps:
            steps.pop(0)()  # the editor's next step, while watch waits

    (tmp_path / "a.cpp.new").write_text("yy")  # the first step
    assert changes.changed()
    monkeypatch.setattr(student.time, "sleep", pause)
    changes.settle(quiet=0.05)
    assert len(pauses) == 2, "after the rename, watch must wait for quiet again"
    assert source.read_text() == "yy" and not changes.changed()


def test_watch_settles_at_once_when_nothing_more_comes(tmp_path):
    (tmp_path / "a.cpp").write_text("x")
    changes = student.Changes([tmp_path])
    try:
        (tmp_path / "a.cpp").write_text("yy")
        assert changes.changed()
        changes.settle(quiet=0.01, longest=30)  # returns after the quiet, not the longest
        assert not changes.changed()
    finally:
        changes.close()


# ---------------------------------------------------------------- the benchmark's copy

def test_the_benchmark_edits_a_copy_that_stays_warm(tmp_path):
    """harness/bench/student_loop.py copies the working tree (tracked and untracked
    files, not the ignored build/) and later only what changed, keeping the
    modification times, so that the copy's build stays valid."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "student_loop", ROOT / "harness" / "bench" / "student_loop.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    tree, copy = tmp_path / "tree", tmp_path / "copy"
    (tree / "lessons").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    (tree / ".gitignore").write_text("/build/\n")
    (tree / "lessons" / "a.cpp").write_text("tracked\n")
    subprocess.run(["git", "-C", str(tree), "add", "."], check=True)
    (tree / "lessons" / "new.cpp").write_text("not committed yet\n")
    (tree / "build").mkdir()
    (tree / "build" / "big.o").write_text("ignored\n")
    bench.sync_scratch(tree, copy)
    assert (copy / "lessons" / "a.cpp").read_text() == "tracked\n"
    assert (copy / "lessons" / "new.cpp").exists() and not (copy / "build").exists()
    kept = (copy / "lessons" / "a.cpp").stat().st_mtime_ns
    assert kept == (tree / "lessons" / "a.cpp").stat().st_mtime_ns
    # same size, same time: taken for the same file, not copied again
    (copy / "lessons" / "new.cpp").write_text("NOT committed yet\n")
    os.utime(copy / "lessons" / "new.cpp", ns=((tree / "lessons" / "new.cpp").stat().st_atime_ns,
                                                (tree / "lessons" / "new.cpp").stat().st_mtime_ns))
    (tree / "lessons" / "a.cpp").write_text("changed here\n")
    bench.sync_scratch(tree, copy)
    assert (copy / "lessons" / "a.cpp").read_text() == "changed here\n"
    assert (copy / "lessons" / "new.cpp").read_text() == "NOT committed yet\n"
