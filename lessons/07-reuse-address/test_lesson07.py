"""Lesson 07: TIME_WAIT after an active close, and SO_REUSEADDR."""
import re
import subprocess
import sys
from pathlib import Path

from course_harness import free_port, tcp_connect
from course_harness.peers import recv_all

TWIN = Path(__file__).parent / "python"
HINT = re.compile(r"TIME_WAIT.*SO_REUSEADDR", re.S)


def serve_one_and_close_first(server, port: int, *flags: str) -> None:
    """Runs reuse_server once on `port`: a client connects, gets bye, and the
    server closes first, leaving its side of the connection in TIME_WAIT."""
    srv = server("reuse_server", "--port", port, *flags)
    with tcp_connect(port) as client:
        got = recv_all(client)  # "bye", then the server's FIN (a zero-byte read)
    assert got == b"bye", f"expected b'bye' then the server closing, got {got!r}\n{srv.explain()}"
    srv.expect_exit(0)


def time_wait_entries(port: int) -> list[str]:
    out = subprocess.run(["ss", "-tan", "state", "time-wait", f"sport = :{port}"],
                         capture_output=True, text=True, timeout=5).stdout
    return [line for line in out.splitlines()[1:] if line.strip()]


def test_restart_without_reuse_address_fails_with_a_hint(server, run):
    port = free_port()
    serve_one_and_close_first(server, port)
    assert time_wait_entries(port), f"the server closed first: port {port} should be in TIME_WAIT"
    result = run("reuse_server", "--port", port).expect_status(1)
    assert result.stderr.startswith(f"error: bind 127.0.0.1:{port}: Address already in use"), \
        result.explain()
    assert HINT.search(result.stderr), "the error should name TIME_WAIT and SO_REUSEADDR\n" + \
        result.explain()


def test_reuse_address_on_every_run_restarts_at_once(server, run):
    port = free_port()
    serve_one_and_close_first(server, port, "--reuse-address")
    assert time_wait_entries(port), f"port {port} should be in TIME_WAIT"
    # Without the flag on the second run it still fails...
    run("reuse_server", "--port", port).expect_status(1)
    # ...with it, the server starts although the old connection is in TIME_WAIT.
    again = server("reuse_server", "--port", port, "--reuse-address")
    assert again.ready_line == f"listening on 127.0.0.1:{port}"


def test_linux_needs_reuse_address_on_the_first_run_too(server, run):
    # The TIME_WAIT connection came from a socket WITHOUT SO_REUSEADDR, so on
    # Linux setting it only now is not enough: bind() is still refused.
    port = free_port()
    serve_one_and_close_first(server, port)
    result = run("reuse_server", "--port", port, "--reuse-address").expect_status(1)
    assert "Address already in use" in result.stderr, result.explain()


def test_two_live_listeners_are_refused_even_with_reuse_address(server, run):
    first = server("reuse_server", "--reuse-address")
    result = run("reuse_server", "--port", first.port, "--reuse-address").expect_status(1)
    assert "Address already in use" in result.stderr, result.explain()
    first.assert_alive("a second server tried its port")


def test_python_twin_shows_the_same(server):
    port = free_port()
    twin = subprocess.Popen([sys.executable, str(TWIN / "reuse_server.py"), "--port", str(port),
                             "--reuse-address"], stdout=subprocess.PIPE, text=True)
    try:
        assert twin.stdout.readline().strip() == f"listening on 127.0.0.1:{port}"
        with tcp_connect(port) as client:
            assert recv_all(client) == b"bye"
        assert twin.wait(timeout=5) == 0
    finally:
        twin.kill()
        twin.wait()
    again = server("reuse_server", "--port", port, "--reuse-address")  # C++ after Python
    assert again.port == port


def test_stops_cleanly_while_waiting(server):
    server("reuse_server").stop()


def test_usage(run):
    assert "--reuse-address" in run("reuse_server", "--help").ok().stdout
    run("reuse_server", "--port", "abc").expect_status(2)
