"""Lesson 06 exercise: hundred_clients (06.1). Points and hints: course.toml."""
import socket
import threading
import time

import pytest

from course_harness import start_server
from course_harness.peers import (SilentListener, refused_port, silent_port, tcp_sockets,
                                   wait_for_tcp)
from course_harness.process import describe_status


class Listener:
    """A Python server that accepts and closes every connection, counting them."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            client.close()

    def wait_for(self, count: int, timeout: float = 3) -> int:
        """The connections accepted, once `count` are in or `timeout` passed: the
        client may finish before this thread has taken them all from the queue."""
        deadline = time.monotonic() + timeout
        while self.accepted < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.accepted

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(2)


@pytest.fixture
def listener():
    peer = Listener()
    yield peer
    peer.close()


def test_hundred_clients_connects_a_hundred_times(run, listener):
    result = run("hundred_clients", "--port", listener.port)
    assert result.lines == ["connected 100 of 100"] and result.returncode == 0, (
        f"ran hundred_clients against a server that accepts everything\n"
        f"expected stdout 'connected 100 of 100' and exit status 0\n{result.explain()}")


def test_hundred_clients_closes_each_connection(run, listener):
    run("hundred_clients", "--port", listener.port, "--count", 20)
    accepted = listener.wait_for(20)
    assert accepted == 20, (
        f"ran hundred_clients --count 20\nexpected the server to accept 20 connections\n"
        f"it accepted {accepted}")


def check_failures_counted(result, situation: str, count: int, connected: int) -> None:
    expected = [f"connected {connected} of {count}"]
    if result.lines == expected and result.returncode == 1:
        return
    why = ""
    if not result.lines and result.stderr.startswith("error: "):
        why = ("\nthe first failed connect ended the program: catch the std::system_error "
               "inside the loop, remember e.what() in last_error, and go on with the next one")
    pytest.fail(
        f"ran hundred_clients --count {count} against {situation}\n"
        f"expected stdout {expected} and exit status 1 (not all {count} worked)\n"
        f"got stdout {result.lines} and {describe_status(result.returncode)}{why}\n"
        f"{result.explain()}", pytrace=False)


def connecting(port: int):
    """The local ports of this namespace's connects to `port` still waiting for an answer."""
    return lambda sockets: [local for local, remote, state in sockets
                            if remote == port and state == "SYN_SENT"]


def test_hundred_clients_closes_each_connection_before_the_next(programs):
    """Each connection is closed before the next one is opened."""
    with SilentListener(free_places=1) as silent:
        port = silent.port
        argv = ["--port", port, "--count", 2, "--timeout", 10]
        client = start_server(programs.path("hundred_clients"), *argv, ready=False)
        try:
            # Connection 1 takes the listener's one place; connect number 2 then waits.
            second = wait_for_tcp(port, connecting(port))
            assert second, (
                f"ran hundred_clients {' '.join(map(str, argv))}; the first connection was "
                f"accepted, the next connect would wait\nexpected a second connect within 5 s\n"
                f"got none\n{client.explain()}")
            still_open = lambda sockets: [s for s in sockets if s[1] == port and  # noqa: E731
                                          s[0] not in second and s[2] == "ESTABLISHED"]
            closed = wait_for_tcp(port, lambda sockets: not still_open(sockets))
            assert closed, (
                f"ran hundred_clients {' '.join(map(str, argv))}\nexpected connection 1 to be "
                f"closed before connect number 2 starts\ngot: connection 1 (from port "
                f"{still_open(tcp_sockets(port))[0][0]}) still open 5 s after the second connect "
                f"began: close each connection (let its course::Fd go out of scope) before the "
                f"next\n{client.explain()}")
            silent.free_a_place()  # now connect number 2 gets in too
            code = client.wait_exit(timeout=10)
        finally:
            client.kill()
    lines = client.stdout.text().splitlines()
    assert lines == ["connected 2 of 2"] and code == 0, (
        f"ran hundred_clients {' '.join(map(str, argv))}\nexpected 'connected 2 of 2' and "
        f"exit status 0\n{client.explain()}")


def test_hundred_clients_counts_failed_connections_and_goes_on(run, programs):
    """A failed connect is counted out, the loop goes on, and the exit status is 1."""
    with refused_port() as port:
        result = run("hundred_clients", "--port", port, "--count", 3)
    check_failures_counted(result, f"port {port}, where every connect is refused", 3, 0)
    # A connect that fails (its port never answers within --timeout), then one that works.
    with SilentListener() as silent:
        port = silent.port
        argv = ["--port", port, "--count", 2, "--timeout", 4]
        client = start_server(programs.path("hundred_clients"), *argv, ready=False)
        try:
            first = wait_for_tcp(port, connecting(port))
            assert first, f"hundred_clients never tried to connect\n{client.explain()}"
            # The listener's one place stays taken until connect number 1 has given up.
            gave_up = wait_for_tcp(port, lambda sockets: first[0] not in connecting(port)(sockets),
                                   timeout=15)
            assert gave_up, f"connect number 1 never gave up\n{client.explain()}"
            silent.free_a_place()  # connect number 2 gets in
            code = client.wait_exit(timeout=15)
        finally:
            client.kill()
    lines = client.stdout.text().splitlines()
    if lines == ["connected 1 of 2"] and code == 1:
        return
    why = ""
    if lines == ["connected 0 of 2"]:
        why = ("\nthe loop stopped at the first failure: remember e.what() in last_error and go "
               "on with the next connect")
    elif not lines:
        why = ("\nthe first failed connect ended the program: catch the std::system_error "
               "inside the loop, remember e.what() in last_error, and go on with the next one")
    pytest.fail(
        f"ran hundred_clients {' '.join(map(str, argv))}: connect number 1 got no answer "
        f"within the 4 s, then connect number 2 worked\nexpected stdout ['connected 1 of 2'] "
        f"and exit status 1\ngot stdout {lines} and {describe_status(code)}{why}\n"
        f"{client.explain()}", pytrace=False)


@pytest.mark.hidden
def test_hundred_clients_counts_other_failed_connections(run):
    """A failed connect is counted out, the loop goes on, and the exit status is 1
    (other counts)."""
    with silent_port(free_places=1) as port:
        result = run("hundred_clients", "--port", port, "--count", 2, "--timeout", "0.3")
    check_failures_counted(result, f"port {port}, which takes one connection and then never "
                                   f"answers again (--timeout 0.3)", 2, 1)
    with refused_port() as port:
        result = run("hundred_clients", "--port", port, "--count", 7)
    check_failures_counted(result, f"port {port}, where every connect is refused", 7, 0)
