"""./course grade: build each lesson, run its tests, score them from course.toml.

Outputs: a score table (always), a JSON report, JUnit XML, and GitHub
Classroom's autograding result (version, status, max_score, tests with
name/status/message/score), base64-encoded into $GITHUB_OUTPUT as `result`."""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from . import meta, release

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

def configure(root: Path, build_dir: Path, python: str) -> tuple[bool, str]:
    if (build_dir / "CMakeCache.txt").exists():
        return True, ""
    args = ["cmake", "-S", str(root), "-B", str(build_dir), f"-DCOURSE_PYTHON={python}"]
    if shutil.which("ninja"):
        args += ["-G", "Ninja"]
    done = subprocess.run(args, capture_output=True, text=True)
    return done.returncode == 0, done.stdout + done.stderr


def build_targets(build_dir: Path, targets: list[str], timeout: float) -> dict[str, str]:
    """Builds the targets; returns {target: compiler errors} for those that failed
    (and removes their stale binaries, so no old build is graded by mistake)."""
    def run(names: list[str]) -> tuple[bool, str]:
        try:
            done = subprocess.run(["cmake", "--build", str(build_dir), "--parallel",
                                   str(os.cpu_count() or 2), "--target", *names],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False, f"the build took longer than {timeout:.0f} s"
        return done.returncode == 0, done.stdout + done.stderr

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
               timeout: float, nodes: list[str] | None = None) -> tuple[list[dict], str]:
    fd, name = tempfile.mkstemp(prefix="course-grade-", suffix=".json")
    os.close(fd)
    report = Path(name)
    paths = nodes or [str(root / "lessons" / lesson["folder"]) for lesson in lessons]
    # --opt=VALUE, one word: an existing file given as a separate word would be taken
    # for a test path before the course plugin is loaded (and the root conftest missed).
    args = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--course-report={report}",
            f"--bin-dir={bin_dir}", "-o", "console_output_style=classic"]
    if not hidden:
        args += ["-m", "not hidden"]
    if len(lessons) > 1 and (os.cpu_count() or 1) > 1:
        args += ["-n", "auto"]
    try:
        done = subprocess.run([*args, *paths], cwd=root, capture_output=True, text=True,
                              timeout=timeout, env=dict(os.environ, COURSE_BIN_DIR=str(bin_dir)))
        output = done.stdout + done.stderr
    except subprocess.TimeoutExpired as hung:
        output = f"pytest did not finish within {timeout:.0f} s\n" + str(hung.stdout or "")
    try:
        results = json.loads(report.read_text()) if report.stat().st_size else []
    except (OSError, ValueError):
        results = []
    report.unlink(missing_ok=True)
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
    for t in the_plan:
        if t.lesson not in numbers:
            continue
        entry = {"lesson": t.lesson, "exercise": t.exercise, "name": t.key, "hidden": t.hidden,
                 "max_score": t.points, "score": 0.0, "duration": 0.0, "message": "",
                 "line": t.line}
        ran = nodes.get((t.lesson, t.key), [])
        if t.hidden and not hidden:
            entry["status"] = "not run"
        elif not ran:
            entry["status"] = "error"
            why = broken.get(t.lesson)
            if why:
                entry["message"] = "did not run: the lesson did not build\n" + "\n\n".join(
                    f"{target}:\n{errors}" for target, errors in why.items())
            elif t.hidden and (root / meta.RELEASE_MANIFEST).exists():
                entry["message"] = "hidden test: only the instructor's grader has it"
            else:
                entry["message"] = ("did not run (a collection error?); pytest said:\n"
                                    + _tail(pytest_output, 25))
        else:
            passed = sum(r["outcome"] in ("passed", "xfailed") for r in ran)
            entry["status"] = "pass" if passed == len(ran) else "fail"
            entry["score"] = round(t.points * passed / len(ran), 4)
            entry["duration"] = round(sum(r.get("duration", 0.0) for r in ran), 3)
            failures = [r for r in ran if r["outcome"] not in ("passed", "xfailed")]
            if failures:
                text = condense(failures[0].get("message", "")) or failures[0]["outcome"]
                # a program that did not build: say why, where the test needed it
                for target, errors in broken.get(t.lesson, {}).items():
                    if re.search(rf"\b{re.escape(target)}\b", text):
                        text += f"\n\nnote: {target} did not compile:\n{errors}"
                entry["message"] = text[-MESSAGE_LIMIT:]
        tests.append(entry)

    def total(rows, key):
        return round(sum(r[key] for r in rows), 4)

    run_rows = [r for r in tests if r["status"] != "not run"]
    lessons_out = []
    for lesson in chosen:
        rows = [r for r in run_rows if r["lesson"] == lesson["number"]]
        exercises_out = []
        for ex in meta.exercises(lesson):
            mine = [r for r in rows if r["exercise"] == ex["id"]]
            exercises_out.append({
                "id": ex["id"], "title": ex["title"], "score": total(mine, "score"),
                "max_score": total(mine, "max_score"),
                "passed": sum(r["status"] == "pass" for r in mine),
                "tests": len(mine),
                "hidden_not_run": sum(r["status"] == "not run" and r["exercise"] == ex["id"]
                                      for r in tests)})
        own = [r for r in rows if not r["exercise"]]
        lessons_out.append({
            "number": lesson["number"], "title": lesson["title"],
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
        "release": (root / meta.RELEASE_MANIFEST).exists(),
        "lessons": lessons_out, "tests": tests}


def summary_line(result: dict) -> str:
    what = "all tests, public and hidden," if result["hidden_run"] else "all public tests"
    if result["failed"] == 0 and result["passed"] > 0:
        line = f"{what} passed"
    else:
        line = (f"{result['passed']} passed, {result['failed']} failed"
                + ("" if result["hidden_run"] else " (public tests)"))
    if result["hidden_not_run"]:
        line += (f" ({result['hidden_not_run']} hidden tests not run, worth "
                 f"{result['hidden_points_not_run']:g} points)")
    return line


def print_table(result: dict, paint=lambda text, color: text, out=sys.stdout) -> None:
    def row(label, score, max_score, passed, tests, extra=""):
        ok = passed == tests and tests > 0
        mark = paint("PASS" if ok else "FAIL", "green" if ok else "red")
        print(f"{label[:46]:<46} {passed:>3}/{tests:<3} {score:>7g} / {max_score:<6g} {mark}"
              f"{extra}", file=out)

    print(f"\n{'lesson / exercise':<46} {'tests':>7} {'points':>16}", file=out)
    for lesson in result["lessons"]:
        row(f"{lesson['number']}  {lesson['title']}", lesson["score"], lesson["max_score"],
            lesson["passed"], lesson["tests"],
            "" if lesson["built"] else paint("  (did not build)", "red"))
        for ex in lesson["exercises"]:
            row(f"  {ex['id']}  {ex['title']}", ex["score"], ex["max_score"], ex["passed"],
                ex["tests"], paint(f"  +{ex['hidden_not_run']} hidden not run", "dim")
                if ex["hidden_not_run"] else "")
    failures = [t for t in result["tests"] if t["status"] in ("fail", "error")]
    for t in failures:
        where = f"{t['lesson']}" + (f" exercise {t['exercise']}" if t["exercise"] else "")
        print(paint(f"\nFAILED ({where}) {t['name']}", "red"), file=out)
        for line in (t["message"] or "(no message)").splitlines()[-40:]:
            print(f"    {line}", file=out)
    print(f"\nscore: {result['score']:g} / {result['max_score']:g}    {summary_line(result)}",
          file=out)


# ---------------------------------------------------------------- formats

def classroom(result: dict) -> dict:
    """GitHub Classroom's autograding result, as its grading reporter reads it."""
    tests = []
    for t in result["tests"]:
        if t["status"] == "not run":
            continue
        tests.append({
            "name": t["name"] + (f" (exercise {t['exercise']})" if t["exercise"] else ""),
            "status": "pass" if t["status"] == "pass" else
            "error" if t["status"] == "error" else "fail",
            "message": t["message"][-MESSAGE_LIMIT:] or "passed",
            "test_code": f"./course check {t['lesson']}",
            "filename": t["name"].split("::")[0], "line_no": t.get("line", 0),
            "execution_time": f"{t['duration']:.2f}s", "score": t["score"]})
    status = "pass" if result["failed"] == 0 and result["passed"] else "fail"
    if any(t["status"] == "error" for t in tests):
        status = "error" if not any(t["status"] == "pass" for t in tests) else status
    return {"version": 1, "status": status, "max_score": result["max_score"], "tests": tests}


def write_classroom(result: dict, path: str | None) -> None:
    data = classroom(result)
    if path and path != "-":
        Path(path).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    encoded = base64.b64encode(json.dumps(data).encode()).decode()
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a") as f:
            f.write(f"result={encoded}\n")


def junit(result: dict) -> str:
    suites = ET.Element("testsuites", name="socket-lessons", tests=str(
        result["passed"] + result["failed"]), failures=str(result["failed"]))
    for lesson in result["lessons"]:
        rows = [t for t in result["tests"]
                if t["lesson"] == lesson["number"] and t["status"] != "not run"]
        suite = ET.SubElement(suites, "testsuite", name=f"lesson {lesson['number']}",
                              tests=str(len(rows)),
                              failures=str(sum(t["status"] == "fail" for t in rows)),
                              errors=str(sum(t["status"] == "error" for t in rows)))
        for t in rows:
            case = ET.SubElement(suite, "testcase", name=t["name"], time=str(t["duration"]),
                                 classname=f"lesson{t['lesson']}" + (
                                     f".exercise{t['exercise'].replace('.', '_')}"
                                     if t["exercise"] else ""))
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="score", value=f"{t['score']:g}")
            ET.SubElement(props, "property", name="max_score", value=f"{t['max_score']:g}")
            if t["status"] in ("fail", "error"):
                ET.SubElement(case, "failure" if t["status"] == "fail" else "error",
                              message=(t["message"].splitlines() or [""])[0][:200]).text = \
                    t["message"]
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


# ---------------------------------------------------------------- the command

def grade(root: Path, keys: list[str], build_dir: Path, python: str, hidden: bool = False,
          timeout: float = 1800) -> dict:
    """`timeout` bounds each build step and the test run (a fresh build of common/
    takes a minute on an idle 2-core machine, far longer on a loaded one)."""
    course = meta.load(root)
    chosen = meta.lessons(root, course)
    if keys:
        wanted = {meta.find_exercise(root, k)[0]["number"] for k in keys}
        chosen = [lesson for lesson in chosen if lesson["number"] in wanted]
    the_plan = meta.plan(root, course)
    if (root / meta.RELEASE_MANIFEST).exists():
        hidden = False  # a student release has no hidden tests to run: say "not run"
    broken: dict[str, dict[str, str]] = {}
    ok, output = configure(root, build_dir, python)
    runnable = []
    for lesson in chosen:
        if not ok:
            broken[lesson["number"]] = {"cmake": compile_errors(output)}
            continue
        failed = build_targets(build_dir, meta.lesson_targets(lesson), timeout)
        if failed:
            broken[lesson["number"]] = failed
        runnable.append(lesson)  # a lesson half-built still runs: its other tests count
    results, output = run_pytest(root, runnable, build_dir / "bin", hidden, python,
                                 timeout) if runnable else ([], "")
    return score(root, chosen, the_plan, results, broken, hidden, output)


def save_outputs(result: dict, json_path: str | None, junit_path: str | None,
                 classroom_path: str | None | bool) -> None:
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    if junit_path:
        Path(junit_path).write_text(junit(result))
    if classroom_path is not None and classroom_path is not False:
        write_classroom(result, classroom_path if isinstance(classroom_path, str) else None)


# ---------------------------------------------------------------- a folder of submissions

COPY_IGNORE = shutil.ignore_patterns(".git", "build", "build-*", "site", "__pycache__",
                                     ".course-state.json", ".pytest_cache")


def student_files(root: Path) -> list[str]:
    """What is taken from a submission: the files with solution regions and the
    files the exercises name. Everything else (tests, harness, CMake) is the
    instructor's, so a submission cannot change how it is graded."""
    found = {p.relative_to(root).as_posix() for p in release.region_files(root)}
    for lesson, ex in meta.all_exercises(root):
        found.update(p.relative_to(root).as_posix() for p in meta.exercise_files(root, lesson, ex))
    return sorted(found)


def grade_submissions(root: Path, submissions: Path, csv_path: Path, json_path: Path,
                      keys: list[str], hidden: bool, timeout: float, python: str,
                      log=print) -> list[dict]:
    """Grades every sub-folder of `submissions` (a student's clone of the release):
    its exercise files are put into one private copy of the reference course,
    which is built and graded in a separate process with a time limit."""
    root = root.resolve()
    students = sorted(p for p in submissions.iterdir() if p.is_dir())
    files = student_files(root)
    exercise_ids = [ex["id"] for _, ex in meta.all_exercises(root)]
    rows, reports = [], []
    with tempfile.TemporaryDirectory(prefix="course-grading-") as scratch:
        work = Path(scratch) / "course"
        shutil.copytree(root, work, ignore=COPY_IGNORE, symlinks=True)
        (work / meta.RELEASE_MANIFEST).unlink(missing_ok=True)
        for student in students:
            started = time.monotonic()
            for rel in files:
                mine, target = student / rel, work / rel
                if mine.is_file():
                    # a plain copy, not copy2: a fresh mtime makes the build recompile it
                    target.write_bytes(mine.read_bytes())
                elif (root / rel).exists():  # deleted by the student: grade the starter code
                    target.write_text(release.render_file(root, root / rel, set()))
            out = work / "grade.json"
            out.unlink(missing_ok=True)
            args = [python, str(work / "course"), "grade", "--json", str(out), *keys]
            if hidden:
                args.append("--hidden")
            status, note = "graded", ""
            try:
                done = subprocess.run(args, cwd=work, capture_output=True, text=True,
                                      timeout=timeout, env=dict(
                                          os.environ, COURSE_BUILD_DIR=str(work / "build"),
                                          NO_COLOR="1"))
                if not out.exists():
                    status, note = "error", _tail(done.stdout + done.stderr, 5)
            except subprocess.TimeoutExpired:
                status, note = "timeout", f"grading took longer than {timeout:.0f} s"
            report = json.loads(out.read_text()) if out.exists() else {
                "score": 0, "max_score": 0, "lessons": [], "tests": []}
            report["student"] = student.name
            report["grading_status"] = status
            reports.append(report)
            per_exercise = {ex["id"]: ex["score"] for lesson in report["lessons"]
                            for ex in lesson["exercises"]}
            row = {"student": student.name, "score": report["score"],
                   "max_score": report["max_score"], "status": status,
                   "passed": report.get("passed", 0), "failed": report.get("failed", 0)}
            for lesson in report["lessons"]:
                row[f"lesson {lesson['number']}"] = lesson["own_tests"]["score"]
            row.update({ex: per_exercise.get(ex, "") for ex in exercise_ids})
            row["note"] = note
            rows.append(row)
            log(f"{student.name}: {report['score']:g} / {report['max_score']:g} ({status}, "
                f"{time.monotonic() - started:.0f} s)")
    columns = list(dict.fromkeys(k for row in rows for k in row))
    columns.remove("note")
    columns.append("note")
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    json_path.write_text(json.dumps(reports, indent=1, ensure_ascii=False) + "\n")
    return rows
