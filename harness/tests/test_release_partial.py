"""`./course release --lessons ...` (fast checks; the end-to-end run of a partial
release in a fresh clone is test_release.py's slow test):

  * it brings the programs of other lessons that the released lessons' tests and
    demos run, as plain programs (no exercise, no test), and course.toml lists
    the released lessons only;
  * the harness tests that need an absent lesson are deselected there;
  * the leak check reads every file of a release, also those copied unchanged
    (a solution line pasted into a docs page or a Python twin is found);
  * the feedback workflow's summary says plainly that it is not the grade.
Not shipped to students (release.ALWAYS_EXCLUDED: harness/tests/test_release*.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

from course_tools import meta, release  # noqa: E402

LESSON = {lesson["number"]: lesson for lesson in meta.lessons(ROOT)}


def copy_of_the_course(where: Path) -> Path:
    """The reference without its builds and history: a course to break on purpose."""
    copy = where / "course"
    shutil.copytree(ROOT, copy, symlinks=True, ignore=shutil.ignore_patterns(
        "build", "build-*", ".git", "site", "__pycache__", ".pytest_cache", ".course-state.json"))
    return copy


@pytest.fixture(scope="module")
def partial(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("partial") / "student"
    summary = release.make_release(ROOT, out, ["01", "04"])
    assert summary["lessons"] == ["01", "04"]
    return out


# ------------------------------------------------------------------ what comes along

def test_the_programs_a_lesson_uses_are_read_from_its_tests_and_demo():
    used = release.programs_used(ROOT, LESSON["04"])
    assert {"tcp_echo_server", "tcp_client", "upper_echo_server"} <= used
    assert release.programs_used(ROOT, LESSON["01"]) & {"tcp_client", "tcp_echo_server"} == set()
    helpers = release.support(ROOT, meta.load(ROOT), [LESSON["01"], LESSON["04"]])
    assert {f: sorted(e["programs"]) for f, e in helpers.items()} == \
        {"03-tcp-client": ["tcp_client"]}


def test_a_partial_release_brings_the_programs_its_tests_use_without_their_lesson(partial):
    folder = partial / "lessons" / "03-tcp-client"
    shipped = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert shipped == ["CMakeLists.txt", "python/tcp_client.py", "tcp_client.cpp"], shipped
    cmake = (folder / "CMakeLists.txt").read_text()
    assert "course_program(tcp_client tcp_client.cpp)" in cmake
    assert "gbk_server" not in cmake and "course_lesson_tests" not in cmake
    assert (folder / "tcp_client.cpp").read_bytes() == \
        (ROOT / "lessons/03-tcp-client/tcp_client.cpp").read_bytes()
    # ./course check 04 and grade build lesson 04's targets: they bring tcp_client along
    assert "add_dependencies(tcp_echo_server tcp_client)" in \
        (partial / "lessons/04-tcp-echo-server/CMakeLists.txt").read_text()
    assert {p.name for p in (partial / "lessons").iterdir()} == \
        {"01-udp-sendto-recvfrom", "03-tcp-client", "04-tcp-echo-server"}
    manifest = json.loads((partial / meta.RELEASE_MANIFEST).read_text())
    assert manifest["lessons"] == ["01", "04"] and manifest["support"] == {"03": ["tcp_client"]}
    assert "tcp_client" not in manifest["absent"]["programs"]
    assert "gbk_server" in manifest["absent"]["programs"]
    assert {t["lesson"] for t in manifest["plan"]} == {"01", "04"}


def test_course_toml_lists_the_released_lessons_only(partial):
    course = meta.load(partial)
    assert [lesson["number"] for lesson in course["lesson"]] == ["01", "04"]
    assert [lesson["number"] for lesson in meta.lessons(partial)] == ["01", "04"]
    assert course["course"]["demo_lesson"] == "04"
    reference = meta.load(ROOT)
    for lesson in course["lesson"]:
        assert lesson == next(r for r in reference["lesson"] if r["number"] == lesson["number"])
    text = (partial / "course.toml").read_text()
    assert text.startswith("# ./course release: the student release of lessons 01 04.")
    assert "03.1" not in text and "gbk_server" not in text


def test_the_demo_lesson_is_a_released_one(tmp_path):
    out = tmp_path / "student"
    release.make_release(ROOT, out, ["02"])
    assert meta.load(out)["course"]["demo_lesson"] == "02"


def test_trimming_course_toml_keeps_comments_and_multiline_strings():
    text = ('# top\n[course]\ndemo_lesson = "02"\n\n[[lesson]]\nnumber = "01"\n'
            'description = """\n[not a table]\n"""\n[lesson.demo]\nserver = ["a"]\n\n'
            '# about lesson 02\n[[lesson]]\nnumber = "02"\n[[lesson.exercise]]\nid = "02.1"\n'
            '\n[release]\nexclude = ["x"]\n')
    trimmed = release.trim_course_toml(text, {"01"}, "01", "note")
    assert trimmed.startswith("# note\n\n# top\n")
    assert '[not a table]' in trimmed and 'server = ["a"]' in trimmed
    assert "02" not in trimmed.replace('demo_lesson = "01"', "")
    assert "about lesson 02" not in trimmed and '[release]\nexclude = ["x"]' in trimmed


def test_a_lesson_whose_tests_run_an_exercise_of_an_absent_lesson_is_refused(tmp_path):
    course = copy_of_the_course(tmp_path)
    test = course / "lessons/04-tcp-echo-server/test_lesson04.py"
    test.write_text(test.read_text() + '\n\ndef test_gbk(run):\n    run("gbk_server", "--help")\n')
    with pytest.raises(ValueError, match="gbk_server, an exercise of lesson 03"):
        release.make_release(course, tmp_path / "student", ["04"])


# ------------------------------------------------------------------ harness tests of absent lessons

def test_harness_tests_of_absent_lessons_are_deselected_not_skipped(partial):
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-m", "not slow", "harness/tests"], cwd=partial,
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, COURSE_BIN_DIR=str(partial / "build" / "bin")))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    assert "deselected" in done.stdout.splitlines()[-1], done.stdout[-500:]
    bad_input = [c for c in collected if "test_bad_input.py::test_server_survives[" in c]
    assert bad_input and all(c.split("[")[1].startswith(("udp_receiver-", "tcp_echo_server-"))
                             for c in bad_input), bad_input
    pages = [c for c in collected if "test_lesson_page_follows_the_template[" in c]
    assert sorted(pages) == [f"harness/tests/test_site.py::"
                             f"test_lesson_page_follows_the_template[{n}]" for n in ("01", "04")]
    assert not any("test_every_snippet_include_exists" in c for c in collected)
    assert any("test_course_list_runs" in c for c in collected)  # the rest still runs
    reference = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m",
                                "not slow", "harness/tests/test_bad_input.py"], cwd=ROOT,
                               capture_output=True, text=True, timeout=120)
    assert "deselected" not in reference.stdout.splitlines()[-1], reference.stdout[-500:]


def test_what_makes_a_harness_test_need_an_absent_lesson():
    absent = {"lessons": ["02"], "folders": ["02-udp-echo"], "programs": ["udp_echo_server"]}
    needs = release.needs_absent
    assert "udp_echo_server" in needs("t.py::t", ["build/bin/udp_echo_server --port 1"], absent)
    assert "02-udp-echo" in needs("t.py::t", ["docs/lessons/02-udp-echo.md"], absent)
    assert "lesson 02" in needs("t.py::t", ["./course run 2"], absent)
    assert needs("t.py::t", ["udp_echo_server_x", "./course run 04", "tcp_echo_server"],
                 absent) is None
    whole = next(iter(release.WHOLE_COURSE_CHECKS))
    assert needs(whole, [], absent)


def test_a_full_release_deselects_nothing(tmp_path):
    out = tmp_path / "student"
    release.make_release(ROOT, out)
    assert not (out / release.HARNESS_CONFTEST).exists()
    assert release.absent_of(out) is None


# ------------------------------------------------------------------ the leak check

def test_the_leak_check_reads_files_copied_unchanged(tmp_path):
    """A solution line pasted into the reference's docs page (in a sentence) and
    Python twin (as a comment), files the release copies unchanged, and a hidden
    test's line pasted into a docs page: the leak check finds all three, and
    ./course release refuses."""
    course = copy_of_the_course(tmp_path)
    solution = 'return "#" + std::to_string(number) + " " + payload;'
    assert solution in (course / "lessons/02-udp-echo/udp_numbered_echo.cpp").read_text()
    hidden = [t for t in meta.plan(course) if t.lesson == "02" and t.hidden][0]
    test_file = course / "lessons/02-udp-echo" / hidden.key.split("::")[0]
    hidden_line = test_file.read_text().splitlines()[hidden.line - 1].strip()
    assert hidden_line.startswith("def ") and hidden.name in hidden_line, hidden_line
    page = course / "docs/lessons/02-udp-echo.md"
    twin = course / "lessons/02-udp-echo/python/udp_echo_server.py"
    page.write_text(page.read_text() + f"\nThe answer is `{solution}`\n\n    {hidden_line}\n")
    twin.write_text(twin.read_text() + f"\n    # C++: {solution}\n")
    out = tmp_path / "student"
    release.make_release(course, out, ["02"])
    found = release.leaks(course, out)
    where = sorted(f.split(":")[0] for f in found)
    assert where == ["docs/lessons/02-udp-echo.md", "docs/lessons/02-udp-echo.md",
                     "lessons/02-udp-echo/python/udp_echo_server.py"], found
    assert sum("udp_numbered_echo.cpp (02.1)" in f for f in found) == 2
    assert sum("a hidden test" in f for f in found) == 1
    done = subprocess.run([sys.executable, str(course / "course"), "release", "--out",
                           tmp_path / "again", "--lessons", "02"], cwd=course, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, NO_COLOR="1"))
    assert done.returncode != 0 and "solution lines are in the release" in done.stderr, \
        done.stdout + done.stderr


def test_the_secrets_are_not_the_course_idiom():
    secret = release.secrets(ROOT)
    assert 'return "#" + std::to_string(number) + " " + payload;' in secret
    for idiom in ("} catch (const std::system_error& e) {", "return std::nullopt;", "}", "break;"):
        assert idiom not in secret, idiom
    hidden = [t for t in meta.plan(ROOT) if t.hidden]
    assert any(f"def {t.name.split('::')[-1]}(" in line for t in hidden for line in secret)
    assert not any(line.startswith("@pytest.mark") for line in secret)


# ------------------------------------------------------------------ the feedback summary

def test_the_feedback_summary_is_a_score_table_that_says_it_is_not_the_grade(tmp_path):
    result = {"version": 1, "score": 3, "max_score": 8, "passed": 2, "failed": 1, "lessons": [
        {"number": "01", "title": "UDP", "score": 3, "max_score": 8, "exercises": [
            {"id": "01.1", "title": "Ack | all", "score": 3, "max_score": 8}]}],
        "tests": [
            {"lesson": "01", "exercise": "", "name": "test_l.py::test_own", "hidden": False,
             "status": "pass", "score": 0, "max_score": 0, "message": ""},
            {"lesson": "01", "exercise": "01.1", "name": "test_x.py::test_a", "hidden": False,
             "status": "pass", "score": 3, "max_score": 3, "message": ""},
            {"lesson": "01", "exercise": "01.1", "name": "test_x.py::test_b", "hidden": False,
             "status": "fail", "score": 0, "max_score": 5, "message": "sent b'hi'\ngot ```x```"},
            {"lesson": "01", "exercise": "01.1", "name": "(hidden test 4)", "hidden": True,
             "status": "not run", "score": 0, "max_score": 2, "message": ""}]}
    (tmp_path / "grade.json").write_text(json.dumps(result))
    script = tmp_path / "feedback_summary.py"
    script.write_text(release.FEEDBACK_SUMMARY)
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "grade.json")],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "NOT the official grade" in text and "hidden tests" in text
    assert "| 01 UDP | 01.1 Ack \\| all | 3 / 8 | 1 / 2 |" in text, text
    assert "| 01 UDP | the lesson's own tests | 0 / 0 | 1 / 1 |" in text, text
    assert "test_x.py::test_b" in text and "sent b'hi'" in text
    missing = subprocess.run([sys.executable, str(script), str(tmp_path / "none.json")],
                             capture_output=True, text=True, timeout=30)
    assert missing.returncode == 0 and "NOT the official grade" in missing.stdout
    assert "wrote no score table" in missing.stdout
