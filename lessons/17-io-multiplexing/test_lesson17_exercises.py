"""Lesson 17 exercise: line_counter_server (17.1). Points and hints: course.toml."""
import socket
import time

import pytest

from course_harness import tcp_connect


def read_reply(sock: socket.socket, lines: int = 1, timeout: float = 1.0) -> bytes:
    """Reads until `lines` newlines came back (or the timeout, or the server closed)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while data.count(b"\n") < lines and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, socket.timeout, ConnectionResetError):
        pass  # no more within the timeout, or the server dropped us: return what came
    return data


def nothing_more(sock: socket.socket, wait: float = 0.2) -> bytes:
    """What else arrives within `wait` seconds (b"" if nothing)."""
    sock.settimeout(wait)
    try:
        return sock.recv(65536)
    except (TimeoutError, socket.timeout):
        return b""


def test_line_counter_server_counts_each_clients_lines(server):
    counter = server("line_counter_server")
    with tcp_connect(counter.port) as a, tcp_connect(counter.port) as b:
        script = [(a, "a", b"apple\n", b"1: apple\n"), (b, "b", b"x\n", b"1: x\n"),
                  (a, "a", b"banana\n", b"2: banana\n"), (b, "b", b"y\n", b"2: y\n"),
                  (b, "b", "你好\n".encode(), "3: 你好\n".encode()),
                  (a, "a", b"cherry\n", b"3: cherry\n")]
        for sock, who, line, expected in script:
            sock.sendall(line)
            got = read_reply(sock)
            assert got == expected, (
                f"two clients a and b took turns; client {who} sent {line!r}\n"
                f"expected the reply {expected!r} (each connection counts its own lines)\n"
                f"got: {got!r}\n{counter.explain()}")


def test_line_counter_server_waits_for_the_end_of_a_line(server):
    counter = server("line_counter_server")
    with tcp_connect(counter.port) as c:
        for piece in (b"hel", b"lo wo"):
            c.sendall(piece)
            early = nothing_more(c, 0.15)
            assert early == b"", (
                f"sent {piece!r} (no newline yet)\nexpected no reply until the line is "
                f"complete\ngot: {early!r}\n{counter.explain()}")
        c.sendall(b"rld\n")
        got = read_reply(c)
        assert got == b"1: hello world\n", (
            f"sent one line in three pieces: b'hel', b'lo wo', b'rld\\n'\n"
            f"expected one reply b'1: hello world\\n'\ngot: {got!r}\n{counter.explain()}")
        c.sendall(b"two\nthree\nfo")
        got = read_reply(c, lines=2)
        assert got == b"2: two\n3: three\n", (
            f"then sent b'two\\nthree\\nfo' in one send\nexpected b'2: two\\n3: three\\n' "
            f"(b'fo' waits for its newline)\ngot: {got!r}\n{counter.explain()}")
        c.sendall(b"ur\n\n")
        got = read_reply(c, lines=2)
        assert got == b"4: four\n5: \n", (
            f"then sent b'ur\\n\\n'\nexpected b'4: four\\n5: \\n' (an empty line is a line)\n"
            f"got: {got!r}\n{counter.explain()}")


@pytest.mark.hidden
def test_line_counter_server_drops_a_line_that_is_too_long(server):
    counter = server("line_counter_server", "--max-line", 10)
    with tcp_connect(counter.port) as good, tcp_connect(counter.port) as greedy:
        greedy.sendall(b"0123456789\n")  # exactly 10 bytes: allowed
        first = read_reply(greedy)
        greedy.sendall(b"0123456789X")  # 11 bytes and no end in sight
        rest = read_reply(greedy, timeout=1.0)
        assert first == b"1: 0123456789\n" and rest == b"", (
            f"--max-line 10: a client sent b'0123456789\\n', then b'0123456789X' with no "
            f"newline\nexpected b'1: 0123456789\\n', then the connection closed\n"
            f"got {first!r}, then {rest!r}\n{counter.explain()}")
        counter.wait_stderr(r"disconnected: 127\.0\.0\.1:\d+ \(.+\)", timeout=1)
        good.sendall(b"short\n")
        got = read_reply(good)
        assert got == b"1: short\n", (
            f"while another client was dropped, this one sent b'short\\n'\n"
            f"expected b'1: short\\n'\ngot: {got!r}\n{counter.explain()}")
        good.sendall(b"A" * 8 + b"B" * 8 + b"\n")
        closed = read_reply(good)
        assert closed == b"", (
            f"--max-line 10: then it sent a 16-byte line in one send\nexpected no reply and "
            f"the connection closed\ngot: {closed!r}\n{counter.explain()}")
    with tcp_connect(counter.port) as later:
        later.sendall(b"still here\n")
        got = read_reply(later)
    assert got == b"1: still here\n", (
        f"after dropping clients, a new client sent b'still here\\n'\ngot: {got!r}\n"
        f"{counter.explain()}")
