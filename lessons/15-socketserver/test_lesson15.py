"""Lesson 15: a socketserver library, a threaded echo server and a chat room.

The library's own behaviours (handle_error once, verify_request, reaping,
EMFILE back-off, shutdown wake-up...) are unit-tested in
common/tests/test_socketserver.cpp; here we check what the programs built on
it do, as CPython's test_socketserver.py checks its servers from the outside.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from course_harness import tcp_connect
from course_harness.peers import recv_exactly, reset
from course_harness.restart import echoes, stop_leaving_time_wait

TWIN = Path(__file__).parent / "python"
SANITIZED = bool(os.environ.get("COURSE_SANITIZER"))


def echo_round_trip(port, data, host="127.0.0.1"):
    with tcp_connect(port, host) as sock:
        sock.sendall(data)
        got = recv_exactly(sock, len(data))
    assert got == data, f"sent {data!r}, echoed {got!r}"


def thread_count(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# --- threaded_echo_server -----------------------------------------------------

def test_echo_three_sequential_clients(server):
    echo = server("threaded_echo_server")
    assert echo.ready_line == f"listening on 127.0.0.1:{echo.port}"
    for i, data in enumerate([b"hello world\n", "你好\n".encode(), bytes(range(256))]):
        echo_round_trip(echo.port, data)
        echo.wait_stderr(r"127\.0\.0\.1:\d+ disconnected(.|\n)*" * (i + 1))


def test_echo_says_it_raised_the_fd_limit(server):
    echo = server("threaded_echo_server")
    echo.wait_stderr(r"open-file limit \(RLIMIT_NOFILE\)")


def test_echo_serves_many_clients_at_once(server):
    echo = server("threaded_echo_server")
    clients = [tcp_connect(echo.port) for _ in range(20)]
    try:
        # All connected before anyone finishes: a one-at-a-time server would hang here.
        for i, sock in enumerate(clients):
            sock.sendall(f"client {i}\n".encode())
        for i, sock in enumerate(reversed(clients)):
            expected = f"client {len(clients) - 1 - i}\n".encode()
            got = recv_exactly(sock, len(expected))
            assert got == expected, f"client sent {expected!r}, got back {got!r}"
    finally:
        for sock in clients:
            sock.close()


def test_echo_speaks_ipv6(server):
    echo = server("threaded_echo_server", "--host", "::1")
    assert echo.ready_line == f"listening on [::1]:{echo.port}"
    echo_round_trip(echo.port, b"six", host="::1")


def test_sixteen_mib_arrive_whole_while_signals_hit_the_server(server):
    echo = server("threaded_echo_server", "--quiet")
    data = os.urandom(1 << 20) * 16
    with tcp_connect(echo.port, timeout=20) as sock:
        sender = threading.Thread(target=sock.sendall, args=(data,))
        sender.start()
        received = bytearray()
        for i in range(200):
            if len(received) >= len(data):
                break
            if i % 10 == 0:  # stop and continue it: every blocking call is interrupted
                os.kill(echo.proc.pid, signal.SIGSTOP)
                os.kill(echo.proc.pid, signal.SIGCONT)
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            received += chunk
        while len(received) < len(data):
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            received += chunk
        sender.join(timeout=10)
    assert len(received) == len(data), f"sent {len(data)} bytes, got {len(received)} back"
    assert bytes(received) == data, "the echoed bytes differ from what was sent"


def test_a_signal_to_an_idle_server_does_not_stop_it(server):
    echo = server("threaded_echo_server")
    for sig in (signal.SIGSTOP, signal.SIGCONT, signal.SIGWINCH, signal.SIGCHLD, signal.SIGURG):
        os.kill(echo.proc.pid, sig)
    time.sleep(0.05)
    echo.assert_alive("SIGSTOP/SIGCONT/SIGWINCH/SIGCHLD/SIGURG")
    echo_round_trip(echo.port, b"still serving\n")


def test_threads_are_reaped_after_ten_sequential_requests(server):
    echo = server("threaded_echo_server", "--quiet")
    for i in range(10):
        echo_round_trip(echo.port, f"request {i}\n".encode())
    # The main thread, the last handler's thread (kept 2 s for the next client),
    # and at most one more: a client that came while the previous handler was
    # still finishing got a thread of its own (also kept 2 s). A server that let
    # a thread stay behind per client would show 11 or more.
    assert wait_until(lambda: thread_count(echo.proc.pid) <= 3), \
        f"{thread_count(echo.proc.pid)} threads left after 10 finished clients"


def test_no_descriptor_leaks_after_fifty_clients(server):
    echo = server("threaded_echo_server", "--quiet")
    before = fd_count(echo.proc.pid)
    for i in range(50):
        with tcp_connect(echo.port) as sock:
            if i % 2:
                sock.sendall(b"x")
                recv_exactly(sock, 1)
    for i in range(10):
        sock = tcp_connect(echo.port)
        sock.sendall(b"y")
        reset(sock)  # abrupt resets too
    assert wait_until(lambda: fd_count(echo.proc.pid) == before), \
        f"server had {before} descriptors open before, {fd_count(echo.proc.pid)} after"
    echo_round_trip(echo.port, b"after the resets\n")


def test_a_burst_of_connects_is_served(server):
    """Listen with SOMAXCONN: a burst far beyond Python's backlog of 5 is all served."""
    echo = server("threaded_echo_server", "--quiet")
    count = 100 if SANITIZED else 1000
    clients = []
    try:
        for _ in range(count):  # no pacing: connect as fast as we can
            s = socket.socket()
            s.settimeout(10)
            s.connect(("127.0.0.1", echo.port))
            clients.append(s)
        for s in clients:
            s.sendall(b"!")
        served = sum(1 for s in clients if s.recv(1) == b"!")
    finally:
        for s in clients:
            s.close()
    assert served == count, f"{served} of {count} connections were echoed"


@pytest.mark.parametrize("program", ["threaded_echo_server", "chat_room_server"])
def test_sigterm_with_100_clients_stops_within_one_second(server, program):
    srv = server(program, "--quiet") if program == "threaded_echo_server" else server(program)
    clients = [tcp_connect(srv.port) for _ in range(100)]
    try:
        if program == "threaded_echo_server":
            for s in clients:
                s.sendall(b"?")
            for s in clients:
                assert recv_exactly(s, 1) == b"?"
        else:
            assert wait_until(lambda: srv.stderr.text().count(" joined") >= 100), srv.explain()
        srv.stop(within=1.0)  # SIGTERM, then requires exit status 0 within 1 s
    finally:
        for s in clients:
            s.close()


def test_echo_port_in_use_is_a_runtime_error(run, server):
    first = server("threaded_echo_server")
    with socket.socket() as other:  # a listener SO_REUSEADDR cannot get past
        other.bind(("127.0.0.1", 0))
        other.listen()
        result = run("threaded_echo_server", "--port", other.getsockname()[1]).expect_status(1)
    assert re.search(r"^error: bind 127\.0\.0\.1:\d+: Address already in use", result.stderr, re.M), \
        result.explain()
    first.assert_alive()


def test_help_and_bad_port(run):
    for program in ("threaded_echo_server", "chat_room_server"):
        assert "--port" in run(program, "--help").ok().stdout
        result = run(program, "--port", "70000").expect_status(2)
        assert result.stderr.startswith("error: "), result.explain()


def test_python_twin_echo_server_does_the_same(tmp_path):
    twin = subprocess.Popen([sys.executable, str(TWIN / "threaded_echo_server.py"), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = twin.stdout.readline().strip()
        assert line.startswith("listening on 127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        for data in (b"hello world\n", "你好\n".encode()):
            echo_round_trip(port, data)
    finally:
        twin.terminate()
        twin.wait(timeout=5)


# --- chat_room_server ---------------------------------------------------------

def name_of(sock):
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def recv_line(sock, timeout=5):
    sock.settimeout(timeout)
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def join(chat, *, rcvbuf=None):
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", chat.port))
    chat.wait_stderr(re.escape(name_of(sock)) + " joined")
    return sock


def test_chat_relays_lines_to_everyone_else_and_announces(server):
    chat = server("chat_room_server")
    a = join(chat)
    b = join(chat)
    assert recv_line(a) == f"* {name_of(b)} joined\n".encode()
    c = join(chat)
    assert recv_line(a) == f"* {name_of(c)} joined\n".encode()
    assert recv_line(b) == f"* {name_of(c)} joined\n".encode()

    a.sendall("hello, 你好\n".encode())
    for other in (b, c):
        got = recv_line(other)
        assert got == "hello, 你好\n".encode(), f"a sent 'hello, 你好\\n', the other got {got!r}"
    # The sender does not get its own line back: the next thing a sees is b's line.
    b.sendall(b"from b\n")
    assert recv_line(a) == b"from b\n"
    assert recv_line(c) == b"from b\n"

    c.close()
    assert recv_line(a) == f"* {name_of_closed(chat, 2)} left\n".encode()
    assert recv_line(b) == f"* {name_of_closed(chat, 2)} left\n".encode()
    a.close()
    b.close()


def name_of_closed(chat, index):
    """The name of the index-th client that joined, from the server's log."""
    return re.findall(r"^(\S+) joined$", chat.stderr.text(), re.M)[index]


def test_chat_waits_for_the_newline(server):
    chat = server("chat_room_server")
    a = join(chat)
    b = join(chat)
    recv_line(a)  # b joined
    a.sendall(b"half a ")
    time.sleep(0.1)
    a.sendall(b"line\nsecond\n")
    assert recv_line(b) == b"half a line\n"
    assert recv_line(b) == b"second\n"
    a.close()
    b.close()


def test_a_client_that_never_reads_cannot_stall_two_others(server):
    limit = 65536
    chat = server("chat_room_server", "--queue-limit", limit)
    stuck = join(chat, rcvbuf=4096)  # connects, then never reads a byte
    a = join(chat)
    b = join(chat)
    assert recv_line(a) == f"* {name_of(b)} joined\n".encode()

    line = b"x" * 999 + b"\n"
    batch = 50  # 50 KB per round: a and b stay well under the queue limit
    left = f"* {name_of(stuck)} left\n".encode()
    a_in, b_in = a.makefile("rb"), b.makefile("rb")
    b_heard_left = False
    sent = 0
    dropped = None
    started = time.monotonic()
    while sent < (40 << 20) and time.monotonic() - started < 8:
        a.sendall(line * batch)
        sent += len(line) * batch
        for _ in range(batch):
            got = b_in.readline()
            if got == left:  # the stuck one was dropped while we chatted
                b_heard_left = True
                got = b_in.readline()
            assert got == line, f"a sent {line[:20]!r}..., b got {got[:60]!r}"
        dropped = re.search(rf"dropping {re.escape(name_of(stuck))}: .*not reading",
                            chat.stderr.text())
        if dropped:
            break
    assert dropped, (f"the stuck client was not dropped after {sent} bytes of chat\n"
                     f"{chat.explain()}")
    # a and b keep chatting, both ways; they hear the stuck one leave.
    assert a_in.readline() == left
    if not b_heard_left:
        assert b_in.readline() == left
    b.sendall(b"still here?\n")
    assert a_in.readline() == b"still here?\n"
    a.sendall(b"yes\n")
    assert b_in.readline() == b"yes\n"
    print(f"stuck client dropped after {sent} bytes of chat")
    for s in (stuck, a, b):
        s.close()


def test_an_endless_line_costs_only_that_client(server):
    chat = server("chat_room_server", "--max-line", 1000)
    a = join(chat)
    b = join(chat)
    recv_line(a)  # b joined
    try:
        a.sendall(b"y" * 5000)
    except OSError:
        pass
    chat.wait_stderr(rf"dropping {re.escape(name_of(a))}: a line longer than 1000 bytes")
    assert recv_line(b) == f"* {name_of(a)} left\n".encode()
    c = join(chat)
    assert recv_line(b) == f"* {name_of(c)} joined\n".encode()
    c.sendall(b"ok\n")
    assert recv_line(b) == b"ok\n"
    for s in (a, b, c):
        s.close()


def test_python_twin_chat_room_relays_too():
    twin = subprocess.Popen([sys.executable, str(TWIN / "chat_room_server.py"), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(twin.stdout.readline().strip().rsplit(":", 1)[1])
        a = tcp_connect(port)
        time.sleep(0.2)
        b = tcp_connect(port)
        assert recv_line(a) == f"* {name_of(b)} joined\n".encode()
        b.sendall(b"hi from b\n")
        assert recv_line(a) == b"hi from b\n"
        a.close()
        b.close()
    finally:
        twin.terminate()
        twin.wait(timeout=5)


def test_restarts_at_once_on_the_port_it_left(server):
    """allow_reuse_address: stopped with a client connected (TIME_WAIT on its port),
    the server starts again on that port at once."""
    port = stop_leaving_time_wait(server("threaded_echo_server"))
    again = server("threaded_echo_server", "--port", port)
    assert echoes(port) == b"again", again.explain()


def test_a_client_that_left_is_out_of_the_room(server):
    """Once a client has left, nothing more is queued for it: with a small queue
    limit, lines that would overflow its queue do not get it "dropped" again."""
    chat = server("chat_room_server", "--queue-limit", 100)
    gone = join(chat)
    a = join(chat)
    b = join(chat)
    assert recv_line(a) == f"* {name_of(b)} joined\n".encode()
    name = name_of(gone)
    gone.close()
    assert recv_line(a) == f"* {name} left\n".encode()
    assert recv_line(b) == f"* {name} left\n".encode()
    line = b"y" * 59 + b"\n"
    for _ in range(3):  # 180 bytes: over the limit, if they were queued for `gone`
        a.sendall(line)
        assert recv_line(b) == line
    # b has all three, so the room has handed them out; had `gone` still been in
    # the room, its drop would be logged by now (the room logs it under the same
    # lock, before b's copy of the line is queued).
    chat.stderr.wait_caught_up()
    assert f"dropping {name}" not in chat.stderr.text(), (
        f"{name} left, then a sent 3 lines of 60 bytes (--queue-limit 100); the room "
        f"still queued them for the client that left\n{chat.explain()}")
    for s in (a, b):
        s.close()
