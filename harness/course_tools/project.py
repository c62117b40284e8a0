"""Where the course is and which lessons it has. The root is the folder that
holds ./course (this file is harness/course_tools/project.py under it); the
lessons come from course.toml through meta.load, the one place that reads it."""

from __future__ import annotations

import os
from pathlib import Path

from . import meta
from .console import CourseError

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("COURSE_BUILD_DIR", ROOT / "build"))
STATE = ROOT / ".course-state.json"


def metadata() -> dict:
    return meta.load(ROOT)


def lessons() -> list[dict]:
    """The lessons of course.toml whose folder exists, in order."""
    return meta.lessons(ROOT)


def find_lesson(key: str) -> dict:
    """'4', '04', '04.1' or the folder's name -> the lesson."""
    key = key.split(".")[0]
    for lesson in lessons():
        if key in (lesson["number"], lesson["folder"]) or key.zfill(2) == lesson["number"]:
            return lesson
    raise CourseError(f"no lesson {key!r}; ./course list shows them", 2)
