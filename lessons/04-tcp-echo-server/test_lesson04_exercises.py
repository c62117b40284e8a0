"""Lesson 04 exercise: upper_echo_server (04.1). Points and hints: course.toml."""
import pytest

from course_harness import tcp_connect
from course_harness.peers import recv_exactly


def round_trip(port: int, payload: bytes) -> bytes:
    with tcp_connect(port) as sock:
        sock.sendall(payload)
        return recv_exactly(sock, len(payload))


def test_upper_echo_capitalises_letters(server):
    echo = server("upper_echo_server")
    reply = round_trip(echo.port, b"hello, world 42")
    assert reply == b"HELLO, WORLD 42", (
        f"sent b'hello, world 42'\nexpected: b'HELLO, WORLD 42'\ngot:      {reply!r}\n"
        f"{echo.explain()}")


def test_upper_echo_serves_one_client_after_another(server):
    echo = server("upper_echo_server")
    replies = [round_trip(echo.port, b"one"), round_trip(echo.port, b"Two")]
    assert replies == [b"ONE", b"TWO"], (
        f"two clients, one after the other, sent b'one' and b'Two'\n"
        f"expected: [b'ONE', b'TWO']\ngot: {replies}\n{echo.explain()}")


def test_upper_echo_changes_only_a_to_z(server):
    """Only 'a'..'z' change: the bytes after 'z' ({|}~ and DEL) and around the letters stay."""
    echo = server("upper_echo_server")
    payload = b"az {|}~\x7f `@[ AZ"
    expected = b"AZ {|}~\x7f `@[ AZ"
    reply = round_trip(echo.port, payload)
    changed = [f"{chr(a)!r} -> {chr(b)!r}" for a, b in zip(expected, reply) if a != b]
    assert reply == expected, (
        f"sent {payload!r}\nexpected: {expected!r} (only a..z become capitals)\n"
        f"got:      {reply!r}\nchanged that should not (or unchanged that should): "
        f"{', '.join(changed)}\n{echo.explain()}")


@pytest.mark.hidden
def test_upper_echo_leaves_other_bytes_alone(server):
    echo = server("upper_echo_server")
    payload = "abc 你好 É xyz".encode() + bytes([0xff, 0x00])
    reply = round_trip(echo.port, payload)
    expected = "ABC 你好 É XYZ".encode() + bytes([0xff, 0x00])
    assert reply == expected, f"sent {payload!r}\nexpected: {expected!r}\ngot: {reply!r}"
