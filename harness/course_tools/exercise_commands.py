"""./course hint, watch, reset and release: thin handlers over
student.py and release.py (grade and autograder: grading_commands.py) (argparse in, their results printed).
Kept apart from the rest of the CLI so that grading can change on its own."""

from __future__ import annotations

from pathlib import Path

from .console import CourseError, paint, say
from .grading_commands import GRADING_COMMANDS, add_grading_commands
from .project import BUILD, ROOT
from .setup import setup, test_python


def add_exercise_commands(sub) -> None:
    sub.add_parser("hint", help="what to do in a lesson's exercises; hints for one") \
        .add_argument("exercise", metavar="LESSON[.EXERCISE]")
    p = sub.add_parser("watch", help="re-run the current exercise's tests on every save")
    p.add_argument("exercise", nargs="?", metavar="LESSON.EXERCISE", help="start here")
    p.add_argument("--interval", type=float, default=1.0, help="poll period in seconds")
    sub.add_parser("reset", help="put an exercise's starter code back (your workspace or a release)") \
        .add_argument("exercise", metavar="LESSON.EXERCISE")
    add_grading_commands(sub)
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
                     "release": release_command, **GRADING_COMMANDS}
