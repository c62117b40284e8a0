"""The course's honesty check, end to end (like `rustlings dev check --require-solutions`):

  * `./course release` into a temporary folder builds under -Werror;
  * graded there by `./course grade`, the untouched starter code scores exactly 0
    (no points for doing nothing) and every exercise has at least one failing
    public test (the tests can fail);
  * putting one exercise's solution regions back makes that exercise's tests pass
    (and leaves the others failing); all of them back scores the maximum;
  * watch, reset and `grade --submissions` work on it;
  * a release of some lessons (`--lessons 01 04`), committed and cloned, builds,
    grades, runs its demo and fails only the unsolved exercises' tests.
(That the release holds no solution line and no hidden test is checked, fast, in
test_exercise_tools.py; that the reference passes every test, hidden ones
included, is `./course test` itself.)

Slow (a fresh build of common/ and the lessons with exercises): `./course test`
leaves it out; CI runs it in its own step (.ci/run)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

from course_tools import meta, release  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

LESSONS = sorted({lesson["number"] for lesson, _ in meta.all_exercises(ROOT)})


def course(where: Path, *args, timeout=900, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1", COURSE_BUILD_DIR=str(where / "build"))
    env.pop("COURSE_BIN_DIR", None)
    env.update(kwargs.pop("env", {}))
    return subprocess.run(["sh", str(where / "course"), *map(str, args)], cwd=where,
                          capture_output=True, text=True, timeout=timeout, env=env, **kwargs)


def graded(where: Path, *args) -> dict:
    out = where / "grade-result.json"
    out.unlink(missing_ok=True)
    done = course(where, "grade", "--json", out, *args)
    assert out.exists(), f"./course grade wrote no JSON:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    result = json.loads(out.read_text())
    result["output"] = done.stdout + done.stderr
    return result


def put_back(out: Path, keep: set[str]) -> None:
    """The release's region files with the solutions of `keep` restored."""
    for path in release.region_files(ROOT):
        target = out / path.relative_to(ROOT)
        if target.exists():
            target.write_text(release.render_file(ROOT, path, keep))


def exercise_tests(result: dict, exercise: str) -> list[dict]:
    return [t for t in result["tests"] if t["exercise"] == exercise and not t["hidden"]]


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> dict:
    if not LESSONS:
        pytest.fail("no lesson has exercises in course.toml", pytrace=False)
    out = tmp_path_factory.mktemp("release") / "student"
    done = course(ROOT, "release", "--out", out, "--lessons", *LESSONS, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    done = course(out, "grade", "--json", out / "starter.json", "--junit", out / "starter.xml",
                  "--format", "gradescope", "--out", out / "gradescope.json")
    assert (out / "starter.json").exists(), done.stdout[-4000:] + done.stderr[-4000:]
    return {"dir": out, "starter": json.loads((out / "starter.json").read_text()),
            "output": done.stdout, "status": done.returncode}


def test_release_builds_cleanly_under_werror(student):
    cache = (student["dir"] / "build" / "CMakeCache.txt").read_text()
    assert "COURSE_WERROR:BOOL=ON" in cache
    assert "-Werror" in (student["dir"] / "build" / "build.ninja").read_text()
    broken = [lesson["number"] for lesson in student["starter"]["lessons"] if not lesson["built"]]
    assert not broken, f"the starter code of lessons {broken} does not build:\n" + \
        student["output"][-4000:]


def test_the_untouched_starter_code_scores_zero(student):
    """The honesty check: points only for the student's own work. A test the
    starter passes is a regression check (course.toml `regression`), worth 0."""
    result = student["starter"]
    earning = [f"{t['name']} ({t['score']:g} points)" for t in result["tests"] if t["score"] > 0]
    assert result["score"] == 0 < result["max_score"], \
        "the untouched starter earns points from: " + ", ".join(earning)
    assert student["status"] == 1  # failing tests: ./course grade says so with its status
    assert result["hidden_not_run"] > 0 and "hidden tests not run" in student["output"]


def test_every_exercise_has_a_failing_public_test_on_the_starter_code(student):
    never_fail = [ex["id"] for _, ex in meta.all_exercises(ROOT)
                  if all(t["status"] == "pass" for t in exercise_tests(student["starter"],
                                                                       ex["id"]))]
    assert not never_fail, f"exercises whose public tests all pass on the stub: {never_fail}"


def test_failures_explain_themselves_and_reveal_no_solution(student):
    secret = {line for path in release.region_files(ROOT) for _, line in
              release.regions.solution_lines(path.read_text(), "x") if len(line) > 12}
    for t in student["starter"]["tests"]:
        if t["status"] in ("fail", "error"):
            assert t["message"].strip(), f"{t['name']} failed without a message"
            assert not [s for s in secret if s in t["message"]], t["message"]


def test_platform_result_matches_the_score_table(student):
    from course_tools import formats
    data = json.loads((student["dir"] / "gradescope.json").read_text())
    assert formats.validate("gradescope", data) == []
    assert data["score"] == pytest.approx(student["starter"]["score"])
    assert sum(t["max_score"] for t in data["tests"]) == \
        pytest.approx(student["starter"]["max_score"])
    assert f"score: {student['starter']['score']:g} / {student['starter']['max_score']:g}" \
        in student["output"]


def test_watch_runs_the_current_exercise_and_answers_its_keys(student):
    first = meta.all_exercises(ROOT)[0][1]["id"]
    done = course(student["dir"], "watch", first, input="list\nhint\nquit\n", timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"exercise {first}" in done.stdout and "hint 1:" in done.stdout
    assert "public tests fail" in done.stdout  # the starter code fails it


def test_reset_puts_the_starter_code_back(student):
    lesson, ex = meta.all_exercises(ROOT)[0]
    path = student["dir"] / meta.exercise_files(ROOT, lesson, ex)[0].relative_to(ROOT)
    starter = path.read_text()
    path.write_text(starter + "\n// my work\n")
    done = course(student["dir"], "reset", ex["id"], timeout=60)
    assert done.returncode == 0, done.stderr
    assert path.read_text() == starter
    backups = list((student["dir"] / ".course" / "backup").rglob(path.name + ".*"))
    assert backups and backups[0].read_text().endswith("// my work\n")


def test_each_solution_put_back_passes_its_tests_and_all_score_the_maximum(student):
    out = student["dir"]
    try:
        for lesson, ex in meta.all_exercises(ROOT):
            put_back(out, {ex["id"]})
            result = graded(out, lesson["number"])
            mine = exercise_tests(result, ex["id"])
            failing = [t["name"] + ":\n" + t["message"] for t in mine if t["status"] != "pass"]
            assert mine and not failing, \
                f"exercise {ex['id']} with its solution put back still fails:\n" + \
                "\n".join(failing)
            for _, other in [(lesson_, ex_) for lesson_, ex_ in meta.all_exercises(ROOT)
                             if lesson_["number"] == lesson["number"] and ex_["id"] != ex["id"]]:
                assert any(t["status"] != "pass" for t in exercise_tests(result, other["id"])), \
                    f"restoring {ex['id']} made {other['id']} pass too: are the regions mixed up?"
        put_back(out, {ex["id"] for _, ex in meta.all_exercises(ROOT)})
        result = graded(out)
        assert result["failed"] == 0 and result["score"] == result["max_score"] > 0, \
            result["output"][-4000:]
        assert "all public tests passed" in result["output"]
    finally:
        put_back(out, set())


def test_grade_submissions_writes_one_csv_and_one_json(student, tmp_path):
    """Two students: one hands in the starter code, one the reference solutions.
    Graded in the reference, hidden tests included."""
    subs = tmp_path / "submissions"
    files = [p.relative_to(ROOT) for p in release.region_files(ROOT)]
    for name, source in (("ada", student["dir"]), ("bob", ROOT)):
        for rel in files:
            target = subs / name / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if (source / rel).exists():
                shutil.copy(source / rel, target)
    (subs / "ada" / "lessons" / "tamper").mkdir(parents=True)  # ignored: not an exercise file
    out_dir = tmp_path / "grades"
    csv_path, json_path = out_dir / "grades.csv", out_dir / "grades.json"
    done = course(ROOT, "grade", *LESSONS, "--submissions", subs, "--out-dir", out_dir,
                  "--timeout", 1200, timeout=1500,
                  env={"COURSE_BUILD_DIR": str(tmp_path / "unused")})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    import csv
    rows = {row["student"]: row for row in csv.DictReader(csv_path.open())}
    reports = {r["student"]: r for r in json.loads(json_path.read_text())}
    assert set(rows) == set(reports) == {"ada", "bob"}
    assert rows["bob"]["status"] == "graded" and \
        float(rows["bob"]["score"]) == float(rows["bob"]["max_score"]) > 0, done.stdout
    assert float(rows["ada"]["score"]) == 0 < float(rows["ada"]["max_score"])
    assert reports["bob"]["hidden_run"] and reports["bob"]["hidden_not_run"] == 0
    for _, ex in meta.all_exercises(ROOT):
        assert ex["id"] in rows["ada"]


def processes_under(folder: Path) -> list[str]:
    """Command lines of the running processes that mention `folder`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(folder) in argv:
            found.append(f"{proc.name}: {argv.strip()}")
    return found


@pytest.mark.timeout(2700)
def test_a_partial_release_works_in_a_fresh_clone(tmp_path):
    """`--lessons 01 04`, committed and cloned as a student would: ./course grade
    (the feedback workflow's step) builds what lesson 04's tests run (tcp_client,
    of lesson 03) and fails only exercise tests; ./course demo runs and leaves no
    process behind; ./course test fails only the tests the README names as
    failing until the exercises are solved."""
    made = tmp_path / "release"
    done = course(ROOT, "release", "--out", made, "--lessons", "01", "04", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    git = ["git", "-c", "user.name=course", "-c", "user.email=course@example.invalid",
           "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "release"]):
        subprocess.run([*git, *args], cwd=made, check=True, capture_output=True, timeout=120)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(made), str(clone)], check=True,
                   capture_output=True, timeout=120)
    readme = (clone / "README.md").read_text()
    assert release.README_SECTION in readme
    expected = set(re.findall(r"`(lessons/[^`]+::[^`]+)`", readme.split(release.README_SECTION)[1]))
    assert expected and all("_exercises.py::" in name for name in expected), expected

    # ./course grade on a fresh build, as .github/workflows/feedback.yml runs it
    graded = clone / "feedback.json"
    done = course(clone, "grade", "--json", graded, timeout=1800)
    assert graded.exists(), done.stdout[-4000:] + done.stderr[-4000:]
    result = json.loads(graded.read_text())
    failing = {t["name"] for t in result["tests"] if t["status"] in ("fail", "error")}
    assert failing, "the starter code fails no test?"
    names = {name.split("/", 2)[2] for name in expected}  # as grade names them
    assert failing <= names, \
        f"./course grade fails tests that are not exercise tests: {failing}\n" + done.stdout[-3000:]
    assert any(t["name"] == "test_lesson04.py::test_tcp_client_talks_to_it" and
               t["status"] == "pass" for t in result["tests"]), done.stdout[-3000:]
    summary = subprocess.run([sys.executable, str(clone / release.SUMMARY_SCRIPT), str(graded)],
                             capture_output=True, text=True, timeout=60)
    assert summary.returncode == 0 and "NOT the official grade" in summary.stdout

    done = course(clone, "demo", timeout=1800)
    assert done.returncode == 0 and "both sides exited cleanly" in done.stdout, \
        done.stdout[-4000:] + done.stderr[-4000:]
    assert "$ tcp_client" in done.stdout and "Traceback" not in done.stderr
    assert not processes_under(clone), processes_under(clone)

    done = course(clone, "test", timeout=1800)
    failed = re.findall(r"^\s*failed: (\S+)", done.stdout, re.M)
    unexpected = [f for f in failed if f.split("[")[0] not in expected]
    assert failed and not unexpected, \
        f"./course test fails more than the unsolved exercises' tests: {unexpected}\n" + \
        done.stdout[-5000:]
    assert re.search(r"course: \d+ passed, \d+ failed", done.stdout), done.stdout[-2000:]
    assert not processes_under(clone), processes_under(clone)
