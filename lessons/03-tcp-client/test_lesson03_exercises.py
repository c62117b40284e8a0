"""Lesson 03 exercise: gbk_server (03.1). Points and hints: course.toml."""
import pytest

from course_harness import tcp_connect
from course_harness.peers import recv_exactly


def test_gbk_server_answers_in_gbk(server):
    gbk = server("gbk_server")
    expected = "你好".encode("gbk")
    with tcp_connect(gbk.port) as sock:
        sock.sendall("你好".encode())
        reply = recv_exactly(sock, len(expected))
    assert reply == expected, (
        f"sent '你好' in UTF-8: {'你好'.encode()!r}\nexpected it back in GBK: {expected!r}\n"
        f"got: {reply!r}\n{gbk.explain()}")


def test_gbk_server_is_understood_by_tcp_client_with_encoding_gbk(server, run):
    gbk = server("gbk_server")
    result = run("tcp_client", "--port", gbk.port, "--encoding", "gbk", input="中文\n").ok()
    assert result.lines == ["中文"], (
        f"tcp_client --encoding gbk sent '中文'\nexpected it to print: ['中文']\n"
        f"got: {result.lines}\n{result.explain()}\n{gbk.explain()}")


def test_gbk_server_answers_a_question_mark_to_text_gbk_cannot_write(server):
    """Text GBK has no bytes for (an emoji) is answered "?", and the client stays connected."""
    gbk = server("gbk_server")
    emoji = "😀".encode()
    with tcp_connect(gbk.port) as sock:
        sock.sendall(emoji)
        try:
            reply = sock.recv(64)
            what = repr(reply) if reply else "nothing: the server closed the connection"
        except ConnectionResetError:
            reply, what = b"", "nothing: the server reset the connection"
        except TimeoutError:
            reply, what = b"", "nothing within 5 s"
        assert reply == b"?", (
            f"sent '😀' in UTF-8: {emoji!r} (GBK has no bytes for it)\n"
            f"expected the answer: b'?' (and the connection kept open)\n"
            f"got: {what}\n{gbk.explain()}")
        expected = "你".encode("gbk")
        sock.sendall("你".encode())
        try:
            after = recv_exactly(sock, len(expected))
        except (ConnectionError, TimeoutError) as e:
            after = f"no answer ({e})"
    assert after == expected, (
        f"sent '😀' (got b'?'), then '你' in UTF-8 on the same connection\n"
        f"expected '你' back in GBK: {expected!r}\ngot: {after!r}\n{gbk.explain()}")


@pytest.mark.hidden
def test_gbk_server_keeps_ascii_as_is(server):
    gbk = server("gbk_server")
    with tcp_connect(gbk.port) as sock:
        sock.sendall(b"abc 123")
        reply = recv_exactly(sock, 7)
    assert reply == b"abc 123", f"sent b'abc 123', expected it back unchanged, got {reply!r}"
