"""One grade, every platform: the course's grade report written as each grading
platform reads it.

The grading core (grade.py) produces one result (see schemas/course-grade-v1);
each function here turns it into one platform's file:

  json          the course's own report (every field; `./course grade --json`)
  junit         JUnit XML, for CI dashboards
  classroom50   Classroom 50's result.json (schema classroom50/result/v1)
  gradescope    Gradescope's /autograder/results/results.json
  prairielearn  PrairieLearn's external-grader /grade/results/results.json

Each platform's schema is written down in schemas/, from the platform's own
documentation, and `validate()` checks an output against it (the tests do so
for every format). A hidden test's output says only which rule failed: never
its inputs, which would let a student hard-code the answer."""

from __future__ import annotations

import json
import math
import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

SCHEMAS = Path(__file__).resolve().parent / "schemas"
FORMATS = ("json", "junit", "classroom50", "gradescope", "prairielearn")
SCHEMA_FILES = {"json": "course-grade-v1.schema.json",
                "classroom50": "classroom50-result-v1.schema.json",
                "gradescope": "gradescope-results.schema.json",
                "prairielearn": "prairielearn-results.schema.json"}
OUTPUT_LIMIT = 8000  # characters of failure report per test (Gradescope and the others show it)


# ---------------------------------------------------------------- what a student reads

def test_title(t: dict) -> str:
    where = f"exercise {t['exercise']}" if t["exercise"] else f"lesson {t['lesson']}"
    return f"{where}: {t['name']}" + (" (hidden)" if t["hidden"] else "")


def student_output(t: dict, limit: int = OUTPUT_LIMIT) -> str:
    """The explanation a student needs: for a public test the whole failure report
    (what was sent, what came back, the byte diff), for a hidden test only the rule."""
    if t["status"] == "pass":
        return "passed"
    if t["status"] == "not gradable":
        return f"not graded here: {t['message']}"
    if t["hidden"]:
        rule = t.get("rule") or "a rule of the exercise's description"
        return (f"hidden test failed. The rule it checks: {rule}\n"
                f"(hidden tests use inputs you have not seen; the public tests of "
                f"exercise {t['exercise']} check the same rule: run ./course check {t['lesson']})")
    text = t["message"] or t["status"]
    if len(text) > limit:
        text = f"[... {len(text) - limit} characters cut ...]\n" + text[-limit:]
    return text


def graded_rows(result: dict) -> list[dict]:
    """The tests that count: run, and gradable here (not-gradable ones leave the maximum)."""
    return [t for t in result["tests"] if t["status"] not in ("not run", "not gradable")]


# ---------------------------------------------------------------- the formats

def to_json(result: dict, **_) -> dict:
    return result


def to_junit(result: dict, **_) -> str:
    rows = [t for t in result["tests"] if t["status"] != "not run"]
    suites = ET.Element("testsuites", name="socket-lessons", tests=str(len(rows)),
                        failures=str(sum(t["status"] == "fail" for t in rows)),
                        errors=str(sum(t["status"] == "error" for t in rows)),
                        skipped=str(sum(t["status"] == "not gradable" for t in rows)))
    for lesson in result["lessons"]:
        mine = [t for t in rows if t["lesson"] == lesson["number"]]
        suite = ET.SubElement(suites, "testsuite", name=f"lesson {lesson['number']}",
                              tests=str(len(mine)),
                              failures=str(sum(t["status"] == "fail" for t in mine)),
                              errors=str(sum(t["status"] == "error" for t in mine)),
                              skipped=str(sum(t["status"] == "not gradable" for t in mine)))
        for t in mine:
            classname = f"lesson{t['lesson']}" + (
                f".exercise{t['exercise'].replace('.', '_')}" if t["exercise"] else "")
            case = ET.SubElement(suite, "testcase", name=t["name"], classname=classname,
                                 time=f"{t['duration']:g}")
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="score", value=f"{t['score']:g}")
            ET.SubElement(props, "property", name="max_score", value=f"{t['max_score']:g}")
            text = student_output(t)
            if t["status"] in ("fail", "error"):
                ET.SubElement(case, "failure" if t["status"] == "fail" else "error",
                              message=text.splitlines()[0][:200]).text = text
            elif t["status"] == "not gradable":
                ET.SubElement(case, "skipped", message=text[:200])
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def whole_points(rows: list[dict]) -> list[tuple[int, int]]:
    """(score, max) per row in whole points, for platforms that take integers only.
    The maxima are apportioned (largest remainder) so they add up to the real
    total; a test's score is its share of that, rounded down: a half-passed test
    never rounds up to a point the student did not earn."""
    total = round(sum(t["max_score"] for t in rows))
    floors = [math.floor(t["max_score"] + 1e-9) for t in rows]
    spare = total - sum(floors)
    order = sorted(range(len(rows)), key=lambda i: -(rows[i]["max_score"] - floors[i]))
    maxima = list(floors)
    for i in order[:max(spare, 0)]:
        maxima[i] += 1
    out = []
    for t, most in zip(rows, maxima):
        fraction = t["score"] / t["max_score"] if t["max_score"] else 0.0
        out.append((min(most, math.floor(most * fraction + 1e-9)), most))
    return out


def to_classroom50(result: dict, env: dict | None = None, **_) -> dict:
    """Classroom 50's result.json. The identity fields come from the environment its
    runner gives autograder.py; the runner overwrites owner, assignment_type and
    datetime itself, so the values here only have to be well formed."""
    env = dict(os.environ if env is None else env)
    rows = graded_rows(result)
    tests = []
    for t, (score, most) in zip(rows, whole_points(rows)):
        tests.append({"test-name": test_title(t), "passed": t["status"] == "pass",
                      "score": score, "max-score": most, "output": student_output(t)})
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    commit = env.get("COMMIT_URL") or "local"
    return {
        "schema": "classroom50/result/v1",
        "classroom": env.get("CLASSROOM") or "local",
        "assignment": env.get("ASSIGNMENT") or "socket-lessons",
        "assignment_type": "group" if env.get("ASSIGNMENT_TYPE") == "group" else "individual",
        "owner": env.get("OWNER") or env.get("USERNAME") or "student",
        "submission": env.get("SUBMISSION_TAG") or "submit/local",
        "commit": commit, "release": env.get("RELEASE_URL") or commit,
        "review": env.get("REVIEW_URL") or commit, "datetime": now,
        "score": sum(t["score"] for t in tests), "max-score": sum(t["max-score"] for t in tests),
        "tests": tests}


def classroom50_body(result: dict, data: dict) -> str:
    """release-body.md: the score, a table, and each failure's report (Markdown)."""
    lines = [f"### socket-lessons: {data['score']} / {data['max-score']}", "",
             "| test | result | points |", "|---|---|---|"]
    for t in data["tests"]:
        name = t["test-name"].replace("|", "\\|")
        lines.append(f"| {name} | {'PASS' if t['passed'] else 'FAIL'} | "
                     f"{t['score']} / {t['max-score']} |")
    failed = [t for t in data["tests"] if not t["passed"]]
    if failed:
        lines += ["", "<details><summary>What failed, and why</summary>", ""]
        for t in failed:
            fence = "````" if "```" in t["output"] else "```"
            lines += [f"**{t['test-name']}**", "", fence, t["output"][:2000], fence, ""]
        lines.append("</details>")
    lines += ["", note_on_ungraded(result)]
    return "\n".join(lines).rstrip() + "\n"


def note_on_ungraded(result: dict) -> str:
    skipped = [t for t in result["tests"] if t["status"] == "not gradable"]
    if not skipped:
        return ""
    reasons = sorted({t["message"] for t in skipped})
    return (f"{len(skipped)} tests could not run on this grader and are left out of the "
            f"maximum (never scored 0): " + "; ".join(reasons))


def to_gradescope(result: dict, **_) -> dict:
    tests = []
    for t in graded_rows(result):
        tests.append({"name": test_title(t), "number": t["exercise"] or t["lesson"],
                      "score": t["score"], "max_score": t["max_score"],
                      "status": "passed" if t["status"] == "pass" else "failed",
                      "output": student_output(t), "output_format": "text",
                      "tags": [f"lesson {t['lesson']}"] + (
                          [f"exercise {t['exercise']}"] if t["exercise"] else []),
                      "visibility": "after_published" if t["hidden"] else "visible"})
    return {"score": round(sum(t["score"] for t in tests), 4),
            "execution_time": round(result.get("elapsed", 0.0), 1),
            "output": summary_text(result), "output_format": "text",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}


def to_prairielearn(result: dict, **_) -> dict:
    rows = graded_rows(result)
    most = sum(t["max_score"] for t in rows)
    if result.get("gradable") is False:
        return {"gradable": False, "format_errors": result.get("format_errors") or
                ["the submission could not be graded"], "message": summary_text(result)}
    tests = [{"name": test_title(t), "description": t.get("rule") or t["name"],
              "points": t["score"], "max_points": t["max_score"],
              "message": "passed" if t["status"] == "pass" else
              ("hidden test failed" if t["hidden"] else t["status"]),
              "output": student_output(t)} for t in rows]
    return {"gradable": True,
            "score": round(min(1.0, sum(t["score"] for t in rows) / most), 4) if most else 0.0,
            "message": summary_text(result), "output": note_on_ungraded(result),
            "tests": tests}


def summary_text(result: dict) -> str:
    rows = graded_rows(result)
    passed = sum(t["status"] == "pass" for t in rows)
    text = (f"{passed} of {len(rows)} tests passed: "
            f"{sum(t['score'] for t in rows):g} / {sum(t['max_score'] for t in rows):g} points.")
    ungraded = note_on_ungraded(result)
    return text + (f"\n{ungraded}" if ungraded else "")


CONVERTERS = {"json": to_json, "junit": to_junit, "classroom50": to_classroom50,
              "gradescope": to_gradescope, "prairielearn": to_prairielearn}


def render(result: dict, fmt: str, env: dict | None = None) -> str:
    data = CONVERTERS[fmt](result, env=env)
    if isinstance(data, str):
        return data
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def write(result: dict, fmt: str, path: Path, env: dict | None = None) -> None:
    """Writes the file (then renames it into place: never a half-written report)."""
    text = render(result, fmt, env)
    path = Path(path)
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8")
    part.replace(path)


# ---------------------------------------------------------------- schemas

def schema(fmt: str) -> dict:
    return json.loads((SCHEMAS / SCHEMA_FILES[fmt]).read_text())


def validate(fmt: str, data) -> list[str]:
    """What is wrong with `data` as `fmt` (empty: valid). JSON formats are checked
    against their written schema plus the cross-field rules schemas cannot say;
    JUnit against the structure CI dashboards read."""
    if fmt == "junit":
        return _junit_problems(data)
    from jsonschema import Draft202012Validator  # Debian: python3-jsonschema
    found = [f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}"
             for e in Draft202012Validator(schema(fmt)).iter_errors(data)]
    if found:
        return found
    if fmt == "classroom50":
        if data["score"] > data["max-score"]:
            found.append("score is above max-score")
        if data["score"] != sum(t["score"] for t in data["tests"]) or \
                data["max-score"] != sum(t["max-score"] for t in data["tests"]):
            found.append("score and max-score are not the sums of the tests'")
        found += [f"test {t['test-name']!r}: score above max-score"
                  for t in data["tests"] if t["score"] > t["max-score"]]
    if fmt == "gradescope":
        found += [f"test {t['name']!r}: score above max_score"
                  for t in data["tests"] if t["score"] > t["max_score"] + 1e-9]
    if fmt == "prairielearn" and len(json.dumps(data)) > 1_000_000:
        found.append("larger than PrairieLearn's 1 MB limit")
    return found


def _junit_problems(text: str) -> list[str]:
    try:
        root = ET.fromstring(text.encode() if isinstance(text, str) else text)
    except ET.ParseError as error:
        return [f"not XML: {error}"]
    found = [] if root.tag == "testsuites" else ["the root element is not <testsuites>"]
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        if int(suite.get("tests", -1)) != len(cases):
            found.append(f"{suite.get('name')}: tests={suite.get('tests')} but "
                         f"{len(cases)} <testcase>")
        for case in cases:
            if not case.get("name") or not case.get("classname"):
                found.append(f"{suite.get('name')}: a <testcase> without name or classname")
    return found
