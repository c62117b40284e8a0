"""Lesson 14: file transfer with JSON headers, sha256, a temporary name and a progress bar."""
import hashlib
import json
import os
import pty
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from course_harness import tcp_connect
from course_harness.peers import recv_all, recv_exactly, reset
from course_harness.process import run_program

TWIN = Path(__file__).parent / "python"
SANITIZER = bool(os.environ.get("COURSE_SANITIZER"))
PEAK_RSS = """import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


# ---------------------------------------------------------------- helpers

def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def header(obj) -> bytes:
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    return struct.pack("!I", len(data)) + data


def read_header(sock) -> dict:
    (length,) = struct.unpack("!I", recv_exactly(sock, 4))
    return json.loads(recv_exactly(sock, length))


def wait_until(condition, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def write_big_file(path: Path, mib: int) -> None:
    block = os.urandom(2**20)
    with open(path, "wb") as f:
        for i in range(mib):
            f.write(block[i:] + block[:i])  # every MiB different


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def dirs(tmp_path):
    root, here = tmp_path / "root", tmp_path / "here"
    root.mkdir()
    here.mkdir()
    return root, here


@pytest.fixture
def ftp(run, dirs):
    """ftp(server, "get", "a.txt") runs ftp_client in the client folder."""
    def _ftp(srv, *args, **kwargs):
        kwargs.setdefault("cwd", dirs[1])
        return run("ftp_client", "--port", srv.port, *args, **kwargs)
    return _ftp


def ask(srv, raw: bytes, body: bytes = b"") -> dict | None:
    """Sends raw request bytes and returns the reply header (None if the server just closed)."""
    with tcp_connect(srv.port) as sock:
        sock.sendall(raw + body)
        data = recv_all(sock)
    if len(data) < 4:
        return None
    (length,) = struct.unpack("!I", data[:4])
    return json.loads(data[4:4 + length])


class FakeServer(threading.Thread):
    """Answers one get with the given header, then sends `body` and closes."""

    def __init__(self, reply: dict, body: bytes):
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.reply, self.body = reply, body
        self.start()

    def run(self):
        conn, _ = self.listener.accept()
        with conn:
            read_header(conn)
            conn.sendall(header(self.reply) + self.body)
        self.listener.close()


# ---------------------------------------------------------------- ls, get, put

def test_ls_lists_regular_files_only(server, ftp, dirs):
    root, _ = dirs
    (root / "b.bin").write_bytes(b"x" * 1234)
    (root / "a.txt").write_text("hello\n")
    (root / "sub").mkdir()
    (root / "link.txt").symlink_to(root / "a.txt")
    srv = server("ftp_server", "--root", root)
    result = ftp(srv, "ls").ok()
    assert result.lines == [f"{6:>12}  a.txt", f"{1234:>12}  b.bin"], result.explain()


def test_get_saves_a_verified_copy(server, ftp, dirs):
    root, here = dirs
    data = os.urandom(3 * 1024 * 1024 + 7)
    (root / "data.bin").write_bytes(data)
    srv = server("ftp_server", "--root", root)
    result = ftp(srv, "get", "data.bin").ok()
    assert (here / "data.bin").read_bytes() == data
    assert listing(here) == ["data.bin"], "no .part file may be left behind"
    assert result.lines == [f"saved data.bin ({len(data)} bytes, sha256 {sha256(data)} verified)"]
    assert result.stderr == "", "no progress output unless stderr is a terminal or --progress"
    srv.wait_stderr(rf"get data\.bin: sent {len(data)} bytes")


def test_get_output_and_options_after_the_subcommand(server, run, dirs):
    root, here = dirs
    (root / "a.txt").write_text("contents")
    (root / "sub").mkdir()
    (root / "sub" / "deep.txt").write_text("deep")
    srv = server("ftp_server", "--root", root)
    run("ftp_client", "get", "a.txt", "--output", here / "copy.txt", "--port", srv.port).ok()
    assert (here / "copy.txt").read_text() == "contents"
    run("ftp_client", "get", "sub/deep.txt", "--port", srv.port, cwd=here).ok()
    assert (here / "deep.txt").read_text() == "deep", "get saves under the name's basename"


def test_put_stores_a_verified_file(server, ftp, dirs):
    root, here = dirs
    data = os.urandom(2 * 1024 * 1024 + 3)
    (here / "up.bin").write_bytes(data)
    srv = server("ftp_server", "--root", root)
    result = ftp(srv, "put", "up.bin").ok()
    assert (root / "up.bin").read_bytes() == data
    assert result.lines == [f"stored up.bin on the server ({len(data)} bytes, sha256 verified by "
                            "the server)"], result.explain()
    ftp(srv, "put", here / "up.bin", "--as", "renamed.bin").ok()
    assert listing(root) == ["renamed.bin", "up.bin"], "no temporary file may be left behind"


def test_empty_file_both_ways(server, ftp, dirs):
    root, here = dirs
    (here / "empty").write_bytes(b"")
    srv = server("ftp_server", "--root", root)
    ftp(srv, "put", "empty", "--as", "e0").ok()
    assert (root / "e0").read_bytes() == b""
    ftp(srv, "get", "e0").ok()
    assert (here / "e0").read_bytes() == b""


def test_missing_file_is_an_error_reply(server, ftp, dirs):
    root, here = dirs
    srv = server("ftp_server", "--root", root)
    result = ftp(srv, "get", "nope.txt").expect_status(1)
    assert result.stderr.startswith('error: get nope.txt: cannot read "nope.txt": No such file'), \
        result.explain()
    assert listing(here) == []
    result = ftp(srv, "put", "missing-local-file").expect_status(1)
    assert "error: put missing-local-file: open missing-local-file: No such file" in \
        result.stderr, result.explain()


@pytest.mark.parametrize("name", ["../secret.txt", "/etc/hostname", "sub/../../secret.txt",
                                  "escape/secret.txt", "out.txt", ".", "sub/.", ""])
def test_names_are_confined_to_the_root(server, ftp, dirs, name):
    root, here = dirs
    (root.parent / "secret.txt").write_text("secret")
    (root / "sub").mkdir()
    (root / "escape").symlink_to(root.parent)
    (root / "out.txt").symlink_to(root.parent / "secret.txt")
    srv = server("ftp_server", "--root", root)
    result = ftp(srv, "get", name, "--output", "x").expect_status(1)
    assert "refused name" in result.stderr or "not a regular file" in result.stderr, \
        result.explain()
    assert listing(here) == []
    (here / "f").write_text("evil")
    before = listing(root)
    result = ftp(srv, "put", "f", "--as", name).expect_status(1)
    assert "refused name" in result.stderr or "cannot store" in result.stderr, result.explain()
    assert (root.parent / "secret.txt").read_text() == "secret"
    assert listing(root) == before and not (root.parent / "f").exists()


def test_a_folder_is_not_a_regular_file(server, ftp, dirs):
    root, _ = dirs
    (root / "sub").mkdir()
    srv = server("ftp_server", "--root", root)
    result = ftp(srv, "get", "sub").expect_status(1)
    assert 'error: get sub: "sub" is not a regular file' in result.stderr, result.explain()


# ---------------------------------------------------------------- verification and cuts

def test_corrupted_upload_is_rejected(server, dirs):
    root, _ = dirs
    srv = server("ftp_server", "--root", root)
    body = b"the real body"
    reply = ask(srv, header({"op": "put", "name": "c.txt", "size": len(body),
                             "sha256": sha256(b"something else")}), body)
    assert reply and reply["status"] == "error" and "sha256 mismatch" in reply["message"], reply
    assert listing(root) == [], "a corrupted upload must leave no file, temporary or final"


def test_corrupted_download_is_rejected(ftp, dirs):
    _, here = dirs
    body = b"B" * 100000
    fake = FakeServer({"status": "ok", "message": "", "size": len(body),
                       "sha256": sha256(b"not this")}, body)
    result = ftp(fake, "get", "c.bin").expect_status(1)
    fake.join(5)
    assert "error: get c.bin: sha256 mismatch" in result.stderr, result.explain()
    assert listing(here) == [], "no file under the final name, and no .part"


def test_server_cut_mid_download_leaves_no_file(ftp, dirs):
    _, here = dirs
    fake = FakeServer({"status": "ok", "message": "", "size": 5 * 2**20, "sha256": "0" * 64},
                      b"x" * 2**20)
    result = ftp(fake, "get", "big.bin").expect_status(1)
    fake.join(5)
    assert ("error: get big.bin: the server closed the connection after 1048576 of 5242880 "
            "bytes") in result.stderr, result.explain()
    assert listing(here) == []


def test_server_killed_mid_download_leaves_no_final_file(server, programs, dirs):
    root, here = dirs
    write_big_file(root / "big.bin", 32)
    srv = server("ftp_server", "--root", root)
    client = subprocess.Popen([programs.path("ftp_client"), "--port", str(srv.port), "get",
                               "big.bin", "--progress"], cwd=here, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    # Kill the server once the client has started writing (or after a moment at most).
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (here / "big.bin.part").exists() \
            and client.poll() is None:
        time.sleep(0.001)
    srv.kill()
    out, err = client.communicate(timeout=10)
    if client.returncode == 0:  # the whole file made it before the kill: it must be intact
        assert (here / "big.bin").read_bytes() == (root / "big.bin").read_bytes()
    else:
        assert client.returncode == 1, err
        assert b"error: get big.bin: " in err, err
        assert listing(here) == [], "a cut download leaves nothing (no --resume)"


def test_client_cut_mid_upload_leaves_no_file(server, dirs):
    root, _ = dirs
    srv = server("ftp_server", "--root", root)
    with tcp_connect(srv.port) as sock:
        sock.sendall(header({"op": "put", "name": "cut.bin", "size": 10 * 2**20,
                             "sha256": "0" * 64}) + b"y" * 2**20)
        assert wait_until(lambda: listing(root) == [".cut.bin.part"]), \
            f"while uploading, the server writes .NAME.part: {listing(root)}"
    srv.wait_stderr(r'upload of "cut\.bin" cut after 1048576 of 10485760 bytes')
    assert listing(root) == [], "a cut upload must leave no file, temporary or final"
    sock = tcp_connect(srv.port)
    sock.sendall(header({"op": "put", "name": "reset.bin", "size": 10 * 2**20,
                         "sha256": "0" * 64}) + b"y" * 1000)
    time.sleep(0.1)
    reset(sock)
    srv.wait_stderr(r"client .*: error: .*reset.*dropping the connection|reset\.bin.*cut")
    assert listing(root) == []
    srv.assert_alive("two cut uploads")


def test_client_killed_mid_upload_leaves_no_file(server, programs, dirs):
    root, here = dirs
    write_big_file(here / "big.bin", 32)
    srv = server("ftp_server", "--root", root)
    client = subprocess.Popen([programs.path("ftp_client"), "--port", str(srv.port), "put",
                               "big.bin"], cwd=here, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(p.endswith(".part") for p in listing(root)) \
            and client.poll() is None:
        time.sleep(0.001)
    client.kill()
    client.wait()
    if wait_until(lambda: listing(root) == ["big.bin"], timeout=0.5):
        # The whole body made it before the kill: then it must be complete and verified.
        assert (root / "big.bin").read_bytes() == (here / "big.bin").read_bytes()
    else:
        srv.wait_stderr(r"big\.bin.*cut after|error: .*dropping")
        assert listing(root) == [], "a cut upload must leave no file, temporary or final"


def test_sigterm_mid_upload_removes_the_temporary_file(server, dirs):
    root, _ = dirs
    srv = server("ftp_server", "--root", root)
    sock = tcp_connect(srv.port)
    sock.sendall(header({"op": "put", "name": "t.bin", "size": 2**20, "sha256": "0" * 64})
                 + b"z" * 1000)
    assert wait_until(lambda: listing(root) == [".t.bin.part"]), listing(root)
    srv.stop()  # SIGTERM: exit 0 within one second
    sock.close()
    assert listing(root) == [], "SIGTERM must leave files complete or removed"


def test_full_disk_is_an_error_reply_and_leaves_nothing(programs, dirs):
    root, here = dirs
    data = os.urandom(3 * 2**20)
    (here / "big.bin").write_bytes(data)
    from course_harness.process import start_server
    srv = start_server(Path(shutil.which("prlimit")), f"--fsize={2**20}",
                       programs.path("ftp_server"), "--port", "0", "--root", root)
    try:
        result = run_program(programs.path("ftp_client"), "--port", srv.port, "put", "big.bin",
                             cwd=here).expect_status(1)
        assert 'error: put big.bin: cannot store "big.bin": File too large' in result.stderr, \
            result.explain() + "\n" + srv.explain()
        assert listing(root) == [], "a refused upload must leave no file, temporary or final"
        srv.assert_alive("a full disk")
    finally:
        srv.stop()


def test_full_disk_on_the_client_leaves_nothing(server, programs, dirs):
    root, here = dirs
    (root / "big.bin").write_bytes(os.urandom(3 * 2**20))
    srv = server("ftp_server", "--root", root)
    result = run_program(Path(shutil.which("prlimit")), f"--fsize={2**20}",
                         programs.path("ftp_client"), "--port", srv.port, "get", "big.bin",
                         cwd=here).expect_status(1)
    assert "error: get big.bin: write big.bin.part: File too large" in result.stderr, \
        result.explain()
    assert listing(here) == []


def test_resume_continues_a_part_file(server, ftp, dirs):
    root, here = dirs
    data = os.urandom(4 * 2**20)
    (root / "r.bin").write_bytes(data)
    (here / "r.bin.part").write_bytes(data[:1500000])
    srv = server("ftp_server", "--root", root)
    result = ftp(srv, "get", "r.bin", "--resume").ok()
    assert (here / "r.bin").read_bytes() == data, result.explain()
    assert listing(here) == ["r.bin"]
    srv.wait_stderr(rf"get r\.bin: sent {len(data) - 1500000} bytes")


def test_resume_of_a_corrupted_part_file_is_rejected(server, ftp, dirs):
    root, here = dirs
    data = os.urandom(2**20)
    (root / "r.bin").write_bytes(data)
    (here / "r.bin.part").write_bytes(b"\0" * 1000)
    srv = server("ftp_server", "--root", root)
    result = ftp(srv, "get", "r.bin", "--resume").expect_status(1)
    assert "sha256 mismatch" in result.stderr, result.explain()
    assert listing(here) == []


def test_resume_keeps_the_part_file_when_cut(ftp, dirs):
    _, here = dirs
    fake = FakeServer({"status": "ok", "message": "", "size": 3000, "sha256": "0" * 64},
                      b"k" * 1000)
    ftp(fake, "get", "k.bin", "--resume").expect_status(1)
    fake.join(5)
    assert listing(here) == ["k.bin.part"] and (here / "k.bin.part").read_bytes() == b"k" * 1000


# ---------------------------------------------------------------- hostile requests

@pytest.mark.parametrize("raw, why", [
    (header(b"{not json"), "not valid JSON"),
    (header(b"[1, 2]"), "not a JSON object"),
    (header(b"\xff\xfe"), "not valid JSON"),
    (header({}), '"op" must be a string'),
    (header({"op": 5}), '"op" must be a string'),
    (header({"op": "delete"}), 'unknown op "delete"'),
    (header({"op": "get"}), '"name" must be a string'),
    (header({"op": "get", "name": 7}), '"name" must be a string'),
    (header({"op": "put", "name": "a", "size": -1, "sha256": "0" * 64}), '"size" must be'),
    (header({"op": "put", "name": "a", "size": "10", "sha256": "0" * 64}), '"size" must be'),
    (header({"op": "put", "name": "a", "size": 1.5, "sha256": "0" * 64}), '"size" must be'),
    (header({"op": "put", "name": "a", "size": 1}), '"sha256" must be'),
    (header({"op": "put", "name": "a", "size": 1, "sha256": "xyz"}), '"sha256" must be'),
    (struct.pack("!I", 65537) + b"{" * 100, "over the limit of 65536"),
    (b"\xff\xff\xff\xff", "frame of 4294967295 bytes is over the limit of 65536 bytes"),
])
def test_hostile_headers_get_an_error_reply_and_the_server_goes_on(server, ftp, dirs, raw, why):
    root, _ = dirs
    srv = server("ftp_server", "--root", root)
    reply = ask(srv, raw)
    assert reply is not None and reply["status"] == "error" and why in reply["message"], \
        f"sent {raw[:60]!r}, expected an error reply mentioning {why!r}, got {reply}\n" \
        + srv.explain()
    assert listing(root) == []
    ftp(srv, "ls").ok()  # still serving


def test_silent_and_half_header_clients_are_dropped(server, ftp, dirs):
    root, _ = dirs
    srv = server("ftp_server", "--root", root, "--timeout", 0.3)
    with tcp_connect(srv.port) as sock:
        sock.sendall(b"\x00\x00")
        assert recv_all(sock) == b""
    srv.wait_stderr(r"error: no data from the peer for 0\.3 s.*dropping the connection")
    with tcp_connect(srv.port):
        pass
    srv.wait_stderr(r"closed without a request")
    ftp(srv, "ls").ok()


def test_peak_memory_stays_small(server, programs, dirs):
    root, here = dirs
    size = 40 * 2**20
    write_big_file(here / "m.bin", size >> 20)
    srv = server("ftp_server", "--root", root)
    limit = 256 if SANITIZER else 32
    for args in (["put", "m.bin", "--as", "n.bin"], ["get", "n.bin"]):
        # Peak RSS survives exec(), so the client must not be forked from this
        # (big) pytest process: a bare Python forks it and reports its peak.
        done = subprocess.run([sys.executable, "-S", "-c", PEAK_RSS, programs.path("ftp_client"),
                               "--port", str(srv.port), *args], cwd=here, capture_output=True,
                              text=True, timeout=20)
        peak_kib, status = map(int, done.stdout.splitlines()[-1].split())
        assert status == 0, done.stderr
        assert peak_kib / 1024 < limit, \
            f"ftp_client {' '.join(args)} peaked at {peak_kib / 1024:.1f} MiB for a " \
            f"{size >> 20} MiB file (limit {limit} MiB)"
    status = Path(f"/proc/{srv.proc.pid}/status").read_text()
    hwm = int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
    assert hwm / 1024 < limit, f"ftp_server peaked at {hwm / 1024:.1f} MiB (limit {limit} MiB)"
    assert (here / "n.bin").stat().st_size == size


# ---------------------------------------------------------------- progress

def test_progress_lines_when_asked(server, ftp, dirs):
    root, here = dirs
    (root / "p.bin").write_bytes(os.urandom(2**20))
    srv = server("ftp_server", "--root", root)
    result = ftp(srv, "get", "p.bin", "--progress").ok()
    last = result.stderr.splitlines()[-1]
    assert "\r" not in result.stderr, "not a terminal: plain lines, no redrawing"
    assert last.startswith("p.bin: 100% 1.0 MiB / 1.0 MiB") and "MB/s" in last and "ETA" in last, \
        result.explain()


def test_progress_bar_redraws_on_a_terminal(server, programs, dirs):
    root, here = dirs
    (root / "t.bin").write_bytes(os.urandom(2**20))
    srv = server("ftp_server", "--root", root)
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([programs.path("ftp_client"), "--port", str(srv.port), "get",
                                 "t.bin"], cwd=here, stdout=subprocess.PIPE, stderr=follower)
        os.close(follower)
        out, _ = proc.communicate(timeout=10)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    assert proc.returncode == 0, seen
    assert seen.startswith(b"\r") and b"100% [####################]" in seen, seen


# ---------------------------------------------------------------- interop and usage

def test_python_twin_client_against_cpp_server(server, dirs):
    root, here = dirs
    data = os.urandom(300000)
    (here / "py.bin").write_bytes(data)
    srv = server("ftp_server", "--root", root)
    twin = [sys.executable, str(TWIN / "ftp_client.py"), "--port", str(srv.port)]
    subprocess.run([*twin, "put", "py.bin", "--as", "from-py.bin"], cwd=here, check=True,
                   timeout=10, capture_output=True)
    assert (root / "from-py.bin").read_bytes() == data
    done = subprocess.run([*twin, "get", "from-py.bin", "--output", "back.bin"], cwd=here,
                          timeout=10, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (here / "back.bin").read_bytes() == data
    done = subprocess.run([*twin, "ls"], timeout=10, capture_output=True, text=True)
    assert done.stdout.split() == [str(len(data)), "from-py.bin"]


def test_cpp_client_against_python_twin_server(run, dirs):
    root, here = dirs
    data = os.urandom(200000)
    (here / "c.bin").write_bytes(data)
    twin = subprocess.Popen([sys.executable, str(TWIN / "ftp_server.py"), "--port", "0",
                             "--root", str(root)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        port = int(twin.stdout.readline().rsplit(":", 1)[1])
        run("ftp_client", "--port", port, "put", "c.bin", cwd=here).ok()
        assert (root / "c.bin").read_bytes() == data
        run("ftp_client", "--port", port, "get", "c.bin", "--output", "d.bin", cwd=here).ok()
        assert (here / "d.bin").read_bytes() == data
        assert run("ftp_client", "--port", port, "ls").ok().lines == [f"{len(data):>12}  c.bin"]
        result = run("ftp_client", "--port", port, "get", "../x").expect_status(1)
        assert "refused name" in result.stderr
    finally:
        twin.kill()
        twin.wait()


def test_usage_errors(run, dirs):
    root, _ = dirs
    assert "--root" in run("ftp_server", "--help").ok().stdout
    assert "get" in run("ftp_client", "--help").ok().stdout
    run("ftp_server", "--port", "0").expect_status(2)              # no --root
    run("ftp_server", "--root", root / "missing").expect_status(2)
    run("ftp_client").expect_status(2)                             # no subcommand
    run("ftp_client", "get").expect_status(2)                      # no NAME
    run("ftp_client", "ls", "--port", "abc").expect_status(2)
