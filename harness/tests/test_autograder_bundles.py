"""Grading end to end, through the platforms' own entry points.

From an instructor's course (lessons 01 and 02, to keep it short) this makes a
student release and three submissions, then grades each one through the
Gradescope bundle's setup.sh and run_autograder (in a simulated /autograder
layout under a temporary root) and through the Classroom 50 autograder.py (as
its runner calls it, in the student's checkout):

  * the untouched starter code scores 0;
  * a submission with two exercises honestly solved scores exactly their points;
  * a cheater scores no more than the one exercise it solved honestly. It edits
    the tests, conftest.py, course.toml and .course/release.json, hard-codes a
    public test's output, and ships a program that tries to rewrite the report,
    to rewrite the tests and to signal the grader's processes.

Every result must validate against its platform's written schema.
Slow (a build of common/ and two lessons, then six gradings): CI's slow step."""

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

from course_tools import formats, meta, release, submissions  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
KEEP = ("01", "02")
HONEST = {"01.1", "02.1"}

ATTACK = r'''// A submission that attacks its grader instead of solving exercise 01.2.
#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

static std::ofstream journal("/tmp/course-cheat-journal.txt", std::ios::app);

static void note(const std::string& what, bool worked) {
  journal << (worked ? "WORKED " : "refused ") << what << " (" << std::strerror(errno) << ")\n";
}

int main() {
  // 1. Signal every process we can see, the grader's pytest among them.
  if (DIR* proc = opendir("/proc")) {
    while (dirent* entry = readdir(proc)) {
      int pid = std::atoi(entry->d_name);
      if (pid <= 1 || pid == getpid()) continue;
      std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
      std::stringstream text;
      text << cmdline.rdbuf();
      std::string args = text.str();
      for (char& c : args) if (c == '\0') c = ' ';
      if (args.find("pytest") != std::string::npos) {
        errno = 0;
        note("SIGSTOP to pytest " + std::to_string(pid), kill(pid, SIGSTOP) == 0);
      }
      // 2. Find the report and write a perfect score into it.
      auto at = args.find("--course-report=");
      if (at != std::string::npos) {
        std::string path = args.substr(at + 16, args.find(' ', at) - at - 16);
        errno = 0;
        std::ofstream forged(path);
        forged << "[]";
        note("rewrite report " + path, bool(forged));
      }
    }
    closedir(proc);
  }
  // 3. Rewrite the tests next to the program (bin/../../course/lessons/...).
  char self[4096] = {};
  if (readlink("/proc/self/exe", self, sizeof self - 1) > 0) {
    std::string bin(self);
    std::string job = bin.substr(0, bin.rfind("/build/"));
    std::string test = job + "/course/lessons/01-udp-sendto-recvfrom/test_lesson01_exercises.py";
    errno = 0;
    std::ofstream rewritten(test, std::ios::app);
    rewritten << "\ndef test_forged(): pass\n";
    note("append to " + test, bool(rewritten));
  }
  // 4. Hard-code what a public test wants to read.
  std::cout << "total: 2 datagrams, 10 bytes, 0 truncated" << std::endl;
  return 0;
}
'''


def run(*argv, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=kwargs.pop("timeout", 1500), **kwargs)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def points(ids) -> float:
    return sum(ex["points"] for _, ex in meta.all_exercises(ROOT) if ex["id"] in ids)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> dict:
    if os.geteuid() != 0:
        pytest.skip("grading that a submission cannot forge needs root (CI runs as root)")
    top = tmp_path_factory.mktemp("grading")
    os.chmod(top, 0o755)
    instructor = top / "instructor"
    submissions.sync_course(ROOT, instructor)
    for folder in (instructor / "lessons").iterdir():
        if folder.name[:2] not in KEEP:
            shutil.rmtree(folder)
    rel = top / "release"
    run("sh", instructor / "course", "release", "--out", rel, cwd=instructor)
    subs = {"starter": top / "subs" / "starter", "honest": top / "subs" / "honest",
            "cheater": top / "subs" / "cheater"}
    for path in subs.values():
        shutil.copytree(rel, path, ignore=shutil.ignore_patterns("build"))
    for name, keep in (("honest", HONEST), ("cheater", {"01.1"})):
        for source in release.region_files(instructor):
            target = subs[name] / source.relative_to(instructor)
            target.write_text(release.render_file(instructor, source, keep))
    cheat = subs["cheater"]
    (cheat / "lessons/01-udp-sendto-recvfrom/udp_tally_receiver.cpp").write_text(ATTACK)
    for test in cheat.glob("lessons/*/test_*.py"):
        test.write_text("def test_everything_passes():\n    pass\n")
    (cheat / "conftest.py").write_text("import os\nos._exit(0)\n")
    toml = cheat / "course.toml"
    toml.write_text(toml.read_text().replace("points = ", "points = 1000 + "))
    manifest = cheat / meta.RELEASE_MANIFEST
    plan = json.loads(manifest.read_text())
    for t in plan["plan"]:
        t["points"] = 1000.0
    manifest.write_text(json.dumps(plan))
    return {"top": top, "instructor": instructor, "subs": subs}


def expected(name: str, score: float) -> None:
    if name == "starter":
        assert score == 0, "the untouched starter code must score 0"
    elif name == "honest":
        assert score == pytest.approx(points(HONEST)), "two exercises solved: their points"
    else:
        assert score <= points({"01.1"}), "the cheater got more than its honest part"


@pytest.fixture(scope="module")
def gradescope(course) -> dict:
    ag = course["top"] / "autograder"
    run("sh", course["instructor"] / "course", "autograder", "--platform", "gradescope",
        "--out", ag / "source", cwd=course["instructor"])
    env = dict(os.environ, AUTOGRADER_ROOT=str(ag))
    run("bash", ag / "source" / "setup.sh", env=env)  # packages present: apt is skipped
    graded = {}
    for name, sub in course["subs"].items():
        Path("/tmp/course-cheat-journal.txt").unlink(missing_ok=True)
        shutil.rmtree(ag / "submission", ignore_errors=True)
        shutil.rmtree(ag / "results", ignore_errors=True)
        shutil.copytree(sub, ag / "submission")
        done = run("bash", ag / "source" / "run_autograder", env=env)
        graded[name] = {"data": json.loads((ag / "results" / "results.json").read_text()),
                        "log": done.stdout + done.stderr}
        if name == "cheater":
            journal = Path("/tmp/course-cheat-journal.txt")
            graded[name]["journal"] = journal.read_text() if journal.exists() else ""
    return graded


@pytest.mark.parametrize("name", ["starter", "honest", "cheater"])
def test_gradescope_run_autograder_scores_each_submission(gradescope, name):
    data = gradescope[name]["data"]
    assert formats.validate("gradescope", data) == []
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    failed = "\n".join(f"{t['name']}: {t['output'][:300]}" for t in data["tests"]
                       if t["status"] == "failed")
    try:
        expected(name, data["score"])
    except AssertionError as error:
        raise AssertionError(f"{error}\n{gradescope[name]['log'][-1500:]}\n{failed}") from None
    hidden = [t for t in data["tests"] if "(hidden)" in t["name"]]
    assert hidden and all(t["visibility"] == "after_published" for t in hidden)


def test_the_cheaters_attacks_ran_and_were_refused(gradescope):
    journal = gradescope["cheater"]["journal"]
    assert "rewrite report" in journal or "SIGSTOP" in journal, \
        "the attack never ran: the test proves nothing\n" + gradescope["cheater"]["log"][-2000:]
    assert "WORKED" not in journal, journal


def test_gradescope_failures_explain_themselves(gradescope):
    failed = [t for t in gradescope["starter"]["data"]["tests"]
              if t["status"] == "failed" and "(hidden)" not in t["name"]]
    assert failed and all(len(t["output"]) > 20 for t in failed)
    assert any("expected" in t["output"].lower() for t in failed), \
        "\n\n".join(f"{t['name']}:\n{t['output'][:600]}" for t in failed)


@pytest.fixture(scope="module")
def classroom50(course, gradescope) -> dict:
    bundle = course["top"] / "classroom50" / "autograders" / "socket-lessons"
    run("sh", course["instructor"] / "course", "autograder", "--platform", "classroom50",
        "--out", bundle, cwd=course["instructor"])
    graded = {}
    for name, sub in course["subs"].items():
        workspace = course["top"] / "checkouts" / name
        shutil.copytree(sub, workspace)
        env = dict(os.environ, CLASSROOM50_BUNDLE_DIR=str(bundle), CLASSROOM="net101",
                   ASSIGNMENT="socket-lessons", SUBMISSION_TAG="submit/20261206T000000Z-abc",
                   COMMIT_URL="https://github.com/org/r/commit/abc", OWNER=name,
                   RELEASE_URL="https://github.com/org/r/releases/tag/x",
                   REVIEW_URL="https://github.com/org/r/compare/a...b",
                   # the same work folder as the Gradescope run: its build is reused
                   RUNNER_TEMP=str(course["top"] / "autograder"))
        run(sys.executable, bundle / "autograder.py", cwd=workspace, env=env)
        graded[name] = {"data": json.loads((workspace / "result.json").read_text()),
                        "body": (workspace / "release-body.md").read_text()}
    return graded


@pytest.mark.parametrize("name", ["starter", "honest", "cheater"])
def test_classroom50_autograder_scores_each_submission(classroom50, name):
    data = classroom50[name]["data"]
    assert formats.validate("classroom50", data) == []
    assert data["schema"] == "classroom50/result/v1" and data["owner"] == name
    expected(name, data["score"])
    assert f"{data['score']} / {data['max-score']}" in classroom50[name]["body"]
