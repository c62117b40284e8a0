"""Lesson 12 exercise: checked_ack_receiver (12.1). Points and hints: course.toml."""
import socket

import pytest

from course_harness import tcp_connect
from course_harness.peers import recv_all

REFUSED = r"error: client 127\.0\.0\.1:{port}: .*dropping the connection"


def answer_to(sock: socket.socket, length: bytes) -> bytes:
    """Sends the length alone (as ack_sender does) and returns the receiver's
    whole answer: b'ok', or b'error' (read until 2 bytes that are not b'er')."""
    sock.sendall(length)
    sock.settimeout(3)
    answer = b""
    try:
        while len(answer) < 2 or (answer.startswith(b"er") and len(answer) < 5):
            chunk = sock.recv(5 - len(answer))
            if not chunk:
                break
            answer += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return answer


def refused(receiver, length: bytes) -> tuple[bytes, bytes]:
    """(answer, what came after it) for one client that sends only `length`."""
    with tcp_connect(receiver.port) as sock:
        answer = answer_to(sock, length)
        try:
            after = recv_all(sock, timeout=3)
        except (TimeoutError, ConnectionResetError):
            after = b"(nothing: the connection stayed open)"
        port = sock.getsockname()[1]
    if answer == b"error":
        receiver.wait_stderr(REFUSED.format(port=port))
    return answer, after


def test_checked_ack_accepts_a_length_in_digits(server):
    receiver = server("checked_ack_receiver")
    answers = []
    with tcp_connect(receiver.port) as sock:
        for length, body in ((b"5", b"hello"), (b"12", "你好 world".encode()), (b"0", b"")):
            answers.append(answer_to(sock, length))
            if answers[-1] != b"ok":
                break
            sock.sendall(body)
    assert answers == [b"ok", b"ok", b"ok"], (
        f"sent the lengths b'5', b'12', b'0' (each body after its answer)\n"
        f"expected the answers [b'ok', b'ok', b'ok']\ngot: {answers}\n{receiver.explain()}")
    got = receiver.lines_until(3)
    assert got == ["message #1 (5 bytes): hello", "message #2 (12 bytes): 你好 world",
                   "message #3 (0 bytes): "], receiver.explain()


def test_checked_ack_answers_error_to_a_length_that_is_not_digits(server):
    receiver = server("checked_ack_receiver")
    for bad in (b"abc", b"5x", b" 5", b"+5", b"-1", b"hello world"):
        answer, after = refused(receiver, bad)
        assert (answer, after) == (b"error", b""), (
            f"sent the length {bad!r} (not only ASCII digits)\nexpected the answer b'error', "
            f"then the connection closed\ngot the answer {answer!r}, then {after!r}\n"
            f"{receiver.explain()}")
    with tcp_connect(receiver.port) as sock:  # and the receiver goes on
        answer = answer_to(sock, b"2")
        if answer == b"ok":
            sock.sendall(b"hi")
    assert answer == b"ok", (
        f"after refusing six bad lengths, a new client sent b'2'\nexpected the answer b'ok'\n"
        f"got: {answer!r}\n{receiver.explain()}")
    assert receiver.next_line() == "message #1 (2 bytes): hi", receiver.explain()


def test_checked_ack_refuses_a_length_over_max_size(server):
    receiver = server("checked_ack_receiver", "--max-size", 10)
    with tcp_connect(receiver.port) as sock:
        answer = answer_to(sock, b"10")
        if answer == b"ok":
            sock.sendall(b"0123456789")
    assert answer == b"ok", (
        f"checked_ack_receiver --max-size 10, sent the length b'10'\nexpected b'ok' (10 is "
        f"allowed)\ngot: {answer!r}\n{receiver.explain()}")
    assert receiver.next_line() == "message #1 (10 bytes): 0123456789", receiver.explain()
    answer, after = refused(receiver, b"11")
    assert (answer, after) == (b"error", b""), (
        f"checked_ack_receiver --max-size 10, sent the length b'11'\nexpected the answer "
        f"b'error', then the connection closed\ngot {answer!r}, then {after!r}\n"
        f"{receiver.explain()}")


def test_checked_ack_checks_the_limit_while_reading_the_digits(server):
    """The limit is checked digit by digit: a 20-digit length that wraps round to a
    small number in 64 bits (2^64 + 5 becomes 5) still gets `error`; a real 5 gets `ok`."""
    receiver = server("checked_ack_receiver")
    wraps = b"18446744073709551621"  # 2**64 + 5
    answer, after = refused(receiver, wraps)
    assert (answer, after) == (b"error", b""), (
        f"sent the length {wraps!r} (2**64 + 5, far over the default --max-size of "
        f"1048576;\nbuilt in a 64-bit value without checking on the way it wraps round to 5)\n"
        f"expected the answer b'error', then the connection closed\n"
        f"got {answer!r}, then {after!r}\n{receiver.explain()}")
    with tcp_connect(receiver.port) as sock:  # a real 5 is fine
        answer = answer_to(sock, b"5")
        if answer == b"ok":
            sock.sendall(b"hello")
    assert answer == b"ok", (
        f"after refusing {wraps!r}, a new client sent the length b'5'\n"
        f"expected the answer b'ok'\ngot: {answer!r}\n{receiver.explain()}")
    assert receiver.next_line() == "message #1 (5 bytes): hello", receiver.explain()


@pytest.mark.hidden
def test_checked_ack_refuses_huge_lengths_without_trying_them(server):
    receiver = server("checked_ack_receiver")
    for huge in (b"1048577", b"4294967296", b"99999999999999999999",
                 b"18446744073709551617", b"9" * 32):
        answer, after = refused(receiver, huge)
        assert (answer, after) == (b"error", b""), (
            f"sent the length {huge!r} (over the default --max-size of 1048576)\nexpected the "
            f"answer b'error', then the connection closed\ngot {answer!r}, then {after!r}\n"
            f"{receiver.explain()}")
    receiver.assert_alive("the huge lengths")
    with tcp_connect(receiver.port) as sock:
        answers = [answer_to(sock, b"1048576")]
        if answers[0] == b"ok":
            sock.sendall(b"z" * 1048576)
            answers.append(answer_to(sock, b"007"))
            sock.sendall(b"leading")
    assert answers == [b"ok", b"ok"], (
        f"sent b'1048576' (exactly --max-size) and then b'007'\nexpected [b'ok', b'ok']\n"
        f"got: {answers}\n{receiver.explain()}")
    line = receiver.next_line()
    assert line == "message #1 (1048576 bytes): " + "z" * 1048576, (
        f"sent a body of 1048576 bytes of b'z'\ngot the line {line[:60]!r}... "
        f"({len(line)} characters)")
    assert receiver.next_line() == "message #2 (7 bytes): leading", receiver.explain()
