"""./course start: a clone of the course becomes the student's workspace.

A clone holds the reference: every exercise already solved. `./course start`
puts every exercise back to its starter code, the very text `./course release`
gives a student (release.render_file with no exercise kept), and keeps the
reference aside, outside the tracked files:

    .course/workspace.json       the marker: which files, their checksums and modes
    .course/reference/PATH       each exercise file's reference, byte for byte
    .course/starter/PATH         its starter code (what ./course reset copies back)
    .course/reference-state.json the progress recorded on the reference (.course-state.json)
    .course/.gitignore           `*`: git status never shows any of it

`./course solution EX` shows an exercise's reference solution once its public
tests have passed (the state that check, watch, test and grade record), or at
once with --force. `./course start --undo` writes the reference back byte for
byte; a file you changed is saved in .course/backup/ first, like reset does.

A student release (`./course release`) is a workspace already: it has no
reference to keep, and start refuses there."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import stat
import time
from pathlib import Path

from . import meta, regions, release

COURSE_DIR = Path(".course")
WORKSPACE = COURSE_DIR / "workspace.json"
REFERENCE = COURSE_DIR / "reference"
STARTER = release.STARTER  # .course/starter: the same place a release keeps them
SAVED_STATE = COURSE_DIR / "reference-state.json"
BACKUP = COURSE_DIR / "backup"
STATE_NAME = ".course-state.json"
GITIGNORE = "# ./course start: the workspace's own state; never committed\n*\n"


class WorkspaceError(Exception):
    """What cannot be done, in words for the student; `status` as for CourseError."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.message = message
        self.status = status


def kind(root: Path) -> str:
    """'release' (made by ./course release), 'workspace' (after ./course start)
    or 'reference' (a clone as it comes: every exercise solved)."""
    if (root / meta.RELEASE_MANIFEST).exists():
        return "release"
    if (root / WORKSPACE).exists():
        return "workspace"
    return "reference"


def started(root: Path) -> bool:
    return kind(root) == "workspace"


def has_starters(root: Path) -> bool:
    """Whether this folder's exercises are the student's: a release or a started workspace."""
    return kind(root) in ("release", "workspace")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(path: Path, data: bytes) -> None:
    """Whole file, then renamed into place: an interrupted start leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def manifest(root: Path) -> dict:
    try:
        return json.loads((root / WORKSPACE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise WorkspaceError(f"{WORKSPACE} cannot be read ({error}); the reference copies "
                             f"are in {REFERENCE}/") from error


def owners(root: Path) -> dict[str, list[str]]:
    """file (relative) -> the exercises whose regions it holds."""
    found: dict[str, list[str]] = {}
    for lesson, ex in meta.all_exercises(root):
        for path in meta.exercise_files(root, lesson, ex):
            found.setdefault(path.relative_to(root).as_posix(), []).append(ex["id"])
    return found


# ---------------------------------------------------------------- start

def start(root: Path) -> dict:
    """Every exercise back to its starter code; the reference kept in .course/."""
    where = kind(root)
    if where == "release":
        raise WorkspaceError("this folder is a student release: its exercises are yours to do "
                             "already (./course hint 01 shows the first)", 2)
    if where == "workspace":
        return {"already": True, "files": sorted(manifest(root)["files"])}
    # Every starter is rendered before anything changes: a broken marker stops here.
    todo = []
    for path in release.region_files(root):
        rel = path.relative_to(root).as_posix()
        try:
            starter = release.render_file(root, path, set()).encode("utf-8")
        except ValueError as error:
            raise WorkspaceError(f"{rel}: {error}; nothing was changed") from error
        todo.append((rel, path, path.read_bytes(), starter, stat.S_IMODE(path.stat().st_mode)))
    if not todo:
        raise WorkspaceError("no file has a solution region: there is nothing to start", 2)
    (root / COURSE_DIR).mkdir(exist_ok=True)
    (root / COURSE_DIR / ".gitignore").write_text(GITIGNORE)
    for rel, _, reference, starter, _ in todo:
        _write(root / REFERENCE / rel, reference)
        _write(root / STARTER / rel, starter)
    entry = {rel: {"reference": _sha(reference), "starter": _sha(starter), "mode": mode}
             for rel, _, reference, starter, mode in todo}
    _write(root / WORKSPACE, (json.dumps(
        {"version": 1, "started": time.strftime("%Y-%m-%d %H:%M:%S"), "files": entry},
        indent=1) + "\n").encode())
    # What was recorded on the reference (everything passes) is not your progress.
    state = root / STATE_NAME
    if state.exists():
        os.replace(state, root / SAVED_STATE)
    for rel, path, _, starter, mode in todo:
        _write(path, starter)  # a new mtime: the next build compiles the starter
        os.chmod(path, mode)
    return {"already": False, "files": [rel for rel, *_ in todo]}


# ---------------------------------------------------------------- undo

def undo(root: Path) -> dict:
    """The reference back, byte for byte. Files you changed are saved first."""
    where = kind(root)
    if where != "workspace":
        raise WorkspaceError("this folder is not a started workspace: nothing to undo"
                             + (" (a student release has no reference)"
                                if where == "release" else ""), 2)
    files = manifest(root)["files"]
    references = {}
    for rel, entry in files.items():
        copy = root / REFERENCE / rel
        data = copy.read_bytes() if copy.is_file() else None
        if data is None or _sha(data) != entry["reference"]:
            raise WorkspaceError(f"the reference copy of {rel} ({copy.relative_to(root)}) is "
                                 f"missing or changed: nothing was undone (git checkout -- "
                                 f"{rel} gets git's copy)")
        references[rel] = data
    stamp = time.strftime("%Y%m%d-%H%M%S")
    saved = []
    for rel, entry in files.items():
        path = root / rel
        if path.is_file():
            mine = path.read_bytes()
            if _sha(mine) not in (entry["starter"], entry["reference"]):
                backup = root / BACKUP / f"{rel}.{stamp}"
                _write(backup, mine)
                saved.append(f"{rel}  (your version saved as {backup.relative_to(root)})")
        _write(path, references[rel])
        os.chmod(path, entry["mode"])
    state = root / STATE_NAME
    if state.exists():  # the workspace's progress, kept beside the saved files
        _write(root / BACKUP / f"{STATE_NAME}.{stamp}", state.read_bytes())
        state.unlink()
    if (root / SAVED_STATE).exists():
        os.replace(root / SAVED_STATE, state)
    for rel in files:
        for top in (REFERENCE, STARTER):
            (root / top / rel).unlink(missing_ok=True)
    (root / WORKSPACE).unlink()
    for top in (REFERENCE, STARTER):
        _prune(root / top)
    leftovers = [p for p in (root / COURSE_DIR).iterdir() if p.name != ".gitignore"]
    if not leftovers:
        shutil.rmtree(root / COURSE_DIR)
    return {"files": sorted(files), "saved": saved}


def _prune(folder: Path) -> None:
    """Removes the empty folders under `folder`, and it too if it ends up empty."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()


# ---------------------------------------------------------------- solution

def reference_text(root: Path, rel: str) -> str:
    """An exercise file's reference: in a workspace the copy start kept, in a
    clone that was not started the file itself."""
    source = root / REFERENCE / rel if started(root) else root / rel
    if not source.is_file():
        raise WorkspaceError(f"no reference copy of {rel} ({source.relative_to(root)})")
    return source.read_text(encoding="utf-8")


def solution(root: Path, key: str, force: bool = False, diff: bool = False,
             status: str = "not run") -> list[str]:
    """The reference solution of one exercise: each of its regions with a few
    lines around it (diff: a unified diff from your file to the solved one).
    In a workspace only once its public tests passed (`status`), or with force."""
    lesson, ex = meta.find_exercise(root, key)
    if ex is None:
        raise WorkspaceError(f"say which exercise: ./course solution {lesson['number']}.1", 2)
    where = kind(root)
    if where == "release":
        raise WorkspaceError("a student release holds no reference solutions: ask your "
                             "instructor", 2)
    if where == "workspace" and status != "pass" and not force:
        raise WorkspaceError(
            f"exercise {ex['id']}'s public tests have not passed yet (last run: {status}).\n"
            f"  solve it first:  ./course watch {ex['id']}   (./course hint {ex['id']} for hints)\n"
            f"  or see it now:   ./course solution {ex['id']} --force")
    titles = release.titles_of(root)
    ids = owners(root)
    out = []
    if where == "reference":
        out.append("(this copy was not started: its exercise files are the reference "
                   "solutions; ./course start gives you the exercises)")
    for path in meta.exercise_files(root, lesson, ex):
        rel = path.relative_to(root).as_posix()
        text = reference_text(root, rel)
        default = ids[rel][0] if len(ids.get(rel, [])) == 1 else ""
        solved = regions.render(text, {ex["id"]}, titles, default, rel)
        if diff:
            mine = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
            lines = list(difflib.unified_diff(
                mine.splitlines(), solved.splitlines(), f"{rel} (yours)",
                f"{rel} (reference, exercise {ex['id']} solved)", lineterm=""))
            out += lines or [f"{rel}: yours is the reference, line for line"]
            continue
        out.append(f"--- {rel}, exercise {ex['id']}: {ex['title']}")
        out += _regions_in_context(text, ex["id"], default, rel)
    return out


def _regions_in_context(text: str, exercise: str, default: str, where: str,
                        around: int = 3) -> list[str]:
    """Each of the exercise's regions, numbered as in the solved file, with
    `around` lines of the code about it."""
    lines = text.splitlines()
    found = [r for r in regions.parse_text(text, default, where) if r.exercise == exercise]
    out = []
    for region in found:
        # numbers as in the solved file: every marker line above is gone there
        markers_above = sum(1 for line in lines[:region.first] if regions.MARKER.match(line))
        first = region.first - markers_above  # the solution's first line, 0-based

        def show(number: int, line: str, mark: str = " ") -> str:
            return f"{number + 1:>5} {mark}| {line}"

        before = [line for line in lines[max(0, region.first - around):region.first]
                  if not regions.MARKER.match(line)]
        out.append("  ...")
        out += [show(first - len(before) + i, line) for i, line in enumerate(before)]
        out += [show(first + i, line, "+") for i, line in enumerate(region.solution)]
        after = [line for line in lines[region.last + 1:region.last + 1 + around]
                 if not regions.MARKER.match(line)]
        out += [show(first + len(region.solution) + i, line) for i, line in enumerate(after)]
    out.append("  ...")
    return out
