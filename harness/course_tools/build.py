"""./course build: configure with CMake (the presets of CMakePresets.json,
spelled out so that a missing Ninja still works) and build."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .console import CourseError, say
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
    if not quiet:
        say(f"building ({preset})")
    run_checked(["cmake", "--build", str(build_dir), "--parallel", str(os.cpu_count() or 2),
                 *(["--target", *targets] if targets else [])], quiet)
    return build_dir


def run_checked(args: list[str], quiet: bool) -> None:
    """Runs a build step; in quiet mode its output is shown only if it fails."""
    done = subprocess.run(args, stdout=subprocess.PIPE if quiet else None,
                          stderr=subprocess.STDOUT if quiet else None, text=True)
    if done.returncode != 0:
        if quiet:
            print(done.stdout)
        raise CourseError(f"{' '.join(args[:3])} ... failed (see above)")
