"""Lesson 16: port_check (non-blocking connects) and timeout_client (a timeout is not a close)."""

from __future__ import annotations

import random
import re
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from course_harness import start_server
from course_harness.peers import tcp_table
from course_harness.process import Result, run_program

HERE = Path(__file__).resolve().parent
PY = HERE / "python"


# ------------------------------------------------------------ port_check helpers

def _hold_ports(kinds: list[str]) -> tuple[int, list[socket.socket]]:
    """Binds len(kinds) consecutive ports of 127.0.0.1 that this test owns:
    "open" listens, "closed" is bound but not listening (the kernel answers
    with RST), "silent" listens with a full accept queue (SYNs are dropped,
    nothing answers). Returns the first port and the sockets to keep alive."""
    for _ in range(200):
        base = random.randint(20000, 59000)
        held: list[socket.socket] = []
        try:
            for offset, kind in enumerate(kinds):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", base + offset))
                if kind in ("open", "silent"):
                    s.listen(0 if kind == "silent" else 16)
            for offset, kind in enumerate(kinds):
                if kind == "silent":
                    # Fill the accept queue: backlog 0 holds one connection, and a
                    # blocking connect returns once it is in (as SilentListener does);
                    # from then on the kernel drops every SYN to this port.
                    held.append(socket.create_connection(("127.0.0.1", base + offset),
                                                         timeout=5))
        except OSError:
            for s in held:
                s.close()
            continue
        return base, held
    pytest.fail("could not find consecutive free ports on 127.0.0.1")


def _tcp_table() -> list[tuple[int, int, str]]:
    """Every TCP socket of this network namespace, (local port, remote port, state),
    read from /proc/net/tcp and tcp6 in one go: a snapshot within a millisecond or
    so, where tcp_sockets(port) would read the tables once per port."""
    return [(local, remote, state) for local, remote, state, _, _ in tcp_table()]


def _expected(base: int, kinds: list[str], timeout: str) -> list[str]:
    text = {"open": "open", "closed": "closed (Connection refused)",
            "silent": f"no answer within {timeout} s"}
    return [f"127.0.0.1:{base + i} {text[k]}" for i, k in enumerate(kinds)]


def test_port_check_reports_open_and_closed_ports(run):
    kinds = ["open", "closed", "open", "closed", "closed"]
    base, held = _hold_ports(kinds)
    try:
        result = run("port_check", "--ports", f"{base}-{base + 4}", "--timeout", "2").ok()
    finally:
        for s in held:
            s.close()
    expected = _expected(base, kinds, "2") + ["checked 5 ports: 2 open, 3 closed, 0 no answer"]
    assert result.lines == expected, f"expected:\n{chr(10).join(expected)}\n{result.explain()}"


def test_port_check_open_only(run):
    kinds = ["closed", "open", "closed"]
    base, held = _hold_ports(kinds)
    try:
        result = run("port_check", "--ports", f"{base}-{base + 2}", "--open-only").ok()
    finally:
        for s in held:
            s.close()
    assert result.lines == [f"127.0.0.1:{base + 1} open",
                            "checked 3 ports: 1 open, 2 closed, 0 no answer"], result.explain()


def test_port_check_silent_ports_time_out_in_parallel(programs):
    # Five ports that never answer, a 0.3 s timeout: the connects wait together,
    # so the whole check takes about 0.3 s, not 1.5 s. "Together" is seen rather
    # than guessed from the time where possible: while port_check waits, the
    # kernel's table shows its five connects in SYN_SENT at one moment (one after
    # another, there would never be more than one). A test starved of the CPU for
    # all of those 0.3 s can miss that moment; then the time decides, one way only:
    # one port after another cannot be done in less than 5 x 0.3 s.
    kinds = ["silent", "open", "silent", "silent", "silent", "silent"]
    silent = {offset for offset, kind in enumerate(kinds) if kind == "silent"}
    base, held = _hold_ports(kinds)
    argv = ["--ports", f"{base}-{base + 5}", "--timeout", "0.3"]
    most: set[int] = set()
    try:
        started = time.monotonic()
        checker = start_server(programs.path("port_check"), *argv, ready=False)
        try:
            while checker.alive() and len(most) < len(silent):
                waiting = {remote - base for _, remote, state in _tcp_table()
                           if state == "SYN_SENT" and remote - base in silent}
                most = max(most, waiting, key=len)
                time.sleep(0.002)
            code = checker.wait_exit(timeout=10)
            took = time.monotonic() - started
        finally:
            checker.kill()
    finally:
        for s in held:
            s.close()
    out = checker.stdout.text()
    result = Result([str(programs.path("port_check")), *argv], None, code,
                    out + "\n" if out else "", checker.stderr.text())
    expected = _expected(base, kinds, "0.3") + ["checked 6 ports: 1 open, 0 closed, 5 no answer"]
    assert code == 0 and result.lines == expected, \
        f"expected:\n{chr(10).join(expected)}\n{result.explain()}"
    assert len(most) == len(silent) or took < 5 * 0.3, (
        f"port_check's connects to the five silent ports were never seen in SYN_SENT at the "
        f"same moment (at most {len(most)} at once), and the check took {took:.2f} s, as long as "
        f"five 0.3 s waits one after another: the connects should be started together and "
        f"waited for together, in one poll()\n{result.explain()}")
    # The deadline ends it: not before the timeout, and not long after (generous
    # above, for a loaded machine).
    assert 0.25 <= took < 3.3, f"the check took {took:.2f} s; with a 0.3 s timeout waited in " \
                               f"parallel it should take about 0.3 s\n{result.explain()}"


@pytest.mark.parametrize("ports", ["5-3", "0-10", "1-70000", "abc", "10-", "-5", "1-2-3"])
def test_port_check_bad_range_is_a_usage_error(run, ports):
    result = run("port_check", "--ports", ports).expect_status(2)
    assert result.stderr.startswith("error: ") and "--ports" in result.stderr, result.explain()


def test_port_check_needs_ports(run):
    result = run("port_check").expect_status(2)
    assert "--ports" in result.stderr, result.explain()


def test_python_port_check_agrees(run):
    kinds = ["open", "closed", "silent"]
    base, held = _hold_ports(kinds)
    try:
        # Both at the same time: each waits its 0.3 s on the silent port.
        with ThreadPoolExecutor(2) as pool:
            cpp = pool.submit(run, "port_check", "--ports", f"{base}-{base + 2}",
                              "--timeout", "0.3")
            py = pool.submit(run_program, Path(sys.executable), PY / "port_check.py",
                             "--ports", f"{base}-{base + 2}", "--timeout", "0.3")
            cpp, py = cpp.result().ok(), py.result().ok()
    finally:
        for s in held:
            s.close()
    assert py.lines == cpp.lines, f"C++:\n{cpp.explain()}\n\nPython:\n{py.explain()}"


# ------------------------------------------------------------ timeout_client

MODES = ["rcvtimeo", "poll"]


@pytest.mark.parametrize("mode", MODES)
def test_replies_arrive_within_the_timeout(server, run, mode):
    s = server("slow_echo_server", "--delay", "0.05")
    result = run("timeout_client", "--port", s.port, "--timeout", "3", "--mode", mode,
                 input="hello\nwörld\n").ok()
    assert result.lines == ["hello", "wörld"], result.explain() + "\n" + s.explain()


@pytest.mark.parametrize("mode", MODES)
def test_a_silent_server_is_a_timeout_exit_1(server, run, mode):
    s = server("slow_echo_server", "--delay", "5")
    started = time.monotonic()
    result = run("timeout_client", "--port", s.port, "--timeout", "0.2", "--mode", mode,
                 input="hello\n").expect_status(1)
    took = time.monotonic() - started
    assert re.search(r"^error: no reply within 0\.2 s", result.stderr, re.M), result.explain()
    assert "closed" not in result.stderr.replace("was still open", ""), result.explain()
    assert result.stdout == "", result.explain()
    # Not before the timeout (a correct client cannot be early: its wait starts
    # after it has sent), and not long after (generous above for a loaded machine).
    assert took >= 0.2, (
        f"a 0.2 s timeout ended after {took:.3f} s, before the 0.2 s had passed: is the "
        f"timeout converted right (tv_usec is microseconds, poll() wants milliseconds)?\n"
        f"{result.explain()}")
    assert took < 2.5, f"a 0.2 s timeout took {took:.2f} s\n{result.explain()}"


@pytest.mark.parametrize("mode", MODES)
def test_timeout_zero_does_not_mean_forever(server, run, mode):
    # SO_RCVTIMEO with a zero timeval would block forever; --timeout 0 must not.
    s = server("slow_echo_server", "--delay", "5")
    result = run("timeout_client", "--port", s.port, "--timeout", "0", "--mode", mode,
                 input="hello\n", timeout=5).expect_status(1)
    assert "no reply within 0 s" in result.stderr, result.explain()


def _closing_peer() -> tuple[socket.socket, threading.Thread, list[bytes]]:
    """A Python server that reads one message and closes without replying."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    got: list[bytes] = []

    def serve():
        conn, _ = listener.accept()
        conn.settimeout(5)
        got.append(conn.recv(4096))
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread, got


@pytest.mark.parametrize("mode", MODES)
def test_a_close_is_not_a_timeout_exit_0(run, mode):
    listener, thread, got = _closing_peer()
    with listener:
        result = run("timeout_client", "--port", listener.getsockname()[1], "--timeout", "3",
                     "--mode", mode, input="hello\nmore\n").ok()
        thread.join(5)
    assert got == [b"hello"], f"the server received {got!r}, expected [b'hello']"
    assert "server closed the connection" in result.stderr, result.explain()
    assert "no reply" not in result.stderr, result.explain()


@pytest.mark.parametrize("mode", MODES)
def test_close_after_a_reply(server, run, mode):
    s = server("slow_echo_server", "--close-after", "1")
    result = run("timeout_client", "--port", s.port, "--timeout", "3", "--mode", mode,
                 input="one\ntwo\n").ok()
    assert result.lines == ["one"], result.explain()
    assert "server closed the connection" in result.stderr, result.explain()


def test_connect_refused_is_an_error(run):
    kinds = ["closed"]
    base, held = _hold_ports(kinds)
    try:
        result = run("timeout_client", "--port", base, "--timeout", "1",
                     input="hi\n").expect_status(1)
    finally:
        for s in held:
            s.close()
    assert "Connection refused" in result.stderr, result.explain()


def test_bad_mode_is_a_usage_error(run):
    run("timeout_client", "--mode", "sometimes", input="").expect_status(2)


def test_python_twins_interoperate(server, run):
    s = server("slow_echo_server", "--delay", "5")
    twin = start_server(Path(sys.executable), PY / "slow_echo_server.py", "--port", "0",
                        "--delay", "0.05")
    try:
        # The two halves at the same time: the Python client waits out its timeout
        # while the C++ client talks to the Python server.
        with ThreadPoolExecutor(2) as pool:
            py = pool.submit(run_program, Path(sys.executable), PY / "timeout_client.py",
                             "--port", s.port, "--timeout", "0.2", input="hello\n")
            cpp = pool.submit(run, "timeout_client", "--port", twin.port, "--timeout", "3",
                              input="ping\npong\n")
            py, result = py.result().expect_status(1), cpp.result().ok()
        assert "no reply within 0.2 s" in py.stderr, py.explain()
        assert result.lines == ["ping", "pong"], result.explain() + "\n" + twin.explain()
    finally:
        twin.kill()
