"""./course docs: capture every lesson demo's real output for the pages, then
build the site with mkdocs (or serve it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .build import build
from .console import CourseError, say
from .project import ROOT, lessons
from .setup import setup


def capture_runs() -> None:
    """Real output for the lesson pages: each lesson's `./course run`, captured."""
    out_dir = ROOT / "docs" / "generated"
    out_dir.mkdir(exist_ok=True)
    for lesson in lessons():
        if not lesson.get("demo"):
            continue
        done = subprocess.run(["sh", str(ROOT / "course"), "run", lesson["number"]],
                              capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, NO_COLOR="1"))
        if done.returncode != 0:
            raise CourseError(f"./course run {lesson['number']} failed:\n"
                              f"{done.stdout}{done.stderr}")
        (out_dir / f"run-{lesson['number']}.txt").write_text(done.stdout)


def docs(serve: bool) -> int:
    build(quiet=True)
    setup(["test"], quiet=True)  # mkdocs and its theme; never the CI-only tools
    say("capturing real program output for the pages")
    capture_runs()
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    if serve:  # one language at a time: mkdocs serve -f mkdocs.zh.yml for the Chinese one
        say("mkdocs serve")
        return subprocess.run([python, "-m", "mkdocs", "serve"], cwd=ROOT).returncode
    # English into site/, then Chinese into site/zh/ (each build empties its own folder)
    for config, what in (("mkdocs.yml", "English"), ("mkdocs.zh.yml", "Chinese (中文)")):
        say(f"mkdocs build --strict -f {config}   ({what})")
        status = subprocess.run([python, "-m", "mkdocs", "build", "--strict", "-f", config],
                                cwd=ROOT).returncode
        if status:
            return status
    return 0
