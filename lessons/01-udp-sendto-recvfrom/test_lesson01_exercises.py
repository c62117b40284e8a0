"""Lesson 01 exercises: udp_ack_receiver (01.1) and udp_tally_receiver (01.2).

Which test belongs to which exercise, and its points, is in course.toml.
Tests marked `hidden` are graded by the instructor only: ./course release
strips them from the student version."""
import socket

import pytest

from course_harness import udp_socket


def ask(sock: socket.socket, address, payload: bytes, wait: float = 2.0) -> bytes | None:
    """Sends one datagram and returns the reply, or None if none came within `wait` s."""
    sock.settimeout(wait)
    sock.sendto(payload, address)
    try:
        return sock.recvfrom(65535)[0]
    except socket.timeout:
        return None


# ------------------------------------------------------------------ 01.1

def test_ack_receiver_still_prints_each_datagram(server):
    receiver = server("udp_ack_receiver")
    with udp_socket() as sender:
        sender.sendto(b"hello", receiver.address)
        line = receiver.next_line()
        expected = f"from 127.0.0.1:{sender.getsockname()[1]}: hello"
    assert line == expected, receiver.explain()


def test_ack_receiver_answers_ack_with_the_length(server):
    receiver = server("udp_ack_receiver")
    with udp_socket() as sender:
        reply = ask(sender, receiver.address, b"hello")
    assert reply == b"ack 5", (
        f"sent the datagram b'hello' to udp_ack_receiver\n"
        f"expected the reply: b'ack 5' (within 2 s, to the sender's address)\n"
        f"got:                {'nothing' if reply is None else repr(reply)}\n"
        f"{receiver.explain()}")


@pytest.mark.hidden
def test_ack_receiver_answers_each_sender_separately(server):
    receiver = server("udp_ack_receiver")
    with udp_socket() as first, udp_socket() as second:
        replies = (ask(first, receiver.address, b"one"), ask(second, receiver.address, "你好".encode()))
    assert replies == (b"ack 3", b"ack 6"), (
        f"two senders sent b'one' and '你好' (6 bytes in UTF-8)\n"
        f"expected each to get its own reply: (b'ack 3', b'ack 6')\ngot: {replies}\n"
        f"{receiver.explain()}")


@pytest.mark.hidden
def test_ack_receiver_counts_the_real_length_of_a_truncated_datagram(server):
    receiver = server("udp_ack_receiver", "--bufsize", 4)
    with udp_socket() as sender:
        reply = ask(sender, receiver.address, b"abcdefghij")
    assert reply == b"ack 10", (
        f"sent 10 bytes to a receiver with --bufsize 4\nexpected: b'ack 10' (the datagram's "
        f"real size)\ngot: {reply!r}\n{receiver.explain()}")


# ------------------------------------------------------------------ 01.2

def test_tally_receiver_still_prints_each_datagram(server):
    receiver = server("udp_tally_receiver")
    with udp_socket() as sender:
        sender.sendto(b"abc", receiver.address)
        assert receiver.next_line().endswith(": abc"), receiver.explain()


def test_tally_receiver_prints_the_total_after_count(server):
    receiver = server("udp_tally_receiver", "--count", 2)
    with udp_socket() as sender:
        sender.sendto(b"abc", receiver.address)
        sender.sendto(b"hello", receiver.address)
        lines = receiver.lines_until(3)
    receiver.expect_exit(0)
    assert lines[2] == "total: 2 datagrams, 8 bytes, 0 truncated", (
        f"sent b'abc' and b'hello' to udp_tally_receiver --count 2\n"
        f"expected its last line: 'total: 2 datagrams, 8 bytes, 0 truncated'\n"
        f"got:                    {lines[2]!r}\n{receiver.explain()}")


def test_tally_receiver_prints_the_total_on_sigterm(server):
    receiver = server("udp_tally_receiver")
    with udp_socket() as sender:
        sender.sendto(b"four", receiver.address)
        receiver.next_line()
    receiver.stop()
    last = receiver.stdout.all[-1]
    assert last == "total: 1 datagrams, 4 bytes, 0 truncated", (
        f"sent b'four', then SIGTERM\nexpected the last line: "
        f"'total: 1 datagrams, 4 bytes, 0 truncated'\ngot: {last!r}\n{receiver.explain()}")


@pytest.mark.hidden
def test_tally_receiver_counts_truncated_and_empty_datagrams(server):
    receiver = server("udp_tally_receiver", "--count", 3, "--bufsize", 4)
    with udp_socket() as sender:
        for payload in (b"abcdefghij", b"", b"xy"):
            sender.sendto(payload, receiver.address)
        lines = receiver.lines_until(4)
    receiver.expect_exit(0)
    assert lines[3] == "total: 3 datagrams, 12 bytes, 1 truncated", (
        f"sent 10 bytes, an empty datagram and 2 bytes to --bufsize 4 --count 3\n"
        f"expected: 'total: 3 datagrams, 12 bytes, 1 truncated'\ngot: {lines[3]!r}\n"
        f"{receiver.explain()}")
