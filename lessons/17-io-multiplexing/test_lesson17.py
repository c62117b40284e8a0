"""Lesson 17: select/poll/epoll echo servers: many clients, one thread, no stalls."""

from __future__ import annotations

import hashlib
import os
import resource
import selectors
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from course_harness import start_server, tcp_connect
from course_harness.peers import (all_threads_asleep, idle_cpu, recv_exactly, reset,
                                  stopped, tcp_connection)

HERE = Path(__file__).resolve().parent
PY = HERE / "python"
SERVERS = ["select_echo_server", "poll_echo_server", "epoll_echo_server"]
SANITIZER = bool(os.environ.get("COURSE_SANITIZER"))


def raise_fd_limit(wanted: int) -> int:
    """Raises this process's soft RLIMIT_NOFILE (children inherit it); returns the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def sockets_open(pid: int) -> int:
    """How many sockets process `pid` has open (its listener included)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            pass  # closed meanwhile
    return count


def echo_once(port: int, message: bytes, timeout: float = 5) -> bytes:
    with tcp_connect(port, timeout=timeout) as c:
        c.sendall(message)
        return recv_exactly(c, len(message), timeout)


@pytest.mark.parametrize("name", SERVERS)
def test_200_concurrent_clients_each_get_their_own_bytes(server, name):
    s = server(name, "--quiet")
    clients = [tcp_connect(s.port) for _ in range(200)]
    try:
        messages = [f"client {i}: ".encode() + bytes([65 + i % 26]) * (i * 37 % 3000)
                    for i in range(200)]
        for c, m in zip(clients, messages):  # every client is connected before any is answered
            c.sendall(m)
        for i, (c, m) in enumerate(zip(clients, messages)):
            got = recv_exactly(c, len(m))
            assert got == m, (f"client {i} sent {len(m)} bytes and got back {got[:60]!r}... "
                              f"({len(got)} bytes)\n{s.explain()}")
    finally:
        for c in clients:
            c.close()
    s.assert_alive()


def not_reading(s, sock: socket.socket) -> bool:
    """The server `s` has stopped reading the connection `sock`: bytes wait unread
    in its socket and it sleeps all the same (a server that wanted them would be
    woken by them), and nothing moved meanwhile: the unread bytes on its side and
    the unacknowledged ones on ours are the same before and after."""
    ours, theirs = sock.getsockname(), sock.getpeername()

    def queues():
        return tcp_connection(theirs, ours), tcp_connection(ours, theirs)

    before = queues()
    if not (before[0] and before[0][2] > 0):
        return False
    return all_threads_asleep(s.proc.pid) and queues() == before


@pytest.mark.parametrize("name", SERVERS)
def test_a_client_that_never_reads_does_not_stall_the_others(server, name):
    s = server(name, "--max-buffer", 1 << 20)
    hog = tcp_connect(s.port)
    hog.setblocking(False)
    chunk = b"h" * (1 << 20)
    pushed = 0
    deadline = time.monotonic() + 3
    try:
        # The hog sends and never reads. Once the server's buffer for it is
        # full, the server stops reading it, the kernel buffers fill up, and
        # the hog's own send() blocks: backpressure. Pushing stops once that is
        # seen (not_reading), or at 64 MiB (the server never stopped reading).
        while time.monotonic() < deadline and pushed < 64 << 20:
            try:
                pushed += hog.send(chunk)
            except BlockingIOError:
                if not_reading(s, hog):
                    break
                time.sleep(0.001)
        assert pushed < 64 << 20, (
            f"the server took {pushed >> 20} MiB from a client that never reads: it never "
            f"stopped reading (no backpressure)\n{s.explain()}")

        started = time.monotonic()
        got = echo_once(s.port, b"still there?")
        took = time.monotonic() - started
        assert got == b"still there?", f"sent b'still there?', got {got!r}\n{s.explain()}"
        assert took < 3.0, f"another client's echo took {took:.2f} s while the hog was " \
                           f"blocked\n{s.explain()}"

        limit = (256 if SANITIZER else 48) * 1024
        rss = rss_kib(s.proc.pid)
        assert rss < limit, f"server RSS is {rss} KiB with one stuck client (limit {limit} " \
                            f"KiB): its buffer is not bounded\n{s.explain()}"

        # Now the hog reads: everything it pushed comes back, in order.
        hog.setblocking(True)
        hog.settimeout(5)
        received = 0
        while received < pushed:
            data = hog.recv(1 << 20)
            assert data and set(data) == {ord("h")}, f"hog got {data[:20]!r} after {received} " \
                                                     f"of {pushed} bytes\n{s.explain()}"
            received += len(data)
        assert received == pushed
    finally:
        hog.close()
    s.assert_alive()


@pytest.mark.parametrize("name", SERVERS)
def test_4_mib_echo_to_a_slow_reader_arrives_whole(server, name):
    # A small --max-buffer, so backpressure starts and stops many times.
    s = server(name, "--max-buffer", 65536)
    payload = os.urandom(4 << 20)
    c = tcp_connect(s.port, timeout=10)
    errors = []

    def send():
        try:
            c.sendall(payload)
        except OSError as e:  # reported below as a short echo
            errors.append(e)

    def all_read(sock):  # every byte sent, and read by the server
        ours, theirs = sock.getsockname(), sock.getpeername()
        mine, peer = tcp_connection(ours, theirs), tcp_connection(theirs, ours)
        return not sender.is_alive() and mine and mine[1] == 0 and peer and peer[2] == 0

    sender = threading.Thread(target=send)
    sender.start()
    received = bytearray()
    try:
        while len(received) < len(payload):
            # A slow reader: it takes the next 64 KiB only once the server has
            # stopped reading this client (its buffer for us is full: backpressure
            # has started, and this read lets it stop), or once the server has
            # read all we sent (nothing left to hold back). Not a pause that
            # hopes the buffers fill meanwhile.
            deadline = time.monotonic() + 5
            while not (not_reading(s, c) or all_read(c)) and time.monotonic() < deadline:
                time.sleep(0.0002)
            data = c.recv(64 * 1024)
            if not data:
                break
            received += data
    finally:
        sender.join(10)
        c.close()
    assert not errors, f"sending failed: {errors}\n{s.explain()}"
    assert len(received) == len(payload) and \
        hashlib.sha256(received).hexdigest() == hashlib.sha256(payload).hexdigest(), (
            f"sent 4 MiB (sha256 {hashlib.sha256(payload).hexdigest()}), got back "
            f"{len(received)} bytes (sha256 {hashlib.sha256(received).hexdigest()})\n{s.explain()}")


def test_bytes_that_arrive_while_output_waits_are_echoed_after_it(server):
    # Echoed bytes that wait in the server's own buffer (the socket to the client
    # was full) must go out before bytes that arrive later, even when the socket
    # has room again by the time those are read. echo_connection.hpp keeps that
    # order for all three servers; epoll_echo_server shows it.
    s = server("epoll_echo_server")
    c = tcp_connect(s.port)
    ours, theirs = c.getsockname(), c.getpeername()

    def queues():  # (our socket, the server's socket for us): (state, tx_queue, rx_queue)
        return tcp_connection(ours, theirs), tcp_connection(theirs, ours)

    def wait_for(condition, what):
        deadline = time.monotonic() + 5
        while not condition():
            assert time.monotonic() < deadline, f"{what}: not within 5 s\n{s.explain()}"
            time.sleep(0.0005)

    # Send without reading until the server holds some echo in its own buffer:
    # it has read all we sent and sleeps, and less than that is on its way to
    # us (in its socket, or unread in ours).
    pushed = held = 0
    while held <= 0:
        assert pushed < 32 << 20, f"sent {pushed} bytes and never read: the server never " \
                                  f"held any of the echo itself\n{s.explain()}"
        c.sendall(b"a" * (256 << 10))
        pushed += 256 << 10

        def settled():
            mine, peer = queues()
            return (mine and peer and mine[1] == 0 and peer[2] == 0
                    and all_threads_asleep(s.proc.pid) and queues() == (mine, peer))

        wait_for(settled, "the server reading what was sent and going back to sleep")
        mine, peer = queues()
        held = pushed - peer[1] - mine[2]

    # With the server frozen: take everything its socket has for us (so it has
    # room again), and send new bytes. When it runs again, it finds both at
    # once: the new bytes to read, and room to write.
    got = bytearray()
    with stopped(s.proc.pid):
        c.setblocking(False)

        def drained():
            try:
                while chunk := c.recv(1 << 20):
                    got.extend(chunk)
            except BlockingIOError:
                pass
            mine, peer = queues()
            return peer[1] == 0 and mine[2] == 0

        wait_for(drained, "the frozen server's socket emptying")
        c.settimeout(5)
        c.sendall(b"b" * 1000)
        wait_for(lambda: queues()[0][1] == 0, "the new bytes reaching the frozen server")
    while len(got) < pushed + 1000:
        chunk = c.recv(1 << 20)
        if not chunk:
            break
        got.extend(chunk)
    c.close()
    first_b = got.find(b"b")
    in_order = got == b"a" * pushed + b"b" * 1000  # (not in the assert: no 4 MiB diff)
    assert in_order, (
        f"sent {pushed} bytes b'a', then (while the server still held {held} of their echo) "
        f"1000 bytes b'b'; got back {len(got)} bytes, the first b'b' at byte {first_b}: new "
        f"bytes went out ahead of the echo that was waiting\n{s.explain()}")


@pytest.mark.parametrize("name", SERVERS)
def test_half_close_gets_everything_back_then_eof(server, name):
    s = server(name)
    with tcp_connect(s.port) as c:
        c.sendall(b"last words")
        c.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            data = c.recv(4096)
            if not data:
                break
            got += data
    assert got == b"last words", f"sent b'last words' then shut down writing; got {got!r}\n" \
                                 f"{s.explain()}"
    s.wait_stderr(r"disconnected: 127\.0\.0\.1:\d+")


@pytest.mark.parametrize("name", SERVERS)
def test_reset_clients_cost_only_their_connection(server, name):
    s = server(name)
    for _ in range(5):
        c = tcp_connect(s.port)
        c.sendall(b"x" * 100000)
        reset(c)
    # Once the server has logged the fifth disconnect it has dealt with every
    # reset (closed those sockets, dropped them from its set): a wrong one
    # breaks there, not later.
    s.wait_stderr(r"(?s)(disconnected: .*?){5}")
    s.assert_alive("five clients reset their connections")
    assert echo_once(s.port, b"fine") == b"fine", s.explain()


def test_select_refuses_descriptors_past_fd_setsize(programs):
    # select() cannot watch fd >= FD_SETSIZE (1024). Give the server room for
    # more, open more clients than that, and check it refuses the extra ones
    # cleanly (a log line and a closed connection) while serving the rest.
    limit = raise_fd_limit(4096)
    assert limit >= 1300, f"RLIMIT_NOFILE hard limit too low for this test: {limit}"
    s = start_server(programs.path("select_echo_server"), "--port", "0", "--quiet")
    clients = []
    try:
        for _ in range(1100):
            clients.append(tcp_connect(s.port))
        s.wait_stderr(r"fd \d+ >= FD_SETSIZE \(1024\), select\(\) cannot watch it", timeout=5)
        served = refused = 0
        for c in clients:
            c.sendall(b"ping")
        for i, c in enumerate(clients):
            try:
                data = c.recv(4)
            except ConnectionResetError:
                data = b""
            if data == b"ping":
                served += 1
            else:
                assert data == b"", f"client {i} got {data!r}, expected b'ping' or a close"
                refused += 1
        assert refused >= 1 and served >= 1000, (
            f"of 1100 clients {served} were served and {refused} refused; expected about "
            f"1018 served (fds 6..1023) and the rest refused\n{s.explain()}")
        assert served + refused == 1100
        s.assert_alive("refusing descriptors past FD_SETSIZE")
        for c in clients:
            c.close()
        # The next client gets a descriptor below FD_SETSIZE once the server has
        # closed every client's socket (only its listener is left).
        deadline = time.monotonic() + 5
        while sockets_open(s.proc.pid) > 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert echo_once(s.port, b"after") == b"after", s.explain()
    finally:
        for c in clients:
            c.close()
        s.stop()
        s.kill()


@pytest.mark.parametrize("name", SERVERS)
def test_out_of_descriptors_pauses_accepting_without_spinning(programs, name):
    fd_limit = 64
    binary = programs.path(name)
    s = start_server(Path("/bin/sh"), "-c", f'ulimit -n {fd_limit} && exec "$0" "$@"', binary,
                     "--port", "0")
    clients = []
    try:
        for _ in range(fd_limit + 20):
            clients.append(tcp_connect(s.port))
        s.wait_stderr(r"out of file descriptors", timeout=5)
        for c in clients:
            c.sendall(b"?")

        def echoed(candidates, enough, wait=5.0):
            # The clients that get their "?" back: stops at `enough` of them, or
            # after `wait` seconds (only when the server fails).
            sel = selectors.DefaultSelector()
            for c in candidates:
                sel.register(c, selectors.EVENT_READ)
            done = set()
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and len(done) < enough:
                for key, _ in sel.select(timeout=0.05):
                    if key.fileobj.recv(1) == b"?":
                        done.add(key.fileobj)
                    sel.unregister(key.fileobj)
            sel.close()
            return done

        # Out of descriptors, the server accepts nobody more until one is free:
        # the clients it serves are those it has a socket for (its descriptors,
        # less the listener), and each of them gets its "?" back.
        accepted = sockets_open(s.proc.pid) - 1
        served = echoed(clients, accepted)
        waiting = [c for c in clients if c not in served]
        assert len(served) == accepted and served and waiting, (
            f"the server holds {accepted} clients; {len(served)} got their echo, {len(waiting)} "
            f"wait: expected both with RLIMIT_NOFILE {fd_limit}\n{s.explain()}")

        # Out of descriptors, with clients still queued: the server must idle. It
        # retries accept() after a pause: watched until it next goes to sleep, it
        # must sleep at all (a loop that spins never does), and use little CPU
        # until then (a retry, accept() failing, takes well under a millisecond).
        watched, used, slept = idle_cpu(s.proc.pid, sleeps=1, timeout=2)
        assert slept >= 1 and used < 0.02, (
            f"the server went to sleep {slept} times and used {used:.3f} s of CPU in "
            f"{watched:.2f} s while out of file descriptors: it spins on accept()\n{s.explain()}")

        # Ten clients leave: queued ones are accepted and get their echo.
        for c in list(served)[:10]:
            c.close()
        late = echoed(waiting, 10)
        assert len(late) >= 5, f"after 10 clients left, only {len(late)} queued clients were " \
                               f"served\n{s.explain()}"
        s.assert_alive()
    finally:
        for c in clients:
            c.close()
        s.stop()
        s.kill()


@pytest.mark.parametrize("name", SERVERS)
def test_bad_max_buffer_is_a_usage_error(run, name):
    result = run(name, "--max-buffer", "0").expect_status(2)
    assert result.stderr.startswith("error: "), result.explain()


@pytest.mark.parametrize("twin", ["select_echo_server.py", "poll_echo_server.py",
                                  "epoll_echo_server.py"])
def test_python_twins_echo_for_many_clients(twin):
    s = start_server(Path(sys.executable), PY / twin, "--port", "0")
    try:
        clients = [tcp_connect(s.port) for _ in range(50)]
        for i, c in enumerate(clients):
            c.sendall(f"twin {i} ".encode() * 100)
        for i, c in enumerate(clients):
            m = f"twin {i} ".encode() * 100
            assert recv_exactly(c, len(m)) == m, f"{twin}: client {i} got the wrong bytes\n" \
                                                 f"{s.explain()}"
            c.close()
        payload = os.urandom(1 << 20)
        with tcp_connect(s.port) as c:
            sender = threading.Thread(target=c.sendall, args=(payload,))
            sender.start()
            got = recv_exactly(c, len(payload))
            sender.join(5)
        assert got == payload, f"{twin}: 1 MiB came back different\n{s.explain()}"
    finally:
        s.kill()  # the twins stay minimal: Ctrl-C just kills them
