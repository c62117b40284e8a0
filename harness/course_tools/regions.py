"""Solution regions, nbgrader's convention in C++ (and Python) comments:

    // BEGIN SOLUTION 01.1          (the exercise id is optional when the file
    ...the reference solution...     belongs to exactly one exercise)
    // BEGIN STUB
    // return "";                   <- stub lines, commented out in the reference
    // END STUB
    // END SOLUTION

The student release replaces the region by `// TODO(exercise 01.1): <title>`
followed by the stub lines with one comment marker removed (`// return "";`
becomes `return "";`). Without a STUB block only the TODO line remains."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

MARKER = re.compile(r"^(?P<indent>[ \t]*)(?P<comment>//|#)[ \t]*(?P<kind>BEGIN|END)[ \t]+"
                    r"(?P<what>SOLUTION|STUB)\b[ \t]*(?P<id>\d+\.\d+)?[ \t]*$")
SOURCE_SUFFIXES = {".cpp", ".hpp", ".cc", ".h", ".c", ".py", ".ipp"}


@dataclass
class Region:
    exercise: str
    first: int            # index of the BEGIN SOLUTION line
    last: int             # index of the END SOLUTION line
    indent: str
    comment: str
    solution: list[str] = field(default_factory=list)
    stub: list[str] = field(default_factory=list)

    def stub_code(self) -> list[str]:
        """The stub lines as the student sees them: one comment marker removed."""
        out = []
        for line in self.stub:
            stripped = line.lstrip()
            lead = line[:len(line) - len(stripped)]
            if stripped.startswith(self.comment):
                stripped = stripped[len(self.comment):]
                if stripped.startswith(" "):
                    stripped = stripped[1:]
            out.append((lead + stripped).rstrip() if stripped.strip() else "")
        return out


def has_regions(text: str) -> bool:
    return any(MARKER.match(line) for line in text.splitlines())


def parse_text(text: str, default_id: str = "", where: str = "") -> list[Region]:
    regions: list[Region] = []
    current: Region | None = None
    in_stub = False
    for index, line in enumerate(text.splitlines()):
        m = MARKER.match(line)
        if not m:
            if current is not None:
                (current.stub if in_stub else current.solution).append(line)
            continue
        kind, what = m.group("kind"), m.group("what")
        problem = None
        if kind == "BEGIN" and what == "SOLUTION":
            if current is not None:
                problem = "BEGIN SOLUTION inside another region"
            else:
                exercise = m.group("id") or default_id
                if not exercise:
                    problem = "BEGIN SOLUTION without an exercise id (write BEGIN SOLUTION NN.M)"
                current = Region(exercise or "?", index, -1, m.group("indent"),
                                 m.group("comment"))
        elif kind == "BEGIN":
            if current is None or in_stub:
                problem = "BEGIN STUB outside a solution region"
            in_stub = True
        elif what == "STUB":
            if not in_stub:
                problem = "END STUB without BEGIN STUB"
            in_stub = False
        else:
            if current is None or in_stub:
                problem = "END SOLUTION without BEGIN SOLUTION (or inside a STUB)"
            else:
                current.last = index
                regions.append(current)
                current = None
        if problem:
            raise ValueError(f"{where}:{index + 1}: {problem}")
    if current is not None:
        raise ValueError(f"{where}:{current.first + 1}: BEGIN SOLUTION is never ended")
    return regions


def default_exercise(path: Path, root: Path | None = None, meta_lessons=None) -> str:
    """The exercise a file belongs to when its markers do not say: the one
    exercise of course.toml whose `files` lists it."""
    if root is None or meta_lessons is None:
        return ""
    owners = []
    for lesson in meta_lessons:
        folder = root / "lessons" / lesson["folder"]
        for ex in lesson.get("exercise", []):
            if any((folder / f).resolve() == path.resolve() for f in ex.get("files", [])):
                owners.append(ex["id"])
    return owners[0] if len(owners) == 1 else ""


def parse(path: Path, lesson: dict | None = None, ex: dict | None = None,
          default_id: str = "") -> list[Region]:
    if not default_id and lesson is not None and ex is not None and \
            len([e for e in lesson.get("exercise", [])
                 if path.name in [Path(f).name for f in e.get("files", [])]]) == 1:
        default_id = ex["id"]
    return parse_text(path.read_text(encoding="utf-8"), default_id, str(path))


def render(text: str, keep: set[str] | None = None, titles: dict[str, str] | None = None,
           default_id: str = "", where: str = "") -> str:
    """The text with every region whose exercise is not in `keep` replaced by its
    stub, and the markers of kept regions removed (their solution stays)."""
    keep = keep or set()
    titles = titles or {}
    lines = text.splitlines()
    out: list[str] = []
    position = 0
    for region in parse_text(text, default_id, where):
        out += lines[position:region.first]
        if region.exercise in keep:
            out += region.solution
        else:
            title = titles.get(region.exercise, "")
            out.append(f"{region.indent}{region.comment} TODO(exercise {region.exercise})"
                       + (f": {title}" if title else "")
                       + f" -- see ./course hint {region.exercise}")
            out += region.stub_code()
        position = region.last + 1
    out += lines[position:]
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def solution_lines(text: str, default_id: str = "") -> list[tuple[str, str]]:
    """(exercise, stripped line) for every non-empty line of every solution."""
    return [(r.exercise, line.strip()) for r in parse_text(text, default_id)
            for line in r.solution if line.strip()]
