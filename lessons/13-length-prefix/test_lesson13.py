"""Lesson 13: fix two, a 4-byte big-endian length before every message."""
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from course_harness import free_port, tcp_connect
from course_harness.peers import recv_all, reset

TWIN = Path(__file__).parent / "python"


def frame(payload: bytes) -> bytes:
    return struct.pack("!I", len(payload)) + payload


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


def test_cpp_sender_to_cpp_receiver(run, server):
    receiver = server("framed_receiver")
    result = run("framed_sender", "--port", receiver.port, "hello", "", "你好").ok()
    assert receiver.lines_until(3) == ["message #1 (5 bytes): hello", "message #2 (0 bytes): ",
                                       "message #3 (6 bytes): 你好"], receiver.explain()
    assert result.lines == ["sent message #1: header 00 00 00 05 + 5 bytes",
                            "sent message #2: header 00 00 00 00 + 0 bytes",
                            "sent message #3: header 00 00 00 06 + 6 bytes"], result.explain()


def test_sender_puts_exactly_header_and_payload_on_the_wire(run):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        got = {}

        def accept():
            conn, _ = listener.accept()
            with conn:
                got["bytes"] = recv_all(conn)

        t = threading.Thread(target=accept, daemon=True)
        t.start()
        message = "x" * 300
        result = run("framed_sender", "--port", port, "hello", message).ok()
        t.join(5)
    expected = frame(b"hello") + frame(message.encode())
    assert got.get("bytes") == expected, (
        f"expected the wire to carry {expected[:20]!r}..., got {got.get('bytes', b'')[:20]!r}...\n"
        + result.explain())


def test_receiver_handles_any_split(server):
    receiver = server("framed_receiver")
    stream = frame(b"one") + frame(b"") + frame("二".encode()) + frame(b"x" * 1000)
    with tcp_connect(receiver.port) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Header bytes one at a time, pauses inside a payload, frames stuck together.
        for piece in (stream[:1], stream[1:2], stream[2:5], stream[5:9], stream[9:17],
                      stream[17:20], stream[20:]):
            sock.sendall(piece)
            time.sleep(0.02)
        assert receiver.lines_until(4) == ["message #1 (3 bytes): one", "message #2 (0 bytes): ",
                                           "message #3 (3 bytes): 二",
                                           "message #4 (1000 bytes): " + "x" * 1000]


def test_receiver_with_a_one_byte_buffer(server):
    receiver = server("framed_receiver", "--bufsize", 1)
    with tcp_connect(receiver.port) as sock:
        sock.sendall(frame(b"abc") + frame(b"de"))
        assert receiver.lines_until(2) == ["message #1 (3 bytes): abc",
                                           "message #2 (2 bytes): de"]


def test_hostile_header_is_refused_without_allocating(server):
    receiver = server("framed_receiver")
    with tcp_connect(receiver.port) as sock:
        sock.sendall(b"\xff\xff\xff\xff" + b"tiny")
        assert recv_all(sock) == b"", "the receiver should drop the connection"
    receiver.wait_stderr(r"error: client 127\.0\.0\.1:\d+: frame of 4294967295 bytes is over "
                         r"the limit of 1048576 bytes \(--max-size\); dropping the connection")
    rss = peak_rss_mib(receiver.proc.pid)
    limit = 1024 if os.environ.get("COURSE_SANITIZER") else 64
    assert rss < limit, f"the receiver's peak RSS is {rss:.0f} MiB after a 4 GiB header " \
                        f"(limit {limit} MiB)\n{receiver.explain()}"
    with tcp_connect(receiver.port) as sock:  # and it goes on with the next client
        sock.sendall(frame(b"still here"))
        assert receiver.next_line() == "message #1 (10 bytes): still here"


def test_max_size_is_inclusive(server):
    receiver = server("framed_receiver", "--max-size", 10)
    with tcp_connect(receiver.port) as sock:
        sock.sendall(frame(b"0123456789") + frame(b"0123456789A"))
        assert receiver.next_line() == "message #1 (10 bytes): 0123456789"
        assert recv_all(sock) == b""
    receiver.wait_stderr(r"frame of 11 bytes is over the limit of 10 bytes")


def test_client_cut_mid_frame_costs_only_its_connection(server):
    receiver = server("framed_receiver")
    with tcp_connect(receiver.port) as sock:
        sock.sendall(frame(b"ok") + struct.pack("!I", 100) + b"partial")
    receiver.wait_stderr(r"closed in the middle of a frame \(11 bytes of it had arrived\)")
    assert receiver.next_line() == "message #1 (2 bytes): ok"
    with tcp_connect(receiver.port) as sock:  # counters restart for the next client
        sock.sendall(frame(b"next"))
        assert receiver.next_line() == "message #1 (4 bytes): next"


def test_reset_client_costs_only_its_connection(server):
    receiver = server("framed_receiver")
    sock = tcp_connect(receiver.port)
    sock.sendall(struct.pack("!I", 5) + b"ab")
    time.sleep(0.1)
    reset(sock)
    receiver.wait_stderr(r"error: client .*dropping the connection")
    receiver.assert_alive("a reset")


def test_python_struct_sender_to_cpp_receiver(server):
    receiver = server("framed_receiver")
    done = subprocess.run([sys.executable, str(TWIN / "framed_sender.py"), "--port",
                           str(receiver.port), "from", "Python"],
                          capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    assert receiver.lines_until(2) == ["message #1 (4 bytes): from",
                                       "message #2 (6 bytes): Python"]
    assert done.stdout.splitlines()[0] == "sent message #1: header 00 00 00 04 + 4 bytes"


def test_cpp_sender_to_python_struct_receiver(run):
    twin = subprocess.Popen([sys.executable, str(TWIN / "framed_receiver.py"), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(twin.stdout.readline().rsplit(":", 1)[1])
        run("framed_sender", "--port", port, "from C++", "again").ok()
        assert [twin.stdout.readline().rstrip() for _ in range(2)] == [
            "message #1 (8 bytes): from C++", "message #2 (5 bytes): again"]
    finally:
        twin.kill()
        twin.wait()


def test_sender_reads_stdin_lines(run, server):
    receiver = server("framed_receiver")
    run("framed_sender", "--port", receiver.port, input="a\nbb\n\nccc\n").ok()
    assert receiver.lines_until(2) == ["message #1 (1 bytes): a", "message #2 (2 bytes): bb"]


def test_help_and_errors(run):
    for program in ("framed_sender", "framed_receiver"):
        assert "--port" in run(program, "--help").ok().stdout
        run(program, "--port", "abc").expect_status(2)
    run("framed_receiver", "--max-size", "-1").expect_status(2)
    port = free_port()
    result = run("framed_sender", "--port", port, "x").expect_status(1)
    assert "Connection refused" in result.stderr, result.explain()


def test_sender_says_when_the_receiver_hangs_up(run):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def hang_up():
            conn, _ = listener.accept()
            conn.recv(1)  # the sender is connected and sending: now hang up on it
            reset(conn)

        t = threading.Thread(target=hang_up, daemon=True)
        t.start()
        result = run("framed_sender", "--port", port, input=("x" * 100000 + "\n") * 50).ok()
        t.join(5)
    assert "the receiver closed the connection" in result.stderr, result.explain()
