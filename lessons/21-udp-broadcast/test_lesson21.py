"""Lesson 21: UDP broadcast with SO_BROADCAST.

Broadcasts go only inside a little private LAN the test builds: a bridge in its
own network namespace and three "hosts" (namespaces) plugged into it,
10.200.1.1-3/24. Nothing is ever broadcast on the host's network. The tests
are skipped (with the reason) only where namespaces cannot be created.
"""
import subprocess
import sys
from pathlib import Path

import pytest

from course_harness import start_server, udp_socket
from course_harness.netns import Lan, unavailable_reason

TWIN = Path(__file__).parent / "python"


def new_lan():
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"lesson 21's broadcast tests need private network namespaces: {reason}")
    with Lan(3) as network:
        yield network


@pytest.fixture
def fresh_lan():
    """A LAN of this test's own."""
    yield from new_lan()


@pytest.fixture(scope="module")
def shared_lan():
    yield from new_lan()


@pytest.fixture
def lan(shared_lan):
    """The LAN the tests of this file share: building one takes about 25 `ip`
    commands (and removing it more kernel work than that). A test leaves it as it
    found it: its listeners are stopped when it ends (so their port is free again),
    each datagram it sends has arrived before it ends (it waits for each one, or
    for a marker sent after it), and the one that adds a route removes it."""
    return shared_lan


@pytest.fixture
def listen(lan, programs):
    """listen(i, *flags) starts broadcast_listener in host i (0-based); each must
    stop cleanly on SIGTERM at the end of the test."""
    started = []

    def start(index, *flags, twin=False):
        command = ([sys.executable, TWIN / "broadcast_listener.py"] if twin
                   else [programs.path("broadcast_listener")])
        argv = lan.hosts[index].argv(*command, *flags)
        s = start_server(Path(argv[0]), *argv[1:])
        started.append((s, twin))
        return s

    yield start
    for s, twin in started:
        try:
            if twin:
                s.kill()
            else:
                s.stop()
        finally:
            s.kill()


def send(lan, programs, index, *args, twin=False):
    command = ([sys.executable, TWIN / "broadcast_sender.py"] if twin
               else [programs.path("broadcast_sender")])
    return lan.hosts[index].run(*command, *args)


def heard(listener, sent: str, to: str) -> None:
    """The listener's next line is the datagram `sent` to `to`. Used as a marker
    after something it must not hear: the marker takes the same path, later, so
    had the other datagram reached the listener, its line would have come first."""
    line = listener.next_line()
    assert line.endswith(f" to {to}: {sent}"), (
        f"expected the next line to be the datagram {sent!r} sent to {to} (sent after one "
        f"this listener must not hear), got {line!r}\n{listener.explain()}")


def test_one_broadcast_reaches_every_listener(lan, listen, programs):
    a = listen(1, "--host", "0.0.0.0", "--port", 8021)
    b = listen(2, "--host", "0.0.0.0", "--port", 8021)
    sent = send(lan, programs, 0, "--host", lan.broadcast, "hello, everyone")
    assert sent.returncode == 0, sent
    assert sent.stdout == f"sent 15 bytes to {lan.broadcast}:8021\n", sent
    for listener in (a, b):
        line = listener.next_line()
        assert line.startswith(f"from {lan.address(0)}:") and \
            line.endswith(f" to {lan.broadcast}: hello, everyone"), listener.explain()


def test_sender_hears_its_own_broadcast_too(lan, listen, programs):
    own = listen(0, "--host", "0.0.0.0")
    send(lan, programs, 0, "--host", lan.broadcast, "echo?")
    assert own.next_line().endswith(f" to {lan.broadcast}: echo?"), own.explain()


def test_without_so_broadcast_the_kernel_refuses(lan, listen, programs):
    listener = listen(1, "--host", "0.0.0.0")
    refused = send(lan, programs, 0, "--host", lan.broadcast, "--no-broadcast", "nope")
    assert refused.returncode == 1, refused
    assert f"error: sendto {lan.broadcast}:8021: Permission denied" in refused.stderr, refused
    assert "SO_BROADCAST" in refused.stderr, refused
    # Nothing went out: the next broadcast, with SO_BROADCAST, is the first thing heard.
    send(lan, programs, 0, "--host", lan.broadcast, "marker")
    heard(listener, "marker", lan.broadcast)


def test_what_the_bound_address_hears(lan, listen, programs):
    wildcard = listen(1, "--host", "0.0.0.0")
    broadcast_only = listen(1, "--host", lan.broadcast)
    unicast_only = listen(1, "--host", lan.address(1))
    send(lan, programs, 0, "--host", lan.broadcast, "to all")
    assert wildcard.next_line().endswith(f"to {lan.broadcast}: to all")
    assert broadcast_only.next_line().endswith(f"to {lan.broadcast}: to all")

    # A unicast datagram goes to ONE socket: the most specific match wins.
    send(lan, programs, 0, "--host", lan.address(1), "just you")
    # unicast_only's first line is this one (had the broadcast reached it, that line
    # would come first).
    line = unicast_only.next_line()
    assert line.endswith(f"to {lan.address(1)}: just you"), (
        f"the socket bound to {lan.address(1)} should hear only the unicast 'just you', "
        f"not the broadcast to {lan.broadcast}; it printed {line!r}\n{unicast_only.explain()}")
    # And nothing else: markers sent after it are the next lines. The other two
    # hear the next broadcast, not 'just you' (already delivered: unicast_only has
    # it); unicast_only hears the next unicast, not that broadcast.
    send(lan, programs, 0, "--host", lan.broadcast, "end")
    send(lan, programs, 0, "--host", lan.address(1), "end")
    heard(wildcard, "end", lan.broadcast)
    heard(broadcast_only, "end", lan.broadcast)
    heard(unicast_only, "end", lan.address(1))


def test_limited_broadcast_needs_a_route(lan, listen, programs):
    listener = listen(2, "--host", "0.0.0.0")
    # Only a route to 10.200.1.0/24: where would 255.255.255.255 go?
    lost = send(lan, programs, 0, "--host", "255.255.255.255", "anyone?")
    assert lost.returncode == 1 and "Network is unreachable" in lost.stderr, lost
    lan.hosts[0].ip("route", "add", "default", "dev", "eth0")
    try:
        sent = send(lan, programs, 0, "--host", "255.255.255.255", "anyone?")
        assert sent.returncode == 0, sent
        assert listener.next_line().endswith(" to 255.255.255.255: anyone?"), \
            listener.explain()
    finally:  # the LAN is shared: the next test finds it without the route
        lan.hosts[0].ip("route", "del", "default", "dev", "eth0")


def test_listener_count_and_escaping(lan, listen, programs):
    listener = listen(1, "--host", "0.0.0.0", "--count", 2)
    send(lan, programs, 0, "--host", lan.broadcast, "one", "two")
    assert [listener.next_line(), listener.next_line()][1].endswith(": two")
    listener.expect_exit(0)


def test_python_twins_interoperate(lan, listen, programs):
    cpp = listen(1, "--host", "0.0.0.0")
    py = listen(2, "--host", "0.0.0.0", twin=True)
    sent = send(lan, programs, 0, "--host", lan.broadcast, "from the twin", twin=True)
    assert sent.returncode == 0, sent
    for listener in (cpp, py):
        assert listener.next_line().endswith(f" to {lan.broadcast}: from the twin"), \
            listener.explain()
    send(lan, programs, 0, "--host", lan.broadcast, "from C++")
    for listener in (cpp, py):
        assert listener.next_line().endswith(f" to {lan.broadcast}: from C++"), \
            listener.explain()
    refused = send(lan, programs, 0, "--host", lan.broadcast, "--no-broadcast", "x", twin=True)
    assert refused.returncode != 0 and "PermissionError" in refused.stderr, refused


# On the host only loopback unicast is used: no namespace needed, never a broadcast.

def test_loopback_unicast_by_default(server, run):
    listener = server("broadcast_listener")
    assert listener.ready_line == f"bound to 127.0.0.1:{listener.port}"
    run("broadcast_sender", "--port", listener.port, "plain").ok()
    line = listener.next_line()
    assert line.startswith("from 127.0.0.1:") and line.endswith(" to 127.0.0.1: plain"), line
    with udp_socket() as sock:
        sock.sendto(b"bad \xff", ("127.0.0.1", listener.port))
        assert listener.next_line().endswith(": bad \\xff")
        sock.sendto(b"two\nlines\r", ("127.0.0.1", listener.port))
        assert listener.next_line().endswith(": two\\nlines\\r"), "one datagram, one line"


def test_ipv6_is_refused_as_a_usage_error(run):
    result = run("broadcast_sender", "--host", "::1", "x").expect_status(2)
    assert "IPv4 only" in result.stderr, result.explain()
    run("broadcast_listener", "--host", "::1").expect_status(2)


def test_help_and_bad_port(run):
    for program in ("broadcast_sender", "broadcast_listener"):
        assert "--host" in run(program, "--help").ok().stdout
    run("broadcast_sender", "--port", "70000", "x").expect_status(2)


def test_namespaces_are_cleaned_up(fresh_lan):
    lan = fresh_lan
    names = [h.name for h in lan.hosts] + [lan.switch.name]
    lan.__exit__(None, None, None)
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(name in listed for name in names), listed
