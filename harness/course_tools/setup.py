"""./course setup: the Debian/Ubuntu packages the course needs, installed with
apt (as root or with sudo -n), and the python3 that runs the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from .console import CourseError, say

# What a fresh Debian/Ubuntu machine needs, by purpose.
PACKAGES = {
    "build": ["g++", "cmake", "ninja-build", "pkg-config", "libcli11-dev", "nlohmann-json3-dev",
              "libssl-dev", "libgtest-dev"],
    "test": ["python3", "python3-pytest", "python3-pytest-xdist", "python3-pytest-timeout",
             "python3-jsonschema",  # the grading formats are validated against their schemas
             "iproute2", "procps", "tshark", "tcpdump", "strace", "curl",
             # the site checks (harness/tests/test_site.py) build the site and load it in a browser
             "mkdocs", "mkdocs-material", "python3-pymdownx", "chromium", "fonts-wqy-microhei"],
    "ci": ["clang", "libclang-rt-14-dev", "clang-format", "clang-tidy", "iperf3", "socat", "wrk",
           "openssl"],  # openssl: the sha256 reference row of harness/bench/ftp_bench.py
}
PYTHON_MODULES = ("pytest", "xdist", "pytest_timeout")


def missing_packages(groups: list[str]) -> list[str]:
    if not shutil.which("dpkg-query"):
        return []
    wanted = [p for g in groups for p in PACKAGES[g]]
    missing = []
    for package in wanted:
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                                capture_output=True, text=True).stdout
        if "install ok installed" not in status:
            missing.append(package)
    return missing


def install(packages: list[str]) -> None:
    if not packages:
        return
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    if os.geteuid() != 0:
        if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"],
                                                   capture_output=True).returncode == 0:
            command = ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive", *command]
        else:
            raise CourseError("these packages are missing: " + " ".join(packages) +
                              "\ninstall them with:\n  sudo apt-get install -y " +
                              " ".join(packages))
    say("installing " + " ".join(packages))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    update = command[:command.index("install")] + ["update", "-q"]
    subprocess.run(update, env=env, check=False, stdout=subprocess.DEVNULL)
    if subprocess.run(command, env=env).returncode != 0:
        raise CourseError("apt-get install failed (see above)")


def setup(groups: list[str] | None = None, quiet: bool = False) -> None:
    groups = groups or ["build", "test"]
    if not shutil.which("apt-get"):
        if not quiet:
            print("Not a Debian/Ubuntu system: install a C++20 compiler, CMake >= 3.25, CLI11, "
                  "nlohmann-json, OpenSSL, GoogleTest and python3 with pytest, pytest-xdist and "
                  "pytest-timeout (see docs/setup.md).")
        return
    install(missing_packages(groups))
    if not quiet:
        say("everything needed is installed")


def test_python(required: bool = True) -> str | None:
    """An interpreter that has pytest, pytest-xdist and pytest-timeout. The first
    python3 on PATH may be a private one (pyenv) without Debian's packages.
    Not required to build: build() installs only the build group, and on a fresh
    machine it runs before the test group is installed; CMake then picks a python3."""
    candidates = [os.environ.get("COURSE_PYTHON"), "/usr/bin/python3", sys.executable,
                  shutil.which("python3")]
    probe = "import " + ", ".join(PYTHON_MODULES)
    for candidate in dict.fromkeys(c for c in candidates if c):
        if subprocess.run([candidate, "-c", probe], capture_output=True).returncode == 0:
            return candidate
    if not required:
        return None
    raise CourseError("no python3 with pytest, pytest-xdist and pytest-timeout; "
                      "run ./course setup")
