"""pytest plugin: options, fixtures and the per-lesson report."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from . import wire
from .process import Server, run_program, start_server

ROOT = Path(__file__).resolve().parents[2]
LESSON_DIR = re.compile(r"lessons/(\d\d)-[^/]+/")


def pytest_addoption(parser):
    group = parser.getgroup("course")
    group.addoption("--bin-dir", default=None,
                    help="where the lesson programs are (default: $COURSE_BIN_DIR or build/bin)")
    group.addoption("--course-report", default=None,
                    help="write every test's outcome, with its lesson, to this JSON file")
    group.addoption("--course-capture", default=None, metavar="DIR",
                    help="record each test's loopback traffic with tcpdump; keep a failing "
                         "test's pcap in DIR")


def pytest_configure(config):
    path = config.getoption("course_report")
    if path and not hasattr(config, "workerinput"):  # with xdist only the controller writes
        config.pluginmanager.register(Report(Path(path)), "course-report")
    base = os.environ.get("COURSE_SANDBOX_UID_BASE")
    if base:  # graded as root: the submission's programs run as this worker's own uid
        from course_tools.sandbox import worker_uid
        worker = getattr(config, "workerinput", {}).get("workerid")
        uid = worker_uid(int(base), worker)
        os.environ["COURSE_SANDBOX_UID"] = str(uid)
        os.umask(0)  # what a test creates for a program, that program may write
        _hand_temporary_folders_to(uid)


def _hand_temporary_folders_to(uid: int) -> None:
    """tempfile.mkdtemp makes 0700 folders (lesson 18's short socket paths use it):
    under the sandbox they belong to the user the programs run as."""
    import tempfile
    make = tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        path = make(*args, **kwargs)
        os.chown(path, uid, uid)
        return path

    tempfile.mkdtemp = mkdtemp


@pytest.fixture(autouse=True)
def _sandboxed(request):
    """Under the grader's sandbox: the test's tmp_path belongs to the sandbox user,
    and every process of that user is killed when the test ends."""
    uid = os.environ.get("COURSE_SANDBOX_UID")
    if not uid:
        yield
        return
    from course_tools.sandbox import kill_all
    if "tmp_path" in request.fixturenames:
        tmp = request.getfixturevalue("tmp_path")
        os.chown(tmp, int(uid), int(uid))
        for folder in list(tmp.parents)[:3]:  # pytest makes them 0700: let the user through
            os.chmod(folder, os.stat(folder).st_mode | 0o111)
    yield
    kill_all(int(uid))


def lesson_of(nodeid: str) -> str:
    match = LESSON_DIR.search(nodeid.replace(os.sep, "/"))
    return match.group(1) if match else "common"


class Programs:
    """Finds lesson binaries: `programs.path("udp_sender")`."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir

    def path(self, name: str) -> Path:
        path = self.bin_dir / name
        if not path.is_file():
            pytest.fail(f"program {name!r} is not built (looked in {self.bin_dir}); "
                        f"run ./course build", pytrace=False)
        return path


@pytest.fixture(scope="session")
def programs(pytestconfig) -> Programs:
    bin_dir = (pytestconfig.getoption("bin_dir") or os.environ.get("COURSE_BIN_DIR")
               or ROOT / "build" / "bin")
    return Programs(Path(bin_dir).resolve())


@pytest.fixture
def run(programs):
    """run("tcp_client", "--port", 1, input="hi\\n") -> Result (hangs fail after 10 s)."""

    def _run(name: str, *args, **kwargs):
        return run_program(programs.path(name), *args, **kwargs)

    return _run


@pytest.fixture
def server(programs):
    """server("tcp_echo_server") starts it on --port 0 (unless a --port is given),
    waits for its readiness line, and at the end of the test stops it with SIGTERM
    and requires a clean exit within one second."""
    started: list[Server] = []

    def _start(name: str, *args, port0: bool = True, **kwargs) -> Server:
        argv = [str(a) for a in args]
        if port0 and "--port" not in argv:
            argv = ["--port", "0", *argv]
        s = start_server(programs.path(name), *argv, **kwargs)
        started.append(s)
        return s

    yield _start
    failures = []
    for s in started:
        try:
            s.stop()
        except pytest.fail.Exception as failure:
            failures.append(str(failure))
        finally:
            s.kill()
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


# ---------------------------------------------------------------- failure reports

WIRE = "what happened on the wire"


@pytest.fixture(autouse=True)
def _wire_transcript(request):
    """Records what the test's own sockets send and receive (wire.py)."""
    request.node._course_transcript = wire.start_recording()
    yield
    wire.stop_recording()


@pytest.fixture(autouse=True)
def _packet_capture(request, pytestconfig):
    folder = pytestconfig.getoption("course_capture")
    if not folder:
        yield
        return
    import shutil
    import signal
    import subprocess
    import time
    name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("/")[-1])[:120]
    path = Path(folder).resolve() / f"{name}.pcap"
    path.parent.mkdir(parents=True, exist_ok=True)
    tool = shutil.which("tcpdump")
    capture = None
    if tool:
        capture = subprocess.Popen([tool, "-i", "lo", "--immediate-mode", "-B", "32768", "-U", "-w",
                                    str(path), "tcp or udp"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 5
        while not path.exists() and capture.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # tcpdump creates the file once it listens
    request.node._course_pcap = path if capture and capture.poll() is None else None
    yield
    if capture:
        capture.send_signal(signal.SIGINT)
        try:
            capture.wait(timeout=5)
        except subprocess.TimeoutExpired:
            capture.kill()
        if not getattr(request.node, "_course_failed", False):
            path.unlink(missing_ok=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    item._course_failed = True
    parts = []
    transcript = getattr(item, "_course_transcript", None)
    if transcript is not None:
        parts.append(transcript.render())
    pcap = getattr(item, "_course_pcap", None)
    if pcap is not None:
        parts.append(f"packet capture of the test's loopback traffic: {pcap}\n"
                     f"  open it with: tshark -r {pcap}   (or Wireshark)")
    text = "\n".join(part for part in parts if part)
    if text:
        report.sections.append((WIRE, text))


def pytest_assertrepr_compare(config, op, left, right):
    """A failed == between bytes shows both as hex dumps, the first difference marked."""
    return wire.compare(op, left, right)


class Report:
    def __init__(self, path: Path):
        self.path = path
        self.tests: dict[str, dict] = {}

    def pytest_runtest_logreport(self, report):
        entry = self.tests.setdefault(report.nodeid, {
            "nodeid": report.nodeid, "lesson": lesson_of(report.nodeid),
            "outcome": "passed", "duration": 0.0, "message": ""})
        entry["duration"] += report.duration
        if report.failed:
            entry["outcome"] = "failed" if report.when == "call" else "error"
            entry["message"] = str(report.longrepr)[-4000:]
            wire_text = [text for name, text in report.sections if name == WIRE]
            if wire_text:
                entry["wire"] = wire_text[0][-6000:]
        elif report.skipped and entry["outcome"] == "passed":
            entry["outcome"] = "skipped"
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) \
                else str(report.longrepr)
            entry["message"] = reason.removeprefix("Skipped: ")[-1000:]

    def pytest_sessionfinish(self, session):
        self.path.write_text(json.dumps(list(self.tests.values()), indent=1))
