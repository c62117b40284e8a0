"""Lesson 16: port_check (non-blocking connects) and timeout_client (a timeout is not a close)."""

from __future__ import annotations

import random
import re
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from course_harness import start_server
from course_harness.process import run_program

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
        except OSError:
            for s in held:
                s.close()
            continue
        for offset, kind in enumerate(kinds):
            if kind == "silent":  # fill the accept queue: backlog 0 holds one connection
                for _ in range(2):
                    c = socket.socket()
                    c.setblocking(False)
                    c.connect_ex(("127.0.0.1", base + offset))
                    held.append(c)
        time.sleep(0.1)
        return base, held
    pytest.fail("could not find consecutive free ports on 127.0.0.1")


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


def test_port_check_silent_ports_time_out_in_parallel(run):
    # Five ports that never answer, a 0.5 s timeout: the connects wait
    # together, so the whole check takes about 0.5 s, not 2.5 s.
    kinds = ["silent", "open", "silent", "silent", "silent", "silent"]
    base, held = _hold_ports(kinds)
    try:
        started = time.monotonic()
        result = run("port_check", "--ports", f"{base}-{base + 5}", "--timeout", "0.5").ok()
        took = time.monotonic() - started
    finally:
        for s in held:
            s.close()
    expected = _expected(base, kinds, "0.5") + ["checked 6 ports: 1 open, 0 closed, 5 no answer"]
    assert result.lines == expected, f"expected:\n{chr(10).join(expected)}\n{result.explain()}"
    assert 0.45 <= took < 2.0, f"the check took {took:.2f} s; with a 0.5 s timeout waited in " \
                               f"parallel it should take about 0.5 s (one after another: 2.5 s)" \
                               f"\n{result.explain()}"


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
        cpp = run("port_check", "--ports", f"{base}-{base + 2}", "--timeout", "0.3").ok()
        py = run_program(Path(sys.executable), PY / "port_check.py", "--ports",
                         f"{base}-{base + 2}", "--timeout", "0.3").ok()
    finally:
        for s in held:
            s.close()
    assert py.lines == cpp.lines, f"C++:\n{cpp.explain()}\n\nPython:\n{py.explain()}"


# ------------------------------------------------------------ timeout_client

MODES = ["rcvtimeo", "poll"]


@pytest.mark.parametrize("mode", MODES)
def test_replies_arrive_within_the_timeout(server, run, mode):
    s = server("slow_echo_server", "--delay", "0.1")
    result = run("timeout_client", "--port", s.port, "--timeout", "3", "--mode", mode,
                 input="hello\nwörld\n").ok()
    assert result.lines == ["hello", "wörld"], result.explain() + "\n" + s.explain()


@pytest.mark.parametrize("mode", MODES)
def test_a_silent_server_is_a_timeout_exit_1(server, run, mode):
    s = server("slow_echo_server", "--delay", "5")
    started = time.monotonic()
    result = run("timeout_client", "--port", s.port, "--timeout", "0.3", "--mode", mode,
                 input="hello\n").expect_status(1)
    took = time.monotonic() - started
    assert re.search(r"^error: no reply within 0\.3 s", result.stderr, re.M), result.explain()
    assert "closed" not in result.stderr.replace("was still open", ""), result.explain()
    assert result.stdout == "", result.explain()
    assert took < 2.5, f"a 0.3 s timeout took {took:.2f} s\n{result.explain()}"


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
    py = run_program(Path(sys.executable), PY / "timeout_client.py", "--port", s.port,
                     "--timeout", "0.3", input="hello\n").expect_status(1)
    assert "no reply within 0.3 s" in py.stderr, py.explain()

    twin = start_server(Path(sys.executable), PY / "slow_echo_server.py", "--port", "0",
                        "--delay", "0.1")
    try:
        result = run("timeout_client", "--port", twin.port, "--timeout", "3",
                     input="ping\npong\n").ok()
        assert result.lines == ["ping", "pong"], result.explain() + "\n" + twin.explain()
    finally:
        twin.kill()
