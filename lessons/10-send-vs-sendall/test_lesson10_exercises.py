"""Lesson 10 exercise: my_sendall (10.1). Points and hints: course.toml."""
import socket
import threading

import pytest

from course_harness import Result, start_server
from course_harness.peers import wait_until_blocked

SIZE = 16 * 1024 * 1024  # far more than any send buffer holds at once


def pattern(n: int) -> bytes:
    return bytes(range(251)) * (n // 251) + bytes(range(n % 251))


class SlowReader:
    """Accepts one client, then reads until it closes. held=True: reads nothing until
    release() (the client's first bytes have arrived before: `arrived` is set then)."""

    def __init__(self, held: bool = False, stop_after: int | None = None):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.data = bytearray()
        self.arrived = threading.Event()
        self.go = threading.Event()
        if not held:
            self.go.set()
        self.thread = threading.Thread(target=self._serve, args=(stop_after,), daemon=True)
        self.thread.start()

    def release(self):
        self.go.set()

    def _serve(self, stop_after):
        self.sock.settimeout(10)
        try:
            client, _ = self.sock.accept()
        finally:
            self.arrived.set()  # also when nobody came: nothing to wait for then
        with client:
            client.settimeout(10)
            try:
                client.recv(1, socket.MSG_PEEK)  # the first byte (or the end): read nothing yet
            finally:
                self.arrived.set()
            self.go.wait(10)
            while chunk := client.recv(1 << 20):
                self.data += chunk
                if stop_after is not None and len(self.data) >= stop_after:
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                    return  # closes with RST: the sender's next send() fails

    def join(self):
        self.thread.join(15)
        self.sock.close()


def what_arrived(got: bytes, size: int) -> str:
    """What the reader got, compared with the `size` pattern bytes sent, in the
    student's terms: too few, too many (and where the stream first went wrong), or
    the right number in the wrong order."""
    want = pattern(size)
    if got == want:
        return f"the reader got all {size} bytes, in order"
    first_wrong = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                       min(len(got), size))
    if len(got) < size and got == want[:len(got)]:
        return (f"the reader got only the first {len(got)} of the {size} bytes, then the "
                f"connection ended: one send() takes only what fits in the send buffer; "
                f"loop until every byte is gone")
    text = (f"the reader got {len(got)} bytes for the {size} sent; they are right up to byte "
            f"{first_wrong}, and from there on the stream goes wrong")
    back = next((d for d in range(1, 65) if first_wrong >= d and
                 got[first_wrong:first_wrong + 32] == want[first_wrong - d:first_wrong - d + 32]),
                None)
    if back is not None:
        text += (f": at byte {first_wrong} it repeats the {back} byte(s) before it. That is "
                 f"what happens when a send() that returned -1 (EAGAIN: the buffer is full) is "
                 f"added to the count of bytes sent: the position moves back by one, and those "
                 f"bytes go out twice. Move on only when send() returned >= 0")
    elif len(got) > size:
        text += f" ({len(got) - size} bytes more than were sent)"
    return text


def test_my_sendall_delivers_every_byte_to_a_slow_reader(programs):
    reader = SlowReader(held=True)
    sender = start_server(programs.path("my_sendall"), "--port", reader.port, "--bytes", SIZE,
                          ready=False)
    try:
        # The reader starts reading only once my_sendall cannot go on without it:
        # its first bytes have arrived and it sleeps (the buffers are full, it waits
        # for room), or it has exited (one send() and done: the starter code). So
        # every my_sendall meets a full buffer, for certain, and a failing one
        # fails at once. (A loop that spins on EAGAIN never sleeps: after 3 s the
        # reader starts anyway.)
        wait_until_blocked(sender.proc, reader.arrived.is_set, timeout=3)
        reader.release()
        status = sender.wait_exit(timeout=10)
    finally:
        reader.release()
        sender.kill()
    reader.join()
    result = Result(sender.argv, None, status, sender.stdout.text() + "\n",
                    sender.stderr.text() + "\n")
    got = bytes(reader.data)
    if got != pattern(SIZE) or result.lines != [f"sent {SIZE} bytes"]:
        pytest.fail(
            f"my_sendall --bytes {SIZE} to a reader that reads nothing until the buffers are "
            f"full\nexpected the reader to get all {SIZE} bytes, in order, and stdout 'sent "
            f"{SIZE} bytes'\ngot: {what_arrived(got, SIZE)}\n{result.explain()}", pytrace=False)


def test_my_sendall_sends_a_small_message_whole(run):
    reader = SlowReader()
    result = run("my_sendall", "--port", reader.port, "--bytes", 1000).ok()
    reader.join()
    got = bytes(reader.data)
    if got != pattern(1000):
        pytest.fail(f"my_sendall --bytes 1000\nexpected the reader to get the 1000-byte "
                    f"pattern\ngot: {what_arrived(got, 1000)}\n{result.explain()}",
                    pytrace=False)


def check_fails_cleanly(run, reset_after: int) -> None:
    reader = SlowReader(stop_after=reset_after)
    argv = ["--port", reader.port, "--bytes", SIZE]
    hung = None
    try:
        result = run("my_sendall", *argv)
    except pytest.fail.Exception as error:
        hung = str(error)  # failed below, outside the except: one message, not a chain
    reader.join()
    situation = (f"ran my_sendall --bytes {SIZE}; the reader read {reset_after} bytes, then "
                 f"reset the connection (the peer is gone: every later send() fails)\n"
                 f"expected my_sendall to fail cleanly: exit status 1, an error about send on "
                 f"stderr ('error: send: ...'), nothing on stdout\n")
    if hung is not None:
        pytest.fail(f"{situation}got: it never finished. A send() that fails returns -1 "
                    f"with errno ECONNRESET or EPIPE, for ever: throw it "
                    f"(course::throw_errno(\"send\")), do not count it or try again\n\n{hung}",
                    pytrace=False)
    assert result.returncode == 1 and "send" in result.stderr and not result.stdout, (
        f"{situation}{result.explain()}")


def test_my_sendall_fails_when_the_peer_goes_away(run):
    """A peer that goes away makes my_sendall fail with an error (exit status 1)."""
    check_fails_cleanly(run, 1 << 20)


@pytest.mark.hidden
def test_my_sendall_reports_a_peer_that_resets(run):
    """A peer that goes away makes my_sendall fail with an error (exit status 1),
    here after fewer bytes."""
    check_fails_cleanly(run, 100_000)
