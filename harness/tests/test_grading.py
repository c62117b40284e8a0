"""The grading core: every platform's format against its written schema, points
only for the student's work, a fresh copy per submission, and the sandbox that
keeps a submission's programs away from its grade. (The end-to-end gradings,
through the platforms' own entry points, are in test_autograder_bundles.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

from course_tools import formats, grade, meta, sandbox, submissions  # noqa: E402

LESSON = {"number": "01", "title": "t", "folder": "01-x",
          "exercise": [{"id": "01.1", "title": "ex"}]}


def plan():
    T = meta.TestFn
    return [T("01", "test_l.py::test_own", "", False, 0.0),
            T("01", "test_x.py::test_pub", "01.1", False, 3.0),
            T("01", "test_x.py::test_par", "01.1", False, 3.0),
            T("01", "test_x.py::test_secret", "01.1", True, 2.0,
              rule="an ack carries the datagram's real size"),
            T("01", "test_x.py::test_v6", "01.1", False, 1.0)]


def results(secret="failed"):
    node = "lessons/01-x/"
    return [{"nodeid": node + "test_l.py::test_own", "outcome": "passed", "duration": 0.1},
            {"nodeid": node + "test_x.py::test_pub", "outcome": "failed", "duration": 0.1,
             "message": "sent: b'hi'\nexpected: b'ack 2'\ngot: nothing"},
            {"nodeid": node + "test_x.py::test_par[a]", "outcome": "passed", "duration": 0.1},
            {"nodeid": node + "test_x.py::test_par[b]", "outcome": "failed", "duration": 0.1,
             "message": "no"},
            {"nodeid": node + "test_x.py::test_secret", "outcome": secret, "duration": 0.1,
             "message": "sent b'x' * 70000 to port 4242, expected b'ack 70000'"},
            {"nodeid": node + "test_x.py::test_v6", "outcome": "skipped", "duration": 0.0,
             "message": "the test needs private network namespaces: not root"}]


@pytest.fixture
def result():
    return grade.score(ROOT, [LESSON], plan(), results(), {}, hidden=True)


# ------------------------------------------------------------------ the formats

@pytest.mark.parametrize("fmt", formats.FORMATS)
def test_every_format_validates_against_its_written_schema(result, fmt):
    data = formats.CONVERTERS[fmt](result, env={})
    assert formats.validate(fmt, data) == []


@pytest.mark.parametrize("fmt", ["classroom50", "gradescope", "prairielearn", "json"])
def test_the_schemas_refuse_what_the_platform_would_refuse(result, fmt):
    """The validation can fail: a field removed, a wrong type, a score too high."""
    data = json.loads(formats.render(result, fmt))
    broken = dict(data)
    broken.pop(next(iter(formats.schema(fmt)["required"])))
    assert formats.validate(fmt, broken)
    if fmt == "classroom50":
        assert formats.validate(fmt, dict(data, score=1.5))  # whole points only
        too_high = json.loads(json.dumps(data))
        too_high["tests"][0]["score"] = too_high["tests"][0]["max-score"] + 1
        assert formats.validate(fmt, too_high)
    if fmt == "gradescope":
        wrong = json.loads(json.dumps(data))
        wrong["tests"][0]["visibility"] = "sometimes"
        assert formats.validate(fmt, wrong)
    if fmt == "prairielearn":
        assert formats.validate(fmt, dict(data, score=1.5))


def test_junit_is_refused_when_its_counts_lie(result):
    text = formats.to_junit(result)
    assert formats.validate("junit", text) == []
    assert formats.validate("junit", text.replace('tests="6"', 'tests="7"', 1)) or \
        formats.validate("junit", "<nope")


def test_the_scores_agree_across_formats(result):
    assert result["score"] == pytest.approx(1.5)  # test_par: 3 points, half its cases
    assert result["max_score"] == pytest.approx(8.0)  # test_v6 could not run: left out
    gs = formats.to_gradescope(result)
    pl = formats.to_prairielearn(result)
    c50 = formats.to_classroom50(result, env={})
    assert gs["score"] == pytest.approx(1.5)
    assert pl["score"] == pytest.approx(1.5 / 8)
    assert c50["max-score"] == 8 and c50["score"] == 1  # half of 3 points rounds down


def test_classroom50_takes_its_identity_from_the_runner(result):
    env = {"CLASSROOM": "net101", "ASSIGNMENT": "sockets", "SUBMISSION_TAG": "submit/2026-x",
           "COMMIT_URL": "https://github.com/o/r/commit/1", "RELEASE_URL": "https://r",
           "REVIEW_URL": "https://v", "OWNER": "ada", "ASSIGNMENT_TYPE": "individual"}
    data = formats.to_classroom50(result, env=env)
    assert (data["classroom"], data["assignment"], data["owner"], data["submission"]) == \
        ("net101", "sockets", "ada", "submit/2026-x")
    body = formats.classroom50_body(result, data)
    assert "| test | result | points |" in body and "expected: b'ack 2'" in body


def test_a_hidden_test_says_which_rule_failed_and_never_its_inputs(result):
    for fmt in ("gradescope", "prairielearn", "classroom50", "junit"):
        text = formats.render(result, fmt, env={})
        assert "70000" not in text and "4242" not in text, fmt
        assert "an ack carries the datagram's real size" in text, fmt
    secret = next(t for t in formats.to_gradescope(result)["tests"] if "secret" in t["name"])
    assert secret["visibility"] == "after_published"


def test_a_public_failure_carries_its_report(result):
    public = next(t for t in formats.to_gradescope(result)["tests"] if "test_pub" in t["name"])
    assert "expected: b'ack 2'" in public["output"] and public["visibility"] == "visible"


def test_tests_that_cannot_run_here_are_not_gradable_and_never_zero(result):
    row = next(t for t in result["tests"] if t["name"].endswith("test_v6"))
    assert row["status"] == "not gradable" and "namespaces" in row["message"]
    assert all("test_v6" not in t["name"] for t in formats.to_gradescope(result)["tests"])
    assert "left out of the maximum" in formats.to_prairielearn(result)["output"]


def test_whole_points_add_up_and_never_round_up():
    rows = [{"max_score": 8 / 3, "score": 8 / 3}, {"max_score": 8 / 3, "score": 4 / 3},
            {"max_score": 8 / 3, "score": 0.0}]
    pairs = formats.whole_points(rows)
    assert sum(m for _, m in pairs) == 8
    assert [s for s, _ in pairs][1] <= 1 and pairs[0][0] == pairs[0][1]


# ------------------------------------------------------------------ points only for the student's work

def test_lessons_own_tests_earn_nothing_and_exercise_points_are_whole():
    the_plan = meta.plan(ROOT)
    assert all(t.points == 0 for t in the_plan if not t.exercise)
    for lesson, ex in meta.all_exercises(ROOT):
        mine = [t for t in the_plan if t.exercise == ex["id"]]
        assert sum(t.points for t in mine) == pytest.approx(ex["points"]), ex["id"]
        assert all(float(t.points).is_integer() for t in mine), ex["id"]


def test_regression_checks_are_worth_nothing_and_match_a_test():
    the_plan = meta.plan(ROOT)
    for lesson, ex in meta.all_exercises(ROOT):
        for pattern in ex.get("regression", []):
            matched = [t for t in the_plan if t.exercise == ex["id"]
                       and meta.matches(t.key, [pattern])]
            assert matched, f"{ex['id']}: regression {pattern!r} matches no test"
            assert all(t.regression and t.points == 0 for t in matched)


def test_share_out_is_whole_when_the_budget_is():
    assert meta.share_out(8, 3) == [3.0, 3.0, 2.0]
    assert meta.share_out(6, 3) == [2.0, 2.0, 2.0]
    assert meta.share_out(0, 0) == []


# ------------------------------------------------------------------ a fresh copy per submission

def test_sync_course_restores_every_file_and_keeps_unchanged_ones(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "a").mkdir(parents=True)
    (src / "a" / "test_x.py").write_text("real test\n")
    (src / "course.toml").write_text("[course]\n")
    assert submissions.sync_course(src, dst) == 2
    before = (dst / "course.toml").stat().st_mtime_ns
    (dst / "a" / "test_x.py").write_text("def test_x(): pass  # forged\n")
    (dst / "a" / "conftest.py").write_text("# planted\n")
    assert submissions.sync_course(src, dst) == 2  # one rewritten, one removed
    assert (dst / "a" / "test_x.py").read_text() == "real test\n"
    assert not (dst / "a" / "conftest.py").exists()
    assert (dst / "course.toml").stat().st_mtime_ns == before  # the build stays incremental


def test_only_the_exercise_files_are_taken_from_a_submission(tmp_path):
    course = tmp_path / "course"
    submissions.sync_course(ROOT, course)
    sub = tmp_path / "sub"
    lesson, ex = meta.all_exercises(ROOT)[0]
    rel = meta.exercise_files(ROOT, lesson, ex)[0].relative_to(ROOT)
    (sub / rel).parent.mkdir(parents=True)
    (sub / rel).write_text("// my solution\n")
    (sub / "course.toml").write_text("forged = true\n")
    (sub / "conftest.py").write_text("import os; os._exit(0)\n")
    taken = submissions.take_submission(ROOT, course, sub)
    assert taken[rel.as_posix()] == "submitted"
    assert (course / rel).read_text() == "// my solution\n"
    assert (course / "course.toml").read_bytes() == (ROOT / "course.toml").read_bytes()
    assert (course / "conftest.py").read_bytes() == (ROOT / "conftest.py").read_bytes()
    others = [k for k, v in taken.items() if v != "submitted"]
    assert others and all(v.startswith("starter") for k, v in taken.items() if k in others)


def test_a_single_uploaded_file_is_found_by_its_name(tmp_path):
    lesson, ex = meta.all_exercises(ROOT)[0]
    rel = meta.exercise_files(ROOT, lesson, ex)[0].relative_to(ROOT)
    (tmp_path / rel.name).write_text("// uploaded\n")
    names = [Path(f).name for f in submissions.student_files(ROOT)]
    found = submissions.find_in(tmp_path, rel.as_posix(), {n for n in names
                                                           if names.count(n) == 1})
    assert found == tmp_path / rel.name


# ------------------------------------------------------------------ the sandbox

def test_without_root_the_report_says_the_grade_is_not_isolated(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    box = sandbox.Sandbox.claim()
    assert not box.isolated and "not root" in box.describe()["reason"]
    assert box.run_argv(["pytest"]) == ["pytest"] and box.as_user(["cc"]) == ["cc"]


def test_worker_uids_are_distinct_per_job_and_worker():
    a, b = sandbox.Sandbox(job=0).uid_base, sandbox.Sandbox(job=1).uid_base
    assert b - a == sandbox.UIDS_PER_JOB
    assert {sandbox.worker_uid(a, f"gw{i}") for i in range(sandbox.UIDS_PER_JOB)} == \
        set(range(a, a + sandbox.UIDS_PER_JOB))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to change uid")
def test_a_wrapped_program_runs_as_the_sandbox_user_and_is_killed_after(tmp_path):
    """The wrapper drops to the worker's uid; kill_all ends every process of it,
    also one that detached itself."""
    real = tmp_path / "bin" / "prog"
    real.parent.mkdir()
    real.write_text("#!/bin/sh\nid -u\n(sleep 300 >/dev/null 2>&1 &)\n")
    real.chmod(0o755)
    for folder in (tmp_path, *tmp_path.parents):  # pytest makes them 0700
        os.chmod(folder, os.stat(folder).st_mode | 0o711)
    box = sandbox.Sandbox.claim()
    assert box.isolated, box.reason
    wrapped = box.program_dir(real.parent, {"prog"}, tmp_path / "wrapped")
    uid = box.uid_base
    done = subprocess.run([str(wrapped / "prog")], capture_output=True, text=True, timeout=10,
                          env=dict(os.environ, COURSE_SANDBOX_UID=str(uid)))
    assert done.stdout.split() == [str(uid)], done.stderr
    assert sandbox.processes_of(uid), "the detached sleep should still be running"
    assert sandbox.kill_all(uid) >= 1 and sandbox.processes_of(uid) == []
    refused = subprocess.run([str(wrapped / "prog")], capture_output=True, text=True,
                             timeout=10, env={k: v for k, v in os.environ.items()
                                              if k != "COURSE_SANDBOX_UID"})
    box.release()
    assert refused.returncode == 126 and "COURSE_SANDBOX_UID" in refused.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to isolate")
def test_gradings_side_by_side_never_share_a_uid():
    """Two gradings with the same uids would kill each other's programs and builds
    after every test: each claims a block of its own (a lock held while it runs)."""
    first, second = sandbox.Sandbox.claim(), sandbox.Sandbox.claim()
    try:
        assert first.isolated and second.isolated
        assert first.uid_base != second.uid_base
        blocks = {first.job, second.job}
    finally:
        first.release()
    third = sandbox.Sandbox.claim()
    try:
        assert third.job in blocks - {second.job}  # a released block is used again
    finally:
        second.release()
        third.release()


def test_junit_marks_not_gradable_as_skipped(result):
    suites = ET.fromstring(formats.to_junit(result))
    assert len(suites.findall(".//skipped")) == 1
    assert len(suites.findall(".//failure")) == 3


# ------------------------------------------------------------------ the bundles' shape

def test_gradescope_zip_has_its_two_scripts_at_the_root(tmp_path):
    import zipfile
    from course_tools import bundles
    bundles.make_bundle(ROOT, "gradescope", tmp_path / "gs")
    hidden = next(t for t in meta.plan(ROOT) if t.hidden)
    folder = next(lesson["folder"] for lesson in meta.lessons(ROOT)
                  if lesson["number"] == hidden.lesson)
    with zipfile.ZipFile(tmp_path / "gs" / "autograder.zip") as z:
        names = set(z.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
        test_file = z.read(f"course/lessons/{folder}/{hidden.key.split('::')[0]}").decode()
    assert {"setup.sh", "run_autograder", "course/course.toml"} <= names
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert f"def {hidden.name}" in test_file  # the hidden tests travel with the grader
    run_script = (tmp_path / "gs" / "run_autograder").read_text()
    assert '--submission "$AG/submission"' in run_script
    assert '"$AG/results/results.json"' in run_script


def test_classroom50_bundle_has_its_entry_and_stays_under_the_limit(tmp_path):
    from course_tools import bundles
    bundles.make_bundle(ROOT, "classroom50", tmp_path / "c50")
    entry = (tmp_path / "c50" / "autograder.py").read_text()
    assert "CLASSROOM50_BUNDLE_DIR" in entry and '"result.json"' in entry
    compile(entry, "autograder.py", "exec")
    assert bundles.size_of(tmp_path / "c50") < 3 * bundles.CLASSROOM50_LIMIT


def test_prairielearn_bundle_has_one_externally_graded_question_per_exercise(tmp_path):
    from course_tools import bundles
    bundles.make_bundle(ROOT, "prairielearn", tmp_path / "pl")
    infos = sorted((tmp_path / "pl" / "questions").rglob("info.json"))
    assert len(infos) == len(meta.all_exercises(ROOT))
    uuids = set()
    for path in infos:
        info = json.loads(path.read_text())
        options = info["externalGradingOptions"]
        assert info["gradingMethod"] == "External" and options["enabled"] is True
        assert options["timeout"] <= 600 and options["serverFilesCourse"] == ["socket_lessons/"]
        assert options["entrypoint"] == "/grade/serverFilesCourse/socket_lessons/run.sh"
        assert (path.parent / "tests" / "exercise").read_text().strip() in \
            {ex["id"] for _, ex in meta.all_exercises(ROOT)}
        uuids.add(info["uuid"])
    assert len(uuids) == len(infos)
    run_sh = tmp_path / "pl" / "serverFilesCourse" / "socket_lessons" / "run.sh"
    assert os.access(run_sh, os.X_OK) and "/grade/results/results.json" in run_sh.read_text()
    assert (tmp_path / "pl" / "image" / "Dockerfile").read_text().startswith("# The image")
