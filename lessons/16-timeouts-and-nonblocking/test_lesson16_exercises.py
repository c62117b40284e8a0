"""Lesson 16 exercise: wait_for_port (16.1). Points and hints: course.toml."""
import re
import socket
import threading
import time

import pytest

OPEN_LINE = re.compile(r"^port (\d+) is open after (\d+) attempts?$")


def listen_later(delay: float) -> tuple[int, threading.Thread, list[socket.socket]]:
    """Picks a port, and starts listening on it only after `delay` seconds
    (until then a connect is refused). The socket is bound at once (a bound,
    not listening socket refuses connections too), so no other program can take the port."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))

    def start():
        time.sleep(delay)
        sock.listen(16)

    thread = threading.Thread(target=start, daemon=True)
    thread.start()
    return sock.getsockname()[1], thread, [sock]


def silent_port() -> tuple[int, list[socket.socket]]:
    """A port that never answers: it listens, but its accept queue is full, so
    the kernel drops every new SYN (no SYN-ACK, no reset): a connect() waits on."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    held = [listener]
    port = listener.getsockname()[1]
    for _ in range(2):  # backlog 0 holds one connection; the second fills what is left
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        held.append(c)
    time.sleep(0.1)
    return port, held


def test_wait_for_port_finds_an_open_port_at_once(run):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        result = run("wait_for_port", "--port", port, "--timeout", "1.5")
    assert result.returncode == 0 and result.lines == [f"port {port} is open after 1 attempt"], (
        f"port {port} was listening before wait_for_port started\nexpected exit status 0 and "
        f"the one line 'port {port} is open after 1 attempt'\n{result.explain()}")


def test_wait_for_port_retries_until_the_server_is_up(run):
    port, thread, held = listen_later(0.3)
    try:
        started = time.monotonic()
        result = run("wait_for_port", "--port", port, "--timeout", "1.5", "--interval", "0.05")
        took = time.monotonic() - started
    finally:
        thread.join(2)
        for s in held:
            s.close()
    match = OPEN_LINE.match(result.lines[0]) if len(result.lines) == 1 else None
    assert result.returncode == 0 and match and int(match.group(1)) == port, (
        f"port {port} refused connections for 0.3 s, then started listening; ran "
        f"wait_for_port --timeout 1.5 --interval 0.05\nexpected exit status 0 and one line "
        f"'port {port} is open after N attempts'\n{result.explain()}")
    attempts = int(match.group(2))
    assert attempts >= 2 and 0.25 <= took < 1.5, (
        f"the port opened after about 0.3 s; expected several attempts (refused ones first) "
        f"and success soon after 0.3 s\ngot {attempts} attempt(s), finished after {took:.2f} s\n"
        f"{result.explain()}")


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
    assert 0.45 <= took < 1.5, (
        f"--timeout 0.5 against a refusing port took {took:.2f} s (expected about 0.5 s)\n"
        f"{result.explain()}")


@pytest.mark.hidden
def test_wait_for_port_bounds_every_connect_by_the_deadline(run):
    port, held = silent_port()
    try:
        started = time.monotonic()
        result = run("wait_for_port", "--port", port, "--timeout", "0.6", timeout=5)
        took = time.monotonic() - started
    finally:
        for s in held:
            s.close()
    assert result.returncode == 1 and re.search(r"^error: .*timed out", result.stderr, re.M), (
        f"port {port} never answers a SYN; ran wait_for_port --timeout 0.6\nexpected exit "
        f"status 1 and 'error: ... timed out ...'\n{result.explain()}")
    assert 0.55 <= took < 1.3, (
        f"--timeout 0.6 against a port that never answers took {took:.2f} s: the connect "
        f"must give up when the deadline comes (a blocking connect waits a minute or more)\n"
        f"{result.explain()}")
