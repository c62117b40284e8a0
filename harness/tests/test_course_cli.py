"""./course itself: a short sh launcher in front of harness/course_tools/cli.py.
It stays short, lists every command, survives a closed pipe, reports errors as
`error: ...` with an exit status, and its metadata loader works on Python 3.10
(tomli instead of tomllib)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

from course_tools import cli, meta  # noqa: E402

COURSE = ROOT / "course"
COMMANDS = ["setup", "build", "test", "check", "hint", "watch", "reset", "grade", "autograder",
            "release", "list", "run", "demo", "capture", "fuzz", "docs"]
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
               "exercise_commands", "meta"]


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
        if "tomllib.load" in text and "course.toml" in text:
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
