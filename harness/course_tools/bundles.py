"""./course autograder --platform P --out DIR: what an instructor uploads to a
grading platform. Every bundle carries the instructor's whole course, hidden
tests included, so nothing authoritative lives in a student's repository; each
platform's entry point runs harness/course_tools/autograde.py on one submission.

  gradescope    setup.sh + run_autograder + course/, zipped as autograder.zip
  classroom50   autograder.py + course/, for CLASSROOM/autograders/ASSIGNMENT/
                of the instructor's classroom50 config repository
  prairielearn  serverFilesCourse/socket_lessons/ (course + run.sh), one
                externally graded question per exercise, and the Dockerfile
                of the image they run in

Each bundle has a README.md with the steps; the instructor guide has them too."""

from __future__ import annotations

import json
import shutil
import tarfile
import uuid
import zipfile
from pathlib import Path

from . import meta, submissions
from .setup import PACKAGES

PLATFORMS = ("gradescope", "classroom50", "prairielearn")
# What grading needs, and no more (no browser, no site tools, no capture tools).
GRADER_PACKAGES = [*PACKAGES["build"], "python3", "python3-pytest", "python3-pytest-xdist",
                   "python3-pytest-timeout", "python3-jsonschema", "iproute2", "procps",
                   "util-linux", "ccache"]
ENTRY = "course/harness/course_tools/autograde.py"
CLASSROOM50_LIMIT = 10 * 1024 * 1024  # its runner refuses larger bundles


def copy_course(root: Path, out: Path) -> Path:
    """The instructor's course as it is (hidden tests and all), without builds."""
    target = out / "course"
    if target.exists():
        shutil.rmtree(target)
    submissions.sync_course(root, target)
    (target / meta.RELEASE_MANIFEST).unlink(missing_ok=True)
    return target


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


# ---------------------------------------------------------------- Gradescope

GRADESCOPE_SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image:
# the packages the course needs, then one build of the starter code, so that
# grading a submission recompiles only the files it changed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
AG=${AUTOGRADER_ROOT:-/autograder}
missing=""
for package in %s; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $package"
done
if [ -n "$missing" ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends $missing
fi
/usr/bin/python3 "$AG/source/%s" --platform gradescope --course "$AG/source/course" \\
  --work "$AG/course-work" --prepare
"""

GRADESCOPE_RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission. The student's files are in
# $AG/submission; only the exercise files are taken from there, into a fresh
# copy of the course in this bundle. The result goes to $AG/results/results.json.
set -uo pipefail
AG=${AUTOGRADER_ROOT:-/autograder}
mkdir -p "$AG/results"
exec /usr/bin/python3 "$AG/source/%s" --platform gradescope --course "$AG/source/course" \\
  --submission "$AG/submission" --out "$AG/results/results.json" --work "$AG/course-work"
"""


def gradescope(root: Path, out: Path) -> list[Path]:
    copy_course(root, out)
    executable(out / "setup.sh", GRADESCOPE_SETUP % (" ".join(GRADER_PACKAGES), ENTRY))
    executable(out / "run_autograder", GRADESCOPE_RUN % ENTRY)
    archive = out / "autograder.zip"
    archive.unlink(missing_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(out.rglob("*")):
            if path.is_file() and path != archive and path.name != "README.md":
                info = zipfile.ZipInfo.from_file(path, path.relative_to(out).as_posix())
                z.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return [archive]


# ---------------------------------------------------------------- Classroom 50

CLASSROOM50_ENTRY = '''#!/usr/bin/env python3
"""Classroom 50 runs this for every submission (its runner.py, once per push),
with the student's checkout as the working directory; it must leave
result.json (schema classroom50/result/v1) there. The course it grades with is
the one beside this file, in the instructor's config repository: the
student's repository only provides the exercise files."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

BUNDLE = Path(os.environ.get("CLASSROOM50_BUNDLE_DIR") or Path(__file__).resolve().parent)
COURSE = BUNDLE / "course"
PACKAGES = %r


def main() -> int:
    if os.geteuid() != 0 and shutil.which("sudo"):
        # GitHub's runners allow sudo: as root the student's programs run as a
        # user of their own and cannot reach the grade (course_tools/sandbox.py).
        return subprocess.call(["sudo", "-n", "-E", "/usr/bin/python3", __file__])
    if os.geteuid() == 0 and shutil.which("apt-get"):
        missing = [p for p in PACKAGES if subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
            text=True).stdout.find("install ok installed") < 0]
        if missing:
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
            subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                            *missing], env=env, check=True)
    work = Path(os.environ.get("RUNNER_TEMP") or "/tmp") / "course-work"
    return subprocess.call(["/usr/bin/python3", str(COURSE / "harness/course_tools/autograde.py"),
                            "--platform", "classroom50", "--course", str(COURSE),
                            "--submission", os.getcwd(), "--out", "result.json",
                            "--work", str(work)])


if __name__ == "__main__":
    sys.exit(main())
'''


def classroom50(root: Path, out: Path) -> list[Path]:
    copy_course(root, out)
    executable(out / "autograder.py", CLASSROOM50_ENTRY % (GRADER_PACKAGES,))
    archive = out.parent / f"{out.name}.tar.gz"  # what its publish step makes of the folder
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(out, arcname=".")
    size = archive.stat().st_size
    archive.unlink()
    if size > CLASSROOM50_LIMIT:
        raise ValueError(f"the bundle is {size} bytes packed; Classroom 50 takes at most "
                         f"{CLASSROOM50_LIMIT}")
    return [out / "autograder.py"]


# ---------------------------------------------------------------- PrairieLearn

PRAIRIELEARN_RUN = """#!/bin/sh
# PrairieLearn's external grader runs this in the grading container: the
# question's tests/exercise names the exercise, the student's files are in
# /grade/student, the result goes to /grade/results/results.json.
mkdir -p /grade/results
exec /usr/bin/python3 /grade/serverFilesCourse/socket_lessons/%s --platform prairielearn \\
  --course /grade/serverFilesCourse/socket_lessons/course --submission /grade/student \\
  --exercise "$(cat /grade/tests/exercise)" --out /grade/results/results.json \\
  --work /opt/course-work
"""

PRAIRIELEARN_DOCKERFILE = """# The image PrairieLearn grades socket-lessons in: Debian 12 with the course's
# build and test packages, and the starter code built once in /opt/course-work
# (the same folder run.sh grades in, so a submission only recompiles its files).
FROM debian:12
ENV DEBIAN_FRONTEND=noninteractive
RUN %s && rm -rf /var/lib/apt/lists/*
COPY course /grade/serverFilesCourse/socket_lessons/course
RUN /usr/bin/python3 /grade/serverFilesCourse/socket_lessons/%s --platform prairielearn \\
      --course /grade/serverFilesCourse/socket_lessons/course --work /opt/course-work --prepare \\
 && rm -rf /grade/serverFilesCourse
"""


def prairielearn(root: Path, out: Path) -> list[Path]:
    shared = out / "serverFilesCourse" / "socket_lessons"
    shared.mkdir(parents=True, exist_ok=True)
    copy_course(root, shared)
    executable(shared / "run.sh", PRAIRIELEARN_RUN % ENTRY)
    image = out / "image"
    image.mkdir(exist_ok=True)
    if (image / "course").exists():
        shutil.rmtree(image / "course")
    shutil.copytree(shared / "course", image / "course")
    apt = ("apt-get update -q && apt-get install -y -q --no-install-recommends "
           + " ".join(GRADER_PACKAGES))
    (image / "Dockerfile").write_text(PRAIRIELEARN_DOCKERFILE % (apt, ENTRY))
    written = [shared / "run.sh", image / "Dockerfile"]
    for lesson, ex in meta.all_exercises(root):
        q = out / "questions" / "socket-lessons" / f"exercise-{ex['id'].replace('.', '-')}"
        (q / "tests").mkdir(parents=True, exist_ok=True)
        (q / "tests" / "exercise").write_text(ex["id"] + "\n")
        files = [Path(f).name for f in ex.get("files", [])]
        info = {
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"socket-lessons/exercise/{ex['id']}")),
            "title": f"{ex['id']} {ex['title']}", "topic": f"Lesson {lesson['number']}",
            "tags": ["socket-lessons", f"lesson{lesson['number']}"], "type": "v3",
            "singleVariant": True, "gradingMethod": "External",
            "externalGradingOptions": {
                "enabled": True, "image": "YOUR_REGISTRY/socket-lessons-grader",
                "serverFilesCourse": ["socket_lessons/"],
                "entrypoint": "/grade/serverFilesCourse/socket_lessons/run.sh",
                "timeout": 600}}
        (q / "info.json").write_text(json.dumps(info, indent=2) + "\n")
        description = "\n".join(f"<p>{line}</p>" for line in
                                ex.get("description", "").strip().split("\n\n"))
        (q / "question.html").write_text(
            f"<pl-question-panel>\n<h3>{ex['title']}</h3>\n{description}\n"
            f"<p>Upload your {', '.join(files)} (lesson {lesson['folder']}).</p>\n"
            f"</pl-question-panel>\n"
            f"<pl-file-upload file-names=\"{', '.join(files)}\"></pl-file-upload>\n"
            f"<pl-submission-panel>\n<pl-external-grader-results></pl-external-grader-results>\n"
            f"<pl-file-preview></pl-file-preview>\n</pl-submission-panel>\n")
        written.append(q / "info.json")
    return written


BUILDERS = {"gradescope": gradescope, "classroom50": classroom50, "prairielearn": prairielearn}


def make_bundle(root: Path, platform: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = BUILDERS[platform](root.resolve(), out)
    guide = root / "docs" / "grading-platforms.md"
    (out / "README.md").write_text(
        f"# socket-lessons autograder for {platform}\n\n"
        f"Made by `./course autograder --platform {platform}`. It holds the hidden tests: "
        f"keep it private. The steps are in the instructor guide, "
        f"{guide.relative_to(root) if guide.exists() else 'docs/instructors.md'}, "
        f"section \"{platform}\".\n")
    return written


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def describe(out: Path) -> str:
    return f"{out}: {sum(1 for p in out.rglob('*') if p.is_file())} files, " \
           f"{size_of(out) / 1e6:.1f} MB"

