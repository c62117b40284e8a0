"""Lesson 07 exercise: bind_probe (07.1). Points and hints: course.toml."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

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


def test_bind_probe_tells_in_use_from_other_bind_errors(run):
    """Only EADDRINUSE means "in use": another bind() error (EADDRNOTAVAIL, an
    address that is not on this machine) is an error, not an answer."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        taken = run("bind_probe", "--port", port)
    assert taken.lines == [f"port {port} is in use"] and taken.returncode == 1, (
        f"ran bind_probe on a port a Python server listens on\n"
        f"expected stdout 'port {port} is in use' and exit status 1\n{taken.explain()}")
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): documentation only, never a local address.
    elsewhere = run("bind_probe", "--host", "192.0.2.1", "--port", port)
    answered = [line for line in elsewhere.lines if line.startswith("port ")]
    assert (not answered and elsewhere.returncode != 0
            and "error" in elsewhere.stderr), (
        f"ran bind_probe --host 192.0.2.1 --port {port}: 192.0.2.1 is not an address of\n"
        f"this machine, so bind() fails with EADDRNOTAVAIL (Cannot assign requested address),\n"
        f"not EADDRINUSE\nexpected: an error (an 'error: ...' line on stderr, a non-zero\n"
        f"exit status), no 'port {port} is in use' or 'is free' answer\n{elsewhere.explain()}")


def test_bind_probe_says_in_use_when_listen_fails_after_bind(programs):
    """bind() succeeding is not enough: "free" means a server could bind AND listen.
    Another socket (with SO_REUSEADDR) is bound to the port but not listening, so
    bind_probe --reuse-address's bind() succeeds; strace stops bind_probe right
    after that bind(), the other socket starts listening, and bind_probe goes on:
    its listen() fails with EADDRINUSE, so the answer must be "in use"."""
    if not shutil.which("strace"):
        pytest.skip("needs strace (./course setup installs it)")
    other = socket.socket()
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    other.bind(("127.0.0.1", 0))
    port = other.getsockname()[1]
    argv = [str(programs.path("bind_probe")), "--port", str(port), "--reuse-address"]
    with other, tempfile.NamedTemporaryFile("r", suffix=".strace") as log:
        tracer = subprocess.Popen(
            ["strace", "-o", log.name, "-e", "trace=bind,listen",
             "-e", "inject=bind:signal=SIGSTOP", *argv],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 5
            while "stopped by SIGSTOP" not in (trace := open(log.name).read()):
                if tracer.poll() is not None or time.monotonic() > deadline:
                    out, err = tracer.communicate()
                    if b"ptrace" in err and tracer.returncode != 0 and not trace:
                        pytest.skip(f"strace cannot trace here: {err.decode()[:200]}")
                    pytest.fail(f"ran under strace: {' '.join(argv)}\n"
                                f"expected it to stop after its bind(); strace saw:\n{trace}\n"
                                f"stdout: {out!r}\nstderr: {err!r}", pytrace=False)
                time.sleep(0.01)
            other.listen()  # now the port has a live listener
            probe = int(open(f"/proc/{tracer.pid}/task/{tracer.pid}/children").read().split()[0])
            os.kill(probe, signal.SIGCONT)
            out, err = tracer.communicate(timeout=5)
        finally:
            if tracer.poll() is None:
                tracer.kill()
                tracer.communicate()
        trace = open(log.name).read()
    stdout = out.decode(errors="backslashreplace")
    assert stdout.splitlines() == [f"port {port} is in use"] and tracer.returncode == 1, (
        f"ran: {' '.join(argv)}\n"
        f"a Python socket with SO_REUSEADDR was bound to port {port} (not listening), so\n"
        f"bind_probe's bind() succeeded; stopped right after it, the Python socket began\n"
        f"listening; then bind_probe's listen() must fail with EADDRINUSE\n"
        f"expected stdout 'port {port} is in use' and exit status 1\n"
        f"got status {tracer.returncode}\nstdout: {stdout!r}\n"
        f"stderr: {err.decode(errors='backslashreplace')!r}\n"
        f"its bind() and listen() calls (strace):\n{trace}")


@pytest.mark.hidden
def test_bind_probe_reuse_address_does_not_steal_a_live_listener(run):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        result = run("bind_probe", "--port", port, "--reuse-address")
    assert result.lines == [f"port {port} is in use"], (
        f"a Python server (with SO_REUSEADDR) listens on port {port}\n"
        f"expected bind_probe --reuse-address to say 'in use'\n{result.explain()}")
