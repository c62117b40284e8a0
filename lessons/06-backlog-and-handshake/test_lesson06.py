"""Lesson 06: the listen() backlog, the accept queue and the three-way handshake."""
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_harness import tcp_connect
from course_harness.peers import recv_all

TWIN = Path(__file__).parent / "python"


def ss(*args: str) -> str:
    return subprocess.run(["ss", "-n", *args], capture_output=True, text=True, timeout=5).stdout


def listener_queue(port: int) -> tuple[int, int]:
    """(Recv-Q, Send-Q) of the listening socket on `port`, as `ss -ltn` shows them."""
    out = ss("-lt", f"sport = :{port}")
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == "LISTEN":
            return int(fields[1]), int(fields[2])
    pytest.fail(f"ss -ltn shows no listener on port {port}:\n{out}", pytrace=False)


@pytest.mark.parametrize("backlog", [0, 2, 5])
def test_accept_queue_holds_backlog_plus_one(server, run, backlog):
    srv = server("backlog_server", "--backlog", backlog)
    count = backlog + 3
    result = run("connect_many", "--port", srv.port, "--count", count, "--timeout", 0.4).ok()
    # Linux: a listener is "full" when more than `backlog` connections wait, so
    # backlog + 1 complete the handshake; the SYNs after that are dropped.
    assert result.lines == [f"connected {backlog + 1}/{count}"], (
        f"expected backlog + 1 = {backlog + 1} handshakes to complete with nobody "
        f"accepting\n{result.explain()}\n{srv.explain()}")
    assert result.stderr.count("timed out") == 2, result.explain()


def test_contract_example_fewer_than_ten(server, run):
    srv = server("backlog_server", "--backlog", 2)
    result = run("connect_many", "--port", srv.port, "--count", 10, "--timeout", 0.2).ok()
    match = re.fullmatch(r"connected (\d+)/10", result.stdout.strip())
    assert match and int(match.group(1)) < 10, result.explain()


def test_ss_shows_the_full_queue_and_syn_sent(server, programs):
    srv = server("backlog_server", "--backlog", 2)
    client = subprocess.Popen([str(programs.path("connect_many")), "--port", str(srv.port),
                               "--count", "4", "--timeout", "8", "--hold", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 7
        syn_sent = ""
        while time.monotonic() < deadline and not syn_sent:
            syn_sent = ss("-t", "state", "syn-sent", f"dport = :{srv.port}")
            syn_sent = "\n".join(line for line in syn_sent.splitlines()[1:] if line.strip())
            time.sleep(0.05)
        queue = listener_queue(srv.port)
    finally:
        client.kill()
        client.wait()
    assert queue == (3, 2), f"ss -ltn: expected Recv-Q 3 (queued) and Send-Q 2 (backlog), got {queue}"
    assert syn_sent, "the 4th connection should sit in SYN-SENT while its SYNs are dropped"


def test_accept_after_serves_the_queued_clients_in_order(server):
    srv = server("backlog_server", "--backlog", 2, "--accept-after", 0.5)
    socks = [tcp_connect(srv.port) for _ in range(3)]
    try:
        got = [recv_all(s, timeout=5) for s in socks]
    finally:
        for s in socks:
            s.close()
    assert got == [b"welcome #1", b"welcome #2", b"welcome #3"], f"{got}\n{srv.explain()}"
    srv.wait_stderr(r"accept queue: 3 connection\(s\) waiting \(limit 2\)")


def test_a_dropped_syn_is_retried_until_the_server_accepts(server, run):
    # The 4th SYN is dropped; our kernel resends it after 1 s, by then the
    # server accepts, and the handshake completes: every connect succeeds.
    srv = server("backlog_server", "--backlog", 2, "--accept-after", 0.3)
    result = run("connect_many", "--port", srv.port, "--count", 5, "--timeout", 5).ok()
    assert result.lines == ["connected 5/5"], result.explain() + "\n" + srv.explain()


def test_connect_many_to_nobody_reports_zero(run):
    from course_harness import free_port
    result = run("connect_many", "--port", free_port(), "--count", 2, "--timeout", 1).ok()
    assert result.lines == ["connected 0/2"], result.explain()
    assert "Connection refused" in result.stderr, result.explain()


def test_hold_keeps_connections_open(server, programs):
    srv = server("backlog_server", "--backlog", 4, "--accept-after", 0)
    started = time.monotonic()
    done = subprocess.run([str(programs.path("connect_many")), "--port", str(srv.port),
                           "--count", "2", "--hold", "0.5"], capture_output=True, text=True,
                          timeout=10)
    assert done.returncode == 0 and done.stdout == "connected 2/2\n", done
    assert time.monotonic() - started >= 0.5


def test_python_twins_interoperate(server, programs):
    srv = server("backlog_server", "--backlog", 1)
    done = subprocess.run([sys.executable, str(TWIN / "connect_many.py"), "--port",
                           str(srv.port), "--count", "3", "--timeout", "0.4"],
                          capture_output=True, text=True, timeout=10)
    assert done.stdout.strip() == "connected 2/3", done
    twin = subprocess.Popen([sys.executable, str(TWIN / "backlog_server.py"), "--port", "0",
                             "--backlog", "3"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(twin.stdout.readline().rsplit(":", 1)[1])
        done = subprocess.run([str(programs.path("connect_many")), "--port", str(port),
                               "--count", "6", "--timeout", "0.4"], capture_output=True,
                              text=True, timeout=10)
        assert done.stdout.strip() == "connected 4/6", done
    finally:
        twin.kill()
        twin.wait()


def test_stops_cleanly_with_a_full_queue(server, run):
    srv = server("backlog_server", "--backlog", 1)
    run("connect_many", "--port", srv.port, "--count", 2, "--timeout", 0.2).ok()
    srv.stop()  # SIGTERM: exit 0 within a second


def test_usage_errors(run):
    for args in (["--backlog", "x"], ["--port", "70000"], ["--accept-after", "-1"]):
        result = run("backlog_server", *args).expect_status(2)
        assert result.stderr.startswith("error: "), result.explain()
    run("connect_many", "--count", "0").expect_status(2)
    for program in ("backlog_server", "connect_many"):
        assert "--port" in run(program, "--help").ok().stdout
