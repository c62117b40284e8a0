"""Lesson 06 exercise: hundred_clients (06.1). Points and hints: course.toml."""
import socket
import subprocess
import time

import pytest

from course_harness import start_server
from course_harness.peers import (SelectiveListener, SilentListener, refused_port,
                                   silent_port, tcp_sockets_now, wait_for_connect_behind,
                                   wait_for_tcp_while)
from course_harness.process import describe_status


class Listener:
    """A Python server whose queue takes every connection: it never accepts by
    itself, and counts the connections once the client has ended (hundred_clients
    closes each one; they wait in the queue, which has room for 200)."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=200)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0

    def count(self) -> int:
        """The connections made to this listener, once the client has exited: a
        connection whose last handshake step (the client's ACK) is still on its
        way shows as SYN_RECV, and is waited for (at most 5 s); then it is in the
        queue, taken here. Nothing more can come after that, so a client that made
        too few connections is judged at once."""
        deadline = time.monotonic() + 5
        while True:
            # looked at before the queue is emptied: a connection that was not
            # SYN_RECV then was already in the queue
            half_open = [s for s in tcp_sockets_now(self.port)
                         if s[0] == self.port and s[2] == "SYN_RECV"]
            self.sock.setblocking(False)
            while True:
                try:
                    client, _ = self.sock.accept()
                except BlockingIOError:
                    break
                self.accepted += 1
                client.close()
            if not half_open or time.monotonic() >= deadline:
                return self.accepted
            time.sleep(0.005)

    def close(self):
        self.sock.close()


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
    run("hundred_clients", "--port", listener.port, "--count", 20)  # it has exited
    accepted = listener.count()
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
            # Connection 1 takes the listener's one place; connect number 2 then waits
            # (its SYNs are dropped) for as long as the test looks.
            second = wait_for_connect_behind(silent.listener, client.proc)
            assert second, (
                f"ran hundred_clients {' '.join(map(str, argv))}; the first connection was "
                f"accepted, the next connect would wait\nexpected a second connect\n"
                f"got none ({describe_status(client.proc.poll())})\n{client.explain()}")
            # A program that closes connection 1 before it starts connect number 2 has
            # closed it before this look, which starts after connect 2 was seen (the
            # look that saw it may have read connection 1's line a moment earlier).
            still_open = [local for local, remote, state in tcp_sockets_now(port)
                          if remote == port and local not in second and state == "ESTABLISHED"]
            assert not still_open, (
                f"ran hundred_clients {' '.join(map(str, argv))}\nexpected connection 1 to be "
                f"closed before connect number 2 starts\ngot: connection 1 (from port "
                f"{still_open[0]}) still open while connect number 2 waits: close each "
                f"connection (let its course::Fd go out of scope) before the next\n"
                f"{client.explain()}")
        finally:
            # Connect number 2 would get in only when its SYN is resent, 1 s later: what
            # it then prints is test_hundred_clients_connects_a_hundred_times's business.
            client.kill()


def test_hundred_clients_counts_failed_connections_and_goes_on(run, programs):
    """A failed connect is counted out, the loop goes on, and the exit status is 1."""
    with refused_port() as port:
        result = run("hundred_clients", "--port", port, "--count", 3)
    check_failures_counted(result, f"port {port}, where every connect is refused", 3, 0)
    # Connect number 1 gets no answer at all (its resent SYNs neither), so it fails
    # when --timeout is up; connect number 2 is answered at once.
    for timeout in (0.2, 2):
        with SelectiveListener() as picky:  # answers nobody yet
            port = picky.port
            argv = ["--port", port, "--count", 2, "--timeout", timeout]
            started = time.monotonic()
            client = start_server(programs.path("hundred_clients"), *argv, ready=False)
            try:
                first = wait_for_tcp_while(port, connecting(port), client.proc)
                assert first, (f"hundred_clients never tried to connect "
                               f"({describe_status(client.proc.poll())})\n{client.explain()}")
                picky.answer_all_but(*first)
                # Connect number 2 starts no sooner than --timeout after the program
                # started (connect 1 waits that long), so if this is still earlier, the
                # connect seen was number 1 and number 2 will be answered.
                in_time = time.monotonic() - started < timeout
                code = wait_exit(client, argv, timeout + 5)
                took = time.monotonic() - started
            finally:
                client.kill()
        if in_time:
            break
        # Only a machine too busy to let the test look within --timeout gets here:
        # once more, with a --timeout it surely can.
    else:
        pytest.fail(f"the test could not see hundred_clients's first connect within "
                    f"--timeout {timeout} s of starting it: the machine is too busy to judge",
                    pytrace=False)
    lines = client.stdout.text().splitlines()
    if lines == ["connected 1 of 2"] and code == 1:
        return
    why = ""
    if lines == ["connected 0 of 2"]:
        why = ("\nthe loop stopped at the first failure: remember e.what() in last_error and go "
               "on with the next connect")
        if took < timeout:
            why = (f"\nit ended {took:.2f} s after it started, sooner than --timeout {timeout}: "
                   f"give connect_tcp the timeout")
    elif not lines:
        why = ("\nthe first failed connect ended the program: catch the std::system_error "
               "inside the loop, remember e.what() in last_error, and go on with the next one")
    pytest.fail(
        f"ran hundred_clients {' '.join(map(str, argv))}: connect number 1 got no answer "
        f"within the {timeout} s, then connect number 2 worked\nexpected stdout "
        f"['connected 1 of 2'] and exit status 1\ngot stdout {lines} and "
        f"{describe_status(code)}{why}\n{client.explain()}", pytrace=False)


def wait_exit(client, argv, timeout: float) -> int:
    """hundred_clients's exit status; fails the test if it still runs after `timeout`
    seconds, much more than it needs (one --timeout and one quick connect)."""
    try:
        code = client.proc.wait(timeout=timeout)
        client.stdout.join(timeout=2)  # its last lines, read by the reader threads
        client.stderr.join(timeout=2)
        return code
    except subprocess.TimeoutExpired:
        waits = client.where_it_waits()
        client.kill()
        pytest.fail(f"ran hundred_clients {' '.join(map(str, argv))}: connect number 1 gets no "
                    f"answer, and hundred_clients was still running {timeout:.0f} s later: "
                    f"give connect_tcp the --timeout, so that a connect gives up\n"
                    f"{waits}{client.explain()}", pytrace=False)


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
