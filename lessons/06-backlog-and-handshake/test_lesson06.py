"""Lesson 06: the listen() backlog, the accept queue and the three-way handshake."""
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_harness import start_server, tcp_connect
from course_harness.peers import recv_all, reset, wait_for_connect_behind, wait_for_tcp_while

TWIN = Path(__file__).parent / "python"

# How long connect_many waits for a handshake before it gives up (--timeout) where
# the test counts the handshakes. Against a full queue the SYN is dropped, and so
# is every resend of it (the first comes after 1 s): these servers never accept,
# so such a connect fails whatever the timeout. A connect that gets in has its
# handshake done before connect() returns: on loopback the kernel handles the SYN,
# the SYN-ACK and the ACK at once, inside the sending call itself (2000 connects of
# 2000 were established when a non-blocking connect() returned), so the timeout
# never decides it. 0.2 s is that "at once" with ample room on a busy machine.
GIVE_UP = 0.2


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


# This test waits for the kernel's resent SYN, 1 s after the first: no other test
# of the lesson takes half as long. It comes first, so that under xdist (which
# ./course check uses for this lesson) a worker starts on it at once, and the
# quick test after it is all that shares that worker's start.
def test_a_dropped_syn_is_retried_until_the_server_accepts(server, run):
    # The 4th SYN is dropped; our kernel resends it after 1 s, by then the
    # server accepts, and the handshake completes: every connect succeeds.
    # (Should the server start accepting later, the next resend, at 3 s, gets in.)
    srv = server("backlog_server", "--backlog", 2, "--accept-after", 0.3)
    result = run("connect_many", "--port", srv.port, "--count", 5, "--timeout", 5).ok()
    assert result.lines == ["connected 5/5"], result.explain() + "\n" + srv.explain()


def test_usage_errors(run):
    for args in (["--backlog", "x"], ["--port", "70000"], ["--accept-after", "-1"]):
        result = run("backlog_server", *args).expect_status(2)
        assert result.stderr.startswith("error: "), result.explain()
    run("connect_many", "--count", "0").expect_status(2)
    for program in ("backlog_server", "connect_many"):
        assert "--port" in run(program, "--help").ok().stdout


@pytest.mark.parametrize("backlog", [0, 2, 5])
def test_accept_queue_holds_backlog_plus_one(server, run, backlog):
    srv = server("backlog_server", "--backlog", backlog)
    count = backlog + 2
    result = run("connect_many", "--port", srv.port, "--count", count,
                 "--timeout", GIVE_UP).ok()
    # Linux: a listener is "full" when more than `backlog` connections wait, so
    # backlog + 1 complete the handshake; the SYN after that is dropped.
    assert result.lines == [f"connected {backlog + 1}/{count}"], (
        f"expected backlog + 1 = {backlog + 1} handshakes to complete with nobody "
        f"accepting\n{result.explain()}\n{srv.explain()}")
    assert result.stderr.count("timed out") == 1, result.explain()


def test_contract_example_fewer_than_ten(server, run):
    srv = server("backlog_server", "--backlog", 2)
    # Fewer than ten, whatever the timeout: the 7 SYNs after the queue is full are
    # dropped (and resent only after 1 s, and dropped again), so a short one will do.
    result = run("connect_many", "--port", srv.port, "--count", 10, "--timeout", 0.02).ok()
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
        # (a connect_many that has ended, --timeout 8 too soon, has no SYN-SENT to show)
        while time.monotonic() < deadline and not syn_sent and client.poll() is None:
            syn_sent = ss("-t", "state", "syn-sent", f"dport = :{srv.port}")
            syn_sent = "\n".join(line for line in syn_sent.splitlines()[1:] if line.strip())
            time.sleep(0.05)
        queue = listener_queue(srv.port)
    finally:
        client.kill()
        client.wait()
    assert queue == (3, 2), f"ss -ltn: expected Recv-Q 3 (queued) and Send-Q 2 (backlog), got {queue}"
    assert syn_sent, "the 4th connection should sit in SYN-SENT while its SYNs are dropped"


def server_ends_established(port: int, count: int):
    """A condition for wait_for_tcp_while: `count` connections to `port` have the server's
    end established (the client's last ACK has arrived: they are queued)."""
    return lambda sockets: len([local for local, _, state in sockets
                                if local == port and state == "ESTABLISHED"]) >= count


def comes_true_before(deadline: float, port: int, condition) -> bool:
    """Whether condition(tcp_sockets_now(port)) comes true before time.monotonic()
    reaches `deadline` (looked at until then)."""
    found = wait_for_tcp_while(port, condition, timeout=max(0.0, deadline - time.monotonic()))
    return bool(found) and time.monotonic() < deadline


def test_accept_after_serves_the_queued_clients_in_order(server):
    # The server waits --accept-after seconds from a moment after `started`, then logs
    # how many connections wait in its queue. Three connections that are in the queue
    # (the server's end established) before started + wait are surely there when it
    # looks. A machine too busy to connect three times within 0.2 s gets a second try.
    for wait in (0.2, 2):
        started = time.monotonic()
        srv = server("backlog_server", "--backlog", 2, "--accept-after", wait)
        socks = [tcp_connect(srv.port) for _ in range(3)]
        if comes_true_before(started + wait, srv.port, server_ends_established(srv.port, 3)):
            break
        for s in socks:
            s.close()
        srv.kill()
    else:
        pytest.fail(f"the test could not connect three times within {wait} s of starting "
                    f"backlog_server: the machine is too busy to judge", pytrace=False)
    try:
        got = [recv_all(s, timeout=5) for s in socks]
    finally:
        for s in socks:
            s.close()
    assert got == [b"welcome #1", b"welcome #2", b"welcome #3"], f"{got}\n{srv.explain()}"
    srv.wait_stderr(r"accept queue: 3 connection\(s\) waiting \(limit 2\)")


def test_a_client_that_gave_up_in_the_queue_does_not_stop_the_server(server):
    # The first client resets its connection while it waits in the queue; the server
    # accepts it all the same, finds it gone, logs that, and serves the next one.
    # Done before started + wait (the server's end of the first connection gone, of
    # the second established), that is surely before the server accepts.
    for wait in (0.2, 2):
        started = time.monotonic()
        srv = server("backlog_server", "--backlog", 2, "--accept-after", wait)
        quitter = tcp_connect(srv.port)
        gone = quitter.getsockname()[1]
        reset(quitter)  # SO_LINGER 0: a RST, and its queued connection is reset
        stayer = tcp_connect(srv.port)

        def settled(sockets, port=srv.port, gone=gone):
            return server_ends_established(port, 1)(sockets) and not [
                s for s in sockets if s[0] == port and s[1] == gone]
        if comes_true_before(started + wait, srv.port, settled):
            break
        stayer.close()
        srv.kill()
    else:
        pytest.fail(f"the test could not connect twice within {wait} s of starting "
                    f"backlog_server: the machine is too busy to judge", pytrace=False)
    with stayer:
        try:
            got = recv_all(stayer, timeout=5)
        except OSError as error:  # the server has ended: its queue is reset
            got = f"({error})".encode()
    assert got == b"welcome #2", (
        f"a client reset its connection while it waited in the queue; expected the server "
        f"to serve the next client (welcome #2), got {got!r}\n{srv.explain()}")
    srv.wait_stderr(r"client #1 .*: ")  # the one that was gone, logged
    # (and the server fixture's stop: it still runs and stops cleanly)


def test_connect_many_reads_what_the_server_sent_before_closing(programs):
    # What arrived on a connection is read before it is closed (closing with unread
    # data sends a RST). A listener with one place: connection 1 gets in, connect 2
    # waits (its SYN dropped) while the test sends "welcome #1" and closes; connect_many
    # reads only after connect 2 has given up, --timeout after it started, so if the
    # welcome and the FIN are in before started + timeout, they are there to read.
    for timeout in (0.2, 2):
        with socket.create_server(("127.0.0.1", 0), backlog=0) as listener:  # one place
            port = listener.getsockname()[1]
            started = time.monotonic()
            client = start_server(programs.path("connect_many"), "--port", port, "--count", 2,
                                  "--timeout", timeout, ready=False)
            try:
                second = wait_for_connect_behind(listener, client.proc)
                assert second, f"connect_many made no second connect\n{client.explain()}"
                listener.settimeout(5)
                connection, (_, first) = listener.accept()
                connection.sendall(b"welcome #1")
                connection.close()  # FIN: connect_many's end goes to CLOSE_WAIT once in

                def arrived(sockets, first=first, port=port):
                    return (first, port, "CLOSE_WAIT") in sockets
                in_time = comes_true_before(started + timeout, port, arrived)
                code = client.wait_exit(timeout=timeout + 5)
            finally:
                client.kill()
        if in_time:
            break
    else:
        pytest.fail(f"the test could not send to connect_many within {timeout} s of "
                    f"starting it: the machine is too busy to judge", pytrace=False)
    assert code == 0 and "connection 1 received: welcome #1 (then the server closed)" \
        in client.stderr.text(), (
            f"the server sent 'welcome #1' and closed while connect_many was still "
            f"connecting; expected connect_many to read it before closing\n{client.explain()}")


def test_connect_many_to_nobody_reports_zero(run):
    from course_harness import free_port
    result = run("connect_many", "--port", free_port(), "--count", 2, "--timeout", 1).ok()
    assert result.lines == ["connected 0/2"], result.explain()
    assert "Connection refused" in result.stderr, result.explain()


def test_hold_keeps_connections_open(server, programs):
    srv = server("backlog_server", "--backlog", 4, "--accept-after", 0)
    started = time.monotonic()
    done = subprocess.run([str(programs.path("connect_many")), "--port", str(srv.port),
                           "--count", "2", "--hold", "0.2"], capture_output=True, text=True,
                          timeout=10)
    assert done.returncode == 0 and done.stdout == "connected 2/2\n", done
    assert time.monotonic() - started >= 0.2  # at least: a busy machine only adds to it


def test_python_twins_interoperate(server, programs):
    # Both halves side by side: each waits out one dropped SYN's --timeout.
    srv = server("backlog_server", "--backlog", 1)
    twin_client = subprocess.Popen([sys.executable, str(TWIN / "connect_many.py"), "--port",
                                    str(srv.port), "--count", "3", "--timeout", str(GIVE_UP)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    twin = subprocess.Popen([sys.executable, str(TWIN / "backlog_server.py"), "--port", "0",
                             "--backlog", "3"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(twin.stdout.readline().rsplit(":", 1)[1])
        done = subprocess.run([str(programs.path("connect_many")), "--port", str(port),
                               "--count", "5", "--timeout", str(GIVE_UP)], capture_output=True,
                              text=True, timeout=10)
        assert done.stdout.strip() == "connected 4/5", done
        out, err = twin_client.communicate(timeout=10)
        assert out.strip() == "connected 2/3", (out, err)
    finally:
        for process in (twin, twin_client):
            process.kill()
            process.wait()


def test_stops_cleanly_with_a_full_queue(server, run):
    srv = server("backlog_server", "--backlog", 1)
    run("connect_many", "--port", srv.port, "--count", 2, "--timeout", 0.2).ok()
    srv.stop()  # SIGTERM: exit 0 within a second
