"""./course build: configure with CMake (the presets of CMakePresets.json,
spelled out so that a missing Ninja still works) and build, showing how far
the build has got: a fresh build compiles some 150 files and takes minutes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .console import CourseError, paint, say, tty
from .project import BUILD, ROOT
from .setup import setup, test_python

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
    setup(["build"], quiet=True)
    build_dir = BUILD if preset == "default" else ROOT / f"build-{preset}"
    if not configured(build_dir):
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
    run_build(["cmake", "--build", str(build_dir), "--parallel", str(os.cpu_count() or 2),
               *(["--target", *targets] if targets else [])], quiet, f"building ({preset})")
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
