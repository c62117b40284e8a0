"""./course grade and ./course autograder: the instructor's grading commands.

  ./course grade [NN ...] [--hidden] [--format F --out FILE ...]
  ./course grade --submissions DIR --out-dir GRADES [--jobs N]
  ./course autograder --platform gradescope|classroom50|prairielearn --out DIR"""

from __future__ import annotations

from pathlib import Path

from .console import CourseError, paint, say
from .project import BUILD, ROOT, lessons
from .setup import setup, test_python

FORMATS = ("json", "junit", "classroom50", "gradescope", "prairielearn")


def add_grading_commands(sub) -> None:
    p = sub.add_parser("grade", help="build, run the tests, print a score table (points)")
    p.add_argument("lessons", nargs="*", help="lesson numbers (default: all)")
    p.add_argument("--hidden", action="store_true", help="also the hidden tests (instructor)")
    p.add_argument("--format", action="append", choices=FORMATS, default=[],
                   help="write the result in this platform's format (with --out; repeatable)")
    p.add_argument("--out", action="append", default=[], metavar="FILE",
                   help="where to write each --format, in the same order")
    p.add_argument("--json", metavar="FILE", help="short for --format json --out FILE")
    p.add_argument("--junit", metavar="FILE", help="short for --format junit --out FILE")
    p.add_argument("--submissions", metavar="DIR", type=Path,
                   help="grade every student folder in DIR, each in a fresh copy of the course")
    p.add_argument("--out-dir", metavar="DIR", type=Path, default=Path("grades"),
                   help="with --submissions: reports/, grades.csv, grades.json (default grades/)")
    p.add_argument("--jobs", type=int, default=1, help="with --submissions: side by side")
    p.add_argument("--no-sandbox", action="store_true",
                   help="with --submissions: do not isolate the programs (not a real grade)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per submission")
    p = sub.add_parser("autograder", help="write a grading platform's bundle (instructor)")
    p.add_argument("--platform", required=True, choices=("gradescope", "classroom50",
                                                          "prairielearn"))
    p.add_argument("--out", required=True, type=Path, metavar="DIR")


def outputs(args) -> list[tuple[str, str]]:
    if len(args.format) != len(args.out):
        raise CourseError("give one --out FILE for each --format", 2)
    pairs = list(zip(args.format, args.out))
    if args.json:
        pairs.append(("json", args.json))
    if args.junit:
        pairs.append(("junit", args.junit))
    return pairs


def grade_command(args) -> int:
    from . import grade, student, submissions
    setup(["build", "test"], quiet=True)
    if args.submissions:
        say(f"grading every folder in {args.submissions}, {args.jobs} at a time")
        results = submissions.grade_class(ROOT, args.submissions, args.out_dir, test_python(),
                                          jobs=args.jobs, keys=args.lessons,
                                          timeout=args.timeout, sandbox=not args.no_sandbox)
        say(f"{len(results)} submissions graded: {args.out_dir / 'grades.csv'}, "
            f"{args.out_dir / 'grades.json'}, one report each in {args.out_dir / 'reports'}")
        return 0 if all(r.get("grading_status") == "graded" for r in results) else 1
    wanted = outputs(args)
    try:
        result = grade.grade(ROOT, args.lessons, BUILD, test_python(), args.hidden)
    except KeyError as error:
        raise CourseError(str(error.args[0]), 2)
    grade.print_table(result, paint)
    grade.save_outputs(result, wanted)
    student.record(ROOT, [{"nodeid": f"lessons/{lesson['folder']}/{x['name']}",
                           "outcome": "passed" if x["status"] == "pass" else "failed"}
                          for x in result["tests"] if x["status"] in ("pass", "fail", "error")
                          for lesson in lessons() if lesson["number"] == x["lesson"]])
    return 0 if result["failed"] == 0 and result["passed"] > 0 else 1


def autograder_command(args) -> int:
    from . import bundles
    try:
        written = bundles.make_bundle(ROOT, args.platform, args.out)
    except ValueError as error:
        raise CourseError(str(error), 2)
    say(f"{args.platform} bundle: {bundles.describe(args.out)}")
    for path in written[:4]:
        print(f"    {path}")
    print("    (it holds the hidden tests: keep it private; the steps: "
          "docs/grading-platforms.md)")
    return 0


GRADING_COMMANDS = {"grade": grade_command, "autograder": autograder_command}
