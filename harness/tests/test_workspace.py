"""./course start, solution, start --undo, and reset and list in a started
workspace: each test on its own copy of the repository (its tracked files and
the new ones git does not ignore), made a git repository so that `git status`
and `git diff` can say what changed. Never on the checkout itself."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

from course_tools import meta, regions, release, student, workspace  # noqa: E402

# A student release or a started workspace has no reference to start from.
pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not (ROOT / ".git").exists() or shutil.which("git") is None,
                       reason="needs the course's git checkout"),
    pytest.mark.skipif(workspace.kind(ROOT) != "reference",
                       reason="this copy is not the reference (a release or a workspace)"),
]
ENV = dict(os.environ, NO_COLOR="1", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
           GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")


def git(where: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=where, capture_output=True, text=True,
                          timeout=60, env=ENV)


@pytest.fixture
def clone(tmp_path) -> Path:
    """The repository as a student's clone has it, committed."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, capture_output=True,
                            timeout=60, check=True).stdout.decode().split("\0")
    dest = tmp_path / "socket-lessons"
    for rel in filter(None, listed):
        source = ROOT / rel
        if source.is_file():  # listed but deleted in the working tree: not copied
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)
    assert git(dest, "init", "-q").returncode == 0
    assert git(dest, "add", "-A").returncode == 0
    assert git(dest, "commit", "-q", "-m", "the reference").returncode == 0
    return dest


def course(where: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(where / "course"), *args], cwd=where, capture_output=True,
                          text=True, timeout=120, env=ENV)


def exercise_files(where: Path) -> list[Path]:
    return [path for lesson, ex in meta.all_exercises(where)
            for path in meta.exercise_files(where, lesson, ex)]


def first_exercise(where: Path) -> tuple[dict, dict]:
    return meta.all_exercises(where)[0]


def test_start_gives_every_exercise_its_starter_code_and_keeps_the_reference(clone):
    region_files = release.region_files(clone)
    assert region_files, "no solution region in the course"
    reference = {p: p.read_bytes() for p in region_files}
    starters = {p: release.render_file(clone, p, set()) for p in region_files}
    done = course(clone, "start")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(region_files)} exercise files" in done.stdout
    for path in region_files:
        rel = path.relative_to(clone).as_posix()
        assert path.read_text(encoding="utf-8") == starters[path], rel
        assert "TODO(exercise" in starters[path]
        assert not regions.has_regions(starters[path]), rel
        assert (clone / workspace.REFERENCE / rel).read_bytes() == reference[path], rel
        assert (clone / workspace.STARTER / rel).read_text(encoding="utf-8") == starters[path]
    # git sees the exercise files changed, and nothing of .course/
    status = git(clone, "status", "--porcelain", "--untracked-files=all").stdout.splitlines()
    assert sorted(line[3:] for line in status) == \
        sorted(p.relative_to(clone).as_posix() for p in region_files), status
    assert all(line.startswith(" M ") for line in status), status
    # the hint now points at the TODO; a second start changes nothing
    lesson, ex = first_exercise(clone)
    assert f"look for TODO(exercise {ex['id']})" in course(clone, "hint", ex["id"]).stdout
    again = course(clone, "start")
    assert again.returncode == 0 and "started already" in again.stdout, again.stdout
    assert all(p.read_text(encoding="utf-8") == starters[p] for p in region_files)


def test_the_reference_hint_says_to_start(clone):
    lesson, ex = first_exercise(clone)
    done = course(clone, "hint", ex["id"])
    assert done.returncode == 0
    assert "./course start" in done.stdout and "look for TODO" not in done.stdout


def test_solution_is_refused_until_the_tests_pass_and_shown_with_force(clone):
    lesson, ex = first_exercise(clone)
    path = meta.exercise_files(clone, lesson, ex)[0]
    answer = [line for exercise, line in regions.solution_lines(path.read_text())
              if exercise in (ex["id"], "")]
    assert answer
    assert course(clone, "start").returncode == 0

    refused = course(clone, "solution", ex["id"])
    assert refused.returncode == 1
    assert "have not passed yet" in refused.stderr and "--force" in refused.stderr
    assert not any(line in refused.stdout for line in answer)

    forced = course(clone, "solution", ex["id"], "--force")
    assert forced.returncode == 0, forced.stderr
    assert "before your tests pass" in forced.stdout
    assert all(line in forced.stdout for line in answer), forced.stdout

    # its public tests pass (as check, watch and grade record it): shown without --force
    student.record(clone, [{"nodeid": f"lessons/{lesson['folder']}/{t.key}",
                            "outcome": "passed"}
                           for t in meta.plan(clone) if t.exercise == ex["id"] and not t.hidden],
                   whole_lessons=False)
    shown = course(clone, "solution", ex["id"])
    assert shown.returncode == 0, shown.stderr
    assert all(line in shown.stdout for line in answer)
    diff = course(clone, "solution", ex["id"], "--diff")
    assert diff.returncode == 0 and any(line.startswith("+") and answer[0] in line
                                        for line in diff.stdout.splitlines()), diff.stdout

    # a failing run takes it away again; a lesson without that exercise: exit 2
    student.record(clone, [{"nodeid": f"lessons/{lesson['folder']}/{t.key}",
                            "outcome": "failed"}
                           for t in meta.plan(clone) if t.exercise == ex["id"]][:1],
                   whole_lessons=False)
    assert course(clone, "solution", ex["id"]).returncode == 1
    assert course(clone, "solution", f"{lesson['number']}.99").returncode == 2


def test_undo_puts_the_reference_back_byte_for_byte(clone):
    files = exercise_files(clone)
    before = {p: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in files}
    (clone / ".course-state.json").write_text(json.dumps({"exercises": {"01.1": "pass"}}))
    assert course(clone, "start").returncode == 0
    assert student.exercise_status(clone, "01.1") == "not run"  # the reference's is not yours
    mine = files[0]
    mine.write_text(mine.read_text() + "// my own attempt\n")
    (clone / ".course-state.json").write_text(json.dumps({"exercises": {"01.1": "fail"}}))

    done = course(clone, "start", "--undo")
    assert done.returncode == 0, done.stdout + done.stderr
    for path, (data, mode) in before.items():
        assert path.read_bytes() == data, path
        assert stat.S_IMODE(path.stat().st_mode) == mode, path
    assert git(clone, "diff", "--exit-code").returncode == 0, git(clone, "diff").stdout
    assert git(clone, "status", "--porcelain", "--untracked-files=all").stdout == ""
    assert not (clone / workspace.WORKSPACE).exists()
    assert not (clone / workspace.REFERENCE).exists()
    assert not (clone / workspace.STARTER).exists()
    # your attempt and your progress are kept; the reference's progress is back
    saved = list((clone / workspace.BACKUP).rglob(mine.name + ".*"))
    assert len(saved) == 1 and saved[0].read_text().endswith("// my own attempt\n")
    assert "saved" in done.stdout
    assert student.exercise_status(clone, "01.1") == "pass"
    # and once more: start, undo, still identical
    assert course(clone, "start").returncode == 0
    assert course(clone, "start", "--undo").returncode == 0
    assert git(clone, "diff", "--exit-code").returncode == 0


def test_undo_refuses_when_not_started_or_when_a_reference_copy_is_damaged(clone):
    assert course(clone, "start", "--undo").returncode == 2
    assert course(clone, "start").returncode == 0
    rel = exercise_files(clone)[0].relative_to(clone).as_posix()
    copy = clone / workspace.REFERENCE / rel
    copy.write_text("damaged")
    done = course(clone, "start", "--undo")
    assert done.returncode == 1 and "nothing was undone" in done.stderr
    assert (clone / workspace.WORKSPACE).exists()  # still a workspace, nothing changed


def test_reset_in_a_started_workspace(clone):
    lesson, ex = first_exercise(clone)
    path = meta.exercise_files(clone, lesson, ex)[0]
    refused = course(clone, "reset", ex["id"])
    assert refused.returncode == 2 and "./course start" in refused.stderr
    assert course(clone, "start").returncode == 0
    starter = path.read_bytes()
    path.write_text("int main() { return 1; }  // a wrong turn\n")
    done = course(clone, "reset", ex["id"])
    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == starter
    assert "your version saved as .course/backup/" in done.stdout
    assert git(clone, "status", "--porcelain", "--untracked-files=all",
               ".course").stdout == ""


def test_list_in_a_started_workspace(clone):
    before = course(clone, "list")
    assert before.returncode == 0
    assert before.stdout.splitlines()[0].startswith("the reference")
    (clone / ".course-state.json").write_text(json.dumps(
        {"exercises": {ex["id"]: "pass" for _, ex in meta.all_exercises(clone)}}))
    assert course(clone, "start").returncode == 0
    listing = course(clone, "list")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines()[0].startswith("your workspace")
    for _, ex in meta.all_exercises(clone):
        line = next(line for line in listing.stdout.splitlines()
                    if line.strip().startswith(ex["id"] + " "))
        assert line.rstrip().endswith("not run"), line


def test_start_refuses_in_a_student_release(clone):
    (clone / meta.RELEASE_MANIFEST).parent.mkdir(parents=True, exist_ok=True)
    (clone / meta.RELEASE_MANIFEST).write_text(json.dumps({"release": True, "plan": []}))
    done = course(clone, "start")
    assert done.returncode == 2 and "student release" in done.stderr
    assert git(clone, "diff", "--exit-code").returncode == 0


def test_the_test_table_says_to_do_for_unsolved_exercises(clone, monkeypatch, capsys):
    """./course test in a workspace: the exercise tests' failures are "TO DO", the
    lesson's own failures FAIL; in the reference every failure is a FAIL."""
    from course_tools import testrun
    lesson = next(lesson for lesson, ex in meta.all_exercises(clone))
    plan = [t for t in meta.plan(clone) if t.lesson == lesson["number"] and not t.hidden]
    results = [{"lesson": lesson["number"], "duration": 0.1,
                "nodeid": f"lessons/{lesson['folder']}/{t.key}",
                "outcome": "failed" if t.exercise and not t.regression else "passed"}
               for t in plan]
    monkeypatch.setattr(testrun, "ROOT", clone)
    monkeypatch.setattr(testrun, "STATE", clone / ".course-state.json")

    assert testrun.print_table(results, [lesson], 1.0) == 1
    reference = capsys.readouterr().out
    assert "TO DO" not in reference and "FAIL" in reference

    assert course(clone, "start").returncode == 0
    assert testrun.print_table(results, [lesson], 1.0) == 1
    started = capsys.readouterr().out
    row = next(line for line in started.splitlines() if line.startswith(lesson["number"] + " "))
    assert "TO DO" in row and "FAIL" not in row, row
    assert "they fail until you solve the exercises" in started
    broken = [dict(r, outcome="failed") for r in results]  # a lesson's own test fails too
    testrun.print_table(broken, [lesson], 1.0)
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.startswith(lesson["number"] + " "))
    assert "FAIL" in row, row


def test_course_test_in_a_workspace_leaves_out_the_reference_checks(clone, monkeypatch):
    """harness/tests check the course against its reference solutions (CI, the
    instructor): ./course test in a workspace runs the lessons' tests only."""
    from course_tools import testrun
    ran = []

    def fake_run(argv, **kwargs):
        ran.append(argv)
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr(testrun, "ROOT", clone)
    monkeypatch.setattr(testrun, "STATE", clone / ".course-state.json")
    monkeypatch.setattr(testrun, "build", lambda *a, **k: clone / "build")
    monkeypatch.setattr(testrun, "setup", lambda *a, **k: None)
    monkeypatch.setattr(testrun, "test_python", lambda: sys.executable)
    monkeypatch.setattr(testrun, "read_junit", lambda path: [])
    monkeypatch.setattr(testrun.subprocess, "run", fake_run)
    (clone / "build").mkdir()

    def pytest_paths() -> list[str]:
        ran.clear()
        testrun.run_tests([])
        argv = next(a for a in ran if "pytest" in a)
        return [a for a in argv if a.startswith(str(clone)) and not a.endswith(".json")]

    assert str(clone / "harness" / "tests") in pytest_paths()
    workspace.start(clone)  # in this process: subprocess.run is the fake now
    paths = pytest_paths()
    assert str(clone / "harness" / "tests") not in paths
    assert all(Path(p).parent == clone / "lessons" for p in paths) and paths
