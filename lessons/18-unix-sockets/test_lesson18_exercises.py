"""Lesson 18 exercise: unix_whoami_server (18.1). Points and hints: course.toml."""

from __future__ import annotations

import ast
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from course_harness import start_server
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


class OtherIds:
    """A unix_whoami_server and client processes whose uid and gid differ from each
    other (and from the server's), so that a swapped pair, or the server's own ids,
    show. How depends on who runs the test:

    - root: each client process runs as `uid`:`gid` (the socket is --mode 0666, in
      a folder everyone can enter);
    - a user whose uid and gid already differ: the clients run as that user;
    - a user whose uid and gid are equal: the server runs in a user namespace that
      maps `uid` and `gid` to that user's ids (`unshare --user --map-user=U
      --map-group=G`), so the kernel reports the clients to it as `uid`:`gid`.
    Where none of these is possible the test is skipped, with the reason."""

    def __init__(self, server, programs, sockdir: Path, uid: int, gid: int):
        self.path = sockdir / "who.sock"
        self.uid, self.gid = uid, gid
        self.own = None  # a server this object started (and stops), not the fixture
        if os.geteuid() == 0:
            self.how = f"a client process running as uid {uid} gid {gid}"
            sockdir.chmod(0o755)
            self.server = start_whoami(server, self.path, "--mode", "0666")
        elif os.geteuid() != os.getegid():
            self.uid, self.gid = os.geteuid(), os.getegid()
            self.how = f"a client process of this user (uid {self.uid} gid {self.gid})"
            self.server = start_whoami(server, self.path)
        else:
            self.how = (f"a client process of this user (uid = gid = {os.geteuid()}), which "
                        f"the server, in a user namespace, sees as uid {uid} gid {gid}")
            self.server = self._start_in_a_user_namespace(programs)

    def _start_in_a_user_namespace(self, programs):
        unshare = shutil.which("unshare")
        why = "no unshare command (util-linux)" if unshare is None else None
        mapping = [f"--map-user={self.uid}", f"--map-group={self.gid}"]
        if why is None:
            probe = subprocess.run([unshare, "--user", *mapping, "true"], capture_output=True,
                                   text=True, timeout=5)
            if probe.returncode != 0:
                why = f"no user namespace can be made here ({probe.stderr.strip()})"
        if why:
            pytest.skip(f"this user's uid and gid are equal ({os.geteuid()}), and {why}: run "
                        f"the tests as root to tell uid and gid apart")
        self.own = start_server(Path(unshare), "--user", *mapping, "--",
                                programs.path("unix_whoami_server"), "--path", self.path,
                                ready=False)
        line = self.own.next_line()
        assert line == f"listening on unix:{self.path}", (
            f"expected the readiness line 'listening on unix:{self.path}', got {line!r}\n"
            f"{self.own.explain()}")
        return self.own

    def check_a_client(self) -> None:
        """Connects from a new client process and checks the line it gets."""
        as_other = {"user": self.uid, "group": self.gid, "extra_groups": []} \
            if os.geteuid() == 0 else {}
        done = subprocess.run([sys.executable, "-c", CLIENT, str(self.path)],
                              capture_output=True, text=True, timeout=5, **as_other)
        assert done.returncode == 0, \
            f"the client process failed:\n{done.stderr}\n{self.server.explain()}"
        ids, data = done.stdout.splitlines()
        pid = int(ids.split()[0])
        got, want = ast.literal_eval(data), expected_line(pid, self.uid, self.gid)
        hint = ""
        if got == expected_line(pid, self.gid, self.uid):
            hint = "\nuid and gid are swapped: peer.uid is the user's id, peer.gid the group's"
        elif got == expected_line(os.getpid(), self.uid, self.gid) or \
                got == expected_line(self.server.proc.pid, self.uid, self.gid):
            hint = "\nthat pid is not the client's"
        assert got == want, (
            f"connected from {self.how} (pid {pid}), and read until the server closed\n"
            f"expected: {want!r}\ngot:      {got!r}{hint}\n{self.server.explain()}")

    def close(self) -> None:
        if self.own is not None:
            try:
                self.own.stop()
            finally:
                self.own.kill()


@pytest.fixture
def other_ids(server, programs, sockdir):
    """other_ids(uid, gid) -> an OtherIds (see there); its server is stopped at the end."""
    made: list[OtherIds] = []

    def make(uid: int, gid: int) -> OtherIds:
        made.append(OtherIds(server, programs, sockdir, uid, gid))
        return made[-1]

    yield make
    for ids in made:
        ids.close()


def test_whoami_tells_uid_and_gid_apart(other_ids):
    """The line holds the connecting process's pid, uid and gid, each in its place."""
    ids = other_ids(12345, 23456)
    ids.check_a_client()
    ids.check_a_client()


@pytest.mark.hidden
def test_whoami_reports_the_client_not_the_server(other_ids):
    """The line holds the connecting process's pid, uid and gid, each in its place
    (other ids)."""
    ids = other_ids(4242, 31337)
    for _ in range(3):
        ids.check_a_client()
