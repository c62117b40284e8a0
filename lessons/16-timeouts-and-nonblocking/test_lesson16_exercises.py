"""Lesson 16 exercise: wait_for_port (16.1). Points and hints: course.toml."""
import re
import socket
import time

import pytest

from course_harness import start_server
from course_harness.peers import silent_port

OPEN_LINE = re.compile(r"^port (\d+) is open after (\d+) attempts?$")


def test_wait_for_port_finds_an_open_port_at_once(run):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        result = run("wait_for_port", "--port", port, "--timeout", "1.5")
    assert result.returncode == 0 and result.lines == [f"port {port} is open after 1 attempt"], (
        f"port {port} was listening before wait_for_port started\nexpected exit status 0 and "
        f"the one line 'port {port} is open after 1 attempt'\n{result.explain()}")


def test_wait_for_port_retries_until_the_server_is_up(programs):
    """A refused connect means "not yet": it tries again until the port opens."""
    # The port is bound here, not listening (refused) until the program has been
    # knocking for a second; then the same socket listens. Bound all along, the
    # port cannot be taken by anyone else meanwhile.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        argv = ["--port", port, "--timeout", "10", "--interval", "0.05"]
        knocker = start_server(programs.path("wait_for_port"), *argv, ready=False)
        try:
            time.sleep(1.0)  # about 20 refused attempts, unless the program is slow to start
            still_knocking = knocker.alive()
            sock.listen(16)
            opened = time.monotonic()
            code = knocker.wait_exit(timeout=8)
            took = time.monotonic() - opened
        finally:
            knocker.kill()
    ran = f"ran wait_for_port {' '.join(map(str, argv))}"
    assert still_knocking, (
        f"{ran}; port {port} refused every connect\nexpected it to go on knocking (a refused "
        f"connect means: not yet)\ngot: it ended within the first second\n{knocker.explain()}")
    lines = knocker.stdout.text().splitlines()
    match = OPEN_LINE.match(lines[0]) if len(lines) == 1 else None
    assert code == 0 and match and int(match.group(1)) == port, (
        f"{ran}; port {port} refused connections for 1 s, then started listening\nexpected "
        f"exit status 0 and one line 'port {port} is open after N attempts'\n"
        f"{knocker.explain()}")
    attempts = int(match.group(2))
    assert attempts >= 2 and took < 3, (
        f"{ran}; port {port} refused connections for 1 s, then started listening\nexpected "
        f"several attempts (refused ones first), and success within 0.05 s or so of the "
        f"opening\ngot {attempts} attempt(s), and success {took:.2f} s after the opening\n"
        f"{knocker.explain()}")


def test_wait_for_port_gives_up_at_the_deadline(run):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: every connect is refused
        port = closed.getsockname()[1]
        started = time.monotonic()
        result = run("wait_for_port", "--port", port, "--timeout", "0.5")
        took = time.monotonic() - started
    assert result.returncode == 1 and result.stdout == "", (
        f"nobody ever listened on port {port}; ran wait_for_port --timeout 0.5\n"
        f"expected exit status 1 and nothing on stdout\n{result.explain()}")
    assert re.search(r"^error: .*timed out", result.stderr, re.M), (
        f"expected an 'error: ... timed out ...' line on stderr\n{result.explain()}")
    # Generous above (a loaded machine starts programs slowly): what is checked is
    # that the deadline ends it, not a knock more or less.
    assert 0.45 <= took < 3.0, (
        f"--timeout 0.5 against a refusing port took {took:.2f} s (expected about 0.5 s)\n"
        f"{result.explain()}")


def never_answered(run, port: int, timeout: str, *extra) -> tuple:
    """Runs wait_for_port against a port that never answers a SYN; (result, seconds).
    A correct one is done a moment after --timeout; one that hangs fails here, with a
    message that says why."""
    argv = ["--port", port, "--timeout", timeout, *extra]
    started = time.monotonic()
    hung = None
    try:
        result = run("wait_for_port", *argv, timeout=float(timeout) + 6)
    except pytest.fail.Exception as error:
        hung = str(error)  # failed below, outside the except: one message, not a chain
    if hung is not None:
        pytest.fail(
            f"ran wait_for_port {' '.join(map(str, argv))}; port {port} never answers a SYN "
            f"(no SYN-ACK, no reset: its listener's queue is full)\nexpected: 'error: ... timed "
            f"out', exit status 1, about {timeout} s after the start\ngot: still running "
            f"{float(timeout) + 6:g} s later. A blocking connect() ignores the deadline and waits "
            f"for the kernel's SYN retries (about 2 minutes): start the connect on a "
            f"SOCK_NONBLOCK socket and poll() for POLLOUT at most ms_until(deadline)\n\n{hung}",
            pytrace=False)
    return result, time.monotonic() - started


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


def check_opens_at_once(run, timeout: str) -> None:
    """The same program, against a port that listens: it connects (a connect_ex that
    never connects would pass the deadline checks without doing anything)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        result = run("wait_for_port", "--port", port, "--timeout", timeout)
    assert result.returncode == 0 and result.lines == [f"port {port} is open after 1 attempt"], (
        f"port {port} was listening; ran wait_for_port --timeout {timeout}\nexpected exit "
        f"status 0 and the one line 'port {port} is open after 1 attempt'\n{result.explain()}")


def test_wait_for_port_never_waits_past_the_deadline(run):
    """A connect that gets no answer at all gives up when the deadline comes."""
    check_opens_at_once(run, "0.5")
    with silent_port() as port:
        result, took = never_answered(run, port, "0.5")
    check_gave_up(result, took, port, "0.5")


@pytest.mark.hidden
def test_wait_for_port_bounds_every_connect_by_the_deadline(run):
    """A connect that gets no answer at all gives up when the deadline comes (other
    timeout and interval)."""
    check_opens_at_once(run, "0.8")
    with silent_port() as port:
        result, took = never_answered(run, port, "0.8", "--interval", "0.02")
    check_gave_up(result, took, port, "0.8")
