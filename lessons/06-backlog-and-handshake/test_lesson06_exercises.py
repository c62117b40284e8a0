"""Lesson 06 exercise: hundred_clients (06.1). Points and hints: course.toml."""
import socket
import threading
import time

import pytest

from course_harness import free_port


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


@pytest.mark.hidden
def test_hundred_clients_reports_refused_connections(run):
    result = run("hundred_clients", "--port", free_port(), "--count", 3)
    assert result.lines == ["connected 0 of 3"] and result.returncode == 1, (
        f"ran hundred_clients --count 3 against a port nobody listens on\n"
        f"expected 'connected 0 of 3' and exit status 1\n{result.explain()}")
