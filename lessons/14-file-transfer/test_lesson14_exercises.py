"""Lesson 14 exercise: struct_upload (14.1). Points and hints: course.toml."""
import os
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

TWIN = Path(__file__).parent / "python"


def hex_bytes(data: bytes, limit: int = 40) -> str:
    text = " ".join(f"{b:02x}" for b in data[:limit])
    return (text + (" ..." if len(data) > limit else "")) or "(nothing)"


class Receiver(threading.Thread):
    """One upload, received the seeds' way: struct.unpack("!I") the name's length,
    the name, struct.unpack("!Q") the size, exactly `size` bytes, then `reply`.
    Keeps every byte that arrived in `raw`. With header_only it hangs up right
    after the header. A header that makes no sense ends the connection."""

    def __init__(self, reply: bytes = b"ok", header_only: bool = False):
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(5)
        self.port = self.listener.getsockname()[1]
        self.reply, self.header_only = reply, header_only
        self.raw = bytearray()
        self.header: tuple[int, bytes, int] | None = None
        self.start()

    def take(self, conn: socket.socket, n: int) -> bytes:
        start = len(self.raw)
        while len(self.raw) - start < n:
            chunk = conn.recv(min(n - (len(self.raw) - start), 1 << 16))
            if not chunk:
                raise EOFError
            self.raw += chunk
        return bytes(self.raw[start:])

    def run(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn, self.listener:
            conn.settimeout(3)
            try:
                (name_length,) = struct.unpack("!I", self.take(conn, 4))
                if name_length > 4096:
                    return
                name = self.take(conn, name_length)
                (size,) = struct.unpack("!Q", self.take(conn, 8))
                self.header = (name_length, name, size)
                if self.header_only or size > 64 << 20:
                    return
                self.take(conn, size)
                conn.sendall(self.reply)
            except (EOFError, OSError):
                return


def upload(run, path: Path, receiver: Receiver, *args):
    result = run("struct_upload", str(path), "--port", receiver.port, "--timeout", 3, *args)
    receiver.join(5)
    return result


def test_struct_upload_sends_the_header_then_the_file(run, tmp_path):
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello, struct\n")
    receiver = Receiver()
    result = upload(run, path, receiver)
    expected = struct.pack("!I", 9) + b"hello.txt" + struct.pack("!Q", 14) + b"hello, struct\n"
    got = bytes(receiver.raw)
    assert got == expected, (
        f"uploaded hello.txt (14 bytes)\nexpected on the wire: {hex_bytes(expected)}\n"
        f"  (struct.pack('!I', 9) + b'hello.txt' + struct.pack('!Q', 14) + the file)\n"
        f"got:                  {hex_bytes(got)}\n{result.explain()}")
    result.ok()
    assert result.lines == [f"uploaded hello.txt (14 bytes) to 127.0.0.1:{receiver.port}"], \
        result.explain()


def test_struct_upload_to_the_python_receiver(run, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    path = source / "报告.txt"  # 10 bytes of UTF-8 for 6 characters
    body = os.urandom(300_000)  # several chunks
    path.write_bytes(body)
    saved = tmp_path / "saved"
    saved.mkdir()
    twin = subprocess.Popen([sys.executable, str(TWIN / "struct_receiver.py"), "--port", "0",
                             "--dir", str(saved), "--once"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(twin.stdout.readline().rsplit(":", 1)[1])
        result = run("struct_upload", str(path), "--port", port, "--timeout", 3)
        twin.wait(5)
        receiver_said = twin.stdout.read() + twin.stderr.read()
    finally:
        twin.kill()
        twin.wait()
    files = sorted(p.name for p in saved.iterdir())
    assert files == ["报告.txt"] and (saved / "报告.txt").read_bytes() == body, (
        f"uploaded 报告.txt (300000 bytes) to python/struct_receiver.py\nexpected it to save "
        f"报告.txt with the same bytes\nit saved: {files}\nthe receiver said:\n{receiver_said}"
        f"\n{result.explain()}")
    result.ok()


def test_struct_upload_fails_without_ok(run, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as nobody:  # never accepts: not needed
        port = nobody.getsockname()[1]
        missing = run("struct_upload", str(tmp_path / "missing.bin"), "--port", port,
                      "--timeout", 1)
    missing.expect_status(1)
    assert "error:" in missing.stderr and "missing.bin" in missing.stderr, missing.explain()
    path = tmp_path / "data.bin"
    path.write_bytes(b"some data")
    for reply in (b"", b"no"):
        result = upload(run, path, Receiver(reply=reply))
        result.expect_status(1)
        assert result.stderr.startswith("error: "), (
            f"the receiver answered {reply!r} instead of b'ok'\nexpected exit status 1 and "
            f"an 'error: ...' line on stderr\n{result.explain()}")


@pytest.mark.hidden
def test_struct_upload_empty_file_subfolder_and_8_byte_size(run, tmp_path):
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    empty = folder / "empty.dat"
    empty.write_bytes(b"")
    receiver = Receiver()
    result = upload(run, empty, receiver)
    expected = struct.pack("!I", 9) + b"empty.dat" + struct.pack("!Q", 0)
    assert bytes(receiver.raw) == expected, (
        f"uploaded a/b/empty.dat (0 bytes)\nexpected on the wire: {hex_bytes(expected)}\n"
        f"got: {hex_bytes(bytes(receiver.raw))}\n{result.explain()}")
    result.ok()

    big = tmp_path / "big.iso"  # sparse: 4 GiB + 5 bytes that take no disk space
    with open(big, "wb") as f:
        f.truncate((1 << 32) + 5)
    receiver = Receiver(header_only=True)
    result = upload(run, big, receiver)
    assert receiver.header == (7, b"big.iso", (1 << 32) + 5), (
        f"uploaded big.iso of 4294967301 bytes (more than 4 bytes can count)\nexpected the "
        f"header to unpack as (7, b'big.iso', 4294967301)\ngot: {receiver.header} from "
        f"{hex_bytes(bytes(receiver.raw))}\n{result.explain()}")
    result.expect_status(1)  # the receiver hung up after the header: not uploaded
