"""./course build: configure with CMake (the presets of CMakePresets.json,
spelled out so that a missing Ninja still works) and build, showing how far
the build has got: a fresh build compiles some 150 files and takes minutes.

The everyday loop (./course check, watch) asks three questions each time that
rarely have a new answer: are the packages installed (some 25 dpkg-query
calls), which python3 has pytest (one interpreter started), and is anything to
build (cmake, which starts ninja, which re-checks the globbed folders). Each
answer is remembered in the build folder with what it depends on (dpkg's
database, the sources' modification times and sizes, the build files), and
asked again as soon as any of that changes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .console import CourseError, paint, say, tty
from .project import BUILD, ROOT
from .setup import PACKAGES, setup, test_python

DPKG_STATUS = Path("/var/lib/dpkg/status")  # rewritten by every install and removal
READY = ".course-ready.json"                 # in BUILD: the packages and the test python
BUILT = ".course-built.json"                 # in each build folder: what the last build saw
# What CMake reads to make the build (CMakeLists.txt's add_subdirectory and globs).
SOURCES = ("CMakeLists.txt", "cmake", "common", "lessons", "harness/bench")


# ---------------------------------------------------------------- remembered answers

def _stat_key(path: Path) -> list:
    try:
        info = path.stat()
        return [info.st_mtime_ns, info.st_size]
    except OSError:
        return []


def system_key() -> str:
    """What the installed packages' check depends on: dpkg's database (any apt
    install or removal rewrites it), the course's package lists, and which
    interpreters the test python may be."""
    parts = [_stat_key(DPKG_STATUS), PACKAGES, os.environ.get("COURSE_PYTHON", ""),
             sys.executable, shutil.which("python3") or ""]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _read(path: Path) -> dict:
    try:
        found = json.loads(path.read_text())
        return found if isinstance(found, dict) else {}
    except (OSError, ValueError):
        return {}


def _write(path: Path, data: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)  # another ./course reading it sees the old or the new one
    except OSError:
        pass  # a read-only build folder: the next run asks again


def setup_once(groups: list[str], quiet: bool = True) -> None:
    """setup(groups), unless it passed before with the same package lists and dpkg's
    database has not changed since (nothing installed or removed)."""
    stamp = BUILD / READY
    key = system_key()
    found = _read(stamp)
    done = set(found.get("groups", [])) if found.get("key") == key else set()
    if set(groups) <= done:
        return
    setup(groups, quiet=quiet)
    found = _read(stamp)  # re-read: another ./course may have added its groups meanwhile
    done = set(found.get("groups", [])) if found.get("key") == key else set()
    _write(stamp, dict(found, key=key, groups=sorted(done | set(groups))))


def test_python_once(required: bool = True) -> str | None:
    """test_python(), remembered while system_key() stays the same (and the
    interpreter is still there)."""
    stamp = BUILD / READY
    key = system_key()
    found = _read(stamp)
    python = found.get("python") if found.get("python_key") == key else None
    if python and os.access(python, os.X_OK):
        return python
    python = test_python(required)
    if python:
        _write(stamp, dict(_read(stamp), python=python, python_key=key))
    return python


def sources_key(root: Path, build_dir: Path) -> str:
    """Every file CMake and the compiler read from the course (path, modification
    time, size), the build files CMake wrote, and dpkg's database (the compiler,
    the libraries' headers): a build with the same key has nothing to do."""
    digest = hashlib.sha256()
    for top in SOURCES:
        start = root / top
        if start.is_file():
            digest.update(f"{top}\0{_stat_key(start)}\n".encode())
            continue
        for folder, dirs, files in os.walk(start):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            for name in sorted(files):
                if name.endswith(".pyc"):
                    continue
                path = os.path.join(folder, name)
                digest.update(f"{path}\0{_stat_key(Path(path))}\n".encode())
    for name in ("build.ninja", "Makefile", "CMakeCache.txt"):
        digest.update(f"{name}\0{_stat_key(build_dir / name)}\n".encode())
    digest.update(f"dpkg\0{_stat_key(DPKG_STATUS)}\n".encode())
    return digest.hexdigest()


def up_to_date(build_dir: Path, key: str, targets: list[str] | None) -> bool:
    """True if a build of `targets` (None: all) with this sources_key() succeeded
    last time, and their programs are still in bin/ (a full build is never
    skipped: it also builds what has no program, the unit tests)."""
    if targets is None:
        return False
    found = _read(build_dir / BUILT)
    if found.get("key") != key:
        return False
    if not (found.get("all") or set(targets) <= set(found.get("targets", []))):
        return False
    return all((build_dir / "bin" / name).is_file() for name in targets)


def remember_build(build_dir: Path, key: str, targets: list[str] | None) -> None:
    found = _read(build_dir / BUILT)
    same = found.get("key") == key
    if targets is None:
        _write(build_dir / BUILT, {"key": key, "all": True})
    else:
        _write(build_dir / BUILT, {"key": key, "all": same and bool(found.get("all")),
                                   "targets": sorted(set(targets) | set(
                                       found.get("targets", []) if same else []))})

PRESETS = ["default", "asan", "tsan", "clang"]


def configured(build_dir: Path) -> bool:
    """True once CMake has generated the build files. A configure that failed
    (say, before `./course setup` installed a library) leaves a cache but no
    build.ninja; its cache is removed so that the next configure starts clean
    and may pick another generator."""
    if (build_dir / "build.ninja").exists() or (build_dir / "Makefile").exists():
        return True
    (build_dir / "CMakeCache.txt").unlink(missing_ok=True)
    return False


def build(preset: str = "default", quiet: bool = False, targets: list[str] | None = None) -> Path:
    setup_once(["build"])
    build_dir = BUILD if preset == "default" else ROOT / f"build-{preset}"
    if configured(build_dir):
        key = sources_key(ROOT, build_dir)
        if up_to_date(build_dir, key, targets):
            if not quiet:
                say(f"building ({preset})")
            return build_dir  # what ninja would find: no work to do
    else:
        say(f"configuring ({preset})")
        # The presets in CMakePresets.json, spelled out so that a missing Ninja still works.
        args = ["cmake", "-S", str(ROOT), "-B", str(build_dir)]
        if python := test_python(required=False):
            args.append(f"-DCOURSE_PYTHON={python}")
        if shutil.which("ninja"):
            args += ["-G", "Ninja"]
        args += {"default": ["-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
                 "asan": ["-DCMAKE_BUILD_TYPE=Debug", "-DCOURSE_SANITIZE=address,undefined"],
                 "tsan": ["-DCMAKE_BUILD_TYPE=Debug", "-DCOURSE_SANITIZE=thread"],
                 "clang": ["-DCMAKE_CXX_COMPILER=clang++"]}[preset]
        run_checked(args, quiet)
        key = sources_key(ROOT, build_dir)
    run_build(["cmake", "--build", str(build_dir), "--parallel", str(os.cpu_count() or 2),
               *(["--target", *targets] if targets else [])], quiet, f"building ({preset})")
    # The key from before the build: a file saved while it ran makes the next one build.
    remember_build(build_dir, key, targets)
    return build_dir


# ninja's status line (NINJA_STATUS is set to this form) and make's
NINJA_STEP = re.compile(r"^\[(?P<done>\d+)/(?P<total>\d+)\] (?P<what>.*)$")
MAKE_STEP = re.compile(r"^\[ *(?P<percent>\d+)%\] (?P<what>.*)$")
OBJECT = re.compile(r"^Building CXX object (?:(?P<dir>.*?)/)?CMakeFiles/[^/]+\.dir/"
                    r"(?P<src>.+?)\.o$")
# make's chatter between its steps (the Makefile generator, when Ninja is missing)
NOISE = re.compile(r"^(Scanning dependencies of target|Consolidate compiler generated "
                   r"dependencies of target|g?make(\[\d+\])?: (Entering|Leaving) directory"
                   r"|ninja: no work to do)")
LINK = re.compile(r"^Linking CXX (?:executable|static library) (?:.*/)?(?P<name>[^/]+)$")


def step_words(what: str) -> str:
    """ninja's description of a step, short: `compiling lessons/04-x/y.cpp`, `linking y`."""
    m = OBJECT.match(what)
    if m:
        return "compiling " + "/".join(part for part in (m["dir"], m["src"]) if part)
    m = LINK.match(what)
    return f"linking {m['name']}" if m else what


class Progress:
    """How far a build has got. On a terminal: one line, redrawn at every step
    (`[ 37/152] #######.............. compiling ...`); elsewhere (a CI log, a
    pipe): a line at every tenth of the build and at its end."""

    BAR = 20

    def __init__(self, out=None, interactive: bool | None = None, title: str = ""):
        self.out = out or sys.stdout
        self.interactive = tty() if interactive is None else interactive
        self.title = title      # said once, at the first step (nothing to build: never)
        self.steps = 0
        self.shown = -1         # the last tenth printed (not interactive)
        self.drawn = False
        self.total = 0
        self.started = time.monotonic()

    def step(self, line: str) -> bool:
        """Shows `line` if it is a progress line; False if it is other output."""
        m = NINJA_STEP.match(line)
        if m:
            done, total = int(m["done"]), max(int(m["total"]), 1)
            if done == 0:  # [0/2] Re-checking globbed directories: every build, no work
                return True
        else:
            m = MAKE_STEP.match(line)
            if not m:
                return False
            done, total = int(m["percent"]), 100
        if self.steps == 0 and self.title:
            print(paint(f"==> {self.title}", "bold"), file=self.out, flush=True)
        if total != self.total:  # [1/2] Re-running CMake, then the build itself: anew
            self.total, self.shown = total, -1
        self.steps = max(self.steps, done) if m.re is NINJA_STEP else self.steps + 1
        fraction = min(done / total, 1.0)
        count = f"[{done:>{len(str(total))}}/{total}]" if m.re is NINJA_STEP else \
            f"[{done:>3}%]"
        if self.interactive:
            filled = int(fraction * self.BAR)
            text = f"  {count} {'#' * filled}{'.' * (self.BAR - filled)} {step_words(m['what'])}"
            width = shutil.get_terminal_size((80, 24)).columns
            self.out.write("\r\033[K" + text[:max(width - 1, 20)])
            self.out.flush()
            self.drawn = True
        elif int(fraction * 10) > self.shown or done >= total:
            self.shown = int(fraction * 10)
            print(f"  {count} {fraction:4.0%}  {step_words(m['what'])}", file=self.out,
                  flush=True)
        return True

    def clear(self) -> None:
        """Takes the redrawn line away (before other output, and at the end)."""
        if self.drawn:
            self.out.write("\r\033[K")
            self.out.flush()
            self.drawn = False

    def finish(self, ok: bool) -> None:
        self.clear()
        if self.steps and ok:
            seconds = time.monotonic() - self.started
            took = f"{seconds / 60:.0f} min {seconds % 60:02.0f} s" if seconds >= 60 \
                else f"{seconds:.1f} s"
            print(f"  built in {took}", file=self.out, flush=True)


def run_build(args: list[str], quiet: bool, title: str) -> None:
    """Runs `cmake --build`, showing its progress; the compiler's own output is
    shown as it comes, or, when quiet, only if the build fails."""
    if not quiet:
        say(title)
    progress = Progress(title="" if not quiet else title)
    env = dict(os.environ, NINJA_STATUS="[%f/%t] ")
    other: list[str] = []
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", env=env) as proc:
        for line in proc.stdout:
            line = line.rstrip("\n")
            if progress.step(line) or NOISE.match(line):
                continue
            other.append(line)
            if not quiet:
                progress.clear()
                print(line, flush=True)
    progress.finish(proc.returncode == 0)
    if proc.returncode != 0:
        if quiet:
            print("\n".join(other))
        raise CourseError(f"{' '.join(args[:3])} ... failed (see above)")


def run_checked(args: list[str], quiet: bool) -> None:
    """Runs a build step; in quiet mode its output is shown only if it fails."""
    done = subprocess.run(args, stdout=subprocess.PIPE if quiet else None,
                          stderr=subprocess.STDOUT if quiet else None, text=True)
    if done.returncode != 0:
        if quiet:
            print(done.stdout)
        raise CourseError(f"{' '.join(args[:3])} ... failed (see above)")
