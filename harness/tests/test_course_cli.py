"""./course itself: a short sh launcher in front of harness/course_tools/cli.py.
It stays short, lists every command, survives a closed pipe, reports errors as
`error: ...` with an exit status, and its metadata loader works on Python 3.10
(tomli instead of tomllib)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

from course_tools import cli, meta  # noqa: E402

COURSE = ROOT / "course"
COMMANDS = ["setup", "build", "test", "check", "start", "solution", "hint", "watch", "reset",
            "grade", "autograder", "release", "list", "run", "demo", "capture", "mutants",
            "fuzz", "docs"]
ENV = dict(os.environ, NO_COLOR="1")


def course(*args, cwd=ROOT, launcher=("sh",)) -> subprocess.CompletedProcess:
    return subprocess.run([*launcher, str(COURSE), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env=ENV)


def test_the_launcher_is_short_and_starts_as_sh():
    lines = COURSE.read_text(encoding="utf-8").splitlines()
    assert len(lines) < 60, f"./course has {len(lines)} lines; the tool belongs in course_tools/"
    assert lines[0] == "#!/bin/sh"
    assert os.access(COURSE, os.X_OK), "./course must be executable"


def test_help_lists_every_command():
    done = course("--help")
    assert done.returncode == 0, done.stderr
    listed = re.findall(r"^    (\w+)(?:  |$)", done.stdout, re.M)  # a long name wraps
    assert listed == COMMANDS, done.stdout
    parser_commands = next(a for a in cli.make_parser()._actions
                           if a.dest == "command").choices
    assert list(parser_commands) == COMMANDS


@pytest.mark.parametrize("how", [("sh",), (), (sys.executable,)],
                         ids=["sh course", "./course", "python3 course"])
def test_it_runs_from_any_folder_and_any_way(how, tmp_path):
    # `python3 course` too: the grader (grade.py) runs each submission's copy so.
    done = course("hint", "01", cwd=tmp_path, launcher=how)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "lesson 01" in done.stdout


def test_errors_are_one_line_with_the_exit_status():
    done = course("run", "99")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: no lesson '99'; ./course list shows them"
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("reader", ["head -1", "true"])
def test_a_closed_pipe_is_no_traceback(reader):
    for _ in range(3):
        done = subprocess.run(["sh", "-c", f'"$0" list | {reader}', str(COURSE)], cwd=ROOT,
                              capture_output=True, text=True, timeout=60, env=ENV)
        assert done.returncode == 0
        assert done.stderr == "", done.stderr


def test_a_pipe_closed_before_the_first_line_is_no_traceback():
    """The reader has gone before ./course writes anything (deterministic)."""
    script = ("import os, sys\n"
              "r, w = os.pipe()\n"
              "os.close(r)\n"
              "os.dup2(w, 1)\n"
              f"sys.path.insert(0, {str(ROOT / 'harness')!r})\n"
              "from course_tools.cli import main\n"
              "sys.exit(main(['list']))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env=ENV)
    assert done.returncode == 1
    assert done.stderr == "", done.stderr


# The modules behind ./course's commands (grading has its own: grade, release, student).
CLI_MODULES = ["console", "project", "setup", "build", "testrun", "show", "docs", "fuzz",
               "exercise_commands", "meta", "workspace"]


def test_the_library_modules_never_exit():
    """Only cli.py turns a CourseError into a message and an exit status."""
    exits = [f"{name}.py: {line.strip()}" for name in CLI_MODULES
             for line in (ROOT / "harness" / "course_tools" / f"{name}.py")
             .read_text(encoding="utf-8").splitlines()
             if re.search(r"\bsys\.exit\(|SystemExit|\bexit\(", line)]
    assert not exits, exits


def test_course_toml_is_read_by_meta_alone():
    files = [COURSE, *(ROOT / "harness").rglob("*.py"), *(ROOT / "docs" / "hooks").glob("*.py")]
    readers = []
    for path in files:
        if path.name in ("meta.py", Path(__file__).name):
            continue
        text = path.read_text(encoding="utf-8")
        # parsing course.toml with tomllib: `with open(...course.toml...) as f:` then
        # tomllib.load(f), or tomllib.loads((... / "course.toml").read_text())
        if re.search(r"open\([^)\n]*course\.toml[^\n]*\n[^\n]*tomllib\.load\(", text) or \
                re.search(r"tomllib\.loads\([^\n]*course\.toml", text):
            readers.append(str(path.relative_to(ROOT)))
    assert not readers, f"these read course.toml themselves, not via meta.load: {readers}"


def test_meta_falls_back_to_tomli(monkeypatch):
    """Python 3.10 (Ubuntu 22.04) has no tomllib; python3-tomli provides tomli."""
    import tomllib as real
    stub = types.ModuleType("tomli")
    stub.load, stub.loads = real.load, real.loads
    monkeypatch.setitem(sys.modules, "tomllib", None)  # `import tomllib` now fails
    monkeypatch.setitem(sys.modules, "tomli", stub)
    # A private copy of meta.py, so the module the other tests use is untouched.
    spec = importlib.util.spec_from_file_location("course_tools._meta_on_tomli", meta.__file__)
    copy = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, copy)  # dataclasses look their module up
    spec.loader.exec_module(copy)
    assert copy.tomllib is stub
    assert copy.load(ROOT) == meta.load(ROOT)
    assert [lesson["number"] for lesson in copy.lessons(ROOT)] == \
        [lesson["number"] for lesson in meta.lessons(ROOT)]


def test_meta_without_tomllib_or_tomli_says_what_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    spec = importlib.util.spec_from_file_location("course_tools._meta_bare", meta.__file__)
    copy = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, copy)
    with pytest.raises(ModuleNotFoundError, match="tomli"):
        spec.loader.exec_module(copy)


# ---------------------------------------------------------------- build progress

NINJA_LINES = [f"[{n}/40] Building CXX object lessons/04-tcp-echo-server/CMakeFiles/"
               f"upper_echo_server.dir/upper_echo_server.cpp.o" for n in range(1, 40)] + \
              ["[40/40] Linking CXX executable bin/upper_echo_server"]


def fake_build(tmp_path, lines: list[str], status: int = 0) -> list[str]:
    script = tmp_path / "fake_ninja.py"
    script.write_text(f"import sys\nfor line in {lines!r}:\n    print(line, flush=True)\n"
                      f"sys.exit({status})\n")
    return [sys.executable, str(script)]


def test_a_build_shows_its_progress_in_a_log(tmp_path, capsys):
    """Not a terminal (CI, a pipe): a line at every tenth, the last step, the time."""
    from course_tools import build
    build.run_build(fake_build(tmp_path, ["[0/2] Re-checking globbed directories...",
                                          "[1/2] Re-running CMake...",
                                          *NINJA_LINES[:20], "a compiler warning",
                                          *NINJA_LINES[20:]]), True, "building (default)")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "==> building (default)"
    steps = [line for line in out if line.lstrip().startswith("[")]
    assert steps[0] == "  [1/2]  50%  Re-running CMake...", steps
    steps = steps[1:]
    assert 10 <= len(steps) <= 12, out
    assert steps[0].startswith("  [ 1/40]   2%"), steps[0]
    assert "compiling lessons/04-tcp-echo-server/upper_echo_server.cpp" in steps[0]
    assert "[40/40] 100%  linking upper_echo_server" in steps[-1]
    assert out[-1].startswith("  built in ")
    assert "a compiler warning" not in "\n".join(out)  # quiet: shown only on failure
    assert "Re-checking" not in "\n".join(out)


def test_a_build_on_a_terminal_redraws_one_line(tmp_path):
    import io
    from course_tools import build
    out = io.StringIO()
    progress = build.Progress(out, interactive=True, title="building (default)")
    for line in NINJA_LINES:
        assert progress.step(line)
    assert not progress.step("In file included from x.hpp:3:")
    progress.finish(True)
    text = out.getvalue()
    assert text.count("\r\033[K") >= len(NINJA_LINES)
    assert "[40/40] ####################" in text
    assert "[ 1/40] ...................." in text
    assert text.endswith("  built in 0.0 s\n") or "built in" in text.rsplit("\033[K", 1)[-1]
    assert "built in" in text


def test_nothing_to_build_says_nothing_when_quiet(tmp_path, capsys):
    from course_tools import build
    build.run_build(fake_build(tmp_path, ["[0/2] Re-checking globbed directories...",
                                          "ninja: no work to do."]), True, "building")
    assert capsys.readouterr().out == ""  # ./course run's output goes into the pages


def test_a_failed_quiet_build_shows_the_compiler(tmp_path, capsys):
    from course_tools import build
    from course_tools.console import CourseError
    with pytest.raises(CourseError):
        build.run_build(fake_build(tmp_path, [NINJA_LINES[0], "x.cpp:3:1: error: boom",
                                              "ninja: build stopped: subcommand failed."], 1),
                        True, "building")
    out = capsys.readouterr().out
    assert "x.cpp:3:1: error: boom" in out and "built in" not in out


def test_make_percentages_count_too():
    import io
    from course_tools import build
    out = io.StringIO()
    progress = build.Progress(out, interactive=False)
    assert progress.step("[ 50%] Building CXX object common/CMakeFiles/course_common.dir/"
                         "src/net.cpp.o")
    assert "compiling common/src/net.cpp" in out.getvalue()


# ---------------------------------------------------------------- setup groups

def test_docs_installs_no_ci_only_tools(monkeypatch):
    from course_tools import docs, setup
    asked = []
    monkeypatch.setattr(docs, "setup", lambda groups=None, quiet=False: asked.append(groups))
    monkeypatch.setattr(docs, "build", lambda **kwargs: ROOT / "build")
    monkeypatch.setattr(docs, "capture_runs", lambda: None)
    monkeypatch.setattr(docs.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, 0))
    docs.docs(False)
    wanted = {package for groups in asked for group in groups for package in
              setup.PACKAGES[group]}
    assert asked and "mkdocs" in wanted
    assert not wanted & {"iperf3", "wrk", "clang-tidy"}, asked


def test_setup_installs_what_the_pages_use():
    from course_tools import setup
    default = {p for group in setup.DEFAULT_GROUPS for p in setup.PACKAGES[group]}
    assert {"socat", "netcat-openbsd", "tshark", "curl", "strace"} <= default
    ci_only = set(setup.PACKAGES["ci"])
    assert {"iperf3", "wrk"} <= ci_only and not ci_only & default
    pages = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.md"))
    assert "socat" in pages and re.search(r"\bnc -q1\b", pages)


def test_setup_asks_for_tomli_where_python_has_no_tomllib(monkeypatch):
    from course_tools import setup
    assert setup.toml_packages() == []
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    assert setup.toml_packages() == ["python3-tomli"]


def test_ubuntu_2204_cmake_reads_the_build():
    """Ubuntu 22.04 has CMake 3.22: the build and its presets must ask no more."""
    import json
    found = re.search(r"cmake_minimum_required\(VERSION (\d+)\.(\d+)",
                      (ROOT / "CMakeLists.txt").read_text())
    assert found and (int(found[1]), int(found[2])) <= (3, 22)
    presets = json.loads((ROOT / "CMakePresets.json").read_text())
    assert presets["version"] <= 3  # version 4 needs CMake 3.23, 6 needs 3.25
    need = presets["cmakeMinimumRequired"]
    assert (need["major"], need["minor"]) <= (3, 22)


def test_the_devcontainer_installs_with_course_setup():
    import json
    folder = ROOT / ".devcontainer"
    config = json.loads((folder / "devcontainer.json").read_text())
    assert config["build"]["dockerfile"] == "Dockerfile"
    dockerfile = (folder / "Dockerfile").read_text().replace("\\\n", " ")  # one line per step
    assert re.search(r"^FROM debian:12\b", dockerfile, re.M)
    assert re.search(r"^RUN .*\./course setup", dockerfile, re.M)
    from course_tools import setup
    listed = {word for word in re.findall(r"[a-z0-9][a-z0-9.+-]+", dockerfile)}
    repeated = listed & {p for group in setup.PACKAGES.values() for p in group} - {"python3"}
    assert not repeated, f"the Dockerfile repeats ./course setup's packages: {repeated}"


# ---------------------------------------------------------------- counts agree

def test_check_grade_and_list_count_the_same(tmp_path):
    """One lesson's results, parametrized tests among them (some cases failing,
    some skipped): the ./course check table, ./course grade's score table and
    ./course list's counts say the same number of tests passed and failed."""
    from course_tools import grade, student, testrun
    lesson = next(lesson for lesson, _ in meta.all_exercises(ROOT))
    plan = [t for t in meta.plan(ROOT) if t.lesson == lesson["number"] and not t.hidden]
    results = []
    for n, t in enumerate(plan):
        cases = {0: ["passed", "passed"], 1: ["passed", "failed"], 2: ["skipped", "skipped"],
                 3: ["passed", "skipped"], 4: ["failed"]}.get(n % 6, ["passed"])
        for i, outcome in enumerate(cases):
            results.append({"lesson": lesson["number"], "outcome": outcome, "duration": 0.01,
                            "nodeid": f"lessons/{lesson['folder']}/{t.key}"
                                      + (f"[case{i}]" if len(cases) > 1 else "")})
    rows = testrun.counted_results(results)
    check = {k: sum(r["outcome"] == k for r in rows) for k in ("passed", "failed", "skipped")}

    graded = grade.score(ROOT, [lesson], plan, results, {}, False)
    graded_lesson = graded["lessons"][0]
    assert (check["passed"], check["passed"] + check["failed"]) == \
        (graded_lesson["passed"], graded_lesson["tests"])
    assert check["skipped"] == graded["not_gradable"]

    # ./course list reads what check (and grade, and watch) recorded
    state_root = tmp_path / "course"
    shutil.copytree(ROOT, state_root, ignore=shutil.ignore_patterns(
        "build*", ".git", "site", "__pycache__", ".course-state.json", ".course"))
    student.record(state_root, results)
    assert student.counted(state_root, lesson["number"]) == \
        f"{graded_lesson['passed']}/{graded_lesson['tests']} tests"
    for ex in graded_lesson["exercises"]:
        if ex["tests"]:
            assert student.counted(state_root, ex["id"]) == f"{ex['passed']}/{ex['tests']} tests"
            assert student.exercise_status(state_root, ex["id"]) == \
                ("pass" if ex["passed"] == ex["tests"] else "fail")


def test_ubuntu_leaves_out_what_it_does_not_package(monkeypatch, tmp_path):
    """Ubuntu has no chromium deb (a snap), 22.04 no mkdocs-material: asking apt for
    them would fail the whole install, and a student without sudo would be told
    to install a package that does not exist."""
    from course_tools import setup
    monkeypatch.setattr(setup, "NOT_FOUND", tmp_path / "packages-not-found.txt")
    jammy = setup.unpackaged({"ID": "ubuntu", "VERSION_ID": "22.04"})
    noble = setup.unpackaged({"ID": "ubuntu", "VERSION_ID": "24.04"})
    debian = setup.unpackaged({"ID": "debian", "VERSION_ID": "12"})
    assert {"chromium", "mkdocs-material", "python3-pymdownx"} <= set(jammy)
    assert set(noble) == {"chromium"} and debian == {}
    build_needs = set(setup.PACKAGES["build"]) | set(setup.PACKAGES["tools"])
    assert not build_needs & set(jammy), "every supported system must build the lessons"
    assert all(instead for instead in jammy.values())
    setup.NOT_FOUND.write_text("some-package\n")
    assert "some-package" in setup.unpackaged({"ID": "debian", "VERSION_ID": "12"})


def test_check_records_packets_only_when_asked(monkeypatch, capsys):
    """A failing check runs its failing tests again under tcpdump only with
    --capture: by default it says how, and the student's loop stays one run."""
    captured = []
    monkeypatch.setattr(cli, "run_tests", lambda keys, public_only: 1)
    monkeypatch.setattr(cli, "capture_failures", lambda lesson: captured.append(lesson) or [])
    assert cli.check("04") == 1
    assert captured == []
    assert "./course check 04 --capture" in capsys.readouterr().out
    assert cli.check("04", capture=True) == 1
    assert captured == ["04"]
