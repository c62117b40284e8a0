"""./course release --out DIR: the student version of the course.

Copies the repository without build folders, instructor-only files and answer
keys; replaces every solution region by its stub; strips hidden tests; records
the grading plan (points, how many hidden tests there are) in .course/release.json;
keeps pristine copies of the starter files for `./course reset`; writes a GitHub
Actions workflow that gives the student feedback (the public tests) on every push.

`--lessons 01 04` releases some lessons only. It brings along, as plain programs,
those of other lessons that their tests and demos run (found by reading the test
files: lesson 04's run tcp_client, so lessons/03-tcp-client comes with tcp_client
alone, no exercise, no test); course.toml lists the released lessons only; and
the harness tests that need an absent lesson are deselected there
(harness/tests/conftest.py, written for partial releases)."""

from __future__ import annotations

import ast
import fnmatch
import inspect
import json
import os
import re
import shutil
import textwrap
from dataclasses import asdict, fields, is_dataclass
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
    # the mutation catalogue (./course mutants) quotes wrong and right solutions
    "lessons/*/mutants.toml",
    # the course's own honesty checks test the reference, not a release (the
    # mutants' finds are solution text, which a release has stubbed)
    "harness/tests/test_release*.py", "harness/tests/test_exercise_tools*.py",
    "harness/tests/test_mutants*.py",
    # grading's own tests read the reference's plan (hidden tests included)
    "harness/tests/test_grading*.py", "harness/tests/test_autograder_bundles*.py",
]
STARTER = Path(".course") / "starter"
WORKFLOW = Path(".github") / "workflows" / "feedback.yml"
SUMMARY_SCRIPT = Path(".github") / "feedback_summary.py"
HARNESS_CONFTEST = Path("harness") / "tests" / "conftest.py"
README_SECTION = "## This release"
CPP_SUFFIXES = {".cpp", ".hpp", ".cc", ".h", ".c", ".ipp"}
SHORTEST_SECRET = 10  # shorter lines (`}`, `break;`, `return 0;`) prove nothing
SUBSTRING_SECRET = 20  # longer ones are found inside other lines too (a comment, a page)

# Harness checks over the whole course that no parameter ties to one lesson, and
# that cannot pass when some lessons are absent: deselected in partial releases.
WHOLE_COURSE_CHECKS = {
    "harness/tests/test_site.py::test_every_snippet_include_exists_and_is_not_empty":
        "the pages of absent lessons include files from their folders",
}

# ./course setup's packages that the feedback workflow leaves out: the course
# site's tools, which no lesson test uses. And test-group packages that only
# some tests use: installed when a released lesson's tests name the command.
SITE_ONLY_PACKAGES = {"mkdocs", "mkdocs-material", "python3-pymdownx"}
PACKAGE_COMMANDS = {"chromium": "chromium", "fonts-wqy-microhei": "chromium",
                    "tshark": "tshark", "tcpdump": "tcpdump", "strace": "strace", "curl": "curl"}


def excluded(rel: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) for p in patterns)


def strip_hidden(text: str, hidden_names: set[str], where: str) -> str | None:
    """The test file without its hidden tests (None: the whole module is hidden)."""
    nodes = hidden_nodes(text, hidden_names, where)
    if nodes is None:
        return None
    lines = text.splitlines(keepends=True)
    for start, end in sorted((first_line(node), node.end_lineno) for node in nodes)[::-1]:
        # take the blank lines before it too, so no gap of four blank lines remains
        while start > 1 and not lines[start - 2].strip():
            start -= 1
        del lines[start - 1:end]
    return "".join(lines)


def first_line(node: ast.AST) -> int:
    """A definition's first line: its first decorator's."""
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def hidden_nodes(text: str, hidden_names: set[str], where: str) -> list[ast.AST] | None:
    """The definitions (functions, classes) of a test file's hidden tests (None:
    the whole module is hidden)."""
    tree = ast.parse(text, where)
    if meta._module_hidden(tree):
        return None
    found: list[ast.AST] = []
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
                found.append(node)
    return found


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


# ---------------------------------------------------------------- which programs a lesson needs

CMAKE_COMMAND = re.compile(r"^[ \t]*(?P<name>[A-Za-z_][A-Za-z0-9_]*)[ \t]*\(", re.M)


def cmake_commands(text: str) -> list[tuple[int, int, str, list[str]]]:
    """(start, end, name, arguments) of every command that begins a line of a
    CMakeLists.txt; `end` is past its closing parenthesis and line end."""
    found = []
    position = 0
    while match := CMAKE_COMMAND.search(text, position):
        depth, i, quoted = 1, match.end(), False
        while i < len(text) and depth:
            c = text[i]
            if quoted:
                if c == "\\":
                    i += 1
                elif c == '"':
                    quoted = False
            elif c == '"':
                quoted = True
            elif c == "#":
                i = text.find("\n", i)
                i = len(text) if i < 0 else i
                continue
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            i += 1
        arguments = re.sub(r"#[^\n]*", " ", text[match.end():i - 1]).split()
        end = text.find("\n", i)
        end = len(text) if end < 0 else end + 1
        found.append((match.start(), end, match["name"], arguments))
        position = end
    return found


def folder_programs(folder: Path) -> dict[str, list[str]]:
    """program -> its source files, from the folder's course_program() calls."""
    cmake = folder / "CMakeLists.txt"
    if not cmake.is_file():
        return {}
    return {args[0]: args[1:] for _, _, name, args in cmake_commands(cmake.read_text())
            if name == "course_program" and args}


def string_words(path: Path) -> set[str]:
    """The words of a Python file's string constants, docstrings left out: what a
    test runs is named in strings (`run("tcp_client")`, `"tcp_client.py"`)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except SyntaxError:
        return set()
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    words: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                id(node) not in docstrings:
            words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", node.value))
    return words


def programs_used(root: Path, lesson: dict) -> set[str]:
    """Every program of the course that a lesson's tests (hidden ones too) or its
    demo run, its own included."""
    known = {name for folder in (root / "lessons").iterdir() if folder.is_dir()
             for name in folder_programs(folder)}
    used: set[str] = set()
    for path in meta.test_files(root / "lessons" / lesson["folder"]):
        used |= string_words(path) & known
    demo = lesson.get("demo", {})
    used |= {demo[side][0] for side in ("server", "client") if demo.get(side)} & known
    return used


def exercise_programs(lesson: dict, programs: dict[str, list[str]]) -> set[str]:
    """The programs of a lesson's folder that are exercises: built from an exercise
    file, or named by an exercise and not by the lesson."""
    files = {f for ex in meta.exercises(lesson) for f in ex.get("files", [])}
    named = {p for ex in meta.exercises(lesson) for p in ex.get("programs", [])}
    return {name for name, sources in programs.items()
            if files & set(sources) or (name in named and name not in lesson.get("programs", []))}


def support(root: Path, course: dict, chosen: list[dict]) -> dict[str, dict]:
    """folder -> {"lesson", "programs", "users"}: the programs of lessons not
    released that the released lessons' tests and demos run. A ValueError when
    one of them is an exercise: it cannot be shipped without its lesson."""
    everything = {lesson["folder"]: lesson for lesson in meta.lessons(root, course)}
    chosen_folders = {lesson["folder"] for lesson in chosen}
    owner = {name: folder for folder in everything
             for name in folder_programs(root / "lessons" / folder)}
    needed: dict[str, dict] = {}
    for lesson in chosen:
        for name in sorted(programs_used(root, lesson)):
            folder = owner.get(name)
            if folder is None or folder in chosen_folders:
                continue
            other = everything[folder]
            if name in exercise_programs(other, folder_programs(root / "lessons" / folder)):
                raise ValueError(
                    f"lesson {lesson['number']}'s tests run {name}, an exercise of lesson "
                    f"{other['number']}: release lesson {other['number']} too")
            entry = needed.setdefault(folder, {"lesson": other, "programs": set(),
                                               "users": {}})
            entry["programs"].add(name)
            entry["users"].setdefault(lesson["number"], set()).add(name)
    return needed


def as_comment(text: str, width: int = 88) -> str:
    """`text` as `#` comment lines, each of its lines wrapped at `width`."""
    return "".join(f"{line}\n" for paragraph in text.splitlines()
                   for line in textwrap.wrap(paragraph, width - 2, initial_indent="# ",
                                             subsequent_indent="# ", break_on_hyphens=False,
                                             break_long_words=False))


def trim_cmake(text: str, keep: set[str], note: str) -> str:
    """A support folder's CMakeLists.txt: the programs in `keep` only, no lesson
    tests; the comments just above a dropped command go with it."""
    targets = {args[0] for _, _, name, args in cmake_commands(text)
               if name == "course_program" and args}
    dropped = targets - keep
    out, position = [], 0
    for start, end, name, args in cmake_commands(text):
        if name == "course_lesson_tests" or (args and args[0] in dropped):
            before = text[position:start].splitlines(keepends=True)
            while before and before[-1].lstrip().startswith("#"):
                before.pop()
            out.append("".join(before))
        else:
            out.append(text[position:end])
        position = end
    out.append(text[position:])
    body = re.sub(r"\n{3,}", "\n\n", "".join(out)).strip("\n")
    return as_comment(note) + body + "\n"


def dependency_lines(folder: Path, lesson: dict, uses: dict[str, str]) -> str:
    """CMake lines that make building a released lesson's programs build the other
    lessons' programs its tests run too (./course check and grade build a lesson's
    targets only)."""
    programs = folder_programs(folder)
    own = [p for p in lesson.get("programs", []) if p in programs] or sorted(programs)
    names = ", ".join(f"{p} (lessons/{f})" for p, f in sorted(uses.items()))
    note = as_comment(f"./course release: this lesson's tests or demo also run {names}. "
                      f"Building this lesson's programs builds {'it' if len(uses) == 1 else 'them'}"
                      " too (./course check and grade build only a lesson's own programs).")
    return "\n" + note + "".join(f"add_dependencies({p} {' '.join(sorted(uses))})\n"
                                  for p in own)


# ---------------------------------------------------------------- course.toml

TOML_HEADER = re.compile(r"^[ \t]*(?P<open>\[\[?)[ \t]*(?P<name>[A-Za-z0-9_.\"'-]+)[ \t]*\]\]?"
                         r"[ \t]*(#.*)?$")


def trim_course_toml(text: str, keep: set[str], demo_lesson: str | None, note: str) -> str:
    """course.toml with only the [[lesson]] blocks whose number is in `keep` (their
    comments, exercises and all), demo_lesson set, and `note` on top as comments.
    (make_release checks, with meta.load, that the result is the original with
    only those lessons.)"""
    blocks: list[list] = [["top", []]]
    quote = None
    for line in text.splitlines(keepends=True):
        match = TOML_HEADER.match(line) if quote is None else None
        if match and not (match["name"].startswith("lesson.") or
                          (match["name"] == "lesson" and match["open"] == "[")):
            kind = "lesson" if match["name"] == "lesson" else "other"
            leading = []
            previous = blocks[-1][1]
            while previous and previous[-1].lstrip().startswith("#"):
                leading.insert(0, previous.pop())
            blocks.append([kind, leading])
        blocks[-1][1].append(line)
        for delimiter in ('"""', "'''"):
            if quote in (None, delimiter) and line.count(delimiter) % 2:
                quote = None if quote else delimiter
    kept = []
    for kind, lines in blocks:
        number = re.search(r'(?m)^[ \t]*number[ \t]*=[ \t]*"([^"]*)"', "".join(lines))
        if kind == "lesson" and (number is None or number[1] not in keep):
            continue
        kept.append("".join(lines))
    result = "".join(kept)
    if demo_lesson is not None:
        result, count = re.subn(r'(?m)^(demo_lesson[ \t]*=[ \t]*)"[^"]*"',
                                lambda m: f'{m[1]}"{demo_lesson}"', result)
        if not count:
            result = result.replace("[course]\n", f'[course]\ndemo_lesson = "{demo_lesson}"\n', 1)
    return as_comment(note) + "\n" + result


def check_trimmed(root: Path, out: Path, keep: set[str], demo_lesson: str | None) -> None:
    """The release's course.toml is the course's, with only the released lessons."""
    expected, got = meta.load(root), meta.load(out)
    expected["lesson"] = [lesson for lesson in expected.get("lesson", [])
                          if lesson["number"] in keep]
    if demo_lesson is not None:
        expected.setdefault("course", {})["demo_lesson"] = demo_lesson
    if got != expected:
        raise RuntimeError("course.toml could not be trimmed to the released lessons "
                           "(its layout surprised release.trim_course_toml)")


# ---------------------------------------------------------------- the release

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
    every = meta.lessons(root, course)
    chosen = every
    if only:
        wanted = {k.zfill(2) for k in only}
        unknown = wanted - {lesson["number"] for lesson in every}
        if unknown:
            raise ValueError(f"no lesson {', '.join(sorted(unknown))}")
        chosen = [lesson for lesson in every if lesson["number"] in wanted]
    numbers = [lesson["number"] for lesson in chosen]
    helpers = support(root, course, chosen)
    keep = {lesson["folder"] for lesson in chosen} | set(helpers)
    for folder in (root / "lessons").iterdir():  # course.toml's and any half-written one
        if folder.is_dir() and folder.name not in keep:
            patterns += [f"lessons/{folder.name}", f"lessons/{folder.name}/*"]
    partial = len(chosen) < len(every)

    # Support folders: their CMakeLists.txt trimmed, their tests, exercise files and
    # the sources and twins of the programs not needed left out.
    rewritten: dict[str, str] = {}
    for folder, entry in helpers.items():
        base = f"lessons/{folder}"
        programs = folder_programs(root / base)
        cmake = (root / base / "CMakeLists.txt").read_text()
        users = " and ".join(sorted(entry["users"]))
        rewritten[f"{base}/CMakeLists.txt"] = trim_cmake(cmake, entry["programs"], (
            f"./course release: lesson {entry['lesson']['number']} is not part of this release.\n"
            f"This folder holds only {', '.join(sorted(entry['programs']))}, which the tests "
            f"or demo of lesson {users} use."))
        kept = {word.rsplit("/", 1)[-1] for _, _, _, args in
                cmake_commands(rewritten[f"{base}/CMakeLists.txt"]) for word in args}
        drop = {f"{base}/{f}" for ex in meta.exercises(entry["lesson"])
                for f in ex.get("files", [])}
        for name, sources in programs.items():
            if name not in entry["programs"]:
                drop |= {f"{base}/{s}" for s in sources if s not in kept}
                drop.add(f"{base}/python/{name}.py")
        patterns += sorted(drop) + [f"{base}/test_*.py", f"{base}/*/test_*.py",
                                    f"{base}/conftest.py"]
    for lesson in chosen:
        uses = {name: folder for folder, entry in helpers.items()
                for name in entry["users"].get(lesson["number"], ())}
        if uses:
            rel = f"lessons/{lesson['folder']}/CMakeLists.txt"
            rewritten[rel] = (root / rel).read_text().rstrip("\n") + "\n" + dependency_lines(
                root / "lessons" / lesson["folder"], lesson, uses)
    demo = None
    if partial:
        demo = course.get("course", {}).get("demo_lesson")
        if demo not in numbers:
            demo = next((lesson["number"] for lesson in chosen if lesson.get("demo")), None)
        note = f"./course release: the student release of lessons {' '.join(numbers)}."
        if helpers:
            note += "\n" + "\n".join(
                f"lessons/{folder} is no lesson here: it holds only "
                f"{', '.join(sorted(entry['programs']))}, which the tests or demo of lesson "
                f"{' and '.join(sorted(entry['users']))} use."
                for folder, entry in sorted(helpers.items()))
        rewritten["course.toml"] = trim_course_toml((root / "course.toml").read_text(),
                                                    set(numbers), demo, note)

    full_plan = [t for t in meta.plan(root, course) if t.lesson in numbers]
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
            text = rewritten.get(rel)
            if text is None and source.suffix in regions.SOURCE_SUFFIXES and \
                    rel.split("/")[0] in ("lessons", "common"):
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

    if "course.toml" in rewritten:
        check_trimmed(root, out, set(numbers), demo)
    shipped_programs = {name for folder in (out / "lessons").iterdir() if folder.is_dir()
                        for name in folder_programs(folder)}
    every_program = {name for folder in (root / "lessons").iterdir() if folder.is_dir()
                     for name in folder_programs(folder)}
    absent = {"lessons": [lesson["number"] for lesson in every if lesson["number"] not in numbers],
              "folders": [lesson["folder"] for lesson in every if lesson["number"] not in numbers],
              "programs": sorted(every_program - shipped_programs)}

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
        {"release": True, "lessons": numbers,
         "support": {entry["lesson"]["number"]: sorted(entry["programs"])
                     for entry in helpers.values()},
         "absent": absent, "plan": shipped}, indent=1, ensure_ascii=False) + "\n")
    if partial:
        conftest = out / HARNESS_CONFTEST
        conftest.parent.mkdir(parents=True, exist_ok=True)
        conftest.write_text(conftest.read_text().rstrip("\n") + "\n\n\n" + HARNESS_CONFTEST_TEXT
                            if conftest.exists() else HARNESS_CONFTEST_TEXT)
    readme = out / "README.md"
    readme.write_text((readme.read_text(encoding="utf-8").rstrip("\n") + "\n\n"
                       if readme.exists() else "") +
                      readme_section(chosen, helpers, full_plan), encoding="utf-8")
    (out / WORKFLOW).parent.mkdir(parents=True, exist_ok=True)
    (out / WORKFLOW).write_text(feedback_workflow(out, chosen))
    (out / SUMMARY_SCRIPT).write_text(FEEDBACK_SUMMARY)
    return {"files": copied, "stubbed": stubbed, "stripped": stripped, "lessons": numbers,
            "support": {f"lessons/{folder}": sorted(entry["programs"])
                        for folder, entry in helpers.items()},
            "hidden": sum(t.hidden for t in full_plan)}


def readme_section(chosen: list[dict], helpers: dict[str, dict],
                   the_plan: list[meta.TestFn]) -> str:
    """What this release holds, which tests fail until the exercises are solved,
    and where the feedback on a push comes from."""
    numbers = [lesson["number"] for lesson in chosen]
    lines = [README_SECTION, "",
             f"This is the student release of lesson{'s' if len(numbers) > 1 else ''} "
             f"{', '.join(numbers)}."]
    for folder, entry in sorted(helpers.items()):
        programs = ", ".join(f"`{p}`" for p in sorted(entry["programs"]))
        lines.append(f"`lessons/{folder}` is not one of them: it holds only {programs}, which "
                     f"the tests or demo of lesson {' and '.join(sorted(entry['users']))} run.")
    lines += ["", "### Tests that fail until you solve the exercises", "",
              "`./course test` and `./course grade` run the public tests of every exercise. "
              "On the starter code these fail (all or some of them): each passes once you "
              "have solved its exercise (`./course hint NN.M` says what to do, "
              "`./course watch` re-runs the tests on every save). Every other test passes "
              "as it is: if one fails, tell your instructor.", "",
              "| exercise | its public tests |", "|---|---|"]
    folders = {lesson["number"]: lesson["folder"] for lesson in chosen}
    hidden = 0
    for lesson in chosen:
        for ex in meta.exercises(lesson):
            mine = [t for t in the_plan if t.exercise == ex["id"]]
            hidden += sum(t.hidden for t in mine)
            tests = [f"`lessons/{folders[t.lesson]}/{t.key}`" for t in mine
                     if not t.hidden and not getattr(t, "regression", False)]
            title = ex["title"].replace("|", "\\|")
            lines.append(f"| {ex['id']} {title} | {'<br>'.join(tests)} |")
    if hidden:
        lines += ["", f"Your instructor's grader also runs {hidden} hidden tests, which are "
                  "not in this release."]
    lines += ["", "### Feedback on every push", "",
              f"On GitHub, `{WORKFLOW.as_posix()}` builds the course and runs the public tests "
              "(`./course grade`) on every push, and shows the score table on the run's "
              "summary page. **It is feedback, not the official grade**: your instructor "
              "grades with the hidden tests too.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- the feedback workflow

def feedback_packages(out: Path) -> list[str]:
    """./course setup's build and test packages that the release's lesson tests
    need: not the site's tools, and a tool such as curl or chromium only when a
    lesson test names it."""
    from .setup import PACKAGES
    words: set[str] = set()
    for path in (out / "lessons").rglob("test_*.py"):
        words.update(re.findall(r"[a-z0-9_-]+", path.read_text(encoding="utf-8").lower()))
    wanted = []
    for package in PACKAGES["build"] + PACKAGES["test"]:
        if package in SITE_ONLY_PACKAGES:
            continue
        if package in PACKAGE_COMMANDS and PACKAGE_COMMANDS[package] not in words:
            continue
        if package not in wanted:
            wanted.append(package)
    return wanted


def feedback_workflow(out: Path, chosen: list[dict]) -> str:
    """A plain GitHub Actions workflow: build, run the public tests with
    ./course grade, put the score table on the run's summary page."""
    packages = " ".join(feedback_packages(out))
    numbers = " ".join(lesson["number"] for lesson in chosen)
    return f"""# Written by ./course release. Feedback for you on every push: it builds the
# course, runs the public tests of lessons {numbers} (./course grade) and shows
# the score table on the run's summary page. It is NOT the official grade: your
# instructor grades with hidden tests too, on their own machine.
name: Feedback
on:
  push:
  workflow_dispatch:
permissions:
  contents: read
jobs:
  public-tests:
    name: Public tests (feedback, not the official grade)
    runs-on: ubuntu-latest
    # The course is built and tested on Debian 12 (as root: no sudo needed).
    container: debian:12
    timeout-minutes: 45
    steps:
      - name: Install the compilers and the test tools (not the course site's)
        run: |
          apt-get update -q
          DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \\
            ca-certificates git {packages}
      - uses: actions/checkout@v4
      - name: Run the public tests
        run: ./course grade --json feedback.json
      - name: Score table (not the official grade)
        if: always()
        run: python3 {SUMMARY_SCRIPT.as_posix()} feedback.json >> "$GITHUB_STEP_SUMMARY"
"""


FEEDBACK_SUMMARY = '''"""The summary page of .github/workflows/feedback.yml: the score table of
`./course grade --json FILE`, in Markdown (written by ./course release).
Usage: python3 .github/feedback_summary.py FILE >> "$GITHUB_STEP_SUMMARY"
"""

import json
import sys
from pathlib import Path


def cell(text) -> str:
    return str(text).replace("|", "\\\\|").replace("\\n", " ")


def summary(path: Path) -> str:
    lines = ["## Feedback on your exercises: NOT the official grade", "",
             "> This run tried the **public tests** of this release on your push, so that "
             "you see what passes. It is not your grade: your instructor grades with "
             "hidden tests too, on their own machine.", ""]
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        lines.append(f"`./course grade` wrote no score table ({error}): the log of the step "
                     "*Run the public tests* says why (often: the code does not compile).")
        return "\\n".join(lines) + "\\n"
    tests = [t for t in result.get("tests", []) if not t.get("hidden")]
    titles = {}
    for lesson in result.get("lessons", []):
        titles[(lesson["number"], "")] = f"{lesson['number']} {lesson.get('title', '')}"
        for ex in lesson.get("exercises", []):
            titles[(lesson["number"], ex["id"])] = f"{ex['id']} {ex.get('title', '')}"
    lines += [f"**Public tests: {result.get('score', 0):g} of {result.get('max_score', 0):g} "
              f"points**, {sum(t['status'] == 'pass' for t in tests)} of {len(tests)} tests "
              "passed.", "",
              "| lesson | exercise | points | tests passed |", "|---|---|---:|---:|"]
    groups = {}
    for t in tests:
        groups.setdefault((t["lesson"], t.get("exercise", "")), []).append(t)
    for (lesson, exercise), mine in sorted(groups.items()):
        what = titles.get((lesson, exercise), exercise) if exercise else "the lesson's own tests"
        points = f"{sum(t['score'] for t in mine):g} / {sum(t['max_score'] for t in mine):g}"
        passed = f"{sum(t['status'] == 'pass' for t in mine)} / {len(mine)}"
        lines.append(f"| {cell(titles.get((lesson, ''), lesson))} | {cell(what)} | {points} "
                     f"| {passed} |")
    hidden = sum(1 for t in result.get("tests", []) if t.get("hidden"))
    if hidden:
        lines += ["", f"{hidden} hidden tests were not run: only your instructor's grader "
                  "has them."]
    failing = [t for t in tests if t["status"] in ("fail", "error")]
    if failing:
        lines += ["", "### What failed", ""]
        for t in failing:
            message = (t.get("message") or t["status"]).strip()[-3000:]
            lines += [f"<details><summary><code>{cell(t['name'])}</code></summary>", "",
                      "````", message, "````", "", "</details>"]
    return "\\n".join(lines) + "\\n"


if __name__ == "__main__":
    sys.stdout.write(summary(Path(sys.argv[1] if len(sys.argv) > 1 else "feedback.json")))
'''


# ---------------------------------------------------------------- harness tests of absent lessons

HARNESS_CONFTEST_TEXT = '''"""Written by ./course release: this release has only some of the
course's lessons (.course/release.json lists them). The harness tests that need an absent
lesson (its programs, its page, its folder) are deselected here: not run, and
counted neither as passed nor as skipped."""

from course_tools import release


def pytest_collection_modifyitems(config, items):
    release.deselect_absent(config, items)


def pytest_report_header(config):
    return release.absent_header(config)
'''


def absent_of(root: Path) -> dict | None:
    """What a partial release lacks (lessons, folders, programs), or None."""
    try:
        data = json.loads((root / meta.RELEASE_MANIFEST).read_text()).get("absent") or {}
    except (OSError, ValueError):
        return None
    return data if any(data.get(k) for k in ("lessons", "folders", "programs")) else None


def _rootpath(config) -> Path:
    """pytest's rootdir (config.rootpath from pytest 7 on; rootdir before)."""
    return Path(str(getattr(config, "rootpath", None) or config.rootdir))


def absent_header(config) -> str | None:
    absent = absent_of(_rootpath(config))
    if not absent:
        return None
    return (f"a release without lessons {' '.join(absent['lessons'])}: the harness tests "
            f"that need them are deselected (harness/tests/conftest.py)")


def _strings(value, depth: int = 0):
    """Every string in a test's parameter: in lists, dicts, dataclasses, objects."""
    if depth > 4:
        return
    if isinstance(value, (str, Path)):
        yield str(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, depth + 1)
            yield from _strings(item, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        if items and all(isinstance(i, str) for i in items):
            yield " ".join(items)
        for item in items:
            yield from _strings(item, depth + 1)
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            yield from _strings(getattr(value, f.name), depth + 1)


def _source_strings(function) -> list[str]:
    """The string constants of a test function's code, its docstring left out."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return []
    node = tree.body[0] if tree.body else None
    docstring = None
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.body and \
            isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
        docstring = node.body[0].value
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) and n is not docstring]


def needs_absent(nodeid: str, evidence: list[str], absent: dict) -> str | None:
    """Why a harness test needs what the release lacks (None: it does not)."""
    if nodeid in WHOLE_COURSE_CHECKS:
        return WHOLE_COURSE_CHECKS[nodeid]
    programs = sorted(absent.get("programs", []), key=len, reverse=True)
    word = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, programs)) +
                      r")(?![A-Za-z0-9_])") if programs else None
    lessons = set(absent.get("lessons", []))
    command = re.compile(r"\./course\s+(?:run|check|test|hint|capture|grade|watch|reset)\s+"
                         r"(\d{1,2})\b")
    for text in evidence:
        if word and (found := word.search(text)):
            return f"it runs {found[1]}, a program of a lesson this release does not have"
        for folder in absent.get("folders", []):
            if folder in text:
                return f"it is about lessons/{folder}, which this release does not have"
        for found in command.finditer(text):
            if found[1].zfill(2) in lessons:
                return f"it needs lesson {found[1].zfill(2)}, which this release does not have"
    return None


def deselect_absent(config, items) -> None:
    """pytest_collection_modifyitems for harness/tests in a partial release."""
    root = _rootpath(config)
    absent = absent_of(root)
    if not absent:
        return
    tests = (root / "harness" / "tests").resolve()
    keep, drop = [], []
    for item in items:
        path = Path(str(getattr(item, "path", getattr(item, "fspath", "")))).resolve()
        if tests not in path.parents:
            keep.append(item)
            continue
        evidence = []
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            evidence += list(_strings(dict(callspec.params)))
        function = getattr(item, "function", None)
        if function is not None:
            evidence += _source_strings(function)
        why = needs_absent(item.nodeid.split("[")[0], evidence, absent)
        (drop if why else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# ---------------------------------------------------------------- the leak check

def _shown_anyway(line: str, public: str) -> bool:
    """A line that is in the public text, whole or within a longer line, proves
    nothing (`public` is that text, one line per line, stripped)."""
    return len(line) < SHORTEST_SECRET or f"\n{line}\n" in public or \
        len(line) >= SUBSTRING_SECRET and line in public


def secrets(root: Path) -> dict[str, str]:
    """line -> where it comes from: every line of every solution region, and every
    line of every hidden test (from its `def` on, its rule, the docstring's first
    line, left out: a failing hidden test may say it), stripped, that proves
    something: SHORTEST_SECRET characters or more, and not in the course's public
    code (for a solution line: the stubbed files and the rest of the course's C++;
    for a hidden test's: the public tests and the harness's Python), where a line
    like `} catch (const std::system_error& e) {` is plain idiom. Pages and Python
    twins are not evidence: a line pasted there is a leak."""
    root = root.resolve()
    ids = default_ids(root)
    solution: dict[str, str] = {}
    code: set[str] = set()
    files = region_files(root)
    for path in files:
        text = path.read_text(encoding="utf-8")
        default = ids.get(path.resolve(), "x")
        code.update(line.strip() for line in regions.render(text, set(), {}, default).splitlines())
        for exercise, line in regions.solution_lines(text, default):
            solution.setdefault(line, f"{path.relative_to(root)} ({exercise})")
    # The course's other C++ code, as a release would ship it (answer keys are not
    # public): a solution line that is also there is idiom, not a secret.
    region_set = set(files)
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        dirnames[:] = [d for d in dirnames if not excluded(
            f"{rel_dir}/{d}" if rel_dir != "." else d, ALWAYS_EXCLUDED)]
        for name in filenames:
            path = Path(dirpath) / name
            if path.suffix in CPP_SUFFIXES and path not in region_set and \
                    not excluded(path.relative_to(root).as_posix(), ALWAYS_EXCLUDED):
                code.update(line.strip() for line in
                            path.read_text(encoding="utf-8", errors="replace").splitlines())
    public = "\n" + "\n".join(sorted(code)) + "\n"
    secret = {line: where for line, where in solution.items() if not _shown_anyway(line, public)}

    test_files: dict[Path, set[str]] = {}
    folders = {lesson["number"]: lesson["folder"] for lesson in meta.lessons(root)}
    for t in meta.plan(root):
        if t.lesson in folders:
            path = root / "lessons" / folders[t.lesson] / t.key.split("::", 1)[0]
            test_files.setdefault(path, set())
            if t.hidden:
                test_files[path].add(t.key.split("::", 1)[1])
    tests: set[str] = set()
    hidden: dict[str, str] = {}
    for path, names in test_files.items():
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(root).as_posix()
        lines = text.splitlines()
        nodes = hidden_nodes(text, names, rel)
        if nodes is None:  # the whole module is hidden
            spans, rules = [(1, len(lines))], set()
        else:
            spans = [(node.lineno, node.end_lineno) for node in nodes]
            rules = {node.body[0].lineno for node in nodes
                     if isinstance(node.body[0], ast.Expr) and
                     isinstance(node.body[0].value, ast.Constant)}
            tests.update(line.strip() for line in
                         (strip_hidden(text, names, rel) or "").splitlines())
        for start, end in spans:
            for number in range(start, end + 1):
                line = lines[number - 1].strip()
                if line and number not in rules:
                    hidden.setdefault(line, f"{rel} (a hidden test)")
    # The harness's own Python (as a release ships it): test idiom too.
    for path in [root / "conftest.py", *sorted((root / "harness").rglob("*.py"))]:
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not excluded(rel, ALWAYS_EXCLUDED):
            tests.update(line.strip() for line in
                         path.read_text(encoding="utf-8", errors="replace").splitlines())
    public = "\n" + "\n".join(sorted(tests)) + "\n"
    secret.update({line: where for line, where in hidden.items()
                   if line not in secret and not _shown_anyway(line, public)})
    return secret


def leaks(root: Path, out: Path) -> list[str]:
    """Every line of every file of the release (docs pages, Python twins, the
    starter copies, anything) that is a line of a solution or of a hidden test,
    or holds one (SUBSTRING_SECRET characters or more) within a longer line, as a
    comment or in a page's text. (See secrets(): lines that are also in the
    course's public code or tests are not evidence.)"""
    out = out.resolve()
    secret = secrets(root)
    long = sorted((line for line in secret if len(line) >= SUBSTRING_SECRET), key=len,
                  reverse=True)
    inside = re.compile("|".join(map(re.escape, long))) if long else None
    found = []
    for path in sorted(out.rglob("*")):
        if not path.is_file() or path.is_symlink() or ".git" in path.relative_to(out).parts \
                or path.stat().st_size > 2_000_000:
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(lines, 1):
            stripped = line.strip()
            match = stripped if stripped in secret else \
                (m := inside.search(line)) and m[0] if inside else None
            if match:
                what = "line of a hidden test" if "hidden test" in secret[match] else \
                    "solution line"
                found.append(f"{path.relative_to(out)}:{number}: {what} of {secret[match]}: "
                             f"{stripped}")
    return found
