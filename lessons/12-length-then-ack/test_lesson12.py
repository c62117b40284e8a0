"""Lesson 12: fix one, the length, an "ok", then the body. One extra round trip per message."""
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from course_harness import free_port, tcp_connect
from course_harness.peers import recv_exactly

TWIN = Path(__file__).parent / "python"
SENT = re.compile(r"^message #(\d+) \((\d+) bytes\): 1 round trip, \d+\.\d{3} ms waiting for ok$")


def test_messages_arrive_whole_and_round_trips_are_counted(run, server):
    receiver = server("ack_receiver")
    result = run("ack_sender", "--port", receiver.port, "hello", "", "你好 world").ok()
    assert receiver.lines_until(3) == ["message #1 (5 bytes): hello", "message #2 (0 bytes): ",
                                       "message #3 (12 bytes): 你好 world"], receiver.explain()
    assert len(result.lines) == 4, result.explain()
    for i, (line, size) in enumerate(zip(result.lines, (5, 0, 12)), 1):
        match = SENT.match(line)
        assert match and match.groups() == (str(i), str(size)), \
            f"line {i} should say 'message #{i} ({size} bytes): 1 round trip, ...'\n" \
            + result.explain()
    assert result.lines[3] == (f"sent 3 messages to 127.0.0.1:{receiver.port} "
                               "with 3 extra round trips (one per message)"), result.explain()


class FakeReceiver(threading.Thread):
    """A receiver that checks the sender really waits for "ok": after the digits
    it stays silent for a while and makes sure no body byte arrives meanwhile."""

    def __init__(self, messages: int, hold: float = 0.2):
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.messages, self.hold = messages, hold
        self.log: list[str] = []
        self.error: str | None = None
        self.start()

    def run(self):
        conn, _ = self.listener.accept()
        with conn:
            conn.settimeout(5)
            for _ in range(self.messages):
                digits = conn.recv(64)
                time.sleep(self.hold)
                conn.setblocking(False)
                try:
                    early = conn.recv(64)
                except BlockingIOError:
                    early = b""
                conn.settimeout(5)
                if early:
                    self.error = f"after the digits {digits!r} the sender sent {early!r} " \
                                 "before our ok"
                    return
                conn.sendall(b"ok")
                body = recv_exactly(conn, int(digits))
                self.log.append(f"{digits.decode()}:{body.decode()}")
        self.listener.close()


def test_sender_waits_for_ok_before_the_body(run):
    fake = FakeReceiver(messages=2)
    result = run("ack_sender", "--port", fake.port, "abc", "defgh").ok()
    fake.join(5)
    assert fake.error is None, fake.error + "\n" + result.explain()
    assert fake.log == ["3:abc", "5:defgh"], f"the fake receiver got {fake.log}\n" + \
        result.explain()
    waits = [float(line.split(", ")[1].split()[0]) for line in result.lines[:2]]
    assert all(w >= 150 for w in waits), (
        f"the receiver held each ok for 200 ms, so each round trip should show about 200 ms; "
        f"got {waits}\n{result.explain()}")


def test_sender_reads_stdin_lines(run, server):
    receiver = server("ack_receiver")
    run("ack_sender", "--port", receiver.port, input="one\ntwo\n\nthree\n").ok()
    assert receiver.lines_until(2) == ["message #1 (3 bytes): one", "message #2 (3 bytes): two"]


def test_sender_times_out_when_no_ok_comes(run):
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        started = time.monotonic()
        result = run("ack_sender", "--port", port, "--timeout", 0.3, "hi").expect_status(1)
        took = time.monotonic() - started
    assert result.stderr.startswith("error: ") and "0.3" in result.stderr, result.explain()
    assert took < 3, f"--timeout 0.3 took {took:.1f} s\n{result.explain()}"


def test_sender_says_when_the_receiver_closes(run):
    with socket.create_server(("127.0.0.1", 0)) as rude:
        port = rude.getsockname()[1]

        def hang_up():
            conn, _ = rude.accept()
            conn.recv(64)
            conn.close()

        t = threading.Thread(target=hang_up, daemon=True)
        t.start()
        result = run("ack_sender", "--port", port, "one", "two").ok()
        t.join(5)
    assert "closed the connection after 0 of 2 messages" in result.stderr, result.explain()


def test_sender_stops_at_an_answer_that_is_not_ok(run):
    """Two bytes come back, but they say "no": the body must not follow."""
    with socket.create_server(("127.0.0.1", 0)) as refusing:
        port = refusing.getsockname()[1]
        got = []

        def refuse():
            conn, _ = refusing.accept()
            with conn:
                conn.settimeout(5)
                got.append(conn.recv(64))
                conn.sendall(b"no")
                try:  # whatever the sender sends after that, up to its close
                    while chunk := conn.recv(64):
                        got.append(chunk)
                except OSError:
                    pass

        t = threading.Thread(target=refuse, daemon=True)
        t.start()
        result = run("ack_sender", "--port", port, "hello").expect_status(1)
        t.join(5)
    assert "error: " in result.stderr and '"ok"' in result.stderr, (
        f"the receiver answered b'no' to the length\nexpected an error that says an \"ok\" "
        f"was expected\n{result.explain()}")
    assert got == [b"5"], f"after b'no' the sender still sent {got[1:]}\n{result.explain()}"


def test_receiver_answers_ok_and_counts_per_connection(server):
    receiver = server("ack_receiver")
    for _ in range(2):
        with tcp_connect(receiver.port) as sock:
            sock.sendall(b"4")
            assert sock.recv(16) == b"ok"
            sock.sendall(b"ping")
            assert receiver.next_line() == "message #1 (4 bytes): ping"


def test_receiver_drops_a_client_that_does_not_wait(server):
    receiver = server("ack_receiver")
    with tcp_connect(receiver.port) as sock:
        sock.sendall(b"5hello")  # the body stuck to the digits
        assert sock.recv(16) == b"", "the receiver should have dropped the connection"
    receiver.wait_stderr(r"error: client 127\.0\.0\.1:\d+: expected a length in ASCII digits, "
                         r"got \"5hello\"")
    with tcp_connect(receiver.port) as sock:  # and it goes on
        sock.sendall(b"2")
        assert sock.recv(16) == b"ok"
        sock.sendall(b"ok")
        assert receiver.next_line() == "message #1 (2 bytes): ok"


def test_receiver_refuses_a_length_over_max_size(server):
    receiver = server("ack_receiver", "--max-size", 100)
    with tcp_connect(receiver.port) as sock:
        sock.sendall(b"4294967295")
        assert sock.recv(16) == b"", "no ok (and no allocation) for a 4 GiB message"
    receiver.wait_stderr(r"a message of 4294967295 bytes is over --max-size 100")
    receiver.assert_alive()


def test_receiver_survives_a_client_cut_mid_body(server):
    receiver = server("ack_receiver")
    with tcp_connect(receiver.port) as sock:
        sock.sendall(b"10")
        assert sock.recv(16) == b"ok"
        sock.sendall(b"abc")
    receiver.wait_stderr(r"error: client .*closed")
    with tcp_connect(receiver.port) as sock:
        sock.sendall(b"1")
        assert sock.recv(16) == b"ok"


def test_python_sender_to_cpp_receiver(server):
    receiver = server("ack_receiver")
    done = subprocess.run([sys.executable, str(TWIN / "ack_sender.py"), "--port",
                           str(receiver.port), "from", "Python"],
                          capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    assert receiver.lines_until(2) == ["message #1 (4 bytes): from",
                                       "message #2 (6 bytes): Python"]
    assert done.stdout.splitlines()[-1] == "sent 2 messages with 2 extra round trips (one per " \
                                           "message)"


def test_cpp_sender_to_python_receiver(run):
    twin = subprocess.Popen([sys.executable, str(TWIN / "ack_receiver.py"), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(twin.stdout.readline().rsplit(":", 1)[1])
        run("ack_sender", "--port", port, "from C++").ok()
        assert twin.stdout.readline().rstrip() == "message #1 (8 bytes): from C++"
    finally:
        twin.kill()
        twin.wait()


def test_help_and_errors(run):
    for program in ("ack_sender", "ack_receiver"):
        assert "--port" in run(program, "--help").ok().stdout
        run(program, "--port", "70000").expect_status(2)
    port = free_port()
    result = run("ack_sender", "--port", port, "x").expect_status(1)
    assert "Connection refused" in result.stderr, result.explain()


def test_nodelay_keeps_the_protocol_and_its_round_trips(run, server):
    receiver = server("ack_receiver")
    result = run("ack_sender", "--port", receiver.port, "--nodelay", "a", "bb").ok()
    assert receiver.lines_until(2) == ["message #1 (1 bytes): a", "message #2 (2 bytes): bb"]
    assert result.lines[-1].endswith("with 2 extra round trips (one per message)"), \
        result.explain()
