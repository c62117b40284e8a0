"""Lesson 06 exercise: hundred_clients (06.1). Points and hints: course.toml."""
import socket
import threading
import time

import pytest

from course_harness.peers import refused_port, silent_port
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


def test_hundred_clients_counts_failed_connections_and_goes_on(run):
    """A failed connect is counted out, the loop goes on, and the exit status is 1."""
    with refused_port() as port:
        result = run("hundred_clients", "--port", port, "--count", 3)
    check_failures_counted(result, f"port {port}, where every connect is refused", 3, 0)
    with silent_port(free_places=1) as port:
        result = run("hundred_clients", "--port", port, "--count", 3, "--timeout", "0.2")
    check_failures_counted(result, f"port {port}, which takes one connection and then never "
                                   f"answers again (each later connect times out: --timeout "
                                   f"0.2)", 3, 1)


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
