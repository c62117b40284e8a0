"""Lesson 07 exercise: bind_probe (07.1). Points and hints: course.toml."""
import socket

import pytest

from course_harness import free_port


def time_wait_port() -> int:
    """A port whose only socket is a connection in TIME_WAIT on the server side
    (the server closed first). The listener had SO_REUSEADDR, as Linux requires
    for a later SO_REUSEADDR bind to get past it."""
    listener = socket.create_server(("127.0.0.1", 0))  # sets SO_REUSEADDR on Linux
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    listener.close()
    accepted.close()  # the active close: this side goes to TIME_WAIT
    client.recv(1)    # wait for the FIN...
    client.close()    # ...and answer it, so the server side completes to TIME_WAIT
    return port


def test_bind_probe_says_a_listened_port_is_in_use(run):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        result = run("bind_probe", "--port", port)
    assert result.lines == [f"port {port} is in use"] and result.returncode == 1, (
        f"ran bind_probe on a port a Python server listens on\n"
        f"expected stdout 'port {port} is in use' and exit status 1\n{result.explain()}")


def test_bind_probe_says_a_free_port_is_free(run):
    port = free_port()
    result = run("bind_probe", "--port", port)
    assert result.lines == [f"port {port} is free"] and result.returncode == 0, (
        f"ran bind_probe on a port nobody uses\nexpected 'port {port} is free' and exit 0\n"
        f"{result.explain()}")


def test_bind_probe_gets_past_time_wait_with_reuse_address(run):
    port = time_wait_port()
    plain = run("bind_probe", "--port", port)
    reuse = run("bind_probe", "--port", port, "--reuse-address")
    assert (plain.lines, reuse.lines) == ([f"port {port} is in use"], [f"port {port} is free"]), (
        f"port {port} has a connection in TIME_WAIT (and nothing listening)\n"
        f"expected: without --reuse-address 'in use', with it 'free'\n"
        f"without:\n{plain.explain()}\nwith:\n{reuse.explain()}")


@pytest.mark.hidden
def test_bind_probe_reuse_address_does_not_steal_a_live_listener(run):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        result = run("bind_probe", "--port", port, "--reuse-address")
    assert result.lines == [f"port {port} is in use"], (
        f"a Python server (with SO_REUSEADDR) listens on port {port}\n"
        f"expected bind_probe --reuse-address to say 'in use'\n{result.explain()}")
