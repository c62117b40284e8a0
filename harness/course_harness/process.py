"""Starting servers and running clients, with hard timeouts and readable failures."""

from __future__ import annotations

import array
import fcntl
import os
import queue
import re
import signal
import subprocess
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .wire import SYSCALLS, where_waits

SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "WARNING: ThreadSanitizer",
    "runtime error:",  # UBSan
)


def describe_status(returncode: int | None) -> str:
    """'exit status 1' or 'signal 11 (SIGSEGV)': what a student needs to read."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown"
        return f"killed by signal {-returncode} ({name})"
    return f"exit status {returncode}"


def show(data: bytes | str | None, limit: int = 2000) -> str:
    """Bytes or text, shortened, for a failure message."""
    if data is None:
        return "(nothing)"
    if isinstance(data, bytes):
        text = data.decode("utf-8", errors="backslashreplace")
    else:
        text = data
    if not text:
        return "(empty)"
    if len(text) > limit:
        text = text[:limit] + f"... [{len(text) - limit} more characters]"
    return text


def sanitizer_report(stderr: str) -> str | None:
    for marker in SANITIZER_MARKERS:
        index = stderr.find(marker)
        if index >= 0:
            return stderr[max(0, index - 200):index + 3000]
    return None


@dataclass
class Result:
    """What a finished client run did."""

    argv: list[str]
    stdin: bytes | None
    returncode: int
    stdout: str
    stderr: str
    stdout_bytes: bytes = b""

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def explain(self) -> str:
        return (
            f"ran:      {' '.join(self.argv)}\n"
            f"stdin:    {show(self.stdin)}\n"
            f"status:   {describe_status(self.returncode)}\n"
            f"stdout:\n{show(self.stdout)}\n"
            f"stderr:\n{show(self.stderr)}"
        )

    def expect_status(self, status: int) -> "Result":
        report = sanitizer_report(self.stderr)
        if report:
            pytest.fail(f"sanitizer report:\n{report}\n\n{self.explain()}", pytrace=False)
        if self.returncode != status:
            pytest.fail(f"expected exit status {status}, got {describe_status(self.returncode)}\n"
                        f"{self.explain()}", pytrace=False)
        return self

    def ok(self) -> "Result":
        return self.expect_status(0)


def run_program(path: Path, *args: object, input: bytes | str | None = None,
                timeout: float = 10, cwd: Path | None = None,
                env: dict | None = None) -> Result:
    """Runs a program to completion; a hang fails the test after `timeout` seconds."""
    argv = [str(path), *map(str, args)]
    stdin = input.encode() if isinstance(input, str) else input
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=cwd, env=_environment(env))
    try:
        out, err = proc.communicate(stdin if stdin is not None else b"", timeout=timeout)
        hung = False
    except subprocess.TimeoutExpired:
        hung = True
    if hung:
        waits = where_waits(proc.pid)  # before it is killed: where is it stuck?
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"{path.name} did not finish within {timeout} s (it hangs)\n"
                    f"{waits + chr(10) if waits else ''}"
                    f"ran: {' '.join(argv)}\nstdin: {show(stdin)}\n"
                    f"stdout so far:\n{show(out)}\nstderr so far:\n{show(err)}",
                    pytrace=False)
    return Result(argv, stdin, proc.returncode,
                  out.decode("utf-8", errors="backslashreplace"),
                  err.decode("utf-8", errors="backslashreplace"), out)


def _environment(extra: dict | None) -> dict:
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "halt_on_error=1:detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
    env.setdefault("TSAN_OPTIONS", "halt_on_error=1")
    if extra:
        env.update(extra)
    return env


class _LineReader(threading.Thread):
    """Reads one of a child's pipes in the background, line by line."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.lines: queue.Queue[str] = queue.Queue()
        self.all: list[str] = []
        self.lock = threading.Lock()
        self.start()

    def run(self):
        for raw in iter(self.pipe.readline, b""):
            line = raw.decode("utf-8", errors="backslashreplace").rstrip("\n")
            with self.lock:
                self.all.append(line)
            self.lines.put(line)
        self.pipe.close()

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.all)

    def caught_up(self) -> bool:
        """Every whole line the program has written so far is in `all`: the pipe is
        empty and this thread waits in read() for more (it reads again only once
        the lines it had are taken). Lets a test stop waiting for a line that a
        wrong program never writes, without a timeout."""
        if not self.is_alive():
            return True
        try:
            fd = self.pipe.fileno()
            waiting = array.array("i", [0])
            fcntl.ioctl(fd, termios.FIONREAD, waiting)
            call = Path(f"/proc/self/task/{self.native_id}/syscall").read_text().split()
        except (OSError, ValueError):
            return not self.is_alive()
        # blocked in read(), its first argument the pipe's descriptor
        return (waiting[0] == 0 and len(call) > 1 and call[0].isdigit()
                and SYSCALLS.get(int(call[0])) == "read" and call[1] == hex(fd))

    def wait_caught_up(self, timeout: float = 5) -> bool:
        deadline = time.monotonic() + timeout
        while not self.caught_up():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True


READY_PATTERN = re.compile(r"^(listening on|bound to) (\[(?P<v6>[^\]]+)\]|(?P<v4>[^:\s]+)):(?P<port>\d+)$")


@dataclass
class Server:
    """A running server program, started by start_server()."""

    name: str
    argv: list[str]
    proc: subprocess.Popen
    stdout: _LineReader
    stderr: _LineReader
    host: str = ""
    port: int = 0
    ready_line: str = ""
    stopped: bool = field(default=False)

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def explain(self) -> str:
        return (f"server:   {' '.join(self.argv)}\n"
                f"status:   {describe_status(self.proc.poll())}\n"
                f"stdout:\n{show(self.stdout.text())}\nstderr:\n{show(self.stderr.text())}")

    def next_line(self, timeout: float = 5) -> str:
        """The server's next stdout line; fails the test if none comes in time."""
        try:
            return self.stdout.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"{self.name} printed no new line on stdout within {timeout} s\n"
                        f"{self.where_it_waits()}{self.explain()}", pytrace=False)

    def where_it_waits(self) -> str:
        """The system call each of its threads is blocked in, if it still runs."""
        waits = where_waits(self.proc.pid) if self.proc.poll() is None else ""
        return waits + "\n" if waits else ""

    def lines_until(self, count: int, timeout: float = 5) -> list[str]:
        return [self.next_line(timeout) for _ in range(count)]

    def wait_stderr(self, pattern: str, timeout: float = 5) -> re.Match:
        """Waits until the server's stderr matches the regular expression `pattern`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.stderr.text())
            if match:
                return match
            time.sleep(0.02)
        pytest.fail(f"{self.name} never logged /{pattern}/ on stderr within {timeout} s\n"
                    f"{self.explain()}", pytrace=False)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def assert_alive(self, after: str = "") -> None:
        if not self.alive():
            pytest.fail(f"{self.name} died{' after ' + after if after else ''}: "
                        f"{describe_status(self.proc.returncode)}\n{self.explain()}",
                        pytrace=False)

    def wait_exit(self, timeout: float = 5) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            waits = self.where_it_waits()
            self.proc.kill()
            self.proc.wait()
            self.stopped = True
            pytest.fail(f"{self.name} did not exit within {timeout} s\n{waits}{self.explain()}",
                        pytrace=False)
        self.stopped = True
        self.stdout.join(timeout=2)
        self.stderr.join(timeout=2)
        return code

    def expect_exit(self, status: int = 0, timeout: float = 5) -> None:
        code = self.wait_exit(timeout)
        report = sanitizer_report(self.stderr.text())
        if report:
            pytest.fail(f"sanitizer report from {self.name}:\n{report}", pytrace=False)
        if code != status:
            pytest.fail(f"{self.name} ended with {describe_status(code)}, expected exit status "
                        f"{status}\n{self.explain()}", pytrace=False)

    def stop(self, sig: int = signal.SIGTERM, within: float = 1.0) -> None:
        """Sends SIGTERM and requires a clean exit (status 0) within `within` seconds."""
        if self.stopped:
            return
        if self.proc.poll() is not None:
            self.stopped = True
            pytest.fail(f"{self.name} had already exited before the test stopped it: "
                        f"{describe_status(self.proc.returncode)}\n{self.explain()}",
                        pytrace=False)
        self.proc.send_signal(sig)
        started = time.monotonic()
        try:
            if os.environ.get("COURSE_SANITIZER") == "tsan":
                self._repeat_signal_if_deferred(sig, within)
            self.proc.wait(timeout=within + 4)  # generous on a loaded machine; judged below
        except subprocess.TimeoutExpired:
            waits = self.where_it_waits()
            self.proc.kill()
            self.proc.wait()
            self.stopped = True
            pytest.fail(f"{self.name} ignored {signal.Signals(sig).name} for {within + 4} s "
                        f"(it must stop within {within} s)\n{waits}{self.explain()}",
                        pytrace=False)
        took = time.monotonic() - started
        self.stopped = True
        self.stdout.join(timeout=2)
        self.stderr.join(timeout=2)
        report = sanitizer_report(self.stderr.text())
        if report:
            pytest.fail(f"sanitizer report from {self.name}:\n{report}", pytrace=False)
        if self.proc.returncode != 0:
            pytest.fail(f"{self.name} did not exit cleanly on {signal.Signals(sig).name}: "
                        f"{describe_status(self.proc.returncode)}\n{self.explain()}",
                        pytrace=False)
        slack = 2.0 if os.environ.get("COURSE_SANITIZER") else 1.0
        if took > within * slack + 0.5:
            pytest.fail(f"{self.name} took {took:.2f} s to stop on {signal.Signals(sig).name} "
                        f"(limit {within} s)\n{self.explain()}", pytrace=False)

    def _repeat_signal_if_deferred(self, sig: int, within: float) -> None:
        """gcc 12's ThreadSanitizer runtime catches every signal itself and runs the
        program's handler later, at a safe point. A signal that lands just as the
        program enters a blocking call (poll() with no timeout) can wait there until
        the next signal comes: measured with threaded_echo_server, SIGTERM sent right
        after the readiness line left 16 of 300 TSan builds asleep in poll() with the
        handler never run, and none of 300 plain or 100 ASan builds. A second SIGTERM
        releases every one of them, so under TSan only, send it once more after
        `within` seconds; the time limit below still counts from the first."""
        try:
            self.proc.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stopped = True


def start_server(path: Path, *args: object, ready: bool = True, ready_timeout: float = 5,
                 cwd: Path | None = None, env: dict | None = None,
                 stdin: bool = False) -> Server:
    """Starts a server and, by default, waits for its readiness line
    ("listening on HOST:PORT" or "bound to HOST:PORT")."""
    argv = [str(path), *map(str, args)]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                            env=_environment(env))
    server = Server(path.name, argv, proc, _LineReader(proc.stdout), _LineReader(proc.stderr))
    if not ready:
        return server
    try:
        line = server.stdout.lines.get(timeout=ready_timeout)
    except queue.Empty:
        server.kill()
        pytest.fail(f"{path.name} printed no readiness line within {ready_timeout} s\n"
                    f"{server.explain()}", pytrace=False)
    match = READY_PATTERN.match(line)
    if not match:
        server.kill()
        pytest.fail(f"{path.name}'s first line should be 'listening on HOST:PORT' or "
                    f"'bound to HOST:PORT', got {line!r}\n{server.explain()}", pytrace=False)
    server.ready_line = line
    server.host = match.group("v6") or match.group("v4")
    server.port = int(match.group("port"))
    return server
