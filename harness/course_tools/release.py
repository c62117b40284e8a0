"""./course release --out DIR: the student version of the course.

Copies the repository without build folders, instructor-only files and answer
keys; replaces every solution region by its stub; strips hidden tests; records
the grading plan (points, how many hidden tests there are) in .course/release.json;
keeps pristine copies of the starter files for `./course reset`; writes a GitHub
Classroom workflow that grades every push, one step per lesson."""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

from . import meta, regions

# Never in a release. Globs on the path relative to the repository root.
ALWAYS_EXCLUDED = [
    ".git", ".git/*", "build", "build/*", "build-*", "site", "site/*", ".course-state.json",
    "*/__pycache__", "*/__pycache__/*", "__pycache__", ".pytest_cache", "*/.pytest_cache/*",
    ".ci", ".ci/*", ".github", ".github/*", ".course", ".course/*",
    # answer keys and instructor-only material
    "*/solutions", "*/solutions/*", "*.solution.*", "*/answers", "*/answers/*",
    "*_hidden.py", "*/hidden", "*/hidden/*",
    # the course's own honesty checks test the reference, not a release
    "harness/tests/test_release*.py", "harness/tests/test_exercise_tools*.py",
]
STARTER = Path(".course") / "starter"


def excluded(rel: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) for p in patterns)


def strip_hidden(text: str, hidden_names: set[str], where: str) -> str | None:
    """The test file without its hidden tests (None: the whole module is hidden)."""
    tree = ast.parse(text, where)
    if meta._module_hidden(tree):
        return None
    cut: list[tuple[int, int]] = []
    for stmt in tree.body:
        nodes = [stmt]
        if isinstance(stmt, ast.ClassDef):
            if any(meta._is_hidden_marker(d) for d in stmt.decorator_list) or \
                    stmt.name in hidden_names:
                nodes = [stmt]
            else:
                nodes = stmt.body
        for node in nodes:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            qualified = node.name if node is stmt else f"{stmt.name}::{node.name}"
            if any(meta._is_hidden_marker(d) for d in node.decorator_list) or \
                    qualified in hidden_names:
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                cut.append((start, node.end_lineno))
    lines = text.splitlines(keepends=True)
    for start, end in sorted(cut, reverse=True):
        # take the blank lines before it too, so no gap of four blank lines remains
        while start > 1 and not lines[start - 2].strip():
            start -= 1
        del lines[start - 1:end]
    return "".join(lines)


def titles_of(root: Path) -> dict[str, str]:
    return {ex["id"]: ex["title"] for _, ex in meta.all_exercises(root)}


def default_ids(root: Path) -> dict[Path, str]:
    """file -> the exercise id its unmarked regions belong to (when unambiguous)."""
    owners: dict[Path, list[str]] = {}
    for lesson, ex in meta.all_exercises(root):
        for path in meta.exercise_files(root, lesson, ex):
            owners.setdefault(path.resolve(), []).append(ex["id"])
    return {p: ids[0] for p, ids in owners.items() if len(ids) == 1}


def region_files(root: Path) -> list[Path]:
    """Every source file under lessons/ and common/ that has a solution region."""
    found = []
    for top in ("lessons", "common"):
        for path in sorted((root / top).rglob("*")):
            if path.suffix in regions.SOURCE_SUFFIXES and path.is_file() and \
                    "__pycache__" not in path.parts and \
                    regions.has_regions(path.read_text(encoding="utf-8", errors="replace")):
                found.append(path)
    return found


def render_file(root: Path, path: Path, keep: set[str]) -> str:
    return regions.render(path.read_text(encoding="utf-8"), keep, titles_of(root),
                          default_ids(root).get(path.resolve(), ""), str(path))


def make_release(root: Path, out: Path, only: list[str] | None = None) -> dict:
    """Writes the release into `out`; returns a summary."""
    root = root.resolve()
    out = out.resolve()
    if out == root or root in out.parents and not excluded(
            out.relative_to(root).as_posix(), ALWAYS_EXCLUDED):
        raise ValueError(f"{out} is inside the course; choose a folder outside it")
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty")
    course = meta.load(root)
    patterns = ALWAYS_EXCLUDED + list(course.get("release", {}).get("exclude", []))
    chosen = meta.lessons(root, course)
    if only:
        wanted = {k.zfill(2) for k in only}
        unknown = wanted - {lesson["number"] for lesson in chosen}
        if unknown:
            raise ValueError(f"no lesson {', '.join(sorted(unknown))}")
        chosen = [lesson for lesson in chosen if lesson["number"] in wanted]
        keep = {lesson["folder"] for lesson in chosen}
        for folder in (root / "lessons").iterdir():  # course.toml's and any half-written one
            if folder.is_dir() and folder.name not in keep:
                patterns += [f"lessons/{folder.name}", f"lessons/{folder.name}/*"]

    full_plan = [t for t in meta.plan(root, course)
                 if t.lesson in {lesson["number"] for lesson in chosen}]
    hidden_by_file: dict[str, set[str]] = {}
    for t in full_plan:
        if t.hidden:
            folder = next(lesson["folder"] for lesson in chosen if lesson["number"] == t.lesson)
            file, name = t.key.split("::", 1)
            hidden_by_file.setdefault(f"lessons/{folder}/{file}", set()).add(name)

    titles = titles_of(root)
    ids = default_ids(root)
    stubbed, stripped, copied = [], [], 0
    out.mkdir(parents=True, exist_ok=True)
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        rel_dir = here.relative_to(root).as_posix()
        dirnames[:] = sorted(d for d in dirnames if not excluded(
            f"{rel_dir}/{d}" if rel_dir != "." else d, patterns))
        for name in sorted(filenames):
            source = here / name
            rel = source.relative_to(root).as_posix()
            if excluded(rel, patterns) or source.is_symlink() and not source.exists():
                continue
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            text = None
            if source.suffix in regions.SOURCE_SUFFIXES and rel.split("/")[0] in (
                    "lessons", "common"):
                text = source.read_text(encoding="utf-8", errors="surrogateescape")
                if regions.has_regions(text):
                    text = regions.render(text, set(), titles, ids.get(source.resolve(), ""),
                                          rel)
                    stubbed.append(rel)
                    starter = out / STARTER / rel
                    starter.parent.mkdir(parents=True, exist_ok=True)
                    starter.write_text(text, encoding="utf-8", errors="surrogateescape")
                if rel in hidden_by_file:
                    text = strip_hidden(text, hidden_by_file[rel], rel)
                    stripped.append(rel)
                    if text is None:
                        continue
            if text is None:
                shutil.copy2(source, target)
            else:
                target.write_text(text, encoding="utf-8", errors="surrogateescape")
                shutil.copymode(source, target)
            copied += 1

    # The plan travels with the release, hidden tests anonymised: their points
    # still count in "N hidden tests not run", their names and code do not ship.
    shipped = []
    for n, t in enumerate(full_plan):
        entry = asdict(t)
        if t.hidden:
            entry.update(key=f"(hidden test {n + 1})", line=0)
        shipped.append(entry)
    (out / ".course").mkdir(exist_ok=True)
    (out / meta.RELEASE_MANIFEST).write_text(json.dumps(
        {"release": True, "lessons": [lesson["number"] for lesson in chosen],
         "plan": shipped}, indent=1, ensure_ascii=False) + "\n")
    workflow = out / ".github" / "workflows" / "classroom.yml"
    workflow.parent.mkdir(parents=True, exist_ok=True)
    workflow.write_text(classroom_workflow(chosen, full_plan))
    return {"files": copied, "stubbed": stubbed, "stripped": stripped,
            "lessons": [lesson["number"] for lesson in chosen],
            "hidden": sum(t.hidden for t in full_plan)}


def classroom_workflow(chosen: list[dict], the_plan: list[meta.TestFn]) -> str:
    """GitHub Classroom: build and grade every push, one step per lesson, then
    report every lesson's per-test scores to Classroom."""
    steps, runners, env = [], [], []
    for lesson in chosen:
        points = sum(t.points for t in the_plan if t.lesson == lesson["number"] and not t.hidden)
        step_id = f"lesson-{lesson['number']}"
        title = lesson["title"].replace('"', "'")
        steps.append(f"""      - name: "Lesson {lesson['number']}: {title} ({points:g} points)"
        id: {step_id}
        if: always()
        timeout-minutes: 15
        run: ./course grade {lesson['number']} --classroom
""")
        runners.append(step_id)
        env.append(f"          {step_id.upper()}_RESULTS: \"${{{{ steps.{step_id}.outputs.result }}}}\"")
    return f"""# Written by ./course release: grades every push, one step per lesson.
# Each step runs that lesson's public tests and hands its per-test scores to
# GitHub Classroom (the autograding result format: version, status,
# max_score, tests); the reporter at the end adds them up.
name: Autograding
on:
  - push
  - repository_dispatch
  - workflow_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  grade:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    # The course is built and tested on Debian 12.
    container: debian:12
    timeout-minutes: 60
    steps:
      - name: Python (./course needs it before anything else)
        run: apt-get update -q && apt-get install -y -q --no-install-recommends python3 ca-certificates
      - uses: actions/checkout@v4
      - name: Install the compilers and libraries
        run: ./course setup
{''.join(steps)}      - name: Report the scores to GitHub Classroom
        if: always()
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{chr(10).join(env)}
        with:
          runners: {','.join(runners)}
"""


def leaks(root: Path, out: Path) -> list[str]:
    """Solution lines found anywhere in the release (lines that also occur outside
    every solution region in the reference, like `}`, are not evidence)."""
    root, out = root.resolve(), out.resolve()
    public: set[str] = set()
    secret: dict[str, str] = {}
    ids = default_ids(root)
    for path in region_files(root):
        text = path.read_text(encoding="utf-8")
        public.update(line.strip() for line in
                      regions.render(text, set(), {}, ids.get(path.resolve(), "x")).splitlines())
        for exercise, line in regions.solution_lines(text, ids.get(path.resolve(), "x")):
            secret.setdefault(line, f"{path.relative_to(root)} ({exercise})")
    released = []
    for path in sorted(out.rglob("*")):
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            continue
        reference = root / path.relative_to(out)
        if reference.is_file() and reference.read_bytes() == path.read_bytes():
            # Copied unchanged: every line of it is already public in the
            # reference (`" bytes");` in another lesson's file is no leak).
            public.update(line.strip() for line in lines)
        else:
            released.append((path, lines))
    secret = {line: where for line, where in secret.items()
              if line not in public and len(line) >= 10}
    found = []
    for path, lines in released:
        for number, line in enumerate(lines, 1):
            if line.strip() in secret:
                found.append(f"{path.relative_to(out)}:{number}: solution line of "
                             f"{secret[line.strip()]}: {line.strip()}")
    return found
