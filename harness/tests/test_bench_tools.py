"""The benchmarks' own programs: their reference servers echo, survive load and
stop cleanly, and the load generator counts what it measured. A benchmark whose
yardstick is broken prints wrong ratios, so the yardsticks get tests too."""
import json
import socket
import subprocess

import pytest

from course_harness import tcp_connect
from course_harness.peers import recv_exactly

REFERENCES = [("bench_thread_echo",), ("bench_thread_echo", "--blocking"), ("bench_epoll_echo",)]


def load(programs, port, *args):
    done = subprocess.run([str(programs.path("bench_load")), *args, "--port", str(port)],
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", REFERENCES, ids=" ".join)
def test_reference_server_echoes_under_load_and_stops_with_clients_connected(
        server, programs, argv):
    echo = server(*argv)
    held = [tcp_connect(echo.port) for _ in range(3)]  # idle, blocked in recv() when stopped
    try:
        held[0].sendall(b"x" * 100_000)
        assert recv_exactly(held[0], 100_000) == b"x" * 100_000
        figures = load(programs, echo.port, "pingpong", "--connections", "10", "--seconds", "0.3")
        assert figures["failures"] == 0 and figures["requests"] > 100, figures
        echo.stop()  # SIGTERM: exit status 0 within a second, idle clients or not
    finally:
        for sock in held:
            sock.close()


def test_load_generator_counts_failures_against_a_closed_port(programs):
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    figures = load(programs, port, "pingpong", "--connections", "4", "--seconds", "0.2")
    assert figures["requests"] == 0 and figures["failures"] == 4, figures


def test_load_generator_hold_checks_every_connection(server, programs):
    echo = server("bench_epoll_echo")
    figures = load(programs, echo.port, "hold", "--connections", "200", "--hold", "0.1",
                   "--timeout", "5")
    assert figures["held"] == 200 and figures["echoed"] == 200, figures
