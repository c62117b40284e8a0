"""./course grade: build each lesson, run its tests, score them from course.toml.

One result (schemas/course-grade-v1.schema.json) that formats.py writes for each
platform: json, junit, classroom50, gradescope, prairielearn. Grading a whole
class, each submission in a fresh copy of the course, is submissions.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import formats, meta
from .i18n import field, pad, t
from .sandbox import Sandbox

NODE = re.compile(r"lessons/(?P<folder>(?P<number>\d\d)-[^/]+)/(?P<file>[^:]+)::(?P<name>[^\[]+)")
MESSAGE_LIMIT = 3000


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def compile_errors(output: str, limit: int = 30) -> str:
    """The compiler's complaints, not ninja's noise."""
    keep = [line for line in output.splitlines()
            if re.search(r"(error|warning|note):|^\s+\d+ \|", line)]
    return "\n".join(keep[:limit]) or _tail(output, limit)


def condense(message: str) -> str:
    """pytest's report without the test's source: the assertion's own message
    (the `E` lines: what was sent, what came back, what was expected) and where."""
    lines = message.splitlines()
    explained = [re.sub(r"^E {0,7}", "", line) for line in lines if line.startswith("E ")]
    if not explained:
        return message
    where = [line for line in lines if re.match(r"^\S+\.py:\d+: \w+", line)]
    return "\n".join(explained + where[-1:])


# ---------------------------------------------------------------- build

def compiler_cache(build_dir: Path) -> dict[str, str]:
    """Grading many submissions: ccache (when installed) keeps every compiled
    file, so a file one student left as the starter compiles once for the class.
    It lives in the build folder, so it changes owner with it: the sandbox user
    writes it only while the build runs, never while the tests run."""
    if not shutil.which("ccache"):
        return {}
    return {"CCACHE_DIR": str(build_dir / "ccache"), "CCACHE_MAXSIZE": "2G",
            "CCACHE_NOHASHDIR": "1"}


def configure(root: Path, build_dir: Path, python: str,
              sandbox: Sandbox | None = None, cache: dict | None = None) -> tuple[bool, str]:
    if (build_dir / "CMakeCache.txt").exists() and any(
            (build_dir / name).exists() for name in ("build.ninja", "Makefile")):
        return True, ""
    args = ["cmake", "-S", str(root), "-B", str(build_dir), f"-DCOURSE_PYTHON={python}"]
    if shutil.which("ninja"):
        args += ["-G", "Ninja"]
    if cache:
        args.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
    done = subprocess.run((sandbox or Sandbox()).as_user(args), capture_output=True, text=True,
                          env=dict(os.environ, **(cache or {})))
    return done.returncode == 0, done.stdout + done.stderr


def build_targets(build_dir: Path, targets: list[str], timeout: float,
                  sandbox: Sandbox | None = None, jobs: int | None = None,
                  cache: dict | None = None) -> dict[str, str]:
    """Builds the targets; returns {target: compiler errors} for those that failed
    (and removes their stale binaries, so no old build is graded by mistake)."""
    def run(names: list[str]) -> tuple[bool, str]:
        try:
            done = subprocess.run((sandbox or Sandbox()).as_user(
                ["cmake", "--build", str(build_dir), "--parallel",
                 str(jobs or os.cpu_count() or 2), "--target", *names]),
                capture_output=True, text=True, timeout=timeout,
                env=dict(os.environ, **(cache or {})))
        except subprocess.TimeoutExpired:
            return False, f"the build took longer than {timeout:.0f} s"
        output = done.stdout + done.stderr
        if done.returncode != 0 and not output.strip():  # killed, or a tool that said nothing
            output = f"cmake --build ended with {done.returncode} and printed nothing"
        return done.returncode == 0, output

    if not targets:
        return {}
    ok, output = run(targets)
    if ok:
        return {}
    failed = {}
    for target in targets:  # which ones?  (each alone is quick: the rest is built)
        ok, output = run([target])
        if not ok:
            failed[target] = compile_errors(output)
            (build_dir / "bin" / target).unlink(missing_ok=True)
    return failed  # empty: the first attempt only ran out of time, the second finished


# ---------------------------------------------------------------- run

def run_pytest(root: Path, lessons: list[dict], bin_dir: Path, hidden: bool, python: str,
               timeout: float, nodes: list[str] | None = None, sandbox: Sandbox | None = None,
               workers: str = "auto", basetemp: Path | None = None) -> tuple[list[dict], str]:
    """Runs the lessons' tests; returns each test's outcome and pytest's output.
    The report is written into a folder only the grader's user can enter, and is
    read only after every test process is gone."""
    sandbox = sandbox or Sandbox()
    private = Path(tempfile.mkdtemp(prefix="course-grade-"))  # mode 0700
    report = private / "report.json"
    paths = nodes or [str(root / "lessons" / lesson["folder"]) for lesson in lessons]
    # --opt=VALUE, one word: an existing file given as a separate word would be taken
    # for a test path before the course plugin is loaded (and the root conftest missed).
    args = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--course-report={report}",
            f"--bin-dir={bin_dir}", "-o", "console_output_style=classic"]
    if basetemp:
        args.append(f"--basetemp={basetemp}")
    if not hidden:
        args += ["-m", "not hidden"]
    if len(lessons) > 1 and (os.cpu_count() or 1) > 1 and workers != "0":
        args += ["-n", workers]
    env = dict(os.environ, COURSE_BIN_DIR=str(bin_dir), **sandbox.env())
    try:
        done = subprocess.run(sandbox.run_argv([*args, *paths]), cwd=root, capture_output=True,
                              text=True, timeout=timeout, env=env, start_new_session=True)
        output = done.stdout + done.stderr
    except subprocess.TimeoutExpired as hung:
        output = f"pytest did not finish within {timeout:.0f} s\n" + str(hung.stdout or "")
    try:
        results = json.loads(report.read_text()) if report.stat().st_size else []
    except (OSError, ValueError):
        results = []
    shutil.rmtree(private, ignore_errors=True)
    return results, output


# ---------------------------------------------------------------- score

def score(root: Path, chosen: list[dict], the_plan: list[meta.TestFn], results: list[dict],
          broken: dict[str, dict[str, str]], hidden: bool, pytest_output: str = "") -> dict:
    numbers = {lesson["number"] for lesson in chosen}
    nodes: dict[tuple[str, str], list[dict]] = {}
    for r in results:
        m = NODE.search(r["nodeid"].replace(os.sep, "/"))
        if m:
            nodes.setdefault((m["number"], f"{m['file']}::{m['name']}"), []).append(r)
    tests = []
    for planned in the_plan:
        if planned.lesson not in numbers:
            continue
        entry = {"lesson": planned.lesson, "exercise": planned.exercise, "name": planned.key, "hidden": planned.hidden,
                 "max_score": planned.points, "score": 0.0, "duration": 0.0, "message": "",
                 "line": planned.line, "rule": planned.rule, "regression": planned.regression}
        ran = nodes.get((planned.lesson, planned.key), [])
        if planned.hidden and not hidden:
            entry["status"] = "not run"
        elif not ran:
            entry["status"] = "error"
            why = broken.get(planned.lesson)
            if why:
                entry["message"] = "did not run: the lesson did not build\n" + "\n\n".join(
                    f"{target}:\n{errors}" for target, errors in why.items())
            elif planned.hidden and (root / meta.RELEASE_MANIFEST).exists():
                entry["message"] = "hidden test: only the instructor's grader has it"
            else:
                entry["message"] = ("did not run (a collection error?); pytest said:\n"
                                    + _tail(pytest_output, 25))
        elif all(r["outcome"] == "skipped" for r in ran):
            # the machine cannot give what the test needs (namespaces, IPv6): not
            # gradable here, left out of the maximum, never a 0 for the student
            entry["status"] = "not gradable"
            entry["message"] = ran[0].get("message") or "the grader cannot run it"
        else:
            passed = sum(r["outcome"] in ("passed", "xfailed") for r in ran)
            entry["status"] = "pass" if passed == len(ran) else "fail"
            entry["score"] = round(planned.points * passed / len(ran), 4)
            entry["duration"] = round(sum(r.get("duration", 0.0) for r in ran), 3)
            failures = [r for r in ran if r["outcome"] not in ("passed", "xfailed")]
            if failures:
                text = condense(failures[0].get("message", "")) or failures[0]["outcome"]
                if failures[0].get("wire"):  # the transcript, the capture: wire.py
                    text += "\n\n" + failures[0]["wire"]
                # a program that did not build: say why, where the test needed it
                for target, errors in broken.get(planned.lesson, {}).items():
                    if re.search(rf"\b{re.escape(target)}\b", text):
                        text += f"\n\nnote: {target} did not compile:\n{errors}"
                entry["message"] = text[-MESSAGE_LIMIT:]
        tests.append(entry)

    def total(rows, key):
        return round(sum(r[key] for r in rows), 4)

    run_rows = [r for r in tests if r["status"] not in ("not run", "not gradable")]
    lessons_out = []
    for lesson in chosen:
        rows = [r for r in run_rows if r["lesson"] == lesson["number"]]
        exercises_out = []
        for ex in meta.exercises(lesson):
            mine = [r for r in rows if r["exercise"] == ex["id"]]
            exercises_out.append({
                "id": ex["id"], "title": ex["title"], "title_zh": ex.get("title_zh", ""),
                "score": total(mine, "score"),
                "max_score": total(mine, "max_score"),
                "passed": sum(r["status"] == "pass" for r in mine),
                "tests": len(mine),
                "hidden_not_run": sum(r["status"] == "not run" and r["exercise"] == ex["id"]
                                      for r in tests)})
        own = [r for r in rows if not r["exercise"]]
        lessons_out.append({
            "number": lesson["number"], "title": lesson["title"],
            "title_zh": lesson.get("title_zh", ""),
            "built": lesson["number"] not in broken, "score": total(rows, "score"),
            "max_score": total(rows, "max_score"),
            "passed": sum(r["status"] == "pass" for r in rows), "tests": len(rows),
            "own_tests": {"score": total(own, "score"), "max_score": total(own, "max_score")},
            "exercises": exercises_out})
    not_run = [r for r in tests if r["status"] == "not run"]
    failed = [r for r in run_rows if r["status"] != "pass"]
    return {
        "version": 1, "score": total(run_rows, "score"), "max_score": total(run_rows, "max_score"),
        "passed": len(run_rows) - len(failed), "failed": len(failed),
        "hidden_run": hidden, "hidden_not_run": len(not_run),
        "hidden_points_not_run": total(not_run, "max_score"),
        "not_gradable": sum(r["status"] == "not gradable" for r in tests),
        "release": (root / meta.RELEASE_MANIFEST).exists(),
        "lessons": lessons_out, "tests": tests}


def summary_line(result: dict) -> str:
    if result["failed"] == 0 and result["passed"] > 0:
        line = t("all tests, public and hidden, passed") if result["hidden_run"] \
            else t("all public tests passed")
    else:
        line = t("{passed} passed, {failed} failed", passed=result["passed"],
                 failed=result["failed"]) + ("" if result["hidden_run"] else t(" (public tests)"))
    if result["hidden_not_run"]:
        line += t(" ({n} hidden tests not run, worth {points:g} points)",
                  n=result["hidden_not_run"], points=result["hidden_points_not_run"])
    return line


def print_table(result: dict, paint=lambda text, color: text, out=sys.stdout) -> None:
    """The failures first, each with its report, then the score table and the
    score: what a student reads last is the summary."""
    failures = [test for test in result["tests"] if test["status"] in ("fail", "error")]
    for test in failures:
        where = f"{test['lesson']}" + (f" exercise {test['exercise']}" if test["exercise"]
                                       else "")
        print(paint(f"\nFAILED ({where}) {test['name']}", "red"), file=out)
        for line in formats.student_output(test).splitlines()[-60:]:
            print(f"    {line}", file=out)

    def row(label, score, max_score, passed, tests, extra=""):
        ok = passed == tests and tests > 0
        mark = paint(t("PASS") if ok else t("FAIL"), "green" if ok else "red")
        print(f"{pad(label, 46)} {passed:>3}/{tests:<3} {score:>7g} / {max_score:<6g} {mark}"
              f"{extra}", file=out)

    print(f"\n{pad(t('lesson / exercise'), 46)} {t('tests'):>7} {t('points'):>16}", file=out)
    for lesson in result["lessons"]:
        row(f"{lesson['number']}  {field(lesson, 'title')}", lesson["score"], lesson["max_score"],
            lesson["passed"], lesson["tests"],
            "" if lesson["built"] else paint(t("  (did not build)"), "red"))
        for ex in lesson["exercises"]:
            row(f"  {ex['id']}  {field(ex, 'title')}", ex["score"], ex["max_score"], ex["passed"],
                ex["tests"], paint(t("  +{n} hidden not run", n=ex["hidden_not_run"]), "dim")
                if ex["hidden_not_run"] else "")
    ungraded = formats.note_on_ungraded(result)
    if ungraded:
        print(paint(f"\n{ungraded}", "yellow"), file=out)
    print("\n" + t("score: {score:g} / {max_score:g}    {summary}", score=result["score"],
                    max_score=result["max_score"], summary=summary_line(result)), file=out)


# ---------------------------------------------------------------- the command

def grade(root: Path, keys: list[str], build_dir: Path, python: str, hidden: bool = False,
          timeout: float = 1800, sandbox: Sandbox | None = None, work: Path | None = None,
          build_jobs: int | None = None, test_workers: str = "auto") -> dict:
    """`timeout` bounds each build step and the test run (a fresh build of common/
    takes a minute on an idle 2-core machine, far longer on a loaded one).
    With a `sandbox` that isolates (the grader is root) the build and the
    submission's programs run as its unprivileged user; `work` is a private
    folder for the programs' wrappers and the tests' temporary files."""
    started = time.monotonic()
    sandbox = sandbox or Sandbox()
    course = meta.load(root)
    chosen = meta.lessons(root, course)
    if keys:
        wanted = {meta.find_exercise(root, k)[0]["number"] for k in keys}
        chosen = [lesson for lesson in chosen if lesson["number"] in wanted]
    the_plan = meta.plan(root, course)
    if (root / meta.RELEASE_MANIFEST).exists():
        hidden = False  # a student release has no hidden tests to run: say "not run"
    broken: dict[str, dict[str, str]] = {}
    build_dir.mkdir(parents=True, exist_ok=True)
    sandbox.hand_build_to_user(build_dir)
    cache = compiler_cache(build_dir) if work else {}
    try:
        ok, output = configure(root, build_dir, python, sandbox, cache)
        runnable = []
        for lesson in chosen:
            if not ok:
                broken[lesson["number"]] = {"cmake": compile_errors(output)}
                continue
            failed = build_targets(build_dir, meta.lesson_targets(lesson, root), timeout, sandbox,
                                   build_jobs, cache)
            if failed:
                broken[lesson["number"]] = failed
            runnable.append(lesson)  # a lesson half-built still runs: its other tests count
    finally:
        sandbox.take_build_back(build_dir)
    bin_dir = build_dir / "bin"
    if sandbox.isolated and work and bin_dir.is_dir():
        bin_dir = sandbox.program_dir(bin_dir, submitted_programs(root), work / "bin")
    built = time.monotonic()
    basetemp = None
    if work:
        basetemp = work / "tmp"
        shutil.rmtree(basetemp, ignore_errors=True)
    results, output = run_pytest(root, runnable, bin_dir, hidden, python, timeout,
                                 sandbox=sandbox, workers=test_workers,
                                 basetemp=basetemp) if runnable else ([], "")
    result = score(root, chosen, the_plan, results, broken, hidden, output)
    result["elapsed"] = round(time.monotonic() - started, 1)
    result["build_seconds"] = round(built - started, 1)
    result["sandbox"] = sandbox.describe()
    return result


def submitted_programs(root: Path) -> set[str]:
    """The programs built from files a submission provides: these run sandboxed."""
    names = set()
    for lesson, ex in meta.all_exercises(root):
        names.update(p for p in ex.get("programs", []) if p not in lesson.get("programs", []))
    return names


def save_outputs(result: dict, outputs: list[tuple[str, str]]) -> None:
    """[(format, path)]: each file written whole, then renamed into place."""
    for fmt, path in outputs:
        formats.write(result, fmt, Path(path))
