"""course_harness.settled and _LineReader.caught_up(): a test stops waiting for a
reply, or a line, that a wrong program will never send, without waiting out a
timeout; and it never stops early while a working program is still busy."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

from course_harness.process import start_server
from course_harness.settled import datagram_reply, done_with, waiting_for_input
from course_harness.wire import SYSCALLS

# A UDP program that prints "bound to HOST:PORT", then for each datagram prints
# a line and, depending on its first byte, answers at once (a), never (n), or
# after sleeping first (s: busy, though not waiting for input).
UDP_PROGRAM = """
import socket, sys, time
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
print("bound to 127.0.0.1:%d" % sock.getsockname()[1], flush=True)
while True:
    data, peer = sock.recvfrom(100)
    print("got", data.decode(), flush=True)
    if data.startswith(b"s"):
        time.sleep(0.6)
    if not data.startswith(b"n"):
        sock.sendto(b"re " + data, peer)
"""


def udp_program(tmp_path: Path):
    script = tmp_path / "udp_program.py"
    script.write_text(UDP_PROGRAM)
    wrapper = tmp_path / "udp_program"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {script}\n")
    wrapper.chmod(0o755)
    return start_server(wrapper)


def ask(program, sock: socket.socket, payload: bytes) -> tuple[bytes | None, float]:
    with program.stdout.lock:
        printed = len(program.stdout.all)
    started = time.monotonic()
    sock.sendto(payload, program.address)
    got = datagram_reply(sock, lambda: done_with(program, printed))
    return (got[0] if got else None), time.monotonic() - started


def test_a_reply_comes_back_and_a_missing_one_is_noticed_soon(tmp_path):
    program = udp_program(tmp_path)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            assert ask(program, sock, b"a1")[0] == b"re a1"
            reply, took = ask(program, sock, b"n2")
            assert reply is None
            assert took < 3, f"a missing reply took {took:.1f} s to notice (the timeout is 5 s)"
            # busy (sleeping) after its line is not waiting for input: the reply is waited for
            assert ask(program, sock, b"s3")[0] == b"re s3"
    finally:
        program.kill()


def test_waiting_for_input_tells_a_blocked_program_from_a_sleeping_one(tmp_path):
    program = udp_program(tmp_path)
    try:
        deadline = time.monotonic() + 5
        while not waiting_for_input(program.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert waiting_for_input(program.proc.pid), "blocked in recvfrom(): waiting for input"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"s", program.address)
            program.next_line()  # "got s": now it sleeps
            assert not waiting_for_input(program.proc.pid), "asleep in the middle of a request"
    finally:
        program.kill()


def test_caught_up_once_every_written_line_is_read(tmp_path):
    script = tmp_path / "lines.sh"
    script.write_text("#!/bin/sh\necho 'bound to 127.0.0.1:9'\nseq 1 200000\nexec sleep 30\n")
    script.chmod(0o755)
    program = start_server(script)
    try:
        # Once the script sleeps, it has written everything: caught up means read too.
        comm = Path(f"/proc/{program.proc.pid}/comm")
        deadline = time.monotonic() + 5
        while comm.read_text().strip() != "sleep" and time.monotonic() < deadline:
            time.sleep(0.001)
        assert program.stdout.wait_caught_up(timeout=5)
        assert program.stdout.all[-1] == "200000", program.stdout.all[-3:]
    finally:
        program.kill()


def test_not_caught_up_while_a_line_read_is_not_yet_kept(tmp_path):
    """The reader thread has taken a line from the pipe but not yet appended it
    (held up here by its lock): the pipe is empty, yet the line is not in `all`."""
    script = tmp_path / "echo_lines.sh"
    script.write_text("#!/bin/sh\necho 'bound to 127.0.0.1:9'\n"
                      "while read -r line; do echo \"$line\"; done\n")
    script.chmod(0o755)
    program = start_server(script, stdin=True)
    reader = program.stdout
    try:
        assert reader.wait_caught_up(timeout=5)
        with reader.lock:
            program.proc.stdin.write(b"hello\n")
            program.proc.stdin.flush()
            state = Path(f"/proc/self/task/{reader.native_id}/syscall")
            deadline = time.monotonic() + 5
            futex = [n for n, name in SYSCALLS.items() if name == "futex"]
            while (state.read_text().split()[0] not in map(str, futex)
                   and time.monotonic() < deadline):
                time.sleep(0.001)  # until the reader waits for the lock (futex)
            assert not reader.caught_up(), "a line was read from the pipe but is not kept yet"
        assert reader.wait_caught_up(timeout=5)
        assert reader.all[-1] == "hello"
    finally:
        program.kill()


def test_the_system_call_names_are_this_machines():
    """/proc/PID/syscall gives a number, and the numbers differ between x86_64 and
    arm64 (a Mac's dev container): a wrong table would name the wrong calls."""
    import platform
    from course_harness import wire
    table = {"x86_64": wire.X86_64_SYSCALLS, "aarch64": wire.ARM64_SYSCALLS}
    assert platform.machine() in table, f"no system call table for {platform.machine()}"
    assert SYSCALLS is table[platform.machine()]
    for calls in table.values():  # what settled.py and the failure reports look for
        assert {"read", "recvfrom", "recvmsg", "ppoll", "futex", "accept4",
                "clock_nanosleep", "connect", "sendto"} <= set(calls.values())
    # the same call in both tables has different numbers
    assert wire.X86_64_SYSCALLS[0] == "read" and wire.ARM64_SYSCALLS[63] == "read"
