"""The grader inside an autograder bundle: one submission, one platform's result.

  python3 harness/course_tools/autograde.py --platform gradescope \\
      --course /autograder/source/course --submission /autograder/submission \\
      --out /autograder/results/results.json

The course it grades with is the instructor's, shipped in the bundle (hidden
tests included); only the exercise files come from the submission (see
submissions.py). It always leaves a result the platform can read: when the
grading itself breaks, an error result that says so (and never a silent 0).

`--prepare` builds the course once with the starter code, at image build time,
so that grading a submission only recompiles the files it changed."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path

if __package__ in (None, ""):  # run as a script from the bundle
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "course_tools"

from course_tools import formats, submissions  # noqa: E402
from course_tools.sandbox import Sandbox  # noqa: E402

PLATFORMS = ("gradescope", "classroom50", "prairielearn", "json")


def protect(course: Path) -> None:
    """The bundle's tests (hidden ones among them) readable by root only, before
    any submitted code runs: a program could otherwise print them."""
    if os.geteuid() != 0:
        return
    for path in submissions.test_files(course):
        os.chmod(path, 0o600)


def error_result(platform: str, why: str) -> dict | None:
    """A result that says grading failed, in the platform's own terms."""
    if platform == "gradescope":
        return {"score": 0, "output": f"The autograder failed (not your code's fault, "
                f"tell your instructor):\n{why}", "stdout_visibility": "hidden", "tests": []}
    if platform == "prairielearn":
        return {"gradable": False, "format_errors": [f"the autograder failed: {why[-2000:]}"]}
    return None  # classroom50: a non-zero exit makes its runner record an error result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", choices=PLATFORMS, required=True)
    parser.add_argument("--course", type=Path, required=True, help="the instructor's course")
    parser.add_argument("--submission", type=Path, help="the student's files")
    parser.add_argument("--out", type=Path, help="the result file")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "course-work",
                        help="kept between gradings: the build lives here")
    parser.add_argument("--exercise", action="append", default=[],
                        help="grade only these exercises' lessons (e.g. 01.1)")
    parser.add_argument("--prepare", action="store_true",
                        help="build the starter code once (at image build time)")
    parser.add_argument("--no-hidden", action="store_true", help="public tests only")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    python = sys.executable
    if args.prepare:
        with tempfile.TemporaryDirectory() as empty:
            submissions.grade_one(course, Path(empty), args.work / "job0", python,
                                  hidden=False, keys=args.exercise,
                                  sandbox=Sandbox.claim())
        print(f"prepared: the starter code is built in {args.work / 'job0'}")
        return 0
    if not args.submission or not args.out:
        parser.error("--submission and --out are needed to grade")
    protect(course)
    try:
        result = submissions.grade_one(course, args.submission.resolve(), args.work / "job0",
                                       python, hidden=not args.no_hidden, keys=args.exercise,
                                       sandbox=Sandbox.claim())
    except Exception:  # noqa: BLE001 - the platform must get a result it can show
        why = traceback.format_exc()
        print(why, file=sys.stderr)
        data = error_result(args.platform, why)
        if data is None:
            return 1
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=1) + "\n")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    formats.write(result, args.platform, args.out)
    if args.platform == "classroom50":
        data = json.loads(args.out.read_text())
        (args.out.parent / "release-body.md").write_text(formats.classroom50_body(result, data))
    try:
        problems = formats.validate(args.platform, json.loads(args.out.read_text()))
    except ModuleNotFoundError:  # no python3-jsonschema here: the tests validate every format
        problems = []
    for problem in problems:
        print(f"autograde: the result does not match the {args.platform} schema: {problem}",
              file=sys.stderr)
    print(f"autograde: {result['score']:g} / {result['max_score']:g} "
          f"({result['passed']} passed, {result['failed']} failed, "
          f"{result.get('not_gradable', 0)} not gradable here); sandbox: "
          f"{json.dumps(result['sandbox'])}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
