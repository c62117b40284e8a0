"""Lesson 10 exercise: my_sendall (10.1). Points and hints: course.toml."""
import socket
import threading
import time

import pytest

SIZE = 16 * 1024 * 1024  # far more than any send buffer holds at once


def pattern(n: int) -> bytes:
    return bytes(range(251)) * (n // 251) + bytes(range(n % 251))


class SlowReader:
    """Accepts one client, waits `delay` seconds, then reads until it closes."""

    def __init__(self, delay: float, stop_after: int | None = None):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.data = bytearray()
        self.thread = threading.Thread(target=self._serve, args=(delay, stop_after), daemon=True)
        self.thread.start()

    def _serve(self, delay, stop_after):
        self.sock.settimeout(10)
        client, _ = self.sock.accept()
        with client:
            time.sleep(delay)
            client.settimeout(10)
            while chunk := client.recv(1 << 20):
                self.data += chunk
                if stop_after is not None and len(self.data) >= stop_after:
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                    return  # closes with RST: the sender's next send() fails

    def join(self):
        self.thread.join(15)
        self.sock.close()


def test_my_sendall_delivers_every_byte_to_a_slow_reader(run):
    reader = SlowReader(delay=0.3)
    result = run("my_sendall", "--port", reader.port, "--bytes", SIZE)
    reader.join()
    got = len(reader.data)
    assert got == SIZE and result.lines == [f"sent {SIZE} bytes"], (
        f"my_sendall --bytes {SIZE} to a reader that waits 0.3 s before reading\n"
        f"expected the reader to get all {SIZE} bytes and stdout 'sent {SIZE} bytes'\n"
        f"the reader got {got} bytes\n{result.explain()}")
    assert reader.data == pattern(SIZE), "all bytes arrived, but not in the right order"


def test_my_sendall_sends_a_small_message_whole(run):
    reader = SlowReader(delay=0)
    result = run("my_sendall", "--port", reader.port, "--bytes", 1000).ok()
    reader.join()
    assert bytes(reader.data) == pattern(1000), (
        f"my_sendall --bytes 1000\nexpected the reader to get the 1000-byte pattern\n"
        f"got {len(reader.data)} bytes\n{result.explain()}")


@pytest.mark.hidden
def test_my_sendall_reports_a_peer_that_resets(run):
    reader = SlowReader(delay=0, stop_after=1 << 20)
    result = run("my_sendall", "--port", reader.port, "--bytes", SIZE)
    reader.join()
    assert result.returncode == 1 and "send" in result.stderr and not result.stdout, (
        f"the reader reset the connection after 1 MiB of {SIZE}\n"
        f"expected my_sendall to fail cleanly: exit status 1 and an error about send\n"
        f"{result.explain()}")
