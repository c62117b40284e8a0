"""Lesson 21 exercise: discovery_responder (21.1). Points and hints: course.toml.

On the host only loopback unicast is used. The real broadcast goes only inside a
private LAN of network namespaces the test builds (as in test_lesson21.py)."""

from __future__ import annotations

import re
import socket
import sys
import time
from pathlib import Path

import pytest

from course_harness import start_server, udp_socket
from course_harness.netns import Lan, unavailable_reason
from course_harness.settled import GRACE, datagram_reply, waiting_for_input

def logged_about(program, address: str) -> bool:
    """The program has printed a line on stderr naming `address` ("HOST:PORT")."""
    return re.search(rf"{re.escape(address)}(?!\d)", program.stderr.text()) is not None


def done_with(address: str, *programs) -> bool:
    """Each program has logged a line about the datagram from `address` and waits
    for the next one again: what it sends for that datagram is sent."""
    return all(logged_about(p, address) and waiting_for_input(p.proc.pid) for p in programs)


def ask(sock: socket.socket, responder, payload: bytes, wait: float = 5.0):
    """Sends `payload` to the responder and returns (reply, from), or None if nothing
    came: within `wait` seconds, or sooner, GRACE seconds after the responder has
    logged the datagram and gone back to waiting (a stub that never answers fails
    at once, not after `wait`)."""
    sock.sendto(payload, responder.address)
    asked_from = "%s:%d" % sock.getsockname()
    return datagram_reply(sock, lambda: done_with(asked_from, responder), wait)


def nothing_waiting(sock: socket.socket) -> bytes | None:
    """The datagram already waiting at `sock`, if any (without waiting)."""
    sock.setblocking(False)
    try:
        return sock.recvfrom(65536)[0]
    except BlockingIOError:
        return None
    finally:
        sock.settimeout(5)


def test_discovery_answers_discover(server):
    responder = server("discovery_responder", "--name", "alpha")
    with udp_socket() as client:
        got = ask(client, responder, b"DISCOVER")
    assert got is not None and got[0] == b"HERE alpha", (
        f"sent b'DISCOVER' to discovery_responder --name alpha\nexpected the reply b'HERE alpha'\n"
        f"got: {'nothing' if got is None else repr(got[0])}\n{responder.explain()}")
    assert got[1] == responder.address, \
        f"the reply came from {got[1]}, not from the responder's {responder.address}"
    unnamed = server("discovery_responder")  # the name defaults to the host name
    with udp_socket() as client:
        got = ask(client, unnamed, b"DISCOVER")
    want = b"HERE " + socket.gethostname().encode()
    assert got is not None and got[0] == want, (
        f"sent b'DISCOVER' to a discovery_responder without --name\nexpected {want!r} (the "
        f"host name)\ngot: {'nothing' if got is None else repr(got[0])}\n"
        f"{unnamed.explain()}")


def test_discovery_replies_to_each_sender_only(server):
    responder = server("discovery_responder", "--name", "beta")
    with udp_socket() as first, udp_socket() as second, udp_socket() as later:
        got_first = ask(first, responder, b"DISCOVER")
        got_second = ask(second, responder, b"DISCOVER") if got_first else None
        # A third socket asks too. The responder takes datagrams in order: once this
        # answer is back, anything it sent `first` while answering `second` is there.
        got_later = ask(later, responder, b"DISCOVER") if got_second else None
        extra = nothing_waiting(first)
    replies = [None if g is None else g[0] for g in (got_first, got_second, got_later)]
    assert replies == [b"HERE beta"] * 3 and extra is None, (
        f"three sockets each sent b'DISCOVER'\nexpected each to get one b'HERE beta' (a reply "
        f"goes to the one sender that asked)\ngot: {replies}, and the first socket also got "
        f"{extra!r}\n{responder.explain()}")


# ------------------------------------------------------------------ a real broadcast

DISCOVER = """
import socket, sys
target, port, expected = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
asker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
asker.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
asker.bind(("0.0.0.0", 0))
print("asking from port", asker.getsockname()[1], flush=True)
asker.sendto(b"DISCOVER", (target, port))
asker.settimeout(5)
heard = []
while len(heard) < expected:  # the expected number of answers (at most 5 s each)
    data, sender = asker.recvfrom(65536)
    print(sender[0], repr(data), flush=True)
    heard.append(sender[0])
# Then each one that answered is asked once more, unicast, from another socket.
# Once those answers are in, anything a responder sent `asker` before them has
# arrived: extra answers to the broadcast are waiting now, or never come.
again = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
again.bind(("0.0.0.0", 0))
again.settimeout(5)
for address in heard:
    again.sendto(b"DISCOVER", (address, port))
for address in heard:
    again.recvfrom(65536)
asker.setblocking(False)
while True:
    try:
        data, sender = asker.recvfrom(65536)
    except BlockingIOError:
        break
    print(sender[0], repr(data), flush=True)
"""


@pytest.fixture
def lan():
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"the broadcast test needs private network namespaces: {reason}")
    with Lan(3) as network:
        yield network


def test_discovery_answers_a_broadcast_on_a_lan(lan, programs):
    responders = []
    asker = None
    try:
        for index, name in ((1, "alpha"), (2, "beta")):
            argv = lan.hosts[index].argv(programs.path("discovery_responder"), "--host",
                                         "0.0.0.0", "--port", 8021, "--name", name)
            responders.append(start_server(Path(argv[0]), *argv[1:]))
        argv = lan.hosts[0].argv(sys.executable, "-c", DISCOVER, lan.broadcast, 8021, 2)
        asker = start_server(Path(argv[0]), *argv[1:], ready=False)
        first = asker.next_line()
        asked_from = f"{lan.address(0)}:{first.rsplit(' ', 1)[-1]}"
        # It ends by itself once both have answered (and answered again); a stub that
        # never answers is noticed when both responders have logged the broadcast and
        # wait again while the asker still waits for answers.
        deadline = time.monotonic() + 15
        quiet_since = None
        while asker.alive() and time.monotonic() < deadline:
            if not (done_with(asked_from, *responders) and waiting_for_input(asker.proc.pid)):
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > GRACE:
                break
            time.sleep(0.005)
        asker.kill()
        asker.stdout.join(timeout=2)
        ended = asker.proc.returncode
        want = sorted([f"{lan.address(1)} b'HERE alpha'", f"{lan.address(2)} b'HERE beta'"])
        got = sorted(asker.stdout.text().splitlines()[1:])
        assert ended == 0 and got == want, (
            f"{lan.address(0)} broadcast b'DISCOVER' to {lan.broadcast}:8021, where responders "
            f"'alpha' ({lan.address(1)}) and 'beta' ({lan.address(2)}) listen on 0.0.0.0\n"
            f"expected one reply from each: {want}\ngot: {got}"
            f"{' (and no more came: it was stopped)' if ended == -9 else ''}"
            f"{f' (the asker ended: {asker.stderr.text()})' if ended not in (0, -9) else ''}\n"
            + "\n".join(r.explain() for r in responders))
        for responder in responders:
            responder.stop()
    finally:
        if asker is not None:
            asker.kill()
        for responder in responders:
            responder.kill()


def check_ignored(responder, payloads: list[bytes], name: str) -> None:
    """Sends each payload from one socket, then b'DISCOVER' from another, and checks
    that only the DISCOVER is answered and the payload is logged as ignored. The
    responder takes datagrams in order: once the DISCOVER's answer is back, an
    answer to the payload sent before it would be waiting already. Fresh sockets
    for each payload: the log lines looked for name this round's ports only."""
    want = b"HERE " + name.encode()
    for payload in payloads:
        with udp_socket() as other, udp_socket() as asker:
            here = other.getsockname()[1]
            asked_from = "127.0.0.1:%d" % asker.getsockname()[1]
            other.sendto(payload, responder.address)
            got = ask(asker, responder, b"DISCOVER")
            assert got is not None and got[0] == want, (
                f"sent {payload!r}, then b'DISCOVER' from another socket\nexpected the reply "
                f"{want!r} to the DISCOVER\n"
                f"got: {'nothing' if got is None else repr(got[0])}\n{responder.explain()}")
            answer = nothing_waiting(other)
        if answer is not None:
            hint = ""
            if b"DISCOVER" in payload:
                hint = (f"\n{payload!r} is not b'DISCOVER': compare the whole datagram "
                        f"(question == \"DISCOVER\"); starts_with() or find() also accept "
                        f"longer ones")
            pytest.fail(
                f"sent {payload!r} ({len(payload)} bytes) from 127.0.0.1:{here}\nexpected "
                f"no answer (only the 8 bytes b'DISCOVER' are answered) and the log line "
                f"'ignored {len(payload)} bytes from 127.0.0.1:{here}'\ngot the answer "
                f"{answer!r}{hint}\n{responder.explain()}", pytrace=False)
        # Its log line comes before any line about the DISCOVER sent after it: once
        # one of those is there (GRACE seconds, for the reader), it is there or never.
        line = rf"ignored {len(payload)} bytes from 127\.0\.0\.1:{here}(?!\d)"
        deadline = time.monotonic() + 5
        later_since = None
        while not re.search(line, responder.stderr.text()):
            if later_since is None and logged_about(responder, asked_from):
                later_since = time.monotonic()
            if time.monotonic() > deadline or (
                    later_since is not None and time.monotonic() - later_since > GRACE):
                pytest.fail(
                    f"sent {payload!r} ({len(payload)} bytes) from 127.0.0.1:{here}, then "
                    f"b'DISCOVER' from {asked_from}\nexpected the log line 'ignored "
                    f"{len(payload)} bytes from 127.0.0.1:{here}' on stderr (before the "
                    f"DISCOVER's)\n{responder.explain()}", pytrace=False)
            time.sleep(0.002)


def test_discovery_ignores_anything_else(server):
    """Only the datagram DISCOVER, exactly, is answered; anything else gets no answer,
    only the log line `ignored N bytes from HOST:PORT`."""
    responder = server("discovery_responder", "--name", "gamma")
    check_ignored(responder, [b"DISCOVER\n", b"hello", b"discover"], "gamma")


@pytest.mark.hidden
def test_discovery_ignores_other_datagrams(server):
    """Only the datagram DISCOVER, exactly, is answered; anything else gets no answer,
    only the log line `ignored N bytes from HOST:PORT` (other datagrams)."""
    responder = server("discovery_responder", "--name", "delta")
    check_ignored(responder, [b"DISCOVERY", b"", b"\xff DISCOVER", b"DISCOVE", b" DISCOVER",
                              b"DISCOVER\r\n"], "delta")
