"""Lesson 02 exercise: udp_numbered_echo (02.1). Points and hints: course.toml."""
import pytest

from course_harness import udp_socket


def ask(sock, address, payload: bytes) -> bytes | None:
    sock.settimeout(2)
    sock.sendto(payload, address)
    try:
        return sock.recvfrom(65535)[0]
    except TimeoutError:
        return None


def test_numbered_echo_numbers_the_first_reply(server):
    echo = server("udp_numbered_echo")
    with udp_socket() as client:
        reply = ask(client, echo.address, b"hello")
    assert reply == b"#1 hello", (
        f"sent b'hello' to a fresh udp_numbered_echo\nexpected the reply: b'#1 hello'\n"
        f"got:                {'nothing' if reply is None else repr(reply)}\n{echo.explain()}")


def test_numbered_echo_counts_up(server):
    echo = server("udp_numbered_echo")
    with udp_socket() as client:
        replies = [ask(client, echo.address, p) for p in (b"a", b"b", "你好".encode())]
    expected = [b"#1 a", b"#2 b", "#3 你好".encode()]
    assert replies == expected, (
        f"sent b'a', b'b', '你好' one after another\nexpected: {expected}\ngot:      {replies}\n"
        f"{echo.explain()}")


@pytest.mark.hidden
def test_numbered_echo_counts_all_clients_together(server):
    echo = server("udp_numbered_echo")
    with udp_socket() as first, udp_socket() as second:
        replies = [ask(first, echo.address, b"x"), ask(second, echo.address, b"y"),
                   ask(first, echo.address, b"")]
    assert replies == [b"#1 x", b"#2 y", b"#3 "], (
        f"two clients sent b'x', b'y', then an empty datagram\nexpected: [b'#1 x', b'#2 y', "
        f"b'#3 ']\ngot: {replies}\n{echo.explain()}")
