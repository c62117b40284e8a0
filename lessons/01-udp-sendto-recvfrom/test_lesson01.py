"""Lesson 01: UDP sendto/recvfrom."""
import re
import socket
import subprocess
import sys
from pathlib import Path

from course_harness import udp_socket

TWIN = Path(__file__).parent / "python"


def test_sender_sends_each_argument_as_one_datagram(run):
    with udp_socket() as receiver:
        port = receiver.getsockname()[1]
        result = run("udp_sender", "--port", port, "hello", "你好").ok()
        got = [receiver.recvfrom(2048)[0] for _ in range(2)]
    assert got == [b"hello", "你好".encode()], result.explain()
    assert result.lines == [f"sent 5 bytes to 127.0.0.1:{port}",
                            f"sent 6 bytes to 127.0.0.1:{port}"], result.explain()


def test_sender_reads_stdin_lines_until_an_empty_one(run):
    with udp_socket() as receiver:
        port = receiver.getsockname()[1]
        run("udp_sender", "--port", port, input="one\ntwo\n\nnot sent\n").ok()
        assert receiver.recvfrom(2048)[0] == b"one"
        assert receiver.recvfrom(2048)[0] == b"two"
        receiver.settimeout(0.2)
        try:
            extra = receiver.recvfrom(2048)[0]
        except socket.timeout:
            extra = None
    assert extra is None, f"a line after the empty line was sent: {extra!r}"


def test_sender_speaks_ipv6(run):
    with udp_socket("::1") as receiver:
        port = receiver.getsockname()[1]
        result = run("udp_sender", "--host", "::1", "--port", port, "six").ok()
        assert receiver.recvfrom(2048)[0] == b"six"
    assert result.lines == [f"sent 3 bytes to [::1]:{port}"]


def test_receiver_prints_sender_and_text(server):
    receiver = server("udp_receiver")
    assert receiver.ready_line == f"bound to 127.0.0.1:{receiver.port}"
    with udp_socket() as sender:
        sender.sendto(b"hello", receiver.address)
        line = receiver.next_line()
        assert line == f"from 127.0.0.1:{sender.getsockname()[1]}: hello"


def test_receiver_reports_truncation(server):
    receiver = server("udp_receiver", "--bufsize", 4)
    with udp_socket() as sender:
        sender.sendto(b"abcdefghij", receiver.address)
        line = receiver.next_line()
    assert line.endswith(": abcd (truncated from 10 bytes)"), line


def test_receiver_escapes_invalid_utf8(server):
    receiver = server("udp_receiver")
    with udp_socket() as sender:
        sender.sendto(b"ok \xff\xfe \xe4\xbd\xa0", receiver.address)
        line = receiver.next_line()
    assert line.endswith(": ok \\xff\\xfe 你"), line


def test_receiver_exits_after_count(server):
    receiver = server("udp_receiver", "--count", 2)
    with udp_socket() as sender:
        sender.sendto(b"1", receiver.address)
        sender.sendto(b"2", receiver.address)
    assert [receiver.next_line(), receiver.next_line()][1].endswith(": 2")
    receiver.expect_exit(0)


def test_receiver_accepts_an_empty_datagram(server):
    receiver = server("udp_receiver")
    with udp_socket() as sender:
        sender.sendto(b"", receiver.address)
        assert re.fullmatch(r"from 127\.0\.0\.1:\d+: ", receiver.next_line())


def test_cpp_sender_to_python_twin_receiver(run):
    twin = subprocess.Popen([sys.executable, str(TWIN / "udp_receiver.py"), "--port", "0",
                             "--count", "1"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(twin.stdout.readline().rsplit(":", 1)[1])
        run("udp_sender", "--port", port, "from C++").ok()
        assert twin.stdout.readline().rstrip().endswith(": from C++")
        assert twin.wait(timeout=5) == 0
    finally:
        twin.kill()


def test_python_twin_sender_to_cpp_receiver(server):
    receiver = server("udp_receiver")
    subprocess.run([sys.executable, str(TWIN / "udp_sender.py"), "--port", str(receiver.port),
                    "from Python"], check=True, timeout=10, capture_output=True)
    assert receiver.next_line().endswith(": from Python")


def test_bad_port_is_a_usage_error(run):
    for bad in ("abc", "70000", "-1"):
        result = run("udp_sender", "--port", bad, "x").expect_status(2)
        assert result.stderr.startswith("error: "), result.explain()


def test_help_exits_zero(run):
    for program in ("udp_sender", "udp_receiver"):
        result = run(program, "--help").ok()
        assert "--port" in result.stdout


def test_receiver_port_in_use_is_a_runtime_error(run, server):
    first = server("udp_receiver")
    result = run("udp_receiver", "--port", first.port).expect_status(1)
    assert re.match(r"error: bind 127\.0\.0\.1:\d+: Address already in use", result.stderr), \
        result.explain()
