"""Lesson 20: one IPv6 socket serving IPv4 and IPv6 clients (IPV6_V6ONLY off).

Listening on `::` means every interface, so those tests run inside a private
network namespace the test creates (only its loopback exists there); where
namespaces cannot be made (not root) they fall back to the host on a random port.
IPv6 tests are skipped only when the kernel has IPv6 disabled.
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from course_harness import free_port, ipv6_disabled_reason, start_server, tcp_connect
from course_harness.netns import Namespace, unavailable_reason
from course_harness.restart import echoes, stop_leaving_time_wait

TWIN = Path(__file__).parent / "python"


pytestmark = pytest.mark.skipif(ipv6_disabled_reason() is not None,
                                reason=ipv6_disabled_reason() or "")


@pytest.fixture
def stage():
    """Where to run a `::` listener: a fresh namespace, or (without root) the host."""
    if unavailable_reason() is None:
        with Namespace("l20") as ns:
            yield ns.argv
    else:
        yield lambda *command: [str(c) for c in command]


@pytest.fixture
def wildcard(stage, programs):
    """start(*flags) runs dual_stack_echo_server --host :: --port 0 on the stage; at the
    end SIGTERM must stop it cleanly within 1 s (as the `server` fixture requires)."""
    started = []

    def start(*flags):
        argv = stage(programs.path("dual_stack_echo_server"), "--host", "::", "--port", "0",
                     *flags)
        s = start_server(Path(argv[0]), *argv[1:])
        started.append(s)
        return s

    yield start
    for s in started:
        try:
            s.stop()
        finally:
            s.kill()


def client(stage, programs, host, port, text="hello", twin=False):
    if twin:
        argv = stage(sys.executable, TWIN / "dual_stack_client.py", "--host", host, "--port", port)
    else:
        argv = stage(programs.path("dual_stack_client"), "--host", host, "--port", port)
    return subprocess.run(argv, input=text + "\n", capture_output=True, text=True, timeout=10)


def test_default_is_ipv6_loopback_only(server, run):
    s = server("dual_stack_echo_server")
    assert s.ready_line == f"listening on [::1]:{s.port}", s.explain()
    result = run("dual_stack_client", "--host", "::1", "--port", s.port, input="six\n").ok()
    assert result.lines == ["six"] and "connected over IPv6" in result.stderr, result.explain()
    s.wait_stderr(r"connected: \[::1\]:\d+ \(IPv6\)")
    refused = run("dual_stack_client", "--host", "127.0.0.1", "--port", s.port, input="x\n")
    refused.expect_status(1)
    assert "Connection refused" in refused.stderr, \
        "a server on ::1 must not be reachable at 127.0.0.1\n" + refused.explain()


def test_one_socket_serves_ipv4_and_ipv6_clients(wildcard, stage, programs):
    s = wildcard()
    assert s.ready_line == f"listening on [::]:{s.port}", s.explain()
    s.wait_stderr("IPV6_V6ONLY is off")
    v4 = client(stage, programs, "127.0.0.1", s.port, "over four")
    assert (v4.returncode, v4.stdout) == (0, "over four\n"), v4
    assert "connected over IPv4 from 127.0.0.1:" in v4.stderr, v4.stderr
    mapped = s.wait_stderr(r"connected: \[::ffff:127\.0\.0\.1\]:(\d+) "
                           r"\(IPv4 client 127\.0\.0\.1, seen as a v4-mapped IPv6 address\)")
    # the v4-mapped port is the IPv4 client's own port
    assert f"from 127.0.0.1:{mapped.group(1)} " in v4.stderr, (v4.stderr, s.explain())

    v6 = client(stage, programs, "::1", s.port, "over six")
    assert (v6.returncode, v6.stdout) == (0, "over six\n"), v6
    s.wait_stderr(r"connected: \[::1\]:\d+ \(IPv6\)")


def test_v6only_refuses_ipv4_clients(wildcard, stage, programs):
    s = wildcard("--v6only")
    s.wait_stderr("IPV6_V6ONLY is on")
    v4 = client(stage, programs, "127.0.0.1", s.port)
    assert v4.returncode == 1 and "Connection refused" in v4.stderr, v4
    v6 = client(stage, programs, "::1", s.port, "still six")
    assert v6.stdout == "still six\n", v6


def test_an_ipv4_host_gives_a_plain_ipv4_socket(server, run):
    s = server("dual_stack_echo_server", "--host", "127.0.0.1")
    assert s.ready_line == f"listening on 127.0.0.1:{s.port}"
    run("dual_stack_client", "--port", s.port, input="four\n").ok()
    s.wait_stderr(r"connected: 127\.0\.0\.1:\d+ \(IPv4\)")


def test_echo_is_byte_exact_and_a_reset_does_not_kill_it(server):
    from course_harness.peers import recv_exactly, reset
    s = server("dual_stack_echo_server")
    payload = bytes(range(256)) * 40
    with tcp_connect(s.port, host="::1") as sock:
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload
    broken = tcp_connect(s.port, host="::1")
    broken.sendall(b"x")
    reset(broken)
    with tcp_connect(s.port, host="::1") as sock:
        sock.sendall(b"after")
        assert recv_exactly(sock, 5) == b"after"
    s.assert_alive("a client reset")


def test_python_twin_server_is_dual_stack_too(stage, programs):
    twin = subprocess.Popen(stage(sys.executable, TWIN / "dual_stack_echo_server.py",
                                  "--host", "::", "--port", "0"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(twin.stdout.readline().rsplit(":", 1)[1])
        v4 = client(stage, programs, "127.0.0.1", port, "cpp to python")
        v6 = client(stage, programs, "::1", port, "six to python", twin=True)
        assert v4.stdout == "cpp to python\n" and v6.stdout == "six to python\n", (v4, v6)
    finally:
        twin.terminate()
        _, err = twin.communicate(timeout=5)
    assert re.search(r"connected: \[::ffff:127\.0\.0\.1\]:\d+ \(IPv4 client", err), err
    assert re.search(r"connected: \[::1\]:\d+ \(IPv6\)", err), err


def test_client_says_refused(run):
    result = run("dual_stack_client", "--host", "::1", "--port", free_port(host="::1"),
                 input="x\n").expect_status(1)
    assert result.stderr.startswith("error: connect to [::1]:"), result.explain()


def test_help_and_bad_port(run):
    for program in ("dual_stack_echo_server", "dual_stack_client"):
        assert "--host" in run(program, "--help").ok().stdout
    run("dual_stack_echo_server", "--port", "abc").expect_status(2)


def test_restarts_at_once_on_the_port_it_left(server):
    """Stopped with an IPv4 client connected (TIME_WAIT on its port), the dual-stack
    server starts again on that port at once: SO_REUSEADDR on the IPv6 socket."""
    port = stop_leaving_time_wait(server("dual_stack_echo_server", "--host", "::"))
    again = server("dual_stack_echo_server", "--host", "::", "--port", port)
    assert echoes(port) == b"again", again.explain()
