"""./course setup: the Debian/Ubuntu packages the course needs, installed with
apt (as root or with sudo -n), and the python3 that runs the tests.

For Debian 12, Ubuntu 22.04 and Ubuntu 24.04. Their package names are the same,
but Ubuntu lacks a few packages (UNPACKAGED: Chromium is a snap there, 22.04 has
no mkdocs-material): those are left out, with what to do instead. Ubuntu 22.04's
Python 3.10 has no tomllib: python3-tomli stands in."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .console import CourseError, say

# What a fresh Debian/Ubuntu machine needs, by purpose.
PACKAGES = {
    "build": ["g++", "cmake", "ninja-build", "pkg-config", "libcli11-dev", "nlohmann-json3-dev",
              "libssl-dev", "libgtest-dev"],
    "test": ["python3", "python3-pytest", "python3-pytest-xdist", "python3-pytest-timeout",
             "python3-jsonschema",  # the grading formats are validated against their schemas
             "python3-yaml",  # the release's workflow and the two sites' navs are read in tests
             "iproute2", "procps", "tshark", "tcpdump", "strace", "curl",
             # the site checks (harness/tests/test_site.py) build the site and load it in a browser
             "mkdocs", "mkdocs-material", "python3-pymdownx", "chromium", "fonts-wqy-microhei"],
    # the tools the pages and the programs' comments have you type: socat, nc
    "tools": ["socat", "netcat-openbsd"],
    "ci": ["clang", "libclang-rt-14-dev", "clang-format", "clang-tidy", "iperf3", "wrk",
           "openssl"],  # openssl: the sha256 reference row of harness/bench/ftp_bench.py
}
DEFAULT_GROUPS = ["build", "test", "tools"]  # ./course setup; --ci adds "ci"
PYTHON_MODULES = ("pytest", "xdist", "pytest_timeout")

# Packages a supported system has no deb of: (os-release ID, VERSION_ID, or "" for
# every version) -> {package: what to do instead}. None of them is needed to build
# the lessons or to run ./course test; they serve the site and CI's extra checks.
_SITE_BY_PIP = ("Ubuntu 22.04 packages no mkdocs-material: only the site needs them "
                "(./course docs): python3 -m venv ~/.venvs/site && ~/.venvs/site/bin/pip "
                "install mkdocs-material")
UNPACKAGED = {
    ("ubuntu", ""): {
        "chromium": "Ubuntu has Chromium only as a snap: sudo snap install chromium (the "
                    "browser checks need it: lesson 19's chromium test, CI's site checks)"},
    ("ubuntu", "22.04"): {
        "mkdocs-material": _SITE_BY_PIP, "python3-pymdownx": _SITE_BY_PIP,
        "libclang-rt-14-dev": "clang 14's sanitizer runtime comes with clang itself "
                              "(libclang-common-14-dev)"},
}
# Packages apt found no candidate for (a system UNPACKAGED does not know), so that
# every later ./course does not ask apt again.
NOT_FOUND = Path(os.environ.get("COURSE_BUILD_DIR", Path(__file__).resolve().parents[2] /
                                "build")) / "packages-not-found.txt"


def os_release(path: Path = Path("/etc/os-release")) -> dict[str, str]:
    found = {}
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip().strip('"')
    except OSError:
        pass
    return found


def unpackaged(release: dict[str, str] | None = None) -> dict[str, str]:
    """{package: what to do instead} for the packages this system has no deb of."""
    release = os_release() if release is None else release
    found: dict[str, str] = {}
    for (system, version), packages in UNPACKAGED.items():
        if release.get("ID") == system and version in ("", release.get("VERSION_ID")):
            found.update(packages)
    try:
        found.update({line.strip(): "apt knows no such package on this system"
                      for line in NOT_FOUND.read_text().splitlines() if line.strip()})
    except OSError:
        pass
    return found


def toml_packages() -> list[str]:
    """python3-tomli when this Python has no tomllib (3.10: Ubuntu 22.04): the
    course tool reads course.toml with one or the other (meta.py)."""
    for module in ("tomllib", "tomli"):
        try:
            importlib.import_module(module)
            return []
        except ModuleNotFoundError:
            pass
    return ["python3-tomli"]


def ensure_toml_reader() -> None:
    """Installs python3-tomli if course.toml cannot be read yet; cli.py calls this
    before it imports the modules that read course.toml."""
    missing = toml_packages()
    if missing and shutil.which("apt-get"):
        install(missing)
        importlib.invalidate_caches()


def missing_packages(groups: list[str]) -> list[str]:
    if not shutil.which("dpkg-query"):
        return []
    left_out = unpackaged()
    wanted = [p for g in groups for p in PACKAGES[g] if p not in left_out] + toml_packages()
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
            if any(Path("/var/lib/apt/lists").glob("*_Packages*")):  # apt knows its archive
                packages = [p for p in packages if candidate(p)]
                if not packages:
                    return
            raise CourseError("these packages are missing: " + " ".join(packages) +
                              "\ninstall them with:\n  sudo apt-get install -y " +
                              " ".join(packages))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    update = command[:command.index("install")] + ["update", "-q"]
    updated = subprocess.run(update, env=env, check=False, stdout=subprocess.DEVNULL)
    # A package this system has no candidate for would fail the whole install
    # (asked only when apt could read its archive: offline, apt says it all).
    unknown = [p for p in packages if not candidate(p)] if updated.returncode == 0 and \
        any(Path("/var/lib/apt/lists").glob("*_Packages*")) else []
    if unknown:
        for package in unknown:
            print(f"note: no package {package} here; left out")
        NOT_FOUND.parent.mkdir(parents=True, exist_ok=True)
        with open(NOT_FOUND, "a") as f:
            f.write("".join(f"{p}\n" for p in unknown))
        command = [word for word in command if word not in unknown]
        packages = [p for p in packages if p not in unknown]
        if not packages:
            return
    say("installing " + " ".join(packages))
    if subprocess.run(command, env=env).returncode != 0:
        raise CourseError("apt-get install failed (see above)")


def candidate(package: str) -> bool:
    """Whether apt can install `package` (after apt-get update)."""
    shown = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True,
                           env=dict(os.environ, LC_ALL="C")).stdout
    return any(line.strip().startswith("Candidate:") and "(none)" not in line
               for line in shown.splitlines())


def setup(groups: list[str] | None = None, quiet: bool = False) -> None:
    groups = groups or DEFAULT_GROUPS
    if not shutil.which("apt-get"):
        if not quiet:
            print("Not a Debian/Ubuntu system: install a C++20 compiler, CMake >= 3.22, CLI11, "
                  "nlohmann-json, OpenSSL, GoogleTest and python3 with pytest, pytest-xdist and "
                  "pytest-timeout (see docs/setup.md).")
        return
    install(missing_packages(groups))
    if not quiet:
        wanted = {p for g in groups for p in PACKAGES[g]}
        notes: dict[str, list[str]] = {}
        for package, instead in unpackaged().items():
            if package in wanted:
                notes.setdefault(instead, []).append(package)
        for instead, packages in notes.items():
            print(f"note: left out {' '.join(packages)}: {instead}")
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
