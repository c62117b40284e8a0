"""What ./course prints: colours when stdout is a terminal (and NO_COLOR is
unset), `==>` progress lines, and CourseError, the error every module raises
for cli.py to print as `error: ...` with its exit status."""

from __future__ import annotations

import os
import sys


class CourseError(Exception):
    """A failure to report to the student: cli.main prints `error: MESSAGE` and
    exits with `status` (2: a lesson or exercise that does not exist)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.message = message
        self.status = status


def tty() -> bool:
    return sys.stdout.isatty() and os.environ.get("NO_COLOR") is None


def paint(text: str, color: str) -> str:
    codes = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}
    return f"\033[{codes[color]}m{text}\033[0m" if tty() else text


def say(message: str) -> None:
    print(paint(f"==> {message}", "bold"), flush=True)


def error(message: str) -> None:
    print(paint(f"error: {message}", "red"), file=sys.stderr)
