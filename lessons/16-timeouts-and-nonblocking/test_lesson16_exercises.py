"""Lesson 16 exercise: wait_for_port (16.1). Points and hints: course.toml."""
import os
import re
import socket
import time
from pathlib import Path

import pytest

from course_harness import start_server
from course_harness.peers import silent_port
from course_harness.process import Result
from course_harness.wire import SYSCALLS

OPEN_LINE = re.compile(r"^port (\d+) is open after (\d+) attempts?$")

# The pause between two attempts: std::this_thread::sleep_for in the given loop.
PAUSES = ("nanosleep", "clock_nanosleep")


def blocked_in(pid: int) -> str | None:
    """The system call the program's main thread sleeps in ("clock_nanosleep",
    "connect", "poll", ...: /proc/PID/syscall, by wire.SYSCALLS), or None while it
    runs, once it has exited, or where /proc cannot tell."""
    try:
        number = Path(f"/proc/{pid}/syscall").read_text().split()[0]
    except (OSError, IndexError):
        return None
    return SYSCALLS.get(int(number)) if number.isdigit() else None


def between_attempts(pid: int) -> bool:
    """The program sleeps in the pause between two attempts: asleep in
    nanosleep with no socket open (an attempt that sleeps while it waits for its
    connect has its socket open; connect_ex closes it when it returns)."""
    if blocked_in(pid) not in PAUSES:
        return False
    try:
        return not any(os.readlink(fd).startswith("socket:")
                       for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # a descriptor closed meanwhile: look again
        return False


def sleeps(pid: int) -> int:
    """How many times the program's main thread has gone to sleep so far (its
    voluntary context switches, /proc/PID/status): each pause between two
    attempts is one."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def knock(programs, *argv, give_up=lambda pid, seconds: None, timeout: float = 10):
    """Runs wait_for_port with `argv` until it ends: (result, seconds, why). It is
    stopped (killed) early, and `why` says why, when give_up(pid, seconds so far)
    returns a reason (something a working program never does), or when it still
    runs after `timeout` seconds."""
    path = programs.path("wait_for_port")
    started = time.monotonic()
    knocker = start_server(path, *argv, ready=False)
    why = None
    try:
        while knocker.alive():
            seconds = time.monotonic() - started
            why = give_up(knocker.proc.pid, seconds) or (
                f"still running {timeout:g} s later" if seconds > timeout else None)
            if why:
                why += "\n" + knocker.where_it_waits()
                break
            time.sleep(0.002)
        took = time.monotonic() - started
    finally:
        knocker.kill()
    knocker.stdout.join(timeout=2)
    knocker.stderr.join(timeout=2)
    out = knocker.stdout.text()
    result = Result([path.name, *map(str, argv)], None, knocker.proc.returncode,
                    out + "\n" if out else "", knocker.stderr.text())
    return result, took, why


def pausing(pid: int, seconds: float) -> str | None:
    """give_up for a port that listens: a pause between attempts means an attempt
    failed (the first one should have connected)."""
    if between_attempts(pid):
        return ("it paused for another attempt: its first attempt failed although the port "
                "listened (it was stopped there)")
    return None


def check_opens_at_once(programs, timeout: str) -> None:
    """Against a port that listens it connects (a connect_ex that never connects
    would pass the deadline checks without doing anything) at the first attempt."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        result, _, why = knock(programs, "--port", port, "--timeout", timeout, give_up=pausing)
    assert why is None and result.returncode == 0 \
        and result.lines == [f"port {port} is open after 1 attempt"], (
            f"port {port} was listening before wait_for_port started; ran wait_for_port --port "
            f"{port} --timeout {timeout}\nexpected exit status 0 and the one line 'port {port} "
            f"is open after 1 attempt'\n{'got: ' + why + chr(10) if why else ''}"
            f"{result.explain()}")


def test_wait_for_port_finds_an_open_port_at_once(programs):
    check_opens_at_once(programs, "1.5")


def test_wait_for_port_retries_until_the_server_is_up(programs):
    """A refused connect means "not yet": it tries again until the port opens."""
    # The port is bound here, not listening (refused) until the program has been
    # refused and pauses for its next attempt; then the same socket listens. Bound
    # all along, the port cannot be taken by anyone else meanwhile.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        argv = ["--port", port, "--timeout", "10", "--interval", "0.02"]
        knocker = start_server(programs.path("wait_for_port"), *argv, ready=False)
        pid = knocker.proc.pid
        went_on = None
        try:
            # Seen in its pause between attempts, it has been refused at least once
            # and goes on (a program that gives up has exited instead).
            deadline = time.monotonic() + 5
            while knocker.alive() and not between_attempts(pid) \
                    and time.monotonic() < deadline:
                time.sleep(0.001)
            still_knocking = knocker.alive()
            sock.listen(16)
            opened = time.monotonic()
            paused = sleeps(pid)
            # Now its next attempt connects. One that goes on pausing (20 more
            # pauses of 0.02 s: a working program wakes once, connects and ends) is
            # stopped there instead of knocking until its --timeout 10.
            deadline = opened + 8
            while knocker.alive() and time.monotonic() < deadline:
                if sleeps(pid) - paused >= 20 and not knocker.stdout.all:
                    went_on = (f"it went on pausing between attempts ({sleeps(pid) - paused} "
                               f"more pauses) after the port opened, and was stopped\n"
                               f"{knocker.where_it_waits()}")
                    break
                time.sleep(0.002)
            took = time.monotonic() - opened
            code = None if went_on else knocker.wait_exit(timeout=max(deadline - opened, 0.1))
        finally:
            knocker.kill()
    ran = f"ran wait_for_port {' '.join(map(str, argv))}"
    assert still_knocking, (
        f"{ran}; port {port} refused every connect\nexpected it to go on knocking (a refused "
        f"connect means: not yet)\ngot: it ended after its first refused round\n"
        f"{knocker.explain()}")
    lines = knocker.stdout.text().splitlines()
    match = OPEN_LINE.match(lines[0]) if len(lines) == 1 else None
    assert code == 0 and match and int(match.group(1)) == port, (
        f"{ran}; port {port} refused connections, then started listening while the program "
        f"paused for its next attempt\nexpected exit status 0 and one line 'port {port} is "
        f"open after N attempts'\n{'got: ' + went_on if went_on else ''}{knocker.explain()}")
    attempts = int(match.group(2))
    assert attempts >= 2 and took < 3, (
        f"{ran}; port {port} refused connections, then started listening\nexpected "
        f"several attempts (refused ones first), and success within 0.02 s or so of the "
        f"opening\ngot {attempts} attempt(s), and success {took:.2f} s after the opening\n"
        f"{knocker.explain()}")


def test_wait_for_port_gives_up_at_the_deadline(run):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: every connect is refused
        port = closed.getsockname()[1]
        started = time.monotonic()
        result = run("wait_for_port", "--port", port, "--timeout", "0.3")
        took = time.monotonic() - started
    assert result.returncode == 1 and result.stdout == "", (
        f"nobody ever listened on port {port}; ran wait_for_port --timeout 0.3\n"
        f"expected exit status 1 and nothing on stdout\n{result.explain()}")
    assert re.search(r"^error: .*timed out", result.stderr, re.M), (
        f"expected an 'error: ... timed out ...' line on stderr\n{result.explain()}")
    # Not before the deadline (a working program cannot be early); generous above
    # (a loaded machine starts programs slowly): what is checked is that the
    # deadline ends it, not a knock more or less.
    assert 0.25 <= took < 3.0, (
        f"--timeout 0.3 against a refusing port took {took:.2f} s (expected about 0.3 s)\n"
        f"{result.explain()}")


def never_answered(programs, port: int, timeout: str, *extra) -> tuple:
    """Runs wait_for_port against a port that never answers a SYN; (result, seconds).
    A correct one is done a moment after --timeout; one that hangs fails here, with a
    message that says why: at once when it is seen asleep in connect() past its
    deadline (a non-blocking connect() never sleeps there), else {timeout} + 6 s on."""
    argv = ["--port", port, "--timeout", timeout, *extra]
    limit = float(timeout) + 6

    def stuck_in_connect(pid: int, seconds: float) -> str | None:
        if seconds > float(timeout) + 0.5 and blocked_in(pid) == "connect":
            return f"asleep in connect() {seconds:.1f} s after the start"
        return None

    result, took, why = knock(programs, *argv, give_up=stuck_in_connect, timeout=limit)
    if why is not None:
        raise AssertionError(
            f"ran wait_for_port {' '.join(map(str, argv))}; port {port} never answers a SYN "
            f"(no SYN-ACK, no reset: its listener's queue is full)\nexpected: 'error: ... timed "
            f"out', exit status 1, about {timeout} s after the start\ngot: {why}"
            f"A blocking connect() ignores the deadline and waits for the kernel's SYN "
            f"retries (about 2 minutes): start the connect on a SOCK_NONBLOCK socket and "
            f"poll() for POLLOUT at most ms_until(deadline)\n\n{result.explain()}")
    return result, took


def check_gave_up(result, took: float, port: int, timeout: str) -> None:
    assert result.returncode == 1 and re.search(r"^error: .*timed out", result.stderr, re.M) \
        and result.stdout == "", (
            f"port {port} never answers a SYN (no SYN-ACK, no reset); ran wait_for_port "
            f"--timeout {timeout}\nexpected exit status 1, nothing on stdout and 'error: ... "
            f"timed out ...' on stderr\n{result.explain()}")
    limit = float(timeout) + 2.5  # generous: a connect that ignores the deadline takes minutes
    assert float(timeout) - 0.05 <= took < limit, (
        f"--timeout {timeout} against a port that never answers took {took:.2f} s: expected "
        f"the deadline to end it, about {timeout} s after the start (at most {limit:g} s)\n"
        f"{result.explain()}")


def test_wait_for_port_never_waits_past_the_deadline(programs):
    """A connect that gets no answer at all gives up when the deadline comes."""
    check_opens_at_once(programs, "0.3")
    with silent_port() as port:
        result, took = never_answered(programs, port, "0.3")
    check_gave_up(result, took, port, "0.3")


@pytest.mark.hidden
def test_wait_for_port_bounds_every_connect_by_the_deadline(programs):
    """A connect that gets no answer at all gives up when the deadline comes (other
    timeout and interval)."""
    check_opens_at_once(programs, "0.8")
    with silent_port() as port:
        result, took = never_answered(programs, port, "0.8", "--interval", "0.02")
    check_gave_up(result, took, port, "0.8")
