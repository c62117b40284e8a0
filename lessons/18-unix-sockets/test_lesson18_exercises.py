"""Lesson 18 exercise: unix_whoami_server (18.1). Points and hints: course.toml."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from course_harness.peers import recv_all


@pytest.fixture
def sockdir():
    # Not tmp_path: a Unix socket path must fit in 108 bytes (see test_lesson18.py).
    path = Path(tempfile.mkdtemp(prefix="l18x-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_whoami(server, path: Path, *args):
    """Starts unix_whoami_server and checks its readiness line 'listening on unix:PATH'."""
    s = server("unix_whoami_server", "--path", path, *args, port0=False, ready=False)
    line = s.next_line()
    assert line == f"listening on unix:{path}", (
        f"expected the readiness line 'listening on unix:{path}', got {line!r}\n{s.explain()}")
    return s


def ask(path: Path) -> bytes:
    """Connects from this very process and returns everything the server sends until it closes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        sock.connect(str(path))
        return recv_all(sock, timeout=2)


def expected_line(pid: int, uid: int, gid: int) -> bytes:
    return f"pid {pid} uid {uid} gid {gid}\n".encode()


def test_whoami_names_the_connecting_process(server, sockdir):
    path = sockdir / "who.sock"
    s = start_whoami(server, path)
    got = ask(path)
    want = expected_line(os.getpid(), os.geteuid(), os.getegid())
    assert got == want, (
        f"connected to {path} from the test process (pid {os.getpid()}, uid {os.geteuid()}, "
        f"gid {os.getegid()}) and read until the server closed\nexpected: {want!r}\n"
        f"got:      {got!r}\n{s.explain()}")


def test_whoami_answers_every_client_and_closes(server, sockdir):
    path = sockdir / "who.sock"
    s = start_whoami(server, path)
    want = expected_line(os.getpid(), os.geteuid(), os.getegid())
    got = [ask(path) for _ in range(3)]
    assert got == [want] * 3, (
        f"connected 3 times in a row, each time reading until the server closed\n"
        f"expected each time: {want!r}\ngot: {got}\n{s.explain()}")
    s.stop()
    assert not path.exists(), f"{path} is still there after a clean exit\n{s.explain()}"


CLIENT = """
import os, socket, sys
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
    s.settimeout(2)
    s.connect(sys.argv[1])
    data = b""
    while chunk := s.recv(4096):
        data += chunk
print(os.getpid(), os.geteuid(), os.getegid())
print(repr(data))
"""


@pytest.mark.hidden
def test_whoami_reports_the_client_not_the_server(server, sockdir):
    # Another process; as root, also another user and group (nobody:nogroup), who
    # may connect because of --mode 0666 and a folder everyone can enter.
    path = sockdir / "who.sock"
    sockdir.chmod(0o755)
    s = start_whoami(server, path, "--mode", "0666")
    as_other = {"user": 65534, "group": 65534, "extra_groups": []} if os.geteuid() == 0 else {}
    done = subprocess.run([sys.executable, "-c", CLIENT, str(path)], capture_output=True,
                          text=True, timeout=5, **as_other)
    assert done.returncode == 0, f"the client process failed:\n{done.stderr}\n{s.explain()}"
    ids, data = done.stdout.splitlines()
    pid, uid, gid = map(int, ids.split())
    want = expected_line(pid, uid, gid)
    assert data == repr(want), (
        f"a client process with pid {pid}, uid {uid}, gid {gid} connected\n"
        f"expected: {want!r}\ngot:      {data}\n{s.explain()}")
