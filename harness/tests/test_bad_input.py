"""The bad-input matrix: every server in the course against every kind of
misbehaving client. After each case the server must still be alive, still
serve a well-behaved client correctly, and be back to its idle fd and thread
counts. The servers and their well-behaved clients are in
harness/course_harness/catalog.py."""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path

import pytest

from course_harness.catalog import FILE_BODY, NOT_IN_MATRIX, SECRET, SERVERS, ServerSpec, make_root
from course_harness.peers import reset
from course_harness.wire import SYSCALLS, where_waits

MAX_FRAME = 1 << 20  # framed servers' default --max-size


# ---------------------------------------------------------------- what a bad client does
# Each case gets (address, spec) and returns the bytes the server sent back (or b"").

def _connect(address, timeout=5):
    return socket.create_connection(address, timeout=timeout)


def _send_then_close(payload: bytes):
    def case(address, spec):
        with _connect(address) as s:
            try:
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
                return _drain(s, timeout=3)
            except OSError:  # the server may drop us mid-send: that is allowed
                return b""
    return case


def _drain(s: socket.socket, timeout: float) -> bytes:
    s.settimeout(timeout)
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
            if len(data) > 64 << 20:
                break
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def connect_and_close(address, spec):
    _connect(address).close()
    return b""


def idle(address, spec, seconds=0.2, good_client=None, server=None):
    # What is checked is that others are served while this client holds its
    # connection and says nothing (a concurrent server), and that the server
    # is back to its idle state once it goes (every server): neither needs a
    # long silence, so the connection stays open only a moment longer.
    with _connect(address):
        if good_client and spec.concurrent:
            good_client()  # a concurrent server must serve others meanwhile
        time.sleep(seconds)
    return b""


def slowloris(address, spec, good_client=None, server=None):
    with _connect(address) as s:
        for byte in b"GET":  # a trickle: one byte at a time, a pause between them
            try:
                s.send(bytes([byte]))
            except OSError:
                break
            if good_client and spec.concurrent and byte == ord("E"):
                good_client()
            time.sleep(0.1)
    return b""


def reset_mid_message(address, spec):
    s = _connect(address)
    s.sendall(PARTIAL_MESSAGE.get(spec.protocol, b"half a mess"))
    time.sleep(0.05)
    reset(s)
    return b""


PARTIAL_MESSAGE = {
    "framed": struct.pack("!I", 100) + b"only ten b",
    "json": struct.pack("!I", 100) + b'{"op": "l',
    "ack": b"10",
    "http": b"GET /good.txt HTT",
}

HALF_CLOSE_REQUEST = {
    "bytes": (b"half-closed", lambda reply: reply == b"half-closed"),
    "text": (b"hello", lambda reply: len(reply) > 0),
    "file-name": (b"good.txt", lambda reply: reply == FILE_BODY),
    "ack": (b"5", lambda reply: reply == b"ok"),
    "framed": (struct.pack("!I", 2) + b"hi", lambda reply: reply == b""),
    "json": (struct.pack("!I", 12) + b'{"op": "ls"}', lambda reply: b'"ok"' in reply),
    "http": (b"GET /good.txt HTTP/1.1\r\nHost: x\r\n\r\n",
             lambda reply: reply.startswith(b"HTTP/1.1 200")),
    "lines": (b"bye all\n", lambda reply: True),
}


def half_close(address, spec):
    request, expected = HALF_CLOSE_REQUEST[spec.protocol]
    with _connect(address) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)  # "I am done sending", but still listening
        reply = _drain(s, timeout=3)
    assert expected(reply), (f"sent {request[:60]!r} then shut down writing; "
                             f"the reply was {reply[:200]!r}")
    return reply


GENERIC = {
    "connect-close": connect_and_close,
    "idle": idle,
    "slowloris": slowloris,
    "reset-mid-message": reset_mid_message,
    "half-close": half_close,
    "random-1MiB": _send_then_close(os.urandom(1 << 20)),
    "invalid-utf8": _send_then_close(b"\xff\xfe\xfd bad \xc3\x28 bytes\n"),
    "nul-bytes": _send_then_close(b"a\0b\0\0c\n"),
    "64KiB-line": _send_then_close(b"x" * 65536 + b"\n"),
}

FRAMED = {
    "header-0": _send_then_close(struct.pack("!I", 0)),
    "header-1": _send_then_close(struct.pack("!I", 1) + b"x"),
    "header-max+1": _send_then_close(struct.pack("!I", MAX_FRAME + 1) + b"x" * 100),
    "header-0xFFFFFFFF": _send_then_close(struct.pack("!I", 0xFFFFFFFF) + b"x" * 100),
    "header-promises-more": _send_then_close(struct.pack("!I", 1000) + b"only this"),
}


def _json(body: bytes):
    return _send_then_close(struct.pack("!I", len(body)) + body)


JSON = {
    "json-malformed": _json(b'{"op": "ls"'),
    "json-wrong-types": _json(b'{"op": 5, "name": ["x"], "size": "big"}'),
    "json-missing-fields": _json(b'{"op": "get"}'),
    "json-not-an-object": _json(b'["ls"]'),
    "json-10MiB-header": _send_then_close(struct.pack("!I", 10 << 20) + b"{" * 65536),
}

FILE_NAMES = {
    "name-dotdot": b"../secret.txt",
    "name-absolute": b"/etc/passwd",
    "name-symlink-out": b"escape.txt",
    "name-with-nul": b"good.txt\0../secret.txt",
    "name-too-long": b"a" * 5000,
    "name-directory": b"sub",
}


def _file_case(name: bytes):
    def case(address, spec):
        if spec.protocol == "file-name":
            return _send_then_close(name)(address, spec)
        if spec.protocol == "json":
            header = ('{"op": "get", "name": %s}' % _json_string(name)).encode()
            return _send_then_close(struct.pack("!I", len(header)) + header)(address, spec)
        if spec.protocol == "http":
            path = b"/" + name.replace(b"\0", b"%00")
            if name.startswith(b"/"):
                path = name
            return _send_then_close(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n"
                                    b"Connection: close\r\n\r\n")(address, spec)
        raise AssertionError(spec.protocol)
    return case


def _json_string(name: bytes) -> str:
    import json
    return json.dumps(name.decode("utf-8", errors="replace"))


def cases_for(spec: ServerSpec) -> dict:
    if spec.kind == "datagram":
        return DATAGRAM
    cases = dict(GENERIC)
    if spec.protocol in ("framed", "json"):
        cases.update(FRAMED)
    if spec.protocol == "json":
        cases.update(JSON)
    if spec.needs_root_dir:
        cases.update({k: _file_case(v) for k, v in FILE_NAMES.items()})
    return cases


# ---------------------------------------------------------------- datagram cases

def _datagram(payload: bytes):
    def case(address, spec):
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.sendto(payload, address)
        time.sleep(0.05)
        return b""
    return case


DATAGRAM = {
    "empty-datagram": _datagram(b""),
    "largest-datagram": _datagram(os.urandom(65507)),
    "invalid-utf8": _datagram(b"\xff\xfe bad \xc3\x28"),
    "nul-bytes": _datagram(b"a\0b\0c"),
}


# ---------------------------------------------------------------- the matrix

def matrix():
    for spec in SERVERS:
        for name in cases_for(spec):
            yield pytest.param(spec, name, id=f"{spec.program}-{name}")


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def busy_thread_count(pid: int) -> int:
    """Threads that are not parked: a worker that a thread pool keeps for the next
    client (lesson 15's servers keep one 2 s) waits on a futex, holding nothing;
    a thread still busy with a connection waits in recv(), poll() or the like
    (and holds the connection's fd, which fd_count sees too)."""
    busy = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            number = (task / "syscall").read_text().split()[0]
        except (OSError, IndexError):
            continue  # gone meanwhile
        if not (number.isdigit() and SYSCALLS.get(int(number)) == "futex"):
            busy += 1
    return busy


def steady_counts(pid: int) -> tuple[int, int]:
    """fd and busy-thread counts once they stop changing (a closed client's fd
    may take a moment to be released)."""
    last = (fd_count(pid), busy_thread_count(pid))
    for _ in range(20):
        time.sleep(0.03)
        now = (fd_count(pid), busy_thread_count(pid))
        if now == last:
            return now
        last = now
    return last


def settle(pid: int, idle_fds: int, idle_threads: int, timeout: float = 3) -> tuple[int, int]:
    """The counts once both are back at (or below) the idle ones, or after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        now = fd_count(pid), busy_thread_count(pid)
        if (now[0] <= idle_fds and now[1] <= idle_threads) or time.monotonic() > deadline:
            return now
        time.sleep(0.02)


@pytest.mark.parametrize("spec,case", matrix())
def test_server_survives(spec: ServerSpec, case: str, server, tmp_path):
    args = list(spec.args)
    if spec.needs_root_dir:
        args += ["--root", make_root(tmp_path)]
    srv = server(spec.program, *args)
    pid = srv.proc.pid
    good = lambda: spec.good_client(srv.host, srv.port, srv)  # noqa: E731

    good()  # warm up: the server works before we attack it
    idle_fds, idle_threads = steady_counts(pid)

    attack = cases_for(spec)[case]
    if attack in (idle, slowloris):
        reply = attack(srv.address, spec, good_client=good, server=srv)
    else:
        reply = attack(srv.address, spec)
    assert SECRET.encode() not in reply, f"{case}: the server sent a file outside its root"

    srv.assert_alive(after=case)
    while not srv.stdout.lines.empty():  # forget what the attack made it print
        srv.stdout.lines.get_nowait()
    try:
        good()
    except (AssertionError, OSError) as e:
        pytest.fail(f"after {case}, {spec.program} no longer serves a well-behaved client: {e}\n"
                    f"{srv.explain()}", pytrace=False)

    fds, threads = settle(pid, idle_fds, idle_threads)
    assert fds <= idle_fds, f"after {case}, {spec.program} holds {fds} fds (idle: {idle_fds})"
    assert threads <= idle_threads, (
        f"after {case}, {spec.program} has {threads} threads busy, not parked (idle: "
        f"{idle_threads})\n{where_waits(pid)}")


def test_every_server_program_is_covered(programs):
    """A new server must join the matrix (catalog.py) or say why not."""
    covered = {spec.program for spec in SERVERS} | set(NOT_IN_MATRIX)
    servers = {p.name for p in programs.bin_dir.iterdir()
               if p.name.endswith(("_server", "_receiver", "_listener")) or
               p.name in ("slow_reader",)}
    missing = sorted(servers - covered)
    assert not missing, f"servers not in the bad-input matrix: {missing}"
