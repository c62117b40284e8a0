"""The exercise machinery (harness/course_tools), fast checks: the metadata is
sound, the solution regions parse and stub, a release holds no solution line and
no hidden test, the grader's arithmetic and formats, the docs hook. The slow
end-to-end checks (build the release, grade it, restore the solutions) are in
test_release.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

from course_tools import grade, meta, regions, release, student  # noqa: E402

COURSE = ["sh", str(ROOT / "course")]  # a launcher that picks the python3


def course(*args, cwd=ROOT, **kwargs):
    return subprocess.run([*COURSE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, NO_COLOR="1"), **kwargs)


# ------------------------------------------------------------------ metadata

def test_exercise_metadata_is_sound():
    problems = meta.problems(ROOT)
    assert not problems, "course.toml's exercises:\n  " + "\n  ".join(problems)


def test_every_solution_region_belongs_to_a_known_exercise():
    known = {ex["id"] for _, ex in meta.all_exercises(ROOT)}
    ids = release.default_ids(ROOT)
    problems = []
    for path in release.region_files(ROOT):
        try:
            found = regions.parse_text(path.read_text(encoding="utf-8"),
                                       ids.get(path.resolve(), ""), str(path))
        except ValueError as error:
            problems.append(str(error))
            continue
        problems += [f"{path.relative_to(ROOT)}: region of unknown exercise {r.exercise}"
                     for r in found if r.exercise not in known]
    assert not problems, "\n".join(problems)


def test_points_add_up_per_exercise():
    the_plan = meta.plan(ROOT)
    for lesson, ex in meta.all_exercises(ROOT):
        if ex.get("test_points"):
            continue
        total = sum(t.points for t in the_plan if t.exercise == ex["id"])
        assert total == pytest.approx(ex["points"]), \
            f"exercise {ex['id']}: its tests' points add up to {total}, course.toml says " \
            f"{ex['points']}"


# ------------------------------------------------------------------ regions

CPP = """int f(int x) {
    // BEGIN SOLUTION 02.1
    return x * 2;  // the answer
    // BEGIN STUB
    // static_cast<void>(x);
    // // a note for the student
    // return 0;
    // END STUB
    // END SOLUTION
}
int g() {
    // BEGIN SOLUTION 02.2
    return 7;
    // END SOLUTION
}
"""


def test_a_region_becomes_its_stub_with_a_todo_line():
    out = regions.render(CPP, set(), {"02.1": "Double it"})
    assert "return x * 2" not in out and "return 7" not in out
    assert "    // TODO(exercise 02.1): Double it -- see ./course hint 02.1\n" \
           "    static_cast<void>(x);\n    // a note for the student\n    return 0;\n" in out
    assert "    // TODO(exercise 02.2) -- see ./course hint 02.2\n}" in out
    assert "BEGIN" not in out and "END" not in out


def test_a_kept_region_is_the_solution_without_markers():
    out = regions.render(CPP, {"02.1"})
    assert "    return x * 2;  // the answer\n}" in out
    assert "static_cast" not in out and "TODO(exercise 02.2)" in out


def test_python_regions_work_the_same():
    text = "def f():\n    # BEGIN SOLUTION\n    return 1\n    # BEGIN STUB\n    # return None\n" \
           "    # END STUB\n    # END SOLUTION\n"
    assert regions.render(text, set(), default_id="03.1") == \
        "def f():\n    # TODO(exercise 03.1) -- see ./course hint 03.1\n    return None\n"


@pytest.mark.parametrize("text", [
    "// BEGIN SOLUTION 01.1\nx\n",                       # never ended
    "// END SOLUTION\n",                                 # never begun
    "// BEGIN SOLUTION 01.1\n// BEGIN SOLUTION 01.1\n",  # nested
    "// BEGIN SOLUTION\nx\n// END SOLUTION\n",           # no id, none to infer
])
def test_broken_markers_are_reported_with_their_line(text):
    with pytest.raises(ValueError, match=r":\d+: "):
        regions.parse_text(text, "", "f.cpp")


# ------------------------------------------------------------------ the release

@pytest.fixture(scope="module")
def release_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "student"
    release.make_release(ROOT, out)
    return out


def test_release_has_no_solution_text(release_dir):
    leaks = release.leaks(ROOT, release_dir)
    assert not leaks, "solution lines in the release:\n" + "\n".join(leaks[:20])


def test_the_leak_check_finds_a_solution_line_put_into_the_release(release_dir, tmp_path):
    """The leak check can fail: a solution line pasted into a stubbed file, or into
    a file that is otherwise copied unchanged, is found in both."""
    import shutil
    copy = tmp_path / "student"
    shutil.copytree(release_dir, copy, symlinks=True)
    stubbed = copy / "lessons/02-udp-echo/udp_numbered_echo.cpp"
    unchanged = copy / "lessons/02-udp-echo/udp_echo_server.cpp"
    line = '    return "#" + std::to_string(number) + " " + payload;\n'
    for path in (stubbed, unchanged):
        path.write_text(path.read_text(encoding="utf-8") + line, encoding="utf-8")
    found = release.leaks(ROOT, copy)
    assert len(found) == 2 and all("udp_numbered_echo.cpp (02.1)" in f for f in found), found


def test_release_has_no_hidden_tests(release_dir):
    hidden = [t for t in meta.plan(ROOT) if t.hidden]
    names = {t.name.split("::")[-1] for t in hidden}
    problems = []
    for path in release_dir.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        problems += [f"{path.relative_to(release_dir)}: {name}" for name in names
                     if re.search(rf"\b{re.escape(name)}\b", text)]
        if "mark.hidden" in text and path.name.startswith("test_"):
            problems.append(f"{path.relative_to(release_dir)}: still has a hidden test")
    assert not problems, "hidden tests in the release:\n" + "\n".join(problems)
    shipped = json.loads((release_dir / meta.RELEASE_MANIFEST).read_text())["plan"]
    assert sum(t["hidden"] for t in shipped) == len(hidden)
    assert not any(t["key"] in {h.key for h in hidden} for t in shipped)


def test_release_has_no_answer_keys_or_build_output(release_dir):
    bad = [p.relative_to(release_dir).as_posix() for p in release_dir.rglob("*")
           if release.excluded(p.relative_to(release_dir).as_posix(), [
               "build*", ".git", ".git/*", "site/*", "*/solutions/*", "*_hidden.py",
               "harness/tests/test_release*.py", "harness/tests/test_exercise_tools*.py",
               ".course-state.json"])]
    assert not bad, bad
    assert not list(release_dir.rglob("*.solution.*"))


def test_release_keeps_the_starter_files_and_a_feedback_workflow(release_dir):
    for lesson, ex in meta.all_exercises(ROOT):
        for path in meta.exercise_files(ROOT, lesson, ex):
            rel = path.relative_to(ROOT)
            assert (release_dir / release.STARTER / rel).read_text() == \
                (release_dir / rel).read_text()
            assert f"TODO(exercise {ex['id']})" in (release_dir / rel).read_text()
    assert not (release_dir / ".github/workflows/classroom.yml").exists()
    workflow = (release_dir / release.WORKFLOW).read_text()
    yaml = pytest.importorskip("yaml")  # python3-yaml (mkdocs' dependency)
    data = yaml.safe_load(workflow)
    assert data["name"] == "Feedback" and "push" in data[True]  # YAML 1.1 reads `on` as True
    (job,) = data["jobs"].values()
    assert "not the official grade" in job["name"]
    runs = [step.get("run", "") for step in job["steps"]]
    install = next(run for run in runs if "apt-get install" in run)
    for tool in ("g++", "cmake", "python3-pytest", "iproute2"):
        assert f" {tool}" in install, install
    for site_tool in ("mkdocs", "python3-pymdownx", "./course setup"):
        assert site_tool not in workflow, f"the feedback workflow installs {site_tool}"
    grade_step = next(step for step in job["steps"] if "./course grade" in step.get("run", ""))
    summary = job["steps"][-1]
    assert summary["if"] == "always()" and '>> "$GITHUB_STEP_SUMMARY"' in summary["run"]
    assert job["steps"].index(grade_step) < len(job["steps"]) - 1
    assert (release_dir / release.SUMMARY_SCRIPT).is_file()
    assert "not the official grade" in (release_dir / "README.md").read_text()


def test_release_refuses_a_folder_inside_the_course():
    with pytest.raises(ValueError):
        release.make_release(ROOT, ROOT / "lessons" / "student")


def test_strip_hidden_removes_decorated_tests_only():
    text = ("import pytest\n\n\ndef test_a():\n    pass\n\n\n@pytest.mark.hidden\n"
            "def test_b():\n    assert 1\n\n\nclass TestC:\n    @pytest.mark.hidden\n"
            "    def test_d(self):\n        pass\n\n    def test_e(self):\n        pass\n")
    out = release.strip_hidden(text, set(), "t.py")
    assert "test_a" in out and "test_e" in out
    assert "test_b" not in out and "test_d" not in out and "hidden" not in out
    compile(out, "t.py", "exec")
    assert release.strip_hidden("import pytest\npytestmark = pytest.mark.hidden\n", set(),
                                "t.py") is None


# ------------------------------------------------------------------ grading arithmetic

def fake_plan():
    T = meta.TestFn
    return [T("01", "test_l.py::test_own", "", False, 1.0),
            T("01", "test_x.py::test_pub", "01.1", False, 2.0),
            T("01", "test_x.py::test_par", "01.1", False, 2.0),
            T("01", "test_x.py::test_secret", "01.1", True, 4.0)]


LESSON = {"number": "01", "title": "t", "folder": "01-x",
          "exercise": [{"id": "01.1", "title": "ex"}]}


def fake_results():
    node = "lessons/01-x/"
    return [{"nodeid": node + "test_l.py::test_own", "outcome": "passed", "duration": 0.1},
            {"nodeid": node + "test_x.py::test_pub", "outcome": "failed", "duration": 0.1,
             "message": "sent: b'hi'\nexpected: b'ack 2'\ngot: nothing"},
            {"nodeid": node + "test_x.py::test_par[a]", "outcome": "passed", "duration": 0.1},
            {"nodeid": node + "test_x.py::test_par[b]", "outcome": "failed", "duration": 0.1,
             "message": "no"}]


def test_scores_are_the_sum_of_per_test_scores_and_hidden_are_counted_not_run():
    result = grade.score(ROOT, [LESSON], fake_plan(), fake_results(), {}, hidden=False)
    assert result["score"] == pytest.approx(2.0)   # 1 + 0 + 2 * 1/2
    assert result["max_score"] == pytest.approx(5.0)
    assert result["score"] == pytest.approx(sum(t["score"] for t in result["tests"]))
    assert result["hidden_not_run"] == 1 and result["hidden_points_not_run"] == 4
    assert "hidden tests not run" in grade.summary_line(result)
    assert "all" not in grade.summary_line(result)
    failed = next(t for t in result["tests"] if t["name"].endswith("test_pub"))
    assert "expected: b'ack 2'" in failed["message"]


def test_all_public_passing_says_so_and_never_all_passed():
    results = [dict(r, outcome="passed") for r in fake_results()]
    result = grade.score(ROOT, [LESSON], fake_plan(), results, {}, hidden=False)
    assert grade.summary_line(result).startswith(
        "all public tests passed (1 hidden tests not run")


def test_a_lesson_that_did_not_build_fails_its_tests_with_the_compiler_errors():
    broken = {"01": {"udp_ack_receiver": "x.cpp:3:5: error: expected ';'"}}
    result = grade.score(ROOT, [LESSON], fake_plan(), [], broken, hidden=True)
    assert result["score"] == 0 and result["failed"] == 4
    assert all("error: expected ';'" in t["message"] for t in result["tests"])


# ------------------------------------------------------------------ the student's commands

def test_hint_shows_every_exercise_and_its_hints():
    for lesson, ex in meta.all_exercises(ROOT):
        text = student.hint(ROOT, ex["id"])
        assert ex["title"] in text
        for hint in ex.get("hints", []):
            assert hint.split()[0] in text
        assert ex["title"] in student.hint(ROOT, lesson["number"])
    with pytest.raises(KeyError):
        student.hint(ROOT, "99")


def test_hint_and_list_commands():
    exercises = meta.all_exercises(ROOT)
    if exercises:
        done = course("hint", exercises[0][1]["id"])
        assert done.returncode == 0 and exercises[0][1]["title"] in done.stdout, done.stderr
    listing = course("list")
    assert listing.returncode == 0, listing.stderr
    for _, ex in exercises:
        assert ex["id"] in listing.stdout


def test_reset_refuses_in_the_reference():
    exercises = meta.all_exercises(ROOT)
    if exercises:
        done = course("reset", exercises[0][1]["id"])
        assert done.returncode == 2 and "student release" in done.stderr


def test_watch_notices_a_saved_file(tmp_path):
    (tmp_path / "a.cpp").write_text("x")
    changes = student.Changes([tmp_path])
    try:
        assert not changes.changed()
        (tmp_path / "a.cpp").write_text("yy")
        os.utime(tmp_path / "a.cpp", (1, 1))  # the poll must see it even without inotify
        assert changes.changed()
        assert not changes.changed()
    finally:
        changes.close()


# ------------------------------------------------------------------ the docs

LESSON_PAGES = sorted((ROOT / "docs" / "lessons").glob("[0-9][0-9]-*.md"))


def hook():
    import importlib.util
    spec = importlib.util.spec_from_file_location("exercises_hook",
                                                  ROOT / "docs" / "hooks" / "exercises.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mkdocs_runs_the_exercises_hook():
    assert "docs/hooks/exercises.py" in (ROOT / "mkdocs.yml").read_text()
    assert "instructors.md" in (ROOT / "mkdocs.yml").read_text()


@pytest.mark.parametrize("page", LESSON_PAGES, ids=[p.stem[:2] for p in LESSON_PAGES])
def test_lesson_page_exercises_come_from_course_toml(page):
    """The Exercises section, as the site shows it, lists exactly course.toml's exercises."""
    lessons = {lesson["folder"]: lesson for lesson in meta.lessons(ROOT)}
    lesson = lessons.get(page.stem)
    if lesson is None:
        pytest.fail(f"{page.name}: no [[lesson]] with folder {page.stem!r} in course.toml",
                    pytrace=False)
    text = page.read_text(encoding="utf-8")
    fake = types.SimpleNamespace(file=types.SimpleNamespace(src_uri=f"lessons/{page.name}"))
    shown = hook().on_page_markdown(text, fake, None, None)
    section = re.search(r"^## Exercises\s*\n(.*?)(?=^## |\Z)", shown, re.M | re.S)
    assert section, f"{page.name} has no '## Exercises' section"
    listed = re.findall(r"^### Exercise (\d\d\.\d+): (.*)$", section.group(1), re.M)
    expected = [(ex["id"], ex["title"]) for ex in meta.exercises(lesson)]
    assert listed == expected, (
        f"{page.name}: the Exercises section shows {listed}, course.toml has {expected}. "
        f"Put the marker <!-- exercises --> under '## Exercises' and let the hook write it.")
    if meta.exercises(lesson):
        assert "<!-- exercises -->" in text, \
            f"{page.name}: put <!-- exercises --> under '## Exercises'"
