"""Lesson 11: sticky packets. TCP delivers bytes, not messages."""
import re
import subprocess
import sys
from pathlib import Path

from course_harness import free_port, tcp_connect

TWIN = Path(__file__).parent / "python"
RECV = re.compile(r"^recv #(\d+) \((\d+) bytes\): (.*)$")


def recvs(receiver, sender_result):
    """Every 'recv #I (N bytes): TEXT' line the receiver printed, as (N, TEXT)."""
    receiver.expect_exit(0)
    lines = receiver.stdout.text().splitlines()[1:]
    parsed = [RECV.match(line) for line in lines]
    assert all(parsed), (f"every line after the first should be 'recv #I (N bytes): TEXT'\n"
                         f"{receiver.explain()}\n{sender_result.explain()}")
    assert [int(m.group(1)) for m in parsed] == list(range(1, len(parsed) + 1)), receiver.explain()
    return [(int(m.group(2)), m.group(3)) for m in parsed]


def test_ten_small_sends_arrive_merged(run, server):
    receiver = server("sticky_receiver", "--delay", 0.5)
    sent = run("sticky_sender", "--port", receiver.port, "--count", 10, "--message", "hello").ok()
    got = recvs(receiver, sent)
    assert got == [(50, "hello" * 10)], (
        "10 sends of 'hello' made before the receiver's first recv() should come back from "
        f"ONE recv() of 50 bytes; got {got}\n{receiver.explain()}")
    assert sent.lines == [f"made 10 sends of 5 bytes (50 bytes) to 127.0.0.1:{receiver.port}"], \
        sent.explain()


def test_one_big_send_arrives_split(run, server):
    receiver = server("sticky_receiver", "--bufsize", 1024, "--delay", 0.3)
    sent = run("sticky_sender", "--port", receiver.port, "--count", 1, "--message", "x" * 5000).ok()
    got = recvs(receiver, sent)
    assert [n for n, _ in got] == [1024, 1024, 1024, 1024, 904], (
        f"one send of 5000 bytes read with recv(1024) should take 5 calls; got sizes "
        f"{[n for n, _ in got]}\n{receiver.explain()}")
    assert "".join(text for _, text in got) == "x" * 5000


def test_nodelay_does_not_restore_boundaries(run, server):
    receiver = server("sticky_receiver", "--delay", 0.5)
    sent = run("sticky_sender", "--port", receiver.port, "--count", 10, "--message", "hello",
               "--nodelay").ok()
    got = recvs(receiver, sent)
    assert got == [(50, "hello" * 10)], (
        "with TCP_NODELAY each send leaves at once, but a recv() still returns every byte that "
        f"has arrived; expected one recv of 50 bytes, got {got}\n{receiver.explain()}")


def test_bytes_and_order_survive_without_delay(run, server):
    receiver = server("sticky_receiver", "--bufsize", 7)
    sent = run("sticky_sender", "--port", receiver.port, "--count", 20, "--message", "abc").ok()
    got = recvs(receiver, sent)
    assert "".join(text for _, text in got) == "abc" * 20, receiver.explain()
    assert all(n <= 7 for n, _ in got), got


def test_receiver_serves_one_client_and_logs(run, server):
    receiver = server("sticky_receiver")
    with tcp_connect(receiver.port) as sock:
        sock.sendall(b"one")
        assert receiver.next_line() == "recv #1 (3 bytes): one"
    receiver.expect_exit(0)
    assert re.search(r"client closed: 3 bytes in 1 recv\(\) calls", receiver.stderr.text()), \
        receiver.explain()


def test_receiver_escapes_invalid_utf8(run, server):
    receiver = server("sticky_receiver")
    with tcp_connect(receiver.port) as sock:
        sock.sendall(b"a\xffb")
        assert receiver.next_line() == "recv #1 (3 bytes): a\\xffb"
    receiver.expect_exit(0)


def test_python_sender_to_cpp_receiver(server):
    receiver = server("sticky_receiver", "--delay", 0.5)
    done = subprocess.run([sys.executable, str(TWIN / "sticky_sender.py"), "--port",
                           str(receiver.port), "--count", "4", "--message", "py"],
                          capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    receiver.expect_exit(0)
    assert receiver.stdout.text().splitlines()[1:] == ["recv #1 (8 bytes): pypypypy"], \
        receiver.explain()


def test_cpp_sender_to_python_receiver(run):
    twin = subprocess.Popen([sys.executable, str(TWIN / "sticky_receiver.py"), "--port", "0",
                             "--delay", "0.5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        port = int(twin.stdout.readline().rsplit(":", 1)[1])
        run("sticky_sender", "--port", port, "--count", 3, "--message", "C++").ok()
        out, err = twin.communicate(timeout=5)
        assert out.splitlines() == ["recv #1 (9 bytes): C++C++C++"], out + err
    finally:
        twin.kill()


def test_sender_reports_refused_connection(run):
    port = free_port()
    result = run("sticky_sender", "--port", port).expect_status(1)
    assert result.stderr.startswith(f"error: connect to 127.0.0.1:{port}: Connection refused"), \
        result.explain()


def test_help_and_bad_flags(run):
    for program in ("sticky_sender", "sticky_receiver"):
        assert "--port" in run(program, "--help").ok().stdout
        result = run(program, "--port", "abc").expect_status(2)
        assert result.stderr.startswith("error: "), result.explain()
    run("sticky_receiver", "--delay", "soon").expect_status(2)
