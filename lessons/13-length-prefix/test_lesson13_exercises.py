"""Lesson 13 exercise: framed_echo_server (13.1). Points and hints: course.toml."""
import socket
import struct
import threading
import time

import pytest

from course_harness import tcp_connect
from course_harness.peers import recv_all


def frame(payload: bytes) -> bytes:
    return struct.pack("!I", len(payload)) + payload


def hex_bytes(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data) or "(none)"


def recv_exactly(sock: socket.socket, n: int, timeout: float = 5) -> bytes:
    """Exactly n bytes (into one buffer: fast for big frames too)."""
    sock.settimeout(timeout)
    data = bytearray(n)
    view, got = memoryview(data), 0
    while got < n:
        count = sock.recv_into(view[got:])
        if not count:
            raise ConnectionError(f"peer closed after {got} of {n} bytes")
        got += count
    return bytes(data)


def read_reply(sock: socket.socket, limit: int = 1 << 26) -> tuple[bytes, bytes]:
    """(header, payload) of one reply frame; the payload is b'' when the header
    announces something absurd (over `limit`) or the connection ends early."""
    header = recv_exactly(sock, 4)
    (length,) = struct.unpack("!I", header)
    if length > limit:
        return header, b""
    try:
        return header, recv_exactly(sock, length)
    except (ConnectionError, TimeoutError):
        return header, b""


def check_echo(echo, sent: list[bytes], pieces: int = 1) -> None:
    """Sends the frames (stuck together, then cut into `pieces` sends) and checks
    every reply: the same length in a big-endian header, the payload upper-cased."""
    stream = b"".join(frame(p) for p in sent)
    with tcp_connect(echo.port) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        step = -(-len(stream) // pieces)

        def send():
            for start in range(0, len(stream), step):
                sock.sendall(stream[start:start + step])
                time.sleep(0.01)

        sender = threading.Thread(target=send, daemon=True)  # big frames: read while sending
        sender.start()
        for payload in sent:
            header, reply = read_reply(sock)
            expected = struct.pack("!I", len(payload))
            upper = payload.upper()
            assert header == expected, (
                f"sent a frame of {len(payload)} bytes: header {hex_bytes(expected)} + "
                f"{payload[:20]!r}{'...' if len(payload) > 20 else ''}\n"
                f"expected the reply header {hex_bytes(expected)} (struct.pack('!I', "
                f"{len(payload)}))\ngot the reply header {hex_bytes(header)}\n{echo.explain()}")
            assert reply == upper, (
                f"sent {payload[:40]!r}\nexpected the reply payload {upper[:40]!r}\n"
                f"got {reply[:40]!r}\n{echo.explain()}")
        sender.join(5)


def test_framed_echo_upper_cases_one_frame(server):
    echo = server("framed_echo_server")
    check_echo(echo, [b"hello"])


def test_framed_echo_answers_every_frame_with_its_own_header(server):
    echo = server("framed_echo_server")
    # 300 = 00 00 01 2c and 66051 = 00 01 02 03: each header byte has its place.
    sent = [b"", "abc 你好 xyz".encode(), b"m" * 300, bytes(range(256)) * 258 + b"end"]
    check_echo(echo, sent, pieces=7)


def test_framed_echo_serves_the_next_client(server):
    echo = server("framed_echo_server")
    check_echo(echo, [b"first client"])
    check_echo(echo, [b"Second Client", b"!"])


@pytest.mark.hidden
def test_framed_echo_big_frame_and_refused_frame(server):
    echo = server("framed_echo_server", "--max-size", 20_000_000)
    big = b"Q" * 0x01020304  # header 01 02 03 04 (upper-case already: no copy to compare)
    with tcp_connect(echo.port) as sock:
        sock.sendall(struct.pack("!I", len(big)))
        sender = threading.Thread(target=sock.sendall, args=(big,), daemon=True)
        sender.start()  # read while sending: the reply is as big as the frame
        header = recv_exactly(sock, 4)
        assert header == b"\x01\x02\x03\x04", (
            f"sent a frame of 16909060 bytes (header 01 02 03 04)\nexpected the reply header "
            f"01 02 03 04\ngot {hex_bytes(header)}\n{echo.explain()}")
        reply = recv_exactly(sock, len(big))
        sender.join(5)
    assert reply == big, f"the 16909060-byte reply is not the payload sent\n{echo.explain()}"
    with tcp_connect(echo.port) as sock:
        sock.sendall(struct.pack("!I", 20_000_001) + b"tiny")
        try:
            rest = recv_all(sock)
        except ConnectionResetError:
            rest = b""
    assert rest == b"", f"a frame over --max-size should get no reply, got {rest[:20]!r}"
    echo.wait_stderr(r"over the limit of 20000000 bytes \(--max-size\); dropping the connection")
    check_echo(echo, [b"still here"])
