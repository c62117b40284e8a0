"""Lesson 05: downloading a file over TCP, streamed in chunks, confined to a root folder."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from course_harness import start_server, tcp_connect
from course_harness.peers import recv_all, reset, tcp_connection
from course_harness.process import describe_status
from course_harness.wire import SYSCALLS

TWIN = Path(__file__).parent / "python"
SANITIZER = bool(os.environ.get("COURSE_SANITIZER"))


@pytest.fixture
def root(tmp_path):
    """A served folder with a file, a subfolder, a symlink out, and a secret outside it."""
    (tmp_path / "secret.txt").write_text("outside the root\n")
    served = tmp_path / "root"
    (served / "docs").mkdir(parents=True)
    (served / "hello.txt").write_text("hello, file\n")
    (served / "docs" / "a.txt").write_bytes("子目录 \x00\xff".encode("utf-8", "surrogateescape"))
    (served / "out").symlink_to(tmp_path)               # a folder link pointing outside
    (served / "secret-link").symlink_to(tmp_path / "secret.txt")
    (served / "inside-link").symlink_to("hello.txt")    # a link that stays inside: fine
    return served


@pytest.fixture
def downloads(tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


def ask(port: int, name: bytes) -> bytes:
    """What a raw client gets for `name` (sent in one send, no terminator)."""
    with tcp_connect(port) as sock:
        sock.sendall(name)
        return recv_all(sock)


def test_downloads_a_file_to_download_name(run, server, root, downloads):
    files = server("file_server", "--root", root)
    result = run("file_client", "--port", files.port, "hello.txt", cwd=downloads).ok()
    saved = downloads / "download_hello.txt"
    assert saved.read_text() == "hello, file\n", result.explain()
    assert result.lines == ["saved 12 bytes to download_hello.txt"], result.explain()
    assert sorted(p.name for p in downloads.iterdir()) == ["download_hello.txt"]
    files.wait_stderr(r'asked for "hello\.txt": sent 12 bytes')


def test_subfolders_and_inside_links_are_served(run, server, root, downloads):
    files = server("file_server", "--root", root)
    out = downloads / "a.txt"
    run("file_client", "--port", files.port, "docs/a.txt", "--output", out).ok()
    assert out.read_bytes() == (root / "docs" / "a.txt").read_bytes()
    assert ask(files.port, b"inside-link") == b"hello, file\n"


@pytest.mark.parametrize("name", ["../secret.txt", "../../../../../../etc/passwd", "/etc/passwd",
                                  "secret-link", "out/secret.txt", "docs/../../secret.txt"])
def test_names_outside_the_root_get_nothing_and_it_keeps_serving(server, root, name):
    files = server("file_server", "--root", root)
    got = ask(files.port, name.encode())
    assert got == b"", f"asked for {name!r} (outside the root), got {got[:80]!r}, expected nothing"
    files.wait_stderr("refused")
    assert ask(files.port, b"hello.txt") == b"hello, file\n", files.explain()


def test_missing_file_makes_the_client_fail_and_leave_nothing(run, server, root, downloads):
    files = server("file_server", "--root", root)
    result = run("file_client", "--port", files.port, "nope.txt", cwd=downloads).expect_status(1)
    assert result.stderr.startswith("error: "), result.explain()
    assert list(downloads.iterdir()) == [], f"files left behind: {list(downloads.iterdir())}"
    files.wait_stderr(r'asked for "nope\.txt": No such file')


def test_refused_name_makes_the_client_fail_and_leave_nothing(run, server, root, downloads):
    files = server("file_server", "--root", root)
    run("file_client", "--port", files.port, "../secret.txt", cwd=downloads).expect_status(1)
    assert list(downloads.iterdir()) == []


def test_a_trailing_newline_is_part_of_the_name(server, root):
    files = server("file_server", "--root", root)
    assert ask(files.port, b"hello.txt\n") == b""
    files.wait_stderr(r'"hello\.txt\\x0a": No such file')


def test_folders_and_empty_requests_get_nothing(server, root):
    files = server("file_server", "--root", root)
    assert ask(files.port, b"docs") == b""
    with tcp_connect(files.port) as sock:
        sock.shutdown(socket.SHUT_WR)  # connect, then close without a name
        assert recv_all(sock) == b""
    files.wait_stderr("without asking")
    assert ask(files.port, b"hello.txt") == b"hello, file\n"


def test_refuses_to_start_on_slash_or_a_missing_root(run, tmp_path):
    result = run("file_server", "--root", "/", "--port", 0).expect_status(1)
    assert result.stderr.startswith("error: root /"), result.explain()
    result = run("file_server", "--root", tmp_path / "missing", "--port", 0).expect_status(1)
    assert "No such file or directory" in result.stderr, result.explain()
    run("file_server", "--port", 0).expect_status(2)  # --root is required


def test_survives_a_client_reset_mid_download(server, root):
    # The file must outgrow both socket buffers, or the server could hand the whole
    # file to the kernel before the RST arrives and never see the reset at all.
    (root / "big.bin").write_bytes(bytes(32 << 20))
    files = server("file_server", "--root", root)
    for _ in range(2):
        rude = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        rude.settimeout(5)
        rude.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: sets the window
        rude.connect(("127.0.0.1", files.port))
        rude.sendall(b"big.bin")
        rude.recv(1000)
        reset(rude)
    files.wait_stderr("dropped")
    assert ask(files.port, b"hello.txt") == b"hello, file\n", files.explain()


def test_a_client_that_sends_no_name_is_dropped_after_the_timeout(server, root):
    # The server serves one client at a time: a client that connects and says
    # nothing would hold everyone else up, if the wait for its name had no end.
    files = server("file_server", "--root", root, "--timeout", 0.3)
    with tcp_connect(files.port) as silent:
        got = ask(files.port, b"hello.txt")  # queued behind the silent one
        assert got == b"hello, file\n", (
            f"a client connected and sent no name; the next client asked for hello.txt\n"
            f"expected the server to give up on the silent one after its --timeout 0.3 "
            f"and serve the next\ngot {got!r} (recv_all waits 5 s)\n{files.explain()}")
        assert silent.recv(100) == b"", "the silent client should be closed with nothing sent"
    files.wait_stderr("no file name within the timeout")


def test_stops_on_sigterm_while_a_client_does_not_read(server, root):
    (root / "big.bin").write_bytes(bytes(8 << 20))
    files = server("file_server", "--root", root)
    stuck = tcp_connect(files.port)
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.sendall(b"big.bin")
    stuck.recv(10)
    files.stop()  # exit 0 within 1 s although it is in the middle of a send
    stuck.close()


def test_client_cut_off_mid_file_exits_1_and_leaves_nothing(run, downloads):
    listener = socket.create_server(("127.0.0.1", 0))

    def half_then_reset():
        conn, _ = listener.accept()
        conn.recv(100)
        conn.sendall(b"x" * 100_000)
        reset(conn)

    helper = threading.Thread(target=half_then_reset, daemon=True)
    helper.start()
    result = run("file_client", "--port", listener.getsockname()[1], "f.bin",
                 cwd=downloads).expect_status(1)
    helper.join(5)
    listener.close()
    assert "reset" in result.stderr, result.explain()
    assert list(downloads.iterdir()) == [], f"files left behind: {list(downloads.iterdir())}"


def test_client_times_out_on_a_silent_server(run, downloads):
    listener = socket.create_server(("127.0.0.1", 0))
    result = run("file_client", "--port", listener.getsockname()[1], "--timeout", "0.3",
                 "f.bin", cwd=downloads).expect_status(1)  # accepted by the kernel, never served
    listener.close()
    assert "silent" in result.stderr, result.explain()
    assert list(downloads.iterdir()) == []


def blocked_in_poll(pid: int) -> bool:
    """The program's main thread waits in poll() (its /proc/PID/syscall)."""
    try:
        number = Path(f"/proc/{pid}/syscall").read_text().split()[0]
    except (OSError, IndexError):
        return False
    return number.isdigit() and SYSCALLS.get(int(number)) in ("poll", "ppoll")


def wait_until(condition, client, timeout: float = 5) -> bool:
    """Polls `condition` until it holds, the client has exited, or `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if client.proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_client_keeps_a_slow_server_that_is_not_silent(programs, downloads):
    # 50 bytes arrive while file_client waits in poll(): far below its 256 KiB
    # low-water mark, so poll() does not wake for them. When its --timeout
    # passes, the client must look (a byte is waiting: that is not silence),
    # take them, and wait again; then the server closes, which wakes poll().
    # The piece is sent the moment the client is seen in poll(), a whole
    # --timeout before it looks; the test then waits for what the client did.
    piece = b"A" * 50
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(5)
        port = listener.getsockname()[1]
        client = start_server(programs.path("file_client"), "--port", port, "--timeout", 0.5,
                              "slow.txt", cwd=downloads, ready=False)
        try:
            conn, peer = listener.accept()
            with conn:
                conn.settimeout(5)
                assert conn.recv(4096) == b"slow.txt", client.explain()
                in_poll = wait_until(lambda: blocked_in_poll(client.proc.pid), client)
                assert in_poll, f"file_client never waited in poll()\n{client.explain()}"
                conn.sendall(piece)
                # the client's end of the connection: nothing arrived left unread
                client_end = lambda: tcp_connection(peer, conn.getsockname())  # noqa: E731
                taken = wait_until(lambda: (client_end() or ("", 0, -1))[2] == 0, client)
                assert taken, (
                    f"50 bytes arrived while file_client waited in poll() (--timeout 0.5), "
                    f"below its low-water mark; it should take them once the timeout passes "
                    f"(a byte waiting is not silence) and go on\n{client.explain()}")
            code = client.wait_exit(timeout=5)
        finally:
            client.kill()
    saved = (downloads / "download_slow.txt").read_bytes() \
        if (downloads / "download_slow.txt").exists() else None
    assert code == 0 and saved == piece, (
        f"expected exit status 0 and the 50 bytes saved to download_slow.txt\n"
        f"got {describe_status(code)} and {saved!r}\n{client.explain()}")


def test_client_connection_refused(run, downloads):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    result = run("file_client", "--port", port, "x", cwd=downloads).expect_status(1)
    assert "Connection refused" in result.stderr, result.explain()


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


def client_peak_kib(programs, *args, cwd) -> int:
    """Runs file_client and returns its peak RSS, as the kernel counted it for
    this one child (wait4's ru_maxrss, in KiB): exact, however fast the run is.
    A client that gathered the file in memory would show it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([str(programs.path("file_client")), *map(str, args)],
                                stdout=out, stderr=err, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)  # pytest's timeout bounds a hang
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        assert proc.returncode == 0, \
            f"file_client {args} failed: {out.read()!r} {err.read()!r}"
    return usage.ru_maxrss


@pytest.mark.parametrize("mode", [[], ["--plain"]], ids=["sendfile", "plain"])
def test_memory_does_not_grow_with_file_size(server, programs, root, downloads, mode):
    size = 8 << 20  # 8 MiB: any buffering of the whole file would show
    (root / "big.bin").write_bytes(bytes(range(256)) * (size // 256))
    files = server("file_server", "--root", root, *mode)
    small_client = client_peak_kib(programs, "--port", files.port, "hello.txt", cwd=downloads)
    small_server = vm_hwm_kib(files.proc.pid)
    big_client = client_peak_kib(programs, "--port", files.port, "big.bin", cwd=downloads)
    big_server = vm_hwm_kib(files.proc.pid)
    assert (downloads / "download_big.bin").stat().st_size == size
    limit = 6 * 1024 if SANITIZER else 3 * 1024  # KiB; the file is 8 MiB
    assert big_server - small_server < limit, \
        f"file_server's peak RSS grew by {big_server - small_server} KiB for an 8 MiB file"
    assert big_client - small_client < limit, \
        f"file_client's peak RSS grew by {big_client - small_client} KiB for an 8 MiB file"


def test_cpp_client_with_python_twin_server(run, root, downloads):
    twin = subprocess.Popen([sys.executable, str(TWIN / "file_server.py"), "--port", "0",
                             "--root", str(root)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        port = int(twin.stdout.readline().rsplit(":", 1)[1])
        run("file_client", "--port", port, "docs/a.txt", cwd=downloads).ok()
        assert (downloads / "download_a.txt").read_bytes() == (root / "docs/a.txt").read_bytes()
        run("file_client", "--port", port, "../secret.txt", cwd=downloads).expect_status(1)
    finally:
        twin.kill()
        twin.wait()


def test_python_twin_client_with_cpp_server(server, root, downloads):
    files = server("file_server", "--root", root)
    done = subprocess.run([sys.executable, str(TWIN / "file_client.py"), "--port",
                           str(files.port), "hello.txt"], capture_output=True, text=True,
                          cwd=downloads, timeout=10)
    assert done.returncode == 0, done
    assert (downloads / "download_hello.txt").read_text() == "hello, file\n"
    done = subprocess.run([sys.executable, str(TWIN / "file_client.py"), "--port",
                           str(files.port), "missing"], capture_output=True, text=True,
                          cwd=downloads, timeout=10)
    assert done.returncode == 1 and sorted(os.listdir(downloads)) == ["download_hello.txt"], done


def test_help_and_usage_errors(run):
    assert "--root" in run("file_server", "--help").ok().stdout
    assert "--output" in run("file_client", "--help").ok().stdout
    run("file_client").expect_status(2)  # NAME is required
    run("file_client", "x", "--port", "70000").expect_status(2)
