"""Lesson 17 exercise: line_counter_server (17.1). Points and hints: course.toml."""
import select
import socket
import time

import pytest

from course_harness import tcp_connect
from course_harness.peers import peer_is_done


def take(sock: socket.socket, wait: float) -> bytes | None:
    """What `sock` has received, waiting at most `wait` seconds for something:
    b"" at the end (the server closed, or reset), None if nothing came."""
    if not select.select([sock], [], [], wait)[0]:
        return None
    try:
        return sock.recv(65536, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return None
    except ConnectionResetError:
        return b""


def read_reply(counter, sock: socket.socket, lines: int = 1, timeout: float = 5.0) -> bytes:
    """Reads until `lines` newlines came back, or the server closed, or it is done
    with everything it got and has sent nothing more (peer_is_done: then more
    never comes, and a server that does not answer fails at once)."""
    data = b""
    deadline = time.monotonic() + timeout
    while data.count(b"\n") < lines and time.monotonic() < deadline:
        chunk = take(sock, 0.002)
        if chunk is None and peer_is_done(counter.proc.pid, sock):
            chunk = take(sock, 0)  # what it sent before it went to sleep is here now
            if chunk is None:
                break
        if chunk == b"":
            break
        data += chunk or b""
    return data


def nothing_more(counter, sock: socket.socket, timeout: float = 5.0) -> bytes:
    """What else arrives once the server is done with everything it got (b"" if
    nothing): not a guess that an answer would come within some time, but a
    look after the server has read our bytes and gone back to sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = take(sock, 0.002)
        if chunk is None and peer_is_done(counter.proc.pid, sock):
            chunk = take(sock, 0)
            return chunk or b""
        if chunk is not None:
            return chunk  # b"" if it closed: no reply, at least
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
            got = read_reply(counter, sock)
            assert got == expected, (
                f"two clients a and b took turns; client {who} sent {line!r}\n"
                f"expected the reply {expected!r} (each connection counts its own lines)\n"
                f"got: {got!r}\n{counter.explain()}")


def test_line_counter_server_waits_for_the_end_of_a_line(server):
    counter = server("line_counter_server")
    with tcp_connect(counter.port) as c:
        for piece in (b"hel", b"lo wo"):
            c.sendall(piece)
            early = nothing_more(counter, c)
            assert early == b"", (
                f"sent {piece!r} (no newline yet)\nexpected no reply until the line is "
                f"complete\ngot: {early!r}\n{counter.explain()}")
        c.sendall(b"rld\n")
        got = read_reply(counter, c)
        assert got == b"1: hello world\n", (
            f"sent one line in three pieces: b'hel', b'lo wo', b'rld\\n'\n"
            f"expected one reply b'1: hello world\\n'\ngot: {got!r}\n{counter.explain()}")
        c.sendall(b"two\nthree\nfo")
        got = read_reply(counter, c, lines=2)
        assert got == b"2: two\n3: three\n", (
            f"then sent b'two\\nthree\\nfo' in one send\nexpected b'2: two\\n3: three\\n' "
            f"(b'fo' waits for its newline)\ngot: {got!r}\n{counter.explain()}")
        c.sendall(b"ur\n\n")
        got = read_reply(counter, c, lines=2)
        assert got == b"4: four\n5: \n", (
            f"then sent b'ur\\n\\n'\nexpected b'4: four\\n5: \\n' (an empty line is a line)\n"
            f"got: {got!r}\n{counter.explain()}")


def how_it_ended(counter, sock: socket.socket, timeout: float = 5.0) -> str:
    """Waits until the server closes the connection (or resets it): 'closed', or
    what it did instead, in words, once it is done with everything it got and
    has kept the connection open (at most `timeout` seconds)."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = take(sock, 0.002)
        if chunk is None and peer_is_done(counter.proc.pid, sock):
            chunk = take(sock, 0)
            if chunk is None:
                return "still open once it had read everything" + (
                    f", after sending {data!r}" if data else ", with no reply")
        if chunk == b"":
            return "closed" if not data else f"closed, after sending {data!r}"
        data += chunk or b""
    return (f"still open {timeout:g} s later" + (f", after sending {data!r}" if data else
                                                    ", with no reply"))


def check_dropped(counter, sock: socket.socket, sent: str, max_line: int, why: str) -> None:
    ended = how_it_ended(counter, sock)
    assert ended == "closed", (
        f"line_counter_server --max-line {max_line}: a client sent {sent}\nexpected the server "
        f"to drop it ({why}): no reply, the connection closed\ngot: {ended}\n"
        f"{counter.explain()}")


def test_line_counter_server_drops_a_line_that_grows_too_long(server):
    """A client whose line, complete or still partial, grows past --max-line bytes is
    dropped; a line of exactly --max-line bytes is fine, and the others go on."""
    counter = server("line_counter_server", "--max-line", 10)
    with tcp_connect(counter.port) as good, tcp_connect(counter.port) as partial, \
            tcp_connect(counter.port) as whole:
        good.sendall(b"0123456789\n")  # exactly 10 bytes: allowed
        got = read_reply(counter, good)
        assert got == b"1: 0123456789\n", (
            f"line_counter_server --max-line 10: a client sent b'0123456789\\n' (a line of "
            f"exactly 10 bytes)\nexpected the reply b'1: 0123456789\\n'\ngot: {got!r}\n"
            f"{counter.explain()}")
        partial.sendall(b"0123456789X")
        check_dropped(counter, partial, "b'0123456789X': 11 bytes and no newline yet", 10,
                      "its line is already longer than 10 bytes, whatever comes next: keep "
                      "it and a client that never sends a newline grows input_ forever")
        whole.sendall(b"AAAAAAAABBBBBBBB\n")
        check_dropped(counter, whole, "b'AAAAAAAABBBBBBBB\\n', a 16-byte line", 10,
                      "the line is longer than 10 bytes")
        good.sendall(b"short\n")
        got = read_reply(counter, good)
        assert got == b"2: short\n", (
            f"while two other clients were dropped, this one sent b'short\\n'\nexpected "
            f"b'2: short\\n'\ngot: {got!r}\n{counter.explain()}")


@pytest.mark.hidden
def test_line_counter_server_drops_other_lines_that_are_too_long(server):
    """A client whose line, complete or still partial, grows past --max-line bytes is
    dropped (other limit, a line that grows piece by piece)."""
    counter = server("line_counter_server", "--max-line", 4)
    with tcp_connect(counter.port) as grower, tcp_connect(counter.port) as mixed:
        for piece in (b"ab", b"cd"):  # 4 bytes so far: still allowed
            grower.sendall(piece)
        grower.sendall(b"\n")
        got = read_reply(counter, grower)
        assert got == b"1: abcd\n", (
            f"--max-line 4: a client sent b'ab', b'cd', b'\\n'\nexpected b'1: abcd\\n'\n"
            f"got: {got!r}\n{counter.explain()}")
        grower.sendall(b"xyz")
        grower.sendall(b"zy")
        check_dropped(counter, grower, "b'xyz', then b'zy' (5 bytes, no newline)", 4,
                      "its line is already longer than 4 bytes")
        mixed.sendall(b"ok\n")
        got = read_reply(counter, mixed)
        assert got == b"1: ok\n", (
            f"--max-line 4: a client sent b'ok\\n'\nexpected b'1: ok\\n'\ngot: {got!r}\n"
            f"{counter.explain()}")
        mixed.sendall(b"Q" * 20 + b"\n")
        check_dropped(counter, mixed, "b'ok\\n', then a 20-byte line", 4,
                      "the second line is longer than 4 bytes")
    with tcp_connect(counter.port) as later:
        later.sendall(b"fine\n")
        got = read_reply(counter, later)
    assert got == b"1: fine\n", (
        f"after dropping clients, a new client sent b'fine\\n'\nexpected b'1: fine\\n'\n"
        f"got: {got!r}\n{counter.explain()}")
