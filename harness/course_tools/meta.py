"""course.toml: lessons, their exercises, and which tests earn which points.

Tests are found by reading the lessons' test_*.py files (ast, no pytest
needed), so the same plan is computed in the instructor's repository, in a
student release and before anything is built."""

from __future__ import annotations

import ast
import dataclasses
import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 (Ubuntu 22.04): apt-get install python3-tomli
    import tomli as tomllib

RELEASE_MANIFEST = Path(".course") / "release.json"


def load(root: Path) -> dict:
    """course.toml, parsed. The one place that reads it (./course, the tests, the docs)."""
    with open(root / "course.toml", "rb") as f:
        return tomllib.load(f)


def lessons(root: Path, meta: dict | None = None) -> list[dict]:
    """The lessons of course.toml whose folder exists, in order."""
    meta = meta or load(root)
    found = [lesson for lesson in meta.get("lesson", [])
             if (root / "lessons" / lesson["folder"]).is_dir()]
    return sorted(found, key=lambda lesson: lesson["number"])


def exercises(lesson: dict) -> list[dict]:
    return list(lesson.get("exercise", []))


def all_exercises(root: Path, meta: dict | None = None) -> list[tuple[dict, dict]]:
    return [(lesson, ex) for lesson in lessons(root, meta) for ex in exercises(lesson)]


def find_exercise(root: Path, key: str) -> tuple[dict, dict | None]:
    """'01' -> (lesson, None); '01.2' or '1.2' -> (lesson, exercise). KeyError if none."""
    number, _, sub = key.partition(".")
    for lesson in lessons(root):
        if number.zfill(2) == lesson["number"] or number == lesson["folder"]:
            if not sub:
                return lesson, None
            for ex in exercises(lesson):
                if ex["id"] == f"{lesson['number']}.{sub}":
                    return lesson, ex
            raise KeyError(f"lesson {lesson['number']} has no exercise {sub}")
    raise KeyError(f"no lesson {number!r}")


def exercise_files(root: Path, lesson: dict, ex: dict) -> list[Path]:
    folder = root / "lessons" / lesson["folder"]
    return [folder / name for name in ex.get("files", [])]


def lesson_targets(lesson: dict, root: Path | None = None) -> list[str]:
    """The CMake targets a lesson's tests need: its programs and its exercises'
    programs, and, given the course's `root`, the other lessons' programs its
    tests and demo run (lesson 04's tests talk to lesson 03's tcp_client)."""
    names = list(lesson.get("programs", []))
    for ex in exercises(lesson):
        names += [p for p in ex.get("programs", []) if p not in names]
    if root is not None:
        from .release import programs_used  # release imports this module
        names += sorted(programs_used(root, lesson) - set(names))
    return names


# ---------------------------------------------------------------- tests and points

@dataclass
class TestFn:
    """One test function (all its parametrizations together)."""

    lesson: str       # "01"
    key: str          # "test_lesson01.py::test_x" (path relative to the lesson folder)
    exercise: str     # "01.1", or "" for the lesson's own tests
    hidden: bool
    points: float = 0.0
    line: int = 0
    rule: str = ""    # the first line of its docstring: what a hidden test's failure may say
    regression: bool = False  # the untouched starter passes it: a check, worth 0 points

    @property
    def name(self) -> str:
        return self.key.rsplit("::", 1)[-1]


def _is_hidden_marker(node: ast.AST) -> bool:
    """`pytest.mark.hidden`, `mark.hidden` or `pytest.mark.hidden(...)`."""
    if isinstance(node, ast.Call):
        node = node.func
    return isinstance(node, ast.Attribute) and node.attr == "hidden"


def _module_hidden(tree: ast.Module) -> bool:
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets):
            values = stmt.value.elts if isinstance(stmt.value, (ast.List, ast.Tuple)) \
                else [stmt.value]
            if any(_is_hidden_marker(v) for v in values):
                return True
    return False


def test_nodes(path: Path) -> list[tuple[str, bool, ast.AST]]:
    """(name or Class::name, marked hidden, the ast node to cut) for every test in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    module_hidden = _module_hidden(tree)
    found = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                stmt.name.startswith("test"):
            hidden = module_hidden or any(_is_hidden_marker(d) for d in stmt.decorator_list)
            found.append((stmt.name, hidden, stmt))
        elif isinstance(stmt, ast.ClassDef) and stmt.name.startswith("Test"):
            class_hidden = module_hidden or any(_is_hidden_marker(d)
                                                for d in stmt.decorator_list)
            for item in stmt.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                        item.name.startswith("test"):
                    hidden = class_hidden or any(_is_hidden_marker(d)
                                                 for d in item.decorator_list)
                    found.append((f"{stmt.name}::{item.name}", hidden, item))
    return found


def test_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("test_*.py") if "__pycache__" not in p.parts)


def matches(key: str, patterns: list[str]) -> bool:
    """A test key 'file.py::test_x' matches 'file.py::test_*', 'test_x' or 'test_*'."""
    name = key.split("::", 1)[1] if "::" in key else key
    return any(fnmatch.fnmatchcase(key, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def plan(root: Path, meta: dict | None = None) -> list[TestFn]:
    """Every test function of every lesson, with its exercise, hidden flag and points.

    Points: an exercise's `points` are shared equally among its test functions
    (public and hidden) unless `test_points = { test_x = 3 }` fixes some; the
    lesson's own tests share the lesson's `points` the same way, or, when the
    lesson gives none, are worth 1 point each.
    In a student release, where hidden tests are gone, the plan made at release
    time is read back from .course/release.json."""
    manifest = root / RELEASE_MANIFEST
    if manifest.exists():
        return [TestFn(**t) for t in json.loads(manifest.read_text())["plan"]]
    # Parsing every lesson's tests takes a while on a busy machine: remember the
    # plan until course.toml or a test file changes (./course watch runs for hours).
    stamp = [(str(p), p.stat().st_mtime_ns) for p in [root / "course.toml", *[
        f for lesson in lessons(root, meta) for f in test_files(root / "lessons" / lesson["folder"])]]]
    key = (str(root), tuple(stamp), meta is None)
    if key not in _PLANS:
        _PLANS.clear()
        _PLANS[key] = _make_plan(root, meta)
    return [dataclasses.replace(t) for t in _PLANS[key]]


_PLANS: dict = {}


def _make_plan(root: Path, meta: dict | None) -> list[TestFn]:
    tests: list[TestFn] = []
    for lesson in lessons(root, meta):
        folder = root / "lessons" / lesson["folder"]
        hidden_patterns = list(lesson.get("hidden", []))
        for ex in exercises(lesson):
            hidden_patterns += ex.get("hidden", [])
        found: list[TestFn] = []
        for path in test_files(folder):
            rel = path.relative_to(folder).as_posix()
            try:
                nodes = test_nodes(path)
            except SyntaxError:
                continue  # pytest reports it as an error; nothing to plan
            for name, hidden, node in nodes:
                key = f"{rel}::{name}"
                owner = next((ex["id"] for ex in exercises(lesson)
                              if matches(key, ex.get("tests", []) + ex.get("hidden", []))), "")
                doc = (ast.get_docstring(node) or "").strip().splitlines()
                regression = any(matches(key, ex.get("regression", []))
                                 for ex in exercises(lesson) if ex["id"] == owner)
                found.append(TestFn(lesson["number"], key, owner,
                                    hidden or matches(key, hidden_patterns), line=node.lineno,
                                    rule=doc[0] if doc else "", regression=regression))
        groups: dict[str, list[TestFn]] = {}
        for t in found:
            groups.setdefault(t.exercise, []).append(t)
        # The lesson's own tests check programs the student does not change: by
        # default they still run (the build is sound) but earn nothing.
        budgets = {"": lesson.get("points", 0)}
        fixed_by = {"": lesson.get("test_points", {})}
        for ex in exercises(lesson):
            budgets[ex["id"]] = ex.get("points", 0)
            fixed_by[ex["id"]] = ex.get("test_points", {})
        for owner, group in groups.items():
            fixed = {t.key: float(p) for t in group for pat, p in fixed_by.get(owner, {}).items()
                     if matches(t.key, [pat])}
            fixed.update({t.key: 0.0 for t in group if t.regression})
            rest = [t for t in group if t.key not in fixed]
            shares = share_out(max(budgets.get(owner, 0) - sum(fixed.values()), 0), len(rest))
            for t in group:
                t.points = fixed[t.key] if t.key in fixed else shares.pop(0)
        tests += found
    return tests


def share_out(budget: float, count: int) -> list[float]:
    """`budget` points shared by `count` tests: in whole points when the budget is
    whole (8 among 3: 3, 3, 2), so every platform shows the same numbers."""
    if count == 0:
        return []
    if float(budget).is_integer():
        base, spare = divmod(int(budget), count)
        return [float(base + (i < spare)) for i in range(count)]
    return [round(budget / count, 4)] * count


def problems(root: Path) -> list[str]:
    """What is wrong with the exercise metadata (empty when all is well)."""
    from . import regions
    found = []
    meta = load(root)
    the_plan = plan(root, meta)
    seen = set()
    for lesson, ex in all_exercises(root, meta):
        where = f"exercise {ex.get('id')!r} of lesson {lesson['number']}"
        for key in ("id", "title", "points", "tests", "files"):
            if key not in ex:
                found.append(f"{where}: no {key!r}")
        if not str(ex.get("id", "")).startswith(lesson["number"] + "."):
            found.append(f"{where}: its id must be {lesson['number']}.N")
        if ex.get("id") in seen:
            found.append(f"{where}: the id is used twice")
        seen.add(ex.get("id"))
        mine = [t for t in the_plan if t.exercise == ex.get("id")]
        if not any(not t.hidden for t in mine):
            found.append(f"{where}: no public test matches {ex.get('tests')}")
        for path in exercise_files(root, lesson, ex):
            if not path.is_file():
                found.append(f"{where}: file {path.relative_to(root)} does not exist")
            elif not any(r.exercise == ex["id"] for r in regions.parse(path, lesson, ex)):
                found.append(f"{where}: {path.relative_to(root)} has no solution region "
                             f"for it (// BEGIN SOLUTION {ex['id']})")
    return found
