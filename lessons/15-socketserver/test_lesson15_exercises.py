"""Lesson 15 exercise: threaded_file_server (15.1). Points and hints: course.toml."""
import hashlib
import os
import re
import socket
import threading
import time

import pytest

from course_harness import tcp_connect


def read_to_close(sock: socket.socket, timeout: float = 2) -> bytes:
    """Everything until the server closes; what came so far if it does not within `timeout`."""
    data = b""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, socket.timeout, ConnectionResetError):
        pass
    return data


def download(port: int, name: bytes, timeout: float = 2) -> bytes:
    """Lesson 05's client: the name in one send, then everything until the server closes."""
    with tcp_connect(port, timeout=timeout) as sock:
        sock.sendall(name)
        return read_to_close(sock, timeout)


def logged(files, pattern: str) -> bool:
    """Whether the server's stderr has a line matching `pattern`, once every line it
    wrote so far is read. For a line written before the server closed a connection
    the test has already seen closed: nothing to wait for after that."""
    files.stderr.wait_caught_up()
    return re.search(pattern, files.stderr.text()) is not None


def describe(data: bytes) -> str:
    return f"{len(data)} bytes" + (f" starting {data[:40]!r}" if data else "")


@pytest.fixture
def root(tmp_path):
    (tmp_path / "root" / "docs").mkdir(parents=True)
    (tmp_path / "root" / "hello.txt").write_bytes(b"hello, threads\n")
    (tmp_path / "root" / "docs" / "big.bin").write_bytes(os.urandom(300_000))
    (tmp_path / "secret.txt").write_bytes(b"top secret\n")
    return tmp_path / "root"


def test_threaded_file_server_sends_a_file(server, root):
    files = server("threaded_file_server", "--root", root)
    for name in (b"hello.txt", b"docs/big.bin"):
        expected = (root / name.decode()).read_bytes()
        got = download(files.port, name)
        assert got == expected, (
            f"sent the name {name!r} (one send), then read until the server closed\n"
            f"expected the file's {len(expected)} bytes\ngot: {describe(got)}\n{files.explain()}")


def test_threaded_file_server_serves_while_another_client_is_silent(server, root):
    files = server("threaded_file_server", "--root", root)
    with tcp_connect(files.port, timeout=2) as silent:
        # `silent` is connected and says nothing. A one-client-at-a-time server
        # would sit in its recv() for silent's name; a threaded one serves the next client.
        got = download(files.port, b"hello.txt", timeout=1.5)
        assert got == b"hello, threads\n", (
            f"a first client connected and sent nothing; a second client then asked for "
            f"b'hello.txt'\nexpected the second to get b'hello, threads\\n' at once\n"
            f"got: {describe(got)}\n{files.explain()}")
        # The silent client was only slow, not forgotten: it is still served.
        silent.sendall(b"docs/big.bin")
        late = read_to_close(silent, 2)
    expected = (root / "docs" / "big.bin").read_bytes()
    assert late == expected, (
        f"the silent first client finally asked for b'docs/big.bin' ({len(expected)} bytes)\n"
        f"got: {describe(late)}\n{files.explain()}")


def test_threaded_file_server_refuses_names_outside_its_root(server, root):
    files = server("threaded_file_server", "--root", root)
    names = [b"../secret.txt", str(root.parent / "secret.txt").encode()]
    got = [download(files.port, name) for name in names]
    assert got == [b"", b""], (
        f"asked for names outside the root: {names}\nexpected nothing sent for either (the "
        f"server just closes)\ngot: {[describe(g) for g in got]}\n{files.explain()}")
    for name in names:
        assert logged(files, re.escape(name.decode()) + r".*refused"), (
            f"asked for {name!r}, outside the root\nexpected a line on stderr that names it "
            f"and says it was refused\n{files.explain()}")
    again = download(files.port, b"hello.txt")
    assert again == b"hello, threads\n", (
        f"after the refusals, asked for b'hello.txt'\ngot: {describe(again)}\n{files.explain()}")


@pytest.mark.hidden
def test_threaded_file_server_many_downloads_at_once(server, root):
    files = server("threaded_file_server", "--root", root, "--chunk-size", 4096)
    (root / "link").symlink_to(root.parent / "secret.txt")
    expected = hashlib.sha256((root / "docs" / "big.bin").read_bytes()).hexdigest()
    results: dict[int, str] = {}

    def fetch(i: int) -> None:
        try:
            results[i] = hashlib.sha256(download(files.port, b"docs/big.bin")).hexdigest()
        except OSError as error:
            results[i] = f"error: {error}"

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    wrong = {i: h for i, h in results.items() if h != expected}
    assert len(results) == 8 and not wrong, (
        f"8 clients downloaded b'docs/big.bin' at the same time (--chunk-size 4096)\n"
        f"expected sha256 {expected} for each; wrong or missing: {wrong}\n{files.explain()}")
    refused = [download(files.port, name) for name in (b"link", b"docs", b"missing.txt")]
    assert refused == [b"", b"", b""], (
        f"asked for a symlink out of the root, a folder and a missing file\nexpected nothing "
        f"for each\ngot: {[describe(r) for r in refused]}\n{files.explain()}")
