"""Lesson 18: Unix sockets: a path instead of HOST:PORT, stale files, permissions, datagram replies."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from course_harness import start_server
from course_harness.process import run_program

HERE = Path(__file__).resolve().parent
PY = HERE / "python"


@pytest.fixture
def sockdir():
    # Not tmp_path: a Unix socket path must fit in 108 bytes, and pytest's
    # temporary folders can be longer than that.
    path = Path(tempfile.mkdtemp(prefix="l18-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_unix(server, name: str, path: Path, *args, kind: str = "listening on"):
    """Starts a Unix server and checks its readiness line: 'listening on unix:PATH'."""
    s = server(name, "--path", path, *args, port0=False, ready=False)
    line = s.next_line()
    assert line == f"{kind} unix:{path}", f"expected the readiness line '{kind} unix:{path}', " \
                                          f"got {line!r}\n{s.explain()}"
    return s


def stale_socket_file(path: Path, kind=socket.SOCK_STREAM) -> None:
    """A socket file nobody listens on: what a crashed server leaves behind."""
    s = socket.socket(socket.AF_UNIX, kind)
    s.bind(str(path))
    s.close()  # closing does not remove the file


# ------------------------------------------------------------ stream

def test_echo_over_a_unix_stream_socket(server, run, sockdir):
    path = sockdir / "echo.sock"
    s = start_unix(server, "unix_echo_server", path)
    assert stat.S_ISSOCK(os.stat(path).st_mode), f"{path} is not a socket file"
    result = run("unix_echo_client", "--path", path, input="hello\n你好\n").ok()
    assert result.lines == ["hello", "你好"], result.explain() + "\n" + s.explain()
    s.stop()
    assert not path.exists(), f"{path} is still there after a clean exit\n{s.explain()}"


@pytest.mark.parametrize("mode", ["0600", "0660", "0666", "600"])
def test_mode_sets_the_socket_file_permissions(server, sockdir, mode):
    path = sockdir / "m.sock"
    start_unix(server, "unix_echo_server", path, "--mode", mode)
    got = stat.S_IMODE(os.stat(path).st_mode)
    assert got == int(mode, 8), f"--mode {mode}: the file has mode {got:04o}"


def test_default_mode_is_owner_only(server, sockdir):
    path = sockdir / "d.sock"
    start_unix(server, "unix_echo_server", path)
    got = stat.S_IMODE(os.stat(path).st_mode)
    assert got == 0o600, f"default mode is {got:04o}, expected 0600 (safe by default)"


def test_a_stale_socket_file_is_removed(server, run, sockdir):
    path = sockdir / "stale.sock"
    stale_socket_file(path)
    s = start_unix(server, "unix_echo_server", path)
    s.wait_stderr(r"removing stale socket file .*stale\.sock")
    assert run("unix_echo_client", "--path", path, input="up\n").ok().lines == ["up"]


def test_a_live_server_is_never_replaced(server, run, sockdir):
    path = sockdir / "live.sock"
    first = start_unix(server, "unix_echo_server", path)
    inode = os.stat(path).st_ino
    second = run("unix_echo_server", "--path", path).expect_status(1)
    assert "another server is listening" in second.stderr, second.explain()
    assert second.stdout == "", second.explain()
    assert os.stat(path).st_ino == inode, "the live server's socket file was replaced"
    assert run("unix_echo_client", "--path", path, input="still mine\n").ok().lines == \
        ["still mine"], first.explain()


def test_a_regular_file_is_not_deleted(run, sockdir):
    path = sockdir / "notes.txt"
    path.write_text("precious")
    result = run("unix_echo_server", "--path", path).expect_status(1)
    assert "not a socket" in result.stderr, result.explain()
    assert path.read_text() == "precious"


def test_the_file_is_left_alone_if_someone_else_took_the_name(server, sockdir):
    path = sockdir / "taken.sock"
    s = start_unix(server, "unix_echo_server", path)
    path.unlink()
    path.write_text("someone else's")
    s.stop()
    assert path.read_text() == "someone else's", "the server removed a file it did not create"


def test_a_path_too_long_is_a_usage_error(run, sockdir):
    result = run("unix_echo_server", "--path", sockdir / ("x" * 120)).expect_status(2)
    assert "--path" in result.stderr, result.explain()


@pytest.mark.parametrize("mode", ["999", "rw", "01777", ""])
def test_a_bad_mode_is_a_usage_error(run, sockdir, mode):
    result = run("unix_echo_server", "--path", sockdir / "x.sock", "--mode", mode)
    result.expect_status(2)


def test_client_without_a_server_fails(run, sockdir):
    result = run("unix_echo_client", "--path", sockdir / "none.sock", input="hi\n")
    result.expect_status(1)
    assert "No such file or directory" in result.stderr, result.explain()
    stale_socket_file(sockdir / "dead.sock")
    result = run("unix_echo_client", "--path", sockdir / "dead.sock", input="hi\n")
    result.expect_status(1)
    assert "Connection refused" in result.stderr, result.explain()


def _python_unix_peer(path: Path, reply: bool):
    """A Unix stream server that reads one message and then closes (or stays silent)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    stop = threading.Event()

    def serve():
        conn, _ = listener.accept()
        conn.recv(4096)
        if not reply:
            stop.wait(5)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, stop


def test_client_reports_the_server_closing(run, sockdir):
    listener, stop = _python_unix_peer(sockdir / "c.sock", reply=True)
    with listener:
        result = run("unix_echo_client", "--path", sockdir / "c.sock", input="a\nb\n").ok()
    assert "server closed the connection" in result.stderr, result.explain()


def test_client_timeout_is_exit_1(run, sockdir):
    listener, stop = _python_unix_peer(sockdir / "t.sock", reply=False)
    with listener:
        result = run("unix_echo_client", "--path", sockdir / "t.sock", "--timeout", "0.3",
                     input="a\n").expect_status(1)
        stop.set()
    assert "no reply within 0.3 s" in result.stderr, result.explain()


# ------------------------------------------------------------ datagram

def test_a_bound_datagram_client_gets_its_reply(server, run, sockdir):
    path = sockdir / "dg.sock"
    own = sockdir / "me.sock"
    s = start_unix(server, "unix_dgram_server", path, kind="bound to")
    result = run("unix_dgram_client", "--path", path, "--bind", own,
                 input="hey\nsecond\n").ok()
    assert result.lines == ["hey", "second"], result.explain() + "\n" + s.explain()
    assert s.lines_until(2) == [f"from unix:{own}: hey", f"from unix:{own}: second"]
    assert not own.exists(), f"the client left its socket file {own} behind"
    s.stop()
    assert not path.exists(), f"{path} is still there after a clean exit"


def test_the_default_client_binds_a_temporary_path(server, run, sockdir):
    path = sockdir / "dg.sock"
    s = start_unix(server, "unix_dgram_server", path, kind="bound to")
    result = run("unix_dgram_client", "--path", path, input="auto\n").ok()
    assert result.lines == ["auto"], result.explain() + "\n" + s.explain()
    line = s.next_line()
    assert line.startswith("from unix:/") and line.endswith(": auto"), line
    client_path = line[len("from unix:"):-len(": auto")]
    assert not os.path.exists(client_path), f"the client left {client_path} behind"


def test_an_unbound_datagram_client_gets_no_reply(server, run, sockdir):
    path = sockdir / "dg.sock"
    s = start_unix(server, "unix_dgram_server", path, kind="bound to")
    result = run("unix_dgram_client", "--path", path, "--no-bind", "--timeout", "0.3",
                 input="anyone?\n").expect_status(1)
    assert "no reply within 0.3 s" in result.stderr and "no path" in result.stderr, \
        result.explain()
    assert s.next_line() == "from an unbound socket: anyone?", s.explain()
    s.wait_stderr(r"cannot reply: the sender did not bind a path")


def test_datagram_server_handles_a_stale_file(server, run, sockdir):
    path = sockdir / "dg.sock"
    stale_socket_file(path, socket.SOCK_DGRAM)
    s = start_unix(server, "unix_dgram_server", path, kind="bound to")
    s.wait_stderr(r"removing stale socket file")
    second = run("unix_dgram_server", "--path", path).expect_status(1)
    assert "another server is listening" in second.stderr, second.explain()


def test_bind_and_no_bind_exclude_each_other(run, sockdir):
    run("unix_dgram_client", "--bind", sockdir / "a", "--no-bind").expect_status(2)


# ------------------------------------------------------------ Python twins

def test_python_twins_interoperate(server, run, sockdir):
    py = start_server(Path(sys.executable), PY / "unix_echo_server.py", "--path",
                      sockdir / "py.sock", ready=False)
    try:
        assert py.next_line() == f"listening on unix:{sockdir / 'py.sock'}", py.explain()
        assert stat.S_IMODE(os.stat(sockdir / "py.sock").st_mode) == 0o600
        result = run("unix_echo_client", "--path", sockdir / "py.sock", input="to py\n").ok()
        assert result.lines == ["to py"], result.explain() + "\n" + py.explain()
    finally:
        py.kill()

    cpp = start_unix(server, "unix_echo_server", sockdir / "cpp.sock")
    result = run_program(Path(sys.executable), PY / "unix_echo_client.py", "--path",
                         sockdir / "cpp.sock", input="from py\n").ok()
    assert result.lines == ["from py"], result.explain() + "\n" + cpp.explain()

    dg = start_unix(server, "unix_dgram_server", sockdir / "dg.sock", kind="bound to")
    result = run_program(Path(sys.executable), PY / "unix_dgram_client.py", "--path",
                         sockdir / "dg.sock", "--bind", sockdir / "pyc.sock",
                         input="datagram\n").ok()
    assert result.lines == ["datagram"], result.explain() + "\n" + dg.explain()
    result = run_program(Path(sys.executable), PY / "unix_dgram_client.py", "--path",
                         sockdir / "dg.sock", "--no-bind", "--timeout", "0.3",
                         input="lost\n").expect_status(1)

    pyd = start_server(Path(sys.executable), PY / "unix_dgram_server.py", "--path",
                       sockdir / "pyd.sock", ready=False)
    try:
        assert pyd.next_line() == f"bound to unix:{sockdir / 'pyd.sock'}", pyd.explain()
        result = run("unix_dgram_client", "--path", sockdir / "pyd.sock",
                     input="to py\n").ok()
        assert result.lines == ["to py"], result.explain() + "\n" + pyd.explain()
    finally:
        pyd.kill()


# ------------------------------------------------------------ misbehaving clients

def test_stream_server_survives_bad_clients(server, run, sockdir):
    path = sockdir / "bad.sock"
    s = start_unix(server, "unix_echo_server", path)
    for payload in (b"", b"\xff\xfe bad \xc3\x28", b"\0" * 100, os.urandom(1 << 20)):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(str(path))
        c.setblocking(False)
        try:
            c.send(payload)  # as much as fits; then vanish without reading the echo
        except (BlockingIOError, OSError):
            pass
        c.close()
    s.assert_alive("clients sent garbage and vanished")
    result = run("unix_echo_client", "--path", path, input="ok?\n").ok()
    assert result.lines == ["ok?"], result.explain() + "\n" + s.explain()


def test_datagram_server_survives_bad_senders(server, run, sockdir):
    path = sockdir / "dg.sock"
    s = start_unix(server, "unix_dgram_server", path, kind="bound to")
    # An empty datagram, a big one, invalid UTF-8, and a sender that is gone
    # before the reply: the reply fails, the server logs it and goes on.
    for payload in (b"", os.urandom(150000), b"\xff\xfe"):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        c.bind(str(sockdir / "gone.sock"))
        c.sendto(payload, str(path))
        c.close()
        os.unlink(sockdir / "gone.sock")
    s.wait_stderr(r"reply to unix:.*gone\.sock: ")
    s.assert_alive("senders vanished before their replies")
    result = run("unix_dgram_client", "--path", path, input="ok?\n").ok()
    assert result.lines == ["ok?"], result.explain() + "\n" + s.explain()
