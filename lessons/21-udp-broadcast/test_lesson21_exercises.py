"""Lesson 21 exercise: discovery_responder (21.1). Points and hints: course.toml.

On the host only loopback unicast is used. The real broadcast goes only inside a
private LAN of network namespaces the test builds (as in test_lesson21.py)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from course_harness import start_server, udp_socket
from course_harness.netns import Lan, unavailable_reason


def ask(sock: socket.socket, address, payload: bytes, wait: float = 1.0):
    """Sends `payload` and returns (reply, from) or None if nothing came within `wait` s."""
    sock.sendto(payload, address)
    sock.settimeout(wait)
    try:
        return sock.recvfrom(65536)
    except TimeoutError:
        return None


def test_discovery_answers_discover(server):
    responder = server("discovery_responder", "--name", "alpha")
    with udp_socket() as client:
        got = ask(client, responder.address, b"DISCOVER")
    assert got is not None and got[0] == b"HERE alpha", (
        f"sent b'DISCOVER' to discovery_responder --name alpha\nexpected the reply b'HERE alpha'\n"
        f"got: {'nothing within 1 s' if got is None else got[0]!r}\n{responder.explain()}")
    assert got[1] == responder.address, \
        f"the reply came from {got[1]}, not from the responder's {responder.address}"
    unnamed = server("discovery_responder")  # the name defaults to the host name
    with udp_socket() as client:
        got = ask(client, unnamed.address, b"DISCOVER")
    want = b"HERE " + socket.gethostname().encode()
    assert got is not None and got[0] == want, (
        f"sent b'DISCOVER' to a discovery_responder without --name\nexpected {want!r} (the "
        f"host name)\ngot: {'nothing within 1 s' if got is None else got[0]!r}\n"
        f"{unnamed.explain()}")


def test_discovery_replies_to_each_sender_only(server):
    responder = server("discovery_responder", "--name", "beta")
    with udp_socket() as first, udp_socket() as second:
        got_first = ask(first, responder.address, b"DISCOVER")
        got_second = ask(second, responder.address, b"DISCOVER")
        first.settimeout(0.2)
        try:
            extra = first.recvfrom(65536)[0]
        except TimeoutError:
            extra = None
    replies = [None if g is None else g[0] for g in (got_first, got_second)]
    assert replies == [b"HERE beta", b"HERE beta"] and extra is None, (
        f"two sockets each sent b'DISCOVER'\nexpected each to get one b'HERE beta' (a reply "
        f"goes to the one sender that asked)\ngot: {replies}, and the first socket also got "
        f"{extra!r}\n{responder.explain()}")


# ------------------------------------------------------------------ a real broadcast

DISCOVER = """
import socket, sys, time
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
sock.bind(("0.0.0.0", 0))
sock.sendto(b"DISCOVER", (sys.argv[1], int(sys.argv[2])))
# Until the expected number of answers is in (at most 5 s), then 0.2 s more for extra ones.
expected, heard = int(sys.argv[3]), 0
deadline = time.monotonic() + 5
while (left := deadline - time.monotonic()) > 0:
    sock.settimeout(left)
    try:
        data, sender = sock.recvfrom(65536)
    except TimeoutError:
        break
    print(sender[0], repr(data), flush=True)
    heard += 1
    if heard == expected:
        deadline = min(deadline, time.monotonic() + 0.2)
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
    try:
        for index, name in ((1, "alpha"), (2, "beta")):
            argv = lan.hosts[index].argv(programs.path("discovery_responder"), "--host",
                                         "0.0.0.0", "--port", 8021, "--name", name)
            responders.append(start_server(Path(argv[0]), *argv[1:]))
        found = lan.hosts[0].run(sys.executable, "-c", DISCOVER, lan.broadcast, 8021, 2)
        assert found.returncode == 0, found.stderr
        want = sorted([f"{lan.address(1)} b'HERE alpha'", f"{lan.address(2)} b'HERE beta'"])
        got = sorted(found.stdout.splitlines())
        assert got == want, (
            f"{lan.address(0)} broadcast b'DISCOVER' to {lan.broadcast}:8021, where responders "
            f"'alpha' ({lan.address(1)}) and 'beta' ({lan.address(2)}) listen on 0.0.0.0\n"
            f"expected one reply from each: {want}\ngot: {got}\n"
            + "\n".join(r.explain() for r in responders))
        for responder in responders:
            responder.stop()
    finally:
        for responder in responders:
            responder.kill()


def check_ignored(responder, payloads: list[bytes], name: str) -> None:
    """Sends each payload from one socket, then b'DISCOVER' from another, and checks
    that only the DISCOVER is answered and the payload is logged as ignored. The
    responder takes datagrams in order: once the DISCOVER's answer is back, an
    answer to the payload sent before it would have been sent already."""
    want = b"HERE " + name.encode()
    with udp_socket() as other, udp_socket() as asker:
        here = other.getsockname()[1]
        for payload in payloads:
            other.sendto(payload, responder.address)
            got = ask(asker, responder.address, b"DISCOVER", wait=5)
            assert got is not None and got[0] == want, (
                f"sent {payload!r}, then b'DISCOVER' from another socket\nexpected the reply "
                f"{want!r} to the DISCOVER\n"
                f"got: {'nothing within 5 s' if got is None else got[0]!r}\n{responder.explain()}")
            other.settimeout(0.1)
            try:
                answer = other.recvfrom(65536)[0]
            except (TimeoutError, socket.timeout):
                answer = None
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
            responder.wait_stderr(rf"ignored {len(payload)} bytes from 127\.0\.0\.1:{here}\b")


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
