"""./course hint, watch, reset, grade and release: thin handlers over
student.py, grade.py and release.py (argparse in, their results printed).
Kept apart from the rest of the CLI so that grading can change on its own."""

from __future__ import annotations

from pathlib import Path

from .console import CourseError, paint, say
from .project import BUILD, ROOT, lessons
from .setup import setup, test_python


def add_exercise_commands(sub) -> None:
    sub.add_parser("hint", help="what to do in a lesson's exercises; hints for one") \
        .add_argument("exercise", metavar="LESSON[.EXERCISE]")
    p = sub.add_parser("watch", help="re-run the current exercise's tests on every save")
    p.add_argument("exercise", nargs="?", metavar="LESSON.EXERCISE", help="start here")
    p.add_argument("--interval", type=float, default=1.0, help="poll period in seconds")
    sub.add_parser("reset", help="put an exercise's starter code back (student release)") \
        .add_argument("exercise", metavar="LESSON.EXERCISE")
    p = sub.add_parser("grade", help="build, run the tests, print a score table (points)")
    p.add_argument("lessons", nargs="*", help="lesson numbers (default: all)")
    p.add_argument("--hidden", action="store_true", help="also the hidden tests (instructor)")
    p.add_argument("--json", metavar="FILE", help="write the scores as JSON")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML")
    p.add_argument("--classroom", nargs="?", const=True, metavar="FILE",
                   help="GitHub Classroom's result: to $GITHUB_OUTPUT (and FILE, as JSON)")
    p.add_argument("--submissions", metavar="DIR", type=Path,
                   help="grade every student folder in DIR (one CSV and one JSON)")
    p.add_argument("--csv", metavar="FILE", default="grades.csv",
                   help="with --submissions: the class CSV (default grades.csv)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per submission")
    p = sub.add_parser("release", help="write the student version (instructor)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR")
    p.add_argument("--lessons", nargs="+", metavar="NN", help="only these lessons")


def hint_command(args) -> int:
    from . import student
    try:
        print(student.hint(ROOT, args.exercise))
    except KeyError as error:
        raise CourseError(f"{error.args[0]}; ./course list shows the lessons and exercises", 2)
    return 0


def watch_command(args) -> int:
    from . import student
    setup(["build", "test"], quiet=True)
    try:
        return student.watch(ROOT, BUILD, test_python(), args.exercise,
                             args.interval, paint=paint)
    except KeyboardInterrupt:
        return 0
    except KeyError as error:
        raise CourseError(f"{error.args[0]}", 2)


def reset_command(args) -> int:
    from . import student
    try:
        for line in student.reset(ROOT, args.exercise):
            say(f"restored {line}")
    except (KeyError, ValueError) as error:
        raise CourseError(str(error.args[0]), 2)
    return 0


def grade_command(args) -> int:
    from . import grade, student
    setup(["build", "test"], quiet=True)
    if args.submissions:
        say(f"grading every folder in {args.submissions}")
        rows = grade.grade_submissions(ROOT, args.submissions, Path(args.csv),
                                       Path(args.json or "grades.json"), args.lessons,
                                       True, args.timeout, test_python())
        say(f"{len(rows)} submissions: {args.csv}, {args.json or 'grades.json'}")
        return 0
    try:
        result = grade.grade(ROOT, args.lessons, BUILD, test_python(), args.hidden)
    except KeyError as error:
        raise CourseError(str(error.args[0]), 2)
    grade.print_table(result, paint)
    grade.save_outputs(result, args.json, args.junit, args.classroom)
    student.record(ROOT, [{"nodeid": f"lessons/{lesson['folder']}/{x['name']}",
                           "outcome": "passed" if x["status"] == "pass" else "failed"}
                          for x in result["tests"] if x["status"] != "not run"
                          for lesson in lessons() if lesson["number"] == x["lesson"]])
    return 0 if result["failed"] == 0 and result["passed"] > 0 else 1


def release_command(args) -> int:
    from . import release
    try:
        summary = release.make_release(ROOT, args.out, args.lessons)
    except ValueError as error:
        raise CourseError(str(error), 2)
    leaks = release.leaks(ROOT, args.out)
    if leaks:
        print("\n".join(leaks[:20]))
        raise CourseError(f"{len(leaks)} solution lines are in the release: fix the regions")
    say(f"release in {args.out}: {summary['files']} files, lessons "
        f"{' '.join(summary['lessons'])}; {len(summary['stubbed'])} files stubbed, "
        f"{summary['hidden']} hidden tests removed")
    return 0


EXERCISE_COMMANDS = {"hint": hint_command, "watch": watch_command, "reset": reset_command,
                     "grade": grade_command, "release": release_command}
