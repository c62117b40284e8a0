"""Lesson 10: one send() may send less than asked; a sendall() loop sends everything."""
import hashlib
import re
import subprocess
import sys
from pathlib import Path

from course_harness import Result, start_server, tcp_connect
from course_harness.peers import stopped, wait_until_blocked

TWIN = Path(__file__).parent / "python"
SIZE = 16 * 1024 * 1024
SENT = re.compile(r"send\(\) accepted (\d+) of (\d+) bytes, sha256 ([0-9a-f]{64})")
SENT_ALL = re.compile(r"sent (\d+) bytes, sha256 ([0-9a-f]{64})")
RECEIVED = re.compile(r"received (\d+) bytes, sha256 ([0-9a-f]{64})")
SMALL = ["--sndbuf", 65536]


def finish(reader) -> re.Match:
    """Waits for slow_reader to exit 0 and returns its `received N bytes, sha256 H` line."""
    reader.expect_exit(0, timeout=15)
    line = reader.next_line(timeout=1)
    match = RECEIVED.fullmatch(line)
    assert match, f"slow_reader printed {line!r}, expected 'received N bytes, sha256 HEX'\n" \
        + reader.explain()
    return match


def test_one_send_accepts_only_part(server, run):
    reader = server("slow_reader", "--delay", 0, "--rcvbuf", 65536)
    # The reader is frozen (SIGSTOP) until the sender has exited: it reads nothing
    # while the one send() runs, for certain, where a --delay would only hope to
    # outlast it. The kernel still completes the connection and fills the
    # reader's receive buffer. With nobody reading, the send() can never take
    # all the bytes, so its --timeout (SO_SNDTIMEO) only says how long it tries.
    with stopped(reader.proc.pid):
        result = run("bulk_sender", "--port", reader.port, "--bytes", SIZE, "--mode", "send",
                     *SMALL, "--timeout", 0.1).ok()
    match = SENT.fullmatch(result.stdout.strip())
    assert match, result.explain()
    accepted, asked = int(match.group(1)), int(match.group(2))
    assert asked == SIZE
    # The reader is not reading yet: only what fits in its receive buffer and
    # our send buffer (a few hundred KiB) can be handed over.
    assert 0 < accepted < SIZE // 4, (
        f"with small buffers and nobody reading, one send() of {SIZE} bytes should take "
        f"far fewer; it took {accepted}\n{result.explain()}")
    received = finish(reader)
    assert int(received.group(1)) == accepted, \
        f"the reader got {received.group(1)} bytes; the sender's send() took {accepted}"
    assert received.group(2) == match.group(3), "sha256 of the accepted part differs"


def test_sendall_delivers_every_byte(server, programs):
    reader = server("slow_reader", "--delay", 0, "--rcvbuf", 65536)
    # The reader stays frozen (SIGSTOP) until the sender has filled the buffers
    # and sleeps, waiting for room (after its "connected" line the only call in
    # which it sleeps is that wait): so the loop's EAGAIN-and-wait path is taken
    # for certain, where a --delay only hoped that the sender got that far.
    with stopped(reader.proc.pid):
        sender = start_server(programs.path("bulk_sender"), "--port", reader.port, "--bytes",
                              SIZE, "--mode", "sendall", *SMALL, "--timeout", 5, ready=False)
        try:
            blocked = wait_until_blocked(sender.proc, lambda: "connected" in sender.stderr.text())
        except BaseException:
            sender.kill()
            raise
    try:
        status = sender.wait_exit(timeout=15)
    finally:
        sender.kill()
    result = Result(sender.argv, None, status, sender.stdout.text() + "\n",
                    sender.stderr.text() + "\n")
    assert blocked == "blocked", (
        "bulk_sender --mode sendall, to a reader that reads nothing yet: expected it to fill "
        f"the buffers and wait for room; it {blocked or 'never did, within 5 s'}\n" +
        result.explain())
    result.ok()
    match = SENT_ALL.fullmatch(result.stdout.strip())
    assert match and int(match.group(1)) == SIZE, result.explain()
    calls = re.search(r"sendall: (\d+) send\(\) calls, (\d+) of them sent less", result.stderr)
    assert calls and int(calls.group(2)) >= 1, "expected at least one partial send\n" + \
        result.explain()
    received = finish(reader)
    assert (int(received.group(1)), received.group(2)) == (SIZE, match.group(2)), (
        f"sender: {result.stdout.strip()}\nreader: {received.group(0)}")


def test_sendall_gives_up_when_the_reader_takes_nothing(server, run):
    # --delay 30: the reader takes nothing for far longer than this test runs (it
    # is stopped at the end, which ends its wait at once). A reader that took the
    # delay as milliseconds would read after 30 ms, and the sender would not give up.
    reader = server("slow_reader", "--delay", 30, "--rcvbuf", 65536)
    result = run("bulk_sender", "--port", reader.port, "--bytes", SIZE, *SMALL,
                 "--timeout", 0.3).expect_status(1)
    assert result.stderr.startswith("connected") and "error: send: the reader took nothing" \
        in result.stderr, result.explain()


def test_cpp_and_python_make_the_same_bytes(server):
    reader = server("slow_reader", "--delay", 0)
    done = subprocess.run([sys.executable, str(TWIN / "bulk_sender.py"), "--port",
                           str(reader.port), "--bytes", str(SIZE)], capture_output=True,
                          text=True, timeout=20)
    assert done.returncode == 0, done
    match = SENT_ALL.fullmatch(done.stdout.strip())
    assert match, done
    received = finish(reader)
    assert received.group(2) == match.group(2)


def test_python_reader_agrees_with_cpp_sender(run, programs):
    twin = subprocess.Popen([sys.executable, str(TWIN / "slow_reader.py"), "--port", "0",
                             "--delay", "0"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(twin.stdout.readline().rsplit(":", 1)[1])
        result = run("bulk_sender", "--port", port, "--bytes", 1000003).ok()
        assert twin.wait(timeout=10) == 0
        line = twin.stdout.readline().strip()
    finally:
        twin.kill()
        twin.wait()
    sent = SENT_ALL.fullmatch(result.stdout.strip())
    assert RECEIVED.fullmatch(line).groups() == sent.groups(), (line, result.stdout)


def test_reader_hashes_what_a_python_peer_sends(server):
    data = bytes(range(256)) * 1000
    reader = server("slow_reader", "--delay", 0)
    with tcp_connect(reader.port) as peer:
        peer.sendall(data)
    received = finish(reader)
    assert received.groups() == (str(len(data)), hashlib.sha256(data).hexdigest())


def test_reader_stops_cleanly_while_waiting(server):
    reader = server("slow_reader", "--delay", 30)
    with tcp_connect(reader.port):
        reader.wait_stderr("waiting")
        reader.stop()


def test_usage_errors(run):
    run("bulk_sender", "--mode", "sometimes").expect_status(2)
    run("bulk_sender", "--bytes", "0").expect_status(2)
    run("slow_reader", "--delay", "soon").expect_status(2)
    for program in ("bulk_sender", "slow_reader"):
        assert "--port" in run(program, "--help").ok().stdout
