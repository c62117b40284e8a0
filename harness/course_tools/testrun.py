"""./course test and check: build, run ctest (common/) and pytest (the lessons),
print one pass/fail line per lesson, remember the results for ./course list.

A lesson's tests are counted per test function, its parametrizations together,
the way ./course grade and ./course list count them (student.tally). In a
started workspace (./course start) the exercises' tests fail until the student
solves them: the table says "to do" for those, and FAIL only for the rest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from . import grade, meta, workspace
from .build import build
# setup() and test_python(), asked again only when the system changed (build.py)
from .build import setup_once as setup, test_python_once as test_python
from .console import paint, say, tty
from .i18n import field, pad, t
from .project import BUILD, ROOT, STATE, find_lesson, lessons


def run_tests(keys: list[str], preset: str = "default", unit: bool = True,
              public_only: bool = False) -> int:
    selected = [find_lesson(k) for k in keys] if keys else lessons()
    # check builds only what the lesson's tests run: its programs, and the other
    # lessons' programs its tests and demo use (lesson 04's tests run tcp_client)
    targets = list(dict.fromkeys(t for lesson in selected
                                 for t in meta.lesson_targets(lesson, ROOT))) \
        if public_only else None
    build_dir = build(preset, targets=targets)
    setup(["test"], quiet=True)
    python = test_python()
    started = time.monotonic()
    results: list[dict] = []

    unit_tests = None
    if unit and not keys:
        say("unit tests (common/)")
        unit_report = build_dir / "unit-report.xml"
        # They run while the lesson tests do (which mostly wait on sockets and
        # timers); what ctest says is shown after pytest's output, not inside it.
        unit_tests = Background(["ctest", "--test-dir", str(build_dir), "-L", "unit", "-j",
                                 str(os.cpu_count() or 2), "--output-on-failure",
                                 "--output-junit", str(unit_report)])

    say("lesson tests")
    started_workspace = workspace.started(ROOT)
    if started_workspace:
        print(paint("(your workspace: the exercises' tests fail until you solve them; "
                    "./course start --undo brings the reference solutions back)", "yellow"))
    report = build_dir / "pytest-report.json"
    report.unlink(missing_ok=True)
    paths = [str(ROOT / "lessons" / lesson["folder"]) for lesson in selected]
    if not keys and not started_workspace:
        # the course's checks of itself, which expect the reference solutions: not
        # in a workspace (nor in a student release, which leaves them out)
        paths += [str(p) for p in (ROOT / "harness" / "tests",) if p.is_dir()]
    durations = build_dir / "test-durations.json"
    if len(selected) > 1:
        workers = ["-n", str(many_workers(preset))]
    else:  # check leaves the hidden tests out: so does its estimate
        hidden = {t.key for t in meta.plan(ROOT)
                  if t.lesson == selected[0]["number"] and t.hidden} if public_only else set()
        workers = one_lesson_workers(read_durations(durations), selected[0]["folder"], hidden)
    env = dict(os.environ, COURSE_BIN_DIR=str(build_dir / "bin"))
    if preset in ("asan", "tsan"):
        env["COURSE_SANITIZER"] = preset
    subprocess.run([python, "-m", "pytest", *workers, "-q", "--course-report", str(report),
                    # check: what ./course grade runs (every public lesson test); test:
                    # slow tests (the release check, a browser) have their own CI step
                    "-m", "not hidden" if public_only else "not slow",
                    *paths], cwd=ROOT, env=env)
    if unit_tests is not None:
        output = unit_tests.wait()
        if output and not tty():
            print(output, end="" if output.endswith("\n") else "\n", flush=True)
        results = read_junit(unit_report) + results
    if report.exists():
        from . import student
        results += json.loads(report.read_text())
        remember_durations(durations, results)
        student.record(ROOT, results)  # per-exercise progress for ./course list
    else:
        results.append({"lesson": "pytest", "outcome": "error", "duration": 0,
                        "nodeid": "pytest", "message": "pytest did not run"})
    return print_table(results, selected, time.monotonic() - started)


# ---------------------------------------------------------------- one lesson, in parallel?

# What xdist costs before the first test runs (its workers start and collect), as
# measured on two cores: about 0.32 s for 2 workers, 0.44 s for 4.
WORKER_START = (0.2, 0.06)  # seconds, and seconds per worker
MOST_WORKERS = 4            # the tests mostly wait; more would only crowd two cores
# Below this a lesson's tests run in one process: quick tests are mostly starting
# programs (CPU, which more workers than cores do not make faster) ... (1.5 s
# before: lessons 12, 15, 17 and 18, 1.1-1.4 s of tests each, took 1.5-1.9 s to
# check in one process and 1.3-1.6 s with xdist, measured on two cores)
PARALLEL_FROM = 1.0         # seconds, one after another
CLEAR_GAIN = 0.25           # ... and xdist must promise at least this much sooner


def many_workers(preset: str) -> int:
    """xdist's workers for several lessons (./course test): the tests mostly wait
    (on sockets, timers, a client that stalls on purpose), so twice as many as
    cores (measured on two cores, ./course test: 2 workers 88-101 s, 4 workers
    51 s, 6 workers 48 s); under a sanitizer, whose programs use the CPU several
    times over, one per core as before."""
    cores = os.cpu_count() or 1
    if preset in ("asan", "tsan"):
        return cores
    return min(2 * cores, cores + 4)


def read_durations(path: Path) -> dict[str, float]:
    try:
        found = json.loads(path.read_text())
        return {k: float(v) for k, v in found.items()} if isinstance(found, dict) else {}
    except (OSError, ValueError, TypeError):
        return {}


def remember_durations(path: Path, results: list[dict]) -> None:
    """Each test's duration (setup, call and teardown), for one_lesson_workers: what
    it takes on a quiet machine, so a run on a busy one counts half (the mean of
    the old figure and the new, if the new is longer). Otherwise one check under
    load makes the next choose xdist, whose workers then start slowly too; a test
    that has really grown slower gets there in a few runs."""
    known = read_durations(path)
    for r in results:
        if r.get("nodeid") and r.get("outcome") in ("passed", "failed"):
            new = r.get("duration", 0.0)
            old = known.get(r["nodeid"], new)
            known[r["nodeid"]] = round(min(new, (old + new) / 2), 3)
    try:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=0, sort_keys=True))
        os.replace(tmp, path)
    except OSError:
        pass


def makespan(durations: list[float], workers: int) -> float:
    """How long `workers` take for these tests, each taking the next one free
    (the longest first: about what xdist's scheduling comes to)."""
    loads = [0.0] * workers
    for d in sorted(durations, reverse=True):
        loads[loads.index(min(loads))] += d
    return max(loads)


def one_lesson_workers(known: dict[str, float], folder: str,
                       left_out: set[str] = frozenset()) -> list[str]:
    """pytest-xdist for one lesson only when it pays: its tests' last durations
    (those of `left_out`, "test_x.py::test_y" keys, not counted), spread over 2
    to MOST_WORKERS workers, finish sooner than one after another, the workers'
    start included. A lesson whose tests are quick (most of them), or whose tests
    never ran here, runs in the one process."""
    durations = []
    for nodeid, d in known.items():
        m = grade.NODE.search(nodeid.replace(os.sep, "/"))
        if m and m["folder"] == folder and f"{m['file']}::{m['name']}" not in left_out:
            durations.append(d)
    serial = sum(durations)
    best, best_time = 0, serial
    if serial < PARALLEL_FROM:
        return []
    for workers in range(2, min(MOST_WORKERS, len(durations)) + 1):
        estimate = WORKER_START[0] + WORKER_START[1] * workers + makespan(durations, workers)
        if estimate < best_time - (CLEAR_GAIN if not best else 0.05):
            best, best_time = workers, estimate
    return ["-n", str(best)] if best else []


class Background:
    """A command run in a thread (subprocess.run, its output kept) while the
    caller goes on; wait() returns what it printed."""

    def __init__(self, argv: list[str]):
        self.output = ""
        self.thread = threading.Thread(target=self._run, args=(argv,), daemon=True)
        self.thread.start()

    def _run(self, argv: list[str]) -> None:
        try:
            done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, errors="replace")
            self.output = done.stdout or ""
        except OSError as failure:  # no ctest: read_junit reports the missing report
            self.output = f"{argv[0]}: {failure}\n"

    def wait(self) -> str:
        self.thread.join()
        return self.output


def capture_failures(key: str, preset: str = "default") -> list[Path]:
    """`./course check --capture`: each failing test of the lesson runs once more,
    alone, with its loopback traffic recorded (tcpdump, root only); returns the
    pcaps kept."""
    lesson = find_lesson(key)
    report = BUILD / "pytest-report.json"
    if not report.exists():
        return []
    if os.geteuid() != 0 or not shutil.which("tcpdump"):
        say("recording packets needs tcpdump and root (sudo ./course check ... --capture; "
            "./course setup installs tcpdump)")
        return []
    failing = [r["nodeid"] for r in json.loads(report.read_text())
               if r["outcome"] in ("failed", "error") and f"/{lesson['folder']}/" in r["nodeid"]]
    if not failing:
        return []
    folder = BUILD / "captures" / f"check-{lesson['number']}"
    shutil.rmtree(folder, ignore_errors=True)
    say(f"running the {len(failing)} failing test{'s' * (len(failing) != 1)} once more, "
        f"recording the loopback traffic")
    subprocess.run([test_python(), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--course-capture={folder}", *failing], cwd=ROOT, capture_output=True,
                   env=dict(os.environ, COURSE_BIN_DIR=str(BUILD / "bin")), timeout=600)
    return sorted(folder.glob("*.pcap"))


def read_junit(path: Path) -> list[dict]:
    if not path.exists():
        return [{"lesson": "common", "outcome": "error", "nodeid": "ctest", "duration": 0,
                 "message": "ctest wrote no report"}]
    import xml.etree.ElementTree as ET
    results = []
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome = case.get("status", "run")
        failed = case.find("failure") is not None or outcome == "fail"
        results.append({"lesson": "common", "nodeid": case.get("name"),
                        "outcome": "failed" if failed else "passed",
                        "duration": float(case.get("time", 0))})
    return results


def counted_results(results: list[dict]) -> list[dict]:
    """The results as the table counts them: a lesson's test function once, its
    parametrizations together (student.tally, as ./course grade and list count);
    anything else (the ctest unit tests, the harness's checks) per test."""
    from . import student
    functions = student.tally(results)
    plan = {(t.lesson, t.key): t for t in meta.plan(ROOT)}
    rows = [r for r in results if not grade.NODE.search(r["nodeid"].replace(os.sep, "/"))]
    durations: dict[tuple[str, str], float] = {}
    for r in results:
        m = grade.NODE.search(r["nodeid"].replace(os.sep, "/"))
        if m:
            key = (m["number"], f"{m['file']}::{m['name']}")
            durations[key] = durations.get(key, 0.0) + r.get("duration", 0.0)
    for (lesson, key), status in functions.items():
        t = plan.get((lesson, key))
        rows.append({"lesson": lesson, "nodeid": key, "duration": durations[(lesson, key)],
                     "exercise": t.exercise if t else "",
                     "outcome": {"pass": "passed", "fail": "failed"}.get(status, status)})
    return rows


def print_table(results: list[dict], selected: list[dict], elapsed: float) -> int:
    titles = {lesson["number"]: field(lesson, "title") for lesson in lessons()}
    titles["common"] = "common/ library (unit tests)"
    order = ["common"] + [lesson["number"] for lesson in selected]
    to_do = workspace.started(ROOT)  # the exercises' failures are the student's work to do
    rows = {}
    for r in counted_results(results):
        row = rows.setdefault(r["lesson"], {"passed": 0, "failed": 0, "skipped": 0, "time": 0.0,
                                            "exercise_failed": 0, "exercises": set()})
        key = "passed" if r["outcome"] == "passed" else \
            "skipped" if r["outcome"] == "skipped" else "failed"
        row[key] += 1
        row["time"] += r.get("duration", 0.0)
        if key == "failed" and r.get("exercise"):
            row["exercise_failed"] += 1
            row["exercises"].add(r["exercise"])
    print()
    print(f"{pad(t('lesson'), 44)} {t('passed'):>6} {t('failed'):>6} {t('skipped'):>7}  "
          f"{t('result')}"
          + paint(t("   (tests counted as ./course grade counts them)"), "dim"))
    for key in order + sorted(set(rows) - set(order)):
        if key not in rows:
            if key != "common":
                print(f"{key + ' ' + titles.get(key, ''):<44} {'-':>6} {'-':>6} {'-':>7}  "
                      + paint(t("NO TESTS"), "red"))
            continue
        row = rows[key]
        ok = row["failed"] == 0 and row["passed"] > 0
        label = (key + " " + titles.get(key, "")) if key != "common" else titles[key]
        if not ok and to_do and row["failed"] == row["exercise_failed"] and row["passed"] > 0:
            result = paint(t("TO DO"), "yellow") + paint(
                t("  exercise {ids} not solved yet", ids=", ".join(sorted(row["exercises"])))
                + f" (./course hint {key})", "dim")
        else:
            result = paint(t("PASS") if ok else t("FAIL"), "green" if ok else "red")
        print(f"{label[:44]:<44} {row['passed']:>6} {row['failed']:>6} {row['skipped']:>7}  "
              + result)
    passed = sum(r["passed"] for r in rows.values())
    failed = sum(r["failed"] for r in rows.values())
    skipped = sum(r["skipped"] for r in rows.values())
    exercise_failed = sum(r["exercise_failed"] for r in rows.values())
    missing = [k for k in order if k not in rows and k != "common"]
    remember(rows)
    for r in results:
        if r["outcome"] not in ("passed", "skipped"):
            print(paint(f"  failed: {r['nodeid']}", "red"))
    print(f"\n(took {elapsed:.1f} s)")
    print(f"course: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    if to_do and exercise_failed:
        print(paint(f"{exercise_failed} of the failures are exercise tests: in your workspace "
                    f"they fail until you solve the exercises (./course list shows which)",
                    "yellow"))
    return 1 if failed or missing or passed == 0 else 0


def remember(rows: dict) -> None:
    """The rows that are no lesson (common/): the lessons' are student.record's."""
    state = json.loads(STATE.read_text()) if STATE.exists() else {}
    for key, row in rows.items():
        if key == "common":
            state[key] = "pass" if row["failed"] == 0 and row["passed"] > 0 else "fail"
    STATE.write_text(json.dumps(state, indent=1))


def list_lessons() -> int:
    """./course list: every lesson, how its tests went last time, its exercises."""
    from . import student
    state = json.loads(STATE.read_text()) if STATE.exists() else {}
    print(paint(t({"workspace": "your workspace: the exercises are yours to do "
                                "(./course hint NN)",
                   "release": "a student release: the exercises are yours to do "
                              "(./course hint NN)",
                   "reference": "the reference: every exercise is solved in this copy "
                                "(./course start gives you the exercises to do)"}
                  [workspace.kind(ROOT)]), "bold"))
    for lesson in lessons():
        status = state.get(lesson["number"], "not run")
        color = {"pass": "green", "fail": "red"}.get(status, "dim")
        how_many = student.counted(ROOT, lesson["number"]) if status != "not run" else ""
        print(f"{lesson['number']}  {pad(field(lesson, 'title'), 50)} {paint(t(status), color)}"
              + (f"  {how_many}" if how_many else ""))
        print(paint(t("      programs: {programs}", programs=", ".join(lesson.get("programs", []))),
                    "dim"))
        for line in student.exercise_lines(ROOT, lesson, paint):
            print(line)
    return 0
