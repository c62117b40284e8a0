"""What a student uses: hints, progress (in .course-state.json), reset, watch."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import select
import shutil
import sys
import textwrap
import time
from pathlib import Path

from . import grade, meta, release, workspace
from .i18n import field, pad, t

STATE_NAME = ".course-state.json"


# ---------------------------------------------------------------- progress

def load_state(root: Path) -> dict:
    try:
        return json.loads((root / STATE_NAME).read_text())
    except (OSError, ValueError):
        return {}


def tally(results: list[dict]) -> dict[tuple[str, str], str]:
    """(lesson, "file::name") -> "pass", "fail" or "skipped" for every lesson test
    function in `results` (the --course-report entries: nodeid, outcome), its
    parametrizations together, counted as ./course grade counts them: it passes
    when every case passed; when every case was skipped (the machine cannot run
    it) it is not counted at all. check, test, watch, grade and list all count so."""
    outcomes: dict[tuple[str, str], list[str]] = {}
    for r in results:
        m = grade.NODE.search(r["nodeid"].replace(os.sep, "/"))
        if m:
            outcomes.setdefault((m["number"], f"{m['file']}::{m['name']}"), []).append(
                r["outcome"])
    return {key: "skipped" if all(o == "skipped" for o in seen) else
            "pass" if all(o in ("passed", "xfailed") for o in seen) else "fail"
            for key, seen in outcomes.items()}


def record(root: Path, results: list[dict], whole_lessons: bool = True) -> None:
    """Remembers, per exercise (and, when `whole_lessons` ran, per lesson), whether
    its tests passed the last time they ran, and how many of them did.
    `results` are the --course-report entries (nodeid, outcome)."""
    the_plan = {(t.lesson, t.key): t for t in meta.plan(root)}
    per_exercise: dict[str, list[bool]] = {}
    per_lesson: dict[str, list[bool]] = {}
    for (lesson, key), status in tally(results).items():
        if status == "skipped":
            continue
        per_lesson.setdefault(lesson, []).append(status == "pass")
        t = the_plan.get((lesson, key))
        if t and t.exercise:
            per_exercise.setdefault(t.exercise, []).append(status == "pass")
    if not whole_lessons:
        per_lesson = {}
    if not per_exercise and not per_lesson:
        return
    state = load_state(root)
    exercises = state.setdefault("exercises", {})
    counts = state.setdefault("counts", {})
    for exercise, outcomes in per_exercise.items():
        exercises[exercise] = "pass" if all(outcomes) else "fail"
        counts[exercise] = [sum(outcomes), len(outcomes)]
    for lesson, outcomes in per_lesson.items():
        state[lesson] = "pass" if all(outcomes) else "fail"
        counts[lesson] = [sum(outcomes), len(outcomes)]
    (root / STATE_NAME).write_text(json.dumps(state, indent=1))


def counted(root: Path, key: str) -> str:
    """"3/4 tests": how many of an exercise's or lesson's tests passed last time."""
    found = load_state(root).get("counts", {}).get(key)
    return t("{passed}/{total} tests", passed=found[0], total=found[1]) if found else ""


def hidden_note(root: Path, lesson: dict) -> str:
    """For `check`: public tests only, and how many hidden ones it did not run."""
    hidden = [t for t in meta.plan(root) if t.lesson == lesson["number"] and t.hidden]
    if not hidden:
        return "(public tests only; this lesson has no hidden tests)"
    return (f"(public tests only: {len(hidden)} hidden tests not run, worth "
            f"{sum(t.points for t in hidden):g} points; your instructor's grader runs them)")


def exercise_status(root: Path, exercise_id: str) -> str:
    return load_state(root).get("exercises", {}).get(exercise_id, "not run")


def exercise_lines(root: Path, lesson: dict, paint=lambda text, color: text) -> list[str]:
    lines = []
    points = {}
    for test in meta.plan(root):
        points[test.exercise] = points.get(test.exercise, 0) + test.points
    for ex in meta.exercises(lesson):
        status = exercise_status(root, ex["id"])
        color = {"pass": "green", "fail": "red"}.get(status, "dim")
        how_many = counted(root, ex["id"]) if status != "not run" else ""
        lines.append(f"    {ex['id']:<6} {pad(field(ex, 'title'), 44)} {points.get(ex['id'], 0):>4g} "
                     f"{t('pts')}  " + paint(t(status), color)
                     + (f"  {how_many}" if how_many else ""))
    return lines


# ---------------------------------------------------------------- hint

def describe(root: Path, lesson: dict, ex: dict, with_hints: bool) -> str:
    files = ", ".join(p.relative_to(root).as_posix() for p in meta.exercise_files(root, lesson, ex))
    the_plan = [test for test in meta.plan(root) if test.exercise == ex["id"]]
    public = [test for test in the_plan if not test.hidden]
    where = (t("look for TODO(exercise {id})", id=ex["id"]) if workspace.has_starters(root)
             else t("solved in this copy: ./course start gives you the exercises to do"))
    text = [t("exercise {id}: {title}  ({points:g} points, {status})", id=ex["id"],
              title=field(ex, "title"), points=sum(test.points for test in the_plan),
              status=t(exercise_status(root, ex["id"]))),
            t("  edit:   {files}   ({where})", files=files, where=where),
            t("  check:  ./course check {n}    or: ./course watch", n=lesson["number"])]
    if len(public) < len(the_plan):
        text.append(t("  tests:  {public} public here, {hidden} hidden that your instructor runs",
                      public=len(public), hidden=len(the_plan) - len(public)))
    description = textwrap.dedent(field(ex, "description")).strip()
    if description:
        text += [""] + ["  " + line for line in description.splitlines()]
    if with_hints:
        hints = field(ex, "hints", [])
        text.append("")
        if not hints:
            text.append(t("  (no hints for this one: read the failing test's message)"))
        for n, hint_text in enumerate(hints, 1):
            label = t("  hint {n}: ", n=n)
            text += textwrap.wrap(hint_text, 76, initial_indent=label,
                                  subsequent_indent=" " * len(label))
    return "\n".join(text)


def hint(root: Path, key: str) -> str:
    lesson, ex = meta.find_exercise(root, key)
    if ex is not None:
        return describe(root, lesson, ex, with_hints=True)
    exercises = meta.exercises(lesson)
    if not exercises:
        return t("lesson {n} has no exercises yet: read its page (docs/lessons/{folder}.md) "
                 "and experiment.", n=lesson["number"], folder=lesson["folder"])
    return "\n\n".join([t("lesson {n}: {title}", n=lesson["number"], title=field(lesson, "title"))]
                       + [describe(root, lesson, ex, with_hints=False) + "\n"
                          + t("  hints:  ./course hint {id}", id=ex["id"]) for ex in exercises])


# ---------------------------------------------------------------- reset

def reset(root: Path, key: str) -> list[str]:
    """Puts an exercise's starter files back (a copy of your version is kept)."""
    if not workspace.has_starters(root):
        raise ValueError("reset works in your workspace or a student release only: this folder "
                         "has the reference solutions (./course start gives you the exercises)")
    lesson, ex = meta.find_exercise(root, key)
    if ex is None:
        raise ValueError("say which exercise: ./course reset 01.1")
    done = []
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for path in meta.exercise_files(root, lesson, ex):
        rel = path.relative_to(root).as_posix()
        starter = root / release.STARTER / rel
        if not starter.is_file():
            raise ValueError(f"no starter copy of {rel} in {release.STARTER}")
        if path.exists():
            backup = root / ".course" / "backup" / f"{rel}.{stamp}"
            backup.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, backup)
            done.append(f"{rel}  (your version saved as {backup.relative_to(root)})")
        else:
            done.append(rel)
        path.write_bytes(starter.read_bytes())
    state = load_state(root)
    state.get("exercises", {}).pop(ex["id"], None)
    (root / STATE_NAME).write_text(json.dumps(state, indent=1))
    return done


# ---------------------------------------------------------------- watch

class Changes:
    """Tells when a file under some folders changed: inotify where the kernel has
    it (instant), and always a poll of modification times (WSL, network drives)."""

    IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE = 0x8, 0x80, 0x100

    def __init__(self, folders: list[Path]):
        self.folders = folders
        self.snapshot = self._scan()
        self.fd = -1
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
            if fd >= 0:
                for folder in folders:
                    for d in [folder, *[p for p in folder.rglob("*") if p.is_dir()]]:
                        libc.inotify_add_watch(fd, str(d).encode(), self.IN_CLOSE_WRITE |
                                               self.IN_MOVED_TO | self.IN_CREATE)
                self.fd = fd
        except (OSError, AttributeError):
            self.fd = -1

    def _scan(self) -> dict[str, float]:
        found = {}
        for folder in self.folders:
            for p in folder.rglob("*"):
                if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith("."):
                    try:
                        found[str(p)] = p.stat().st_mtime
                    except OSError:
                        pass
        return found

    def changed(self) -> bool:
        if self.fd >= 0:
            try:
                while os.read(self.fd, 4096):
                    pass
            except (BlockingIOError, OSError):
                pass
        now = self._scan()
        if now != self.snapshot:
            self.snapshot = now
            return True
        return False

    def settle(self, quiet: float = 0.05, longest: float = 1.0) -> None:
        """Returns once nothing has changed for `quiet` seconds (an editor may save
        in steps: write a copy, rename it, set its mode), or after `longest`."""
        deadline = time.monotonic() + longest
        while time.monotonic() < deadline:
            if self.fd >= 0:
                try:
                    ready, _, _ = select.select([self.fd], [], [], quiet)
                except (ValueError, OSError):
                    ready = []
                    time.sleep(quiet)
                if ready:
                    self.changed()  # takes the events and the new state; then wait again
                    continue
            else:
                time.sleep(quiet)
            if not self.changed():
                return

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def next_exercise(root: Path, after: str | None = None) -> tuple[dict, dict] | None:
    order = meta.all_exercises(root)
    if not order:
        return None
    if after:
        ids = [ex["id"] for _, ex in order]
        start = ids.index(after) + 1 if after in ids else 0
        order = order[start:] + order[:start]
    for lesson, ex in order:
        if exercise_status(root, ex["id"]) != "pass":
            return lesson, ex
    return order[0]


def check_exercise(root: Path, lesson: dict, ex: dict, build_dir: Path, python: str,
                   out=sys.stdout, paint=lambda text, color: text) -> bool:
    """Builds the lesson and runs one exercise's public tests; prints what failed."""
    print(paint(f"==> exercise {ex['id']}: {ex['title']}", "bold"), file=out, flush=True)
    ok, output = grade.configure(root, build_dir, python)
    broken = {} if ok else {"cmake": grade.compile_errors(output)}
    if ok:  # the lesson's programs and the other lessons' ones its tests run
        broken = grade.build_targets(build_dir, meta.lesson_targets(lesson, root), 600)
    the_plan = [t for t in meta.plan(root) if t.exercise == ex["id"] and not t.hidden]
    folder = root / "lessons" / lesson["folder"]
    nodes = sorted({f"{folder}/{t.key.split('::')[0]}::{t.key.split('::', 1)[1]}"
                    for t in the_plan})
    results, pytest_out = [], ""
    if nodes:
        results, pytest_out = grade.run_pytest(root, [lesson], build_dir / "bin", False,
                                               python, 300, nodes=nodes)
    result = grade.score(root, [lesson], the_plan, results,
                         {lesson["number"]: broken} if broken else {}, False, pytest_out)
    record(root, results or [{"nodeid": f"lessons/{lesson['folder']}/{test.key}",
                              "outcome": "failed"} for test in the_plan], whole_lessons=False)
    for test in result["tests"]:
        mark = paint("pass", "green") if test["status"] == "pass" else \
            paint(test["status"], "red")
        print(f"  {mark:<6} {test['name']}", file=out)
        if test["status"] != "pass":
            for line in test["message"].splitlines()[-30:]:
                print(f"         {line}", file=out)
    passed = result["failed"] == 0 and result["passed"] > 0
    print(paint(f"exercise {ex['id']}: " + ("all public tests pass" if passed else
                                            f"{result['failed']} of {len(result['tests'])} "
                                            f"public tests fail"),
                "green" if passed else "red"), file=out, flush=True)
    return passed


def watch(root: Path, build_dir: Path, python: str, start: str | None = None,
          interval: float = 1.0, stdin=sys.stdin, out=sys.stdout,
          paint=lambda text, color: text) -> int:
    if start:
        lesson, ex = meta.find_exercise(root, start)
        current = (lesson, ex) if ex else next_exercise(root)
    else:
        current = next_exercise(root)
    if current is None:
        print("no exercises in this course yet", file=out)
        return 0
    keys = "keys: [Enter] run again, n(ext), h(int), l(ist), q(uit)"
    changes = Changes([root / "lessons" / current[0]["folder"]])
    pending = ""
    try:
        rerun = True
        while True:
            if rerun:
                lesson, ex = current
                check_exercise(root, lesson, ex, build_dir, python, out, paint)
                print(paint(f"watching lessons/{lesson['folder']}/ for saves.  {keys}", "dim"),
                      file=out, flush=True)
                rerun = False
            ready = []
            try:
                ready, _, _ = select.select([stdin] + ([changes.fd] if changes.fd >= 0 else []),
                                            [], [], interval)
            except (ValueError, OSError):  # stdin is not selectable: poll only
                time.sleep(interval)
            if stdin in ready:
                # os.read, not readline: several keys may arrive at once (pasted, piped)
                data = os.read(stdin.fileno(), 4096)
                if not data:
                    return 0  # end of input: nothing more to ask
                pending += data.decode(errors="replace")
            while "\n" in pending:
                line, pending = pending.split("\n", 1)
                command = line.strip().lower()
                if command in ("q", "quit", "exit"):
                    return 0
                if command in ("h", "hint"):
                    print(describe(root, *current, with_hints=True), file=out, flush=True)
                elif command in ("l", "list"):
                    for lesson_, ex_ in meta.all_exercises(root):
                        print(f"  {ex_['id']:<6} {ex_['title']:<44} "
                              f"{exercise_status(root, ex_['id'])}", file=out)
                    out.flush()
                elif command in ("n", "next"):
                    current = next_exercise(root, after=current[1]["id"])
                    changes.close()
                    changes = Changes([root / "lessons" / current[0]["folder"]])
                    rerun = True
                elif command in ("", "r", "run"):
                    rerun = True
                else:
                    print(keys, file=out, flush=True)
            if changes.changed():
                changes.settle()  # the editor has finished writing: nothing new for a moment
                rerun = True
    finally:
        changes.close()
