"""./course: the command line (argparse and dispatch only). The work is done by
setup, build, testrun, show, docs and fuzz, and the exercise commands by
exercise_commands; they raise CourseError, which main() prints as `error: ...`
and turns into the exit status."""

from __future__ import annotations

import argparse
import os
import select
import sys

from .setup import DEFAULT_GROUPS, ensure_toml_reader, setup

try:  # Python 3.10 (Ubuntu 22.04) has no tomllib: python3-tomli, before meta is imported
    ensure_toml_reader()
except Exception as failure:  # no apt, no root: meta's ImportError below says what to do
    print(f"error: {getattr(failure, 'message', failure)}", file=sys.stderr)

from . import i18n, meta, workspace  # noqa: E402
from .build import PRESETS, build  # noqa: E402
from .console import CourseError, error, say  # noqa: E402
from .docs import docs  # noqa: E402
from .exercise_commands import EXERCISE_COMMANDS, add_exercise_commands  # noqa: E402
from .fuzz import fuzz  # noqa: E402
from .project import ROOT, find_lesson, metadata  # noqa: E402
from .show import capture, run_lesson  # noqa: E402
from .testrun import capture_failures, list_lessons, run_tests  # noqa: E402


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="./course",
                                     description="The student's door to socket-lessons.")
    parser.add_argument("--lang", choices=i18n.LANGUAGES,
                        help="the language of its messages (default: $COURSE_LANG or the "
                             "locale; zh: 简体中文)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("setup", help="install what the course needs (apt, when root or sudo)") \
        .add_argument("--ci", action="store_true", help="also the CI-only tools")
    sub.add_parser("build", help="build every program into build/bin") \
        .add_argument("--preset", default="default", choices=PRESETS)
    p = sub.add_parser("test", help="build, run the tests, print a pass/fail table per lesson")
    p.add_argument("lessons", nargs="*", help="lesson numbers (default: all)")
    p.add_argument("--preset", default="default", choices=PRESETS)
    p = sub.add_parser("check", help="run one lesson's public tests")
    p.add_argument("lesson")
    p.add_argument("--capture", action="store_true",
                   help="run the failing tests once more, recording their loopback packets "
                        "(tcpdump, as root) into a pcap each")
    p = sub.add_parser("start", help="your turn: every exercise back to its starter code")
    p.add_argument("--undo", action="store_true",
                   help="put the reference solutions back, byte for byte")
    p = sub.add_parser("solution", help="an exercise's reference solution, once its tests pass")
    p.add_argument("exercise", metavar="LESSON.EXERCISE")
    p.add_argument("--force", action="store_true", help="show it even before its tests pass")
    p.add_argument("--diff", action="store_true",
                   help="as a diff from your file to the solved one")
    add_exercise_commands(sub)
    sub.add_parser("list", help="the lessons and how their tests went last time")
    sub.add_parser("run", help="show a lesson: start its server, run its client").add_argument(
        "lesson")
    sub.add_parser("demo", help="build, then an echo server and a client talking to it")
    p = sub.add_parser("capture", help="record a lesson's demo with tshark into a pcap file")
    p.add_argument("lesson")
    p.add_argument("--output", help="where to write the pcap (default: build/captures/)")
    p.add_argument("--svg", nargs="?", const="", metavar="FILE",
                   help="also draw the packets as a ladder diagram (default: next to the pcap)")
    sub.add_parser("mutants", add_help=False,  # its own options: see mutants_command
                   help="typical mistakes against the public tests (./course mutants --help)")
    sub.add_parser("fuzz", help="run every libFuzzer target for a bounded time (clang)") \
        .add_argument("--seconds", type=int, default=30)
    sub.add_parser("docs", help="build the course site into site/ (--serve: preview it)") \
        .add_argument("--serve", action="store_true")
    return parser


def check(lesson: str, capture: bool = False) -> int:
    from . import student
    status = run_tests([lesson], public_only=True)
    if status and capture:
        for pcap in capture_failures(lesson):
            print(f"  packet capture: {pcap}\n      open it with: tshark -r {pcap}   "
                  f"(or Wireshark)")
    elif status:
        # Recording means running the failing tests again: a student's every
        # check would take twice as long, so only when asked.
        print(f"  to see the failing tests' packets: ./course check {lesson} --capture")
    print(student.hidden_note(ROOT, find_lesson(lesson)))
    return status


def start(undo: bool) -> int:
    try:
        if undo:
            done = workspace.undo(ROOT)
            for line in done["saved"]:
                say(f"saved {line}")
            say(f"the reference solutions are back: {len(done['files'])} files, byte for byte "
                f"as before ./course start (which gives you the exercises again)")
            return 0
        done = workspace.start(ROOT)
    except workspace.WorkspaceError as failure:
        raise CourseError(failure.message, failure.status)
    if done["already"]:
        say(f"this workspace was started already: {len(done['files'])} exercise files are "
            f"yours (./course start --undo: the reference solutions)")
        return 0
    say(f"your workspace: {len(done['files'])} exercise files are back to their starter code")
    print(f"  the reference solutions are kept in {workspace.REFERENCE}/ (git does not see it)")
    print("  ./course hint 01         the first lesson's exercises: what to do, where")
    print("  ./course watch           re-runs the current exercise's tests on every save")
    print("  ./course list            every exercise and how its tests went")
    print("  ./course reset 01.1      one exercise back to its starter code")
    print("  ./course solution 01.1   its reference solution, once its tests pass")
    print("  ./course start --undo    every reference solution back, byte for byte")
    return 0


def solution(key: str, force: bool, diff: bool) -> int:
    from . import student
    try:
        lesson, ex = meta.find_exercise(ROOT, key)
        status = student.exercise_status(ROOT, ex["id"]) if ex else "not run"
        lines = workspace.solution(ROOT, key, force, diff, status)
    except KeyError as failure:
        raise CourseError(f"{failure.args[0]}; ./course list shows the exercises", 2)
    except workspace.WorkspaceError as failure:
        raise CourseError(failure.message, failure.status)
    if ex and force and status != "pass" and workspace.started(ROOT):
        say(f"exercise {ex['id']}: the reference solution, before your tests pass (--force)")
    elif ex:
        say(f"exercise {ex['id']}: {ex['title']}, the reference solution")
    print("\n".join(lines))
    return 0


def dispatch(args, the_parser: argparse.ArgumentParser) -> int:
    if args.command == "setup":
        setup(DEFAULT_GROUPS + ["ci"] if args.ci else None)
        return 0
    if args.command == "build":
        build(args.preset)
        return 0
    if args.command == "test":
        return run_tests(args.lessons, args.preset)
    if args.command == "check":
        return check(args.lesson, args.capture)
    if args.command == "start":
        return start(args.undo)
    if args.command == "solution":
        return solution(args.exercise, args.force, args.diff)
    if args.command == "release" and (ROOT / workspace.WORKSPACE).exists():
        raise CourseError("this copy is a started workspace: its exercise files are starter "
                          "code, not the reference; ./course start --undo first", 2)
    if args.command in EXERCISE_COMMANDS:
        return EXERCISE_COMMANDS[args.command](args)
    if args.command == "list":
        return list_lessons()
    if args.command == "run":
        return run_lesson(args.lesson)
    if args.command == "capture":
        return capture(args.lesson, args.output, args.svg)
    if args.command == "demo":
        setup()
        return run_lesson(metadata()["course"]["demo_lesson"])
    if args.command == "fuzz":
        return fuzz(args.seconds)
    if args.command == "docs":
        return docs(args.serve)
    the_parser.print_help()
    return 0


def mutants_command(options: list[str]) -> int:
    """./course mutants ...: every option is course_tools/mutants.py's own."""
    from . import mutants
    if "-h" not in options and "--help" not in options and "--list" not in options:
        setup(["build", "test"], quiet=True)
    return mutants.main(options)


def main(argv: list[str] | None = None) -> int:
    try:
        the_parser = make_parser()
        argv = sys.argv[1:] if argv is None else argv
        if "mutants" in argv:  # ./course [--lang X] mutants OPTIONS...
            at = argv.index("mutants")
            if all(word.startswith("--lang") or argv[i - 1] == "--lang"
                   for i, word in enumerate(argv[:at])):
                i18n.choose(the_parser.parse_args([*argv[:at], "list"]).lang)
                return mutants_command(argv[at + 1:])
        args = the_parser.parse_args(argv)
        i18n.choose(args.lang)
        status = dispatch(args, the_parser)
        sys.stdout.flush()  # a closed pipe shows here rather than at exit
        return status
    except CourseError as failure:
        error(failure.message)
        return failure.status
    except SystemExit:  # argparse after --help or a usage error
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise
    except BrokenPipeError:
        if not stdout_closed():
            raise  # another pipe (a program's stdin): a real error
        # `./course list | head -3`: the reader has gone. Nothing more can be
        # shown; send what is still buffered nowhere so that Python's exit does
        # not complain about it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def stdout_closed() -> bool:
    """True when stdout is a pipe whose reader has gone (poll says POLLERR)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return True  # no poll() or no real stdout: assume the pipe is what broke
