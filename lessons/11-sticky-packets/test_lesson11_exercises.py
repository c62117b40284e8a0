"""Lesson 11 exercise: line_receiver (11.1). Points and hints: course.toml."""
import queue
import socket
import time

import pytest

from course_harness import tcp_connect
from course_harness.peers import recv_all

CLOSED = r"client 127\.0\.0\.1:{port}\b[^\n]*(closed the connection|dropping the connection)"


def send_pieces(port: int, pieces: list[bytes], pause: float = 0.02) -> int:
    """Connects, sends each piece on its own (TCP_NODELAY, a pause between them),
    closes; returns the client's own port, which the receiver's log names."""
    with tcp_connect(port) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(pause)
        return sock.getsockname()[1]


def printed_for(receiver, client_port: int, expected: int) -> list[str]:
    """The stdout lines the receiver printed for one client: waits until its log
    says that client is gone (it prints that after the client's messages), and
    until every line it wrote before is read, then takes them (at most
    expected + 1)."""
    receiver.wait_stderr(CLOSED.format(port=client_port))
    receiver.stdout.wait_caught_up()
    lines = []
    for _ in range(expected + 1):
        try:
            lines.append(receiver.stdout.lines.get_nowait())
        except queue.Empty:
            break
    return lines


def test_line_receiver_cuts_merged_lines_apart(server):
    receiver = server("line_receiver")
    sent = [b"one\ntwo\nthree\n"]
    client = send_pieces(receiver.port, sent)
    got = printed_for(receiver, client, 3)
    expected = ["message #1 (3 bytes): one", "message #2 (3 bytes): two",
                "message #3 (5 bytes): three"]
    assert got == expected, (
        f"sent {sent[0]!r} in ONE send (three lines stuck together)\n"
        f"expected the receiver to print: {expected}\ngot: {got}\n{receiver.explain()}")


def test_line_receiver_joins_split_lines(server):
    receiver = server("line_receiver", "--bufsize", 3)
    sent = [b"hel", b"lo\nwor", b"ld\n", "你".encode(), "好\n".encode(), b"\n", b"x\nlast"]
    client = send_pieces(receiver.port, sent)
    got = printed_for(receiver, client, 5)
    expected = ["message #1 (5 bytes): hello", "message #2 (5 bytes): world",
                "message #3 (6 bytes): 你好", "message #4 (0 bytes): ", "message #5 (1 bytes): x"]
    assert got == expected, (
        f"sent these pieces, one send each, to line_receiver --bufsize 3: {sent}\n"
        f"expected (b'last' has no newline: not a message): {expected}\ngot: {got}\n"
        f"{receiver.explain()}")
    receiver.wait_stderr(r"middle of a line \(4 bytes")


def test_line_receiver_serves_the_next_client_with_a_new_count(server):
    receiver = server("line_receiver")
    got = []
    for text in (b"first\nclient\n", b"second\n"):
        client = send_pieces(receiver.port, [text])
        got += printed_for(receiver, client, text.count(b"\n"))
    expected = ["message #1 (5 bytes): first", "message #2 (6 bytes): client",
                "message #1 (6 bytes): second"]
    assert got == expected, (
        f"two clients one after another sent b'first\\nclient\\n' and b'second\\n'\n"
        f"expected (the count restarts for each client): {expected}\ngot: {got}\n"
        f"{receiver.explain()}")


@pytest.mark.hidden
def test_line_receiver_drops_a_client_whose_line_is_too_long(server):
    receiver = server("line_receiver", "--max-line", 10)
    client = send_pieces(receiver.port, [b"0123456789\n" + b"x" * 11 + b"\nnever\n"])
    got = printed_for(receiver, client, 1)
    assert got == ["message #1 (10 bytes): 0123456789"], (
        f"--max-line 10, sent b'0123456789\\n' + 11 x's + b'\\nnever\\n'\nexpected only the "
        f"10-byte line printed, then the client dropped\ngot: {got}\n{receiver.explain()}")
    receiver.wait_stderr(r"error: client 127\.0\.0\.1:\d+: .*--max-line")

    # No newline at all: the receiver must not keep it all.
    with tcp_connect(receiver.port) as sock:
        try:
            sock.sendall(b"y" * 200_000)
            rest = recv_all(sock, timeout=3)
        except (ConnectionResetError, BrokenPipeError):
            rest = b""
    assert rest == b"", f"the receiver sent {rest[:40]!r}; it should just drop the client"
    receiver.wait_stderr(r"(?s)--max-line.*--max-line")  # a second drop, for the second client

    client = send_pieces(receiver.port, [b"fine\n"])
    got = printed_for(receiver, client, 1)
    assert got == ["message #1 (4 bytes): fine"], (
        f"after dropping two clients, the next one sent b'fine\\n'\ngot: {got}\n"
        f"{receiver.explain()}")
