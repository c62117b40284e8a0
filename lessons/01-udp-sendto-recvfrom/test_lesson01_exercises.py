"""Lesson 01 exercises: udp_ack_receiver (01.1) and udp_tally_receiver (01.2).

Which test belongs to which exercise, and its points, is in course.toml.
Tests marked `hidden` are graded by the instructor only: ./course release
strips them from the student version."""
import socket

import pytest

from course_harness import udp_socket
from course_harness.process import describe_status
from course_harness.settled import datagram_reply, done_with


def ask(sock: socket.socket, receiver, payload: bytes) -> bytes | None:
    """Sends one datagram to `receiver` and returns the reply; None once the
    receiver has printed its line for the datagram and waits for the next one
    without having answered (course_harness.settled), or after 5 s."""
    with receiver.stdout.lock:
        printed = len(receiver.stdout.all)
    sock.sendto(payload, receiver.address)
    got = datagram_reply(sock, lambda: done_with(receiver, printed))
    return got[0] if got else None


# ------------------------------------------------------------------ 01.1

def ack_report(receiver, sender: socket.socket, payload: bytes, reply: bytes | None,
               expected: bytes, others: dict[str, socket.socket] | None = None,
               hint: str = "") -> str:
    """Says, in the student's terms, what was sent, what came back (and where) and
    what was expected: a reply at the sender, one that went to another socket, to the
    receiver itself, or nothing at all."""
    here = "%s:%d" % sender.getsockname()
    lines = [f"sent {payload!r} ({len(payload)} bytes) from {here} to udp_ack_receiver",
             f"expected the reply {expected!r} at the sender's address {here}"]
    if reply is not None:
        lines.append(f"got:     {reply!r}" + (f"\n{hint}" if hint else ""))
        return "\n".join(lines) + f"\n{receiver.explain()}"
    elsewhere = []
    for name, sock in (others or {}).items():
        sock.setblocking(False)
        try:
            while True:
                data, _ = sock.recvfrom(65535)
                elsewhere.append(f"{data!r} arrived at {name} %s:%d instead" % sock.getsockname())
        except BlockingIOError:
            pass
    own = f"from 127.0.0.1:{receiver.port}: "
    if any(line.startswith(own) for line in receiver.stdout.text().splitlines()):
        elsewhere.append(f"the receiver printed a datagram from its own address "
                         f"127.0.0.1:{receiver.port}: it sent the ack to itself")
    if not receiver.alive():
        lines.append(f"got:     no ack: udp_ack_receiver ended "
                     f"({describe_status(receiver.proc.returncode)}); its stderr says why")
    elif elsewhere:
        lines.append(f"got:     no ack arrived at the sender's address {here}; "
                     + "; ".join(elsewhere) + "\n(the reply goes to the address recvfrom() "
                     "filled in: `sender`, `sender_length`)")
    else:
        lines.append("got:     no ack at all (no reply reached any of the test's "
                     "sockets: is there a sendto() yet?)")
    return "\n".join(lines) + f"\n{receiver.explain()}"


def test_ack_receiver_still_prints_each_datagram(server):
    receiver = server("udp_ack_receiver")
    with udp_socket() as sender:
        sender.sendto(b"hello", receiver.address)
        line = receiver.next_line()
        expected = f"from 127.0.0.1:{sender.getsockname()[1]}: hello"
    assert line == expected, receiver.explain()


def test_ack_receiver_answers_ack_with_the_length(server):
    """Every datagram is answered with `ack N`, N its size in bytes."""
    receiver = server("udp_ack_receiver")
    with udp_socket() as sender:
        reply = ask(sender, receiver, b"hello")
        assert reply == b"ack 5", ack_report(receiver, sender, b"hello", reply, b"ack 5")


def test_ack_receiver_answers_each_sender_at_its_own_address(server):
    """The ack goes back to the address the datagram came from."""
    receiver = server("udp_ack_receiver")
    with udp_socket() as first, udp_socket() as second:
        sockets = {"the first sender": first, "the second sender": second}
        for sender, payload in ((first, b"one"), (second, b"three"), (first, b"four")):
            expected = b"ack %d" % len(payload)
            reply = ask(sender, receiver, payload)
            others = {name: s for name, s in sockets.items() if s is not sender}
            assert reply == expected, (
                "two senders took turns: the first sent b'one', the second b'three', the "
                "first b'four'\n" + ack_report(receiver, sender, payload, reply, expected, others))


def test_ack_receiver_counts_the_real_length_of_a_truncated_datagram(server):
    """N is the datagram's real size, also when it did not fit in the buffer."""
    receiver = server("udp_ack_receiver", "--bufsize", 4)
    with udp_socket() as sender:
        for payload in (b"abc", b"abcdefghij"):
            expected = b"ack %d" % len(payload)
            reply = ask(sender, receiver, payload)
            hint = ""
            if reply == b"ack 4":
                hint = ("\n4 is how much of it fitted in the 4-byte buffer (`kept`); the ack "
                        "counts the datagram's real size, which MSG_TRUNC made recvfrom() "
                        "return (`length`)")
            assert reply == expected, (
                "udp_ack_receiver --bufsize 4 (a datagram longer than 4 bytes is truncated)\n"
                + ack_report(receiver, sender, payload, reply, expected, hint=hint))


@pytest.mark.hidden
def test_ack_receiver_answers_each_sender_separately(server):
    """The ack goes back to the address the datagram came from (three senders, UTF-8)."""
    receiver = server("udp_ack_receiver")
    with udp_socket() as first, udp_socket() as second, udp_socket() as third:
        sockets = {"the first sender": first, "the second sender": second,
                   "the third sender": third}
        script = ((second, "你好".encode()), (third, b""), (first, b"one"), (second, b"x" * 300))
        for sender, payload in script:
            expected = b"ack %d" % len(payload)
            reply = ask(sender, receiver, payload)
            others = {name: s for name, s in sockets.items() if s is not sender}
            assert reply == expected, (
                "three senders took turns ('你好' is 6 bytes in UTF-8; b'' is an empty "
                "datagram)\n" + ack_report(receiver, sender, payload, reply, expected, others))


@pytest.mark.hidden
def test_ack_receiver_counts_the_real_length_of_truncated_datagrams(server):
    """N is the datagram's real size, also when it did not fit in the buffer (--bufsize 1)."""
    receiver = server("udp_ack_receiver", "--bufsize", 1)
    with udp_socket() as sender:
        for payload in (b"z", "你好, UDP".encode(), b"q" * 1500):
            expected = b"ack %d" % len(payload)
            reply = ask(sender, receiver, payload)
            assert reply == expected, (
                "udp_ack_receiver --bufsize 1 (only 1 byte of each datagram fits)\n"
                + ack_report(receiver, sender, payload, reply, expected))


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


def test_tally_receiver_counts_a_truncated_datagrams_real_size(server):
    """bytes adds up the datagrams' real sizes, also of one cut short by --bufsize."""
    receiver = server("udp_tally_receiver", "--count", 2, "--bufsize", 4)
    with udp_socket() as sender:
        for payload in (b"abcdefghij", b"xy"):
            sender.sendto(payload, receiver.address)
        lines = receiver.lines_until(3)
    receiver.expect_exit(0)
    expected = "total: 2 datagrams, 12 bytes, 1 truncated"
    assert lines[2] == expected, (
        f"sent b'abcdefghij' (10 bytes, only 4 fit) and b'xy' (2 bytes) to "
        f"udp_tally_receiver --bufsize 4 --count 2\n"
        f"expected its last line: {expected!r} (bytes counts the real size, 10 + 2,\n"
        f"                        not what fitted in the buffer, 4 + 2)\n"
        f"got:                    {lines[2]!r}\n{receiver.explain()}")


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
