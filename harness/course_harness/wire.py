"""What happened on the wire, for a failing test's report.

  * A transcript: every chunk the test's own sockets sent and received, with
    its direction, size and time since the test started (recorded by wrapping
    the socket class's send and receive methods for the test's duration).
  * Expected and got as a hex dump (the way `xxd` prints it), the first
    differing offset marked: pytest shows it for any failed `==` between bytes.
  * Where a hung program waits: the system call it is blocked in, read from
    /proc/PID/syscall ("blocked in recvfrom() on fd 3").
  * A replay line: the test's first message again, with printf and nc.

No anchor course does this; it is what a networking course can give."""

from __future__ import annotations

import os
import platform
import shlex
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

KEEP_BYTES = 256          # of each chunk, in the transcript
KEEP_CHUNKS = 60          # chunks listed before "... N more"
DUMP_BYTES = 256          # of each side, in a hex dump

# The numbers of the calls a socket program waits in, as /proc/PID/syscall shows
# them: x86_64's (asm/unistd_64.h), and arm64's (asm-generic/unistd.h: a Mac's dev
# container), which has no poll, select or epoll_wait, only their p- versions.
X86_64_SYSCALLS = {
    0: "read", 1: "write", 7: "poll", 16: "ioctl", 20: "writev", 23: "select",
    35: "nanosleep", 42: "connect", 43: "accept", 44: "sendto", 45: "recvfrom",
    46: "sendmsg", 47: "recvmsg", 61: "wait4", 202: "futex", 230: "clock_nanosleep",
    232: "epoll_wait", 270: "pselect6", 271: "ppoll", 281: "epoll_pwait",
    288: "accept4", 299: "recvmmsg", 307: "sendmmsg", 441: "epoll_pwait2"}
ARM64_SYSCALLS = {
    22: "epoll_pwait", 29: "ioctl", 63: "read", 64: "write", 66: "writev", 72: "pselect6",
    73: "ppoll", 98: "futex", 101: "nanosleep", 115: "clock_nanosleep", 202: "accept",
    203: "connect", 206: "sendto", 207: "recvfrom", 211: "sendmsg", 212: "recvmsg",
    242: "accept4", 243: "recvmmsg", 260: "wait4", 269: "sendmmsg", 441: "epoll_pwait2"}
SYSCALLS = {"x86_64": X86_64_SYSCALLS, "aarch64": ARM64_SYSCALLS}.get(platform.machine(), {})
FD_FIRST = {"read", "write", "ioctl", "writev", "connect", "accept", "sendto", "recvfrom",
            "sendmsg", "recvmsg", "accept4", "recvmmsg", "sendmmsg", "epoll_wait",
            "epoll_pwait", "epoll_pwait2"}
FRIENDLY = {"recvfrom": "recv", "sendto": "send", "accept4": "accept", "pselect6": "select",
            "ppoll": "poll", "epoll_pwait": "epoll_wait", "clock_nanosleep": "sleep",
            "nanosleep": "sleep"}


# ---------------------------------------------------------------- the transcript

@dataclass
class Chunk:
    at: float
    direction: str     # "sent" or "received"
    local: str
    peer: str
    kind: str          # "tcp", "udp", "unix"
    data: bytes
    size: int


@dataclass
class Transcript:
    started: float = field(default_factory=time.monotonic)
    chunks: list[Chunk] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sock: socket.socket, direction: str, data: bytes, peer=None) -> None:
        try:
            local = _name(sock.getsockname())
        except OSError:
            local = "?"
        try:
            peer = _name(peer if peer is not None else sock.getpeername())
        except OSError:
            peer = "?"
        kind = {socket.SOCK_STREAM: "tcp", socket.SOCK_DGRAM: "udp"}.get(sock.type, "?")
        if sock.family == socket.AF_UNIX:
            kind = "unix"
        with self.lock:
            if len(self.chunks) >= KEEP_CHUNKS * 100:  # a bulk transfer: enough is known
                return
            self.chunks.append(Chunk(time.monotonic() - self.started, direction, local, peer,
                                     kind, bytes(data[:KEEP_BYTES]), len(data)))

    def render(self) -> str:
        with self.lock:
            chunks = list(self.chunks)
        if not chunks:
            return ""
        lines = ["what the test sent and received (its own sockets):"]
        for c in chunks[:KEEP_CHUNKS]:
            arrow = "->" if c.direction == "sent" else "<-"
            cut = "" if c.size <= KEEP_BYTES else f" ... (+{c.size - KEEP_BYTES} bytes)"
            lines.append(f"  +{c.at:7.3f} s  test {arrow} {c.peer:<22} {c.kind} "
                         f"{c.size:>6} bytes  {c.data!r}{cut}")
        if len(chunks) > KEEP_CHUNKS:
            lines.append(f"  ... {len(chunks) - KEEP_CHUNKS} more chunks")
        replay = replay_line(chunks)
        if replay:
            lines.append(f"replay the first message (start the server as above first):\n"
                         f"  {replay}")
        return "\n".join(lines)


def _name(address) -> str:
    if isinstance(address, tuple):
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    if isinstance(address, bytes):
        return address.decode(errors="replace") or "(unnamed)"
    return str(address) or "(unnamed)"


def replay_line(chunks: list[Chunk]) -> str:
    first = next((c for c in chunks if c.direction == "sent" and c.kind in ("tcp", "udp")), None)
    if first is None or ":" not in first.peer:
        return ""
    host, _, port = first.peer.rpartition(":")
    host = host.strip("[]")
    data = b"".join(c.data for c in chunks if c.direction == "sent" and c.peer == first.peer
                    and c.kind == first.kind)[:KEEP_BYTES]
    printf = "printf " + shlex.quote("".join(
        chr(b) if 32 <= b < 127 and chr(b) not in "\\%'" else f"\\x{b:02x}" for b in data))
    flags = "-u -w1 " if first.kind == "udp" else "-q1 "
    return f"{printf} | nc {flags}{host} {port}"


# ---------------------------------------------------------------- recording

_METHODS = ("send", "sendall", "sendto", "recv", "recvfrom", "recv_into")
_original = {name: getattr(socket.socket, name) for name in _METHODS}
_current: Transcript | None = None


def _recording(name):
    original = _original[name]

    def call(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        transcript = _current
        if transcript is None:
            return result
        try:
            if name == "send":
                transcript.add(self, "sent", memoryview(args[0])[:result].tobytes())
            elif name == "sendall":
                transcript.add(self, "sent", bytes(args[0]))
            elif name == "sendto":
                transcript.add(self, "sent", bytes(args[0]), peer=args[-1])
            elif name == "recv":
                if result:
                    transcript.add(self, "received", result)
            elif name == "recvfrom":
                transcript.add(self, "received", result[0], peer=result[1])
            elif name == "recv_into" and result:
                transcript.add(self, "received", memoryview(args[0])[:result].tobytes())
        except Exception:  # noqa: BLE001 - recording must never change what the test sees
            pass
        return result

    call.__name__ = name
    return call


def start_recording() -> Transcript:
    global _current
    _current = Transcript()
    for name in _METHODS:
        setattr(socket.socket, name, _recording(name))
    return _current


def stop_recording() -> None:
    global _current
    _current = None
    for name, method in _original.items():
        setattr(socket.socket, name, method)


# ---------------------------------------------------------------- hex dumps

def hexdump(data: bytes, mark: int | None = None, limit: int = DUMP_BYTES) -> list[str]:
    """xxd's layout: offset, 16 bytes in hex, the same as ASCII; `mark` underlined."""
    lines = []
    for offset in range(0, min(len(data), limit), 16):
        row = data[offset:offset + 16]
        hexes = " ".join(f"{row[i:i + 2].hex():<4}" for i in range(0, 16, 2))
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        lines.append(f"{offset:08x}: {hexes}  {text}")
        if mark is not None and offset <= mark < offset + 16:
            column = 10 + (mark - offset) * 2 + (mark - offset) // 2
            lines.append(" " * column + "^^ first difference, offset "
                         f"{mark} (0x{mark:x})")
    if len(data) > limit:
        lines.append(f"... {len(data) - limit} more bytes")
    if not data:
        lines.append("(no bytes)")
    return lines


def first_difference(left: bytes, right: bytes) -> int | None:
    for i, (a, b) in enumerate(zip(left, right)):
        if a != b:
            return i
    return None if len(left) == len(right) else min(len(left), len(right))


def bytes_diff(left: bytes, right: bytes) -> list[str]:
    at = first_difference(left, right)
    lines = [f"left: {len(left)} bytes, right: {len(right)} bytes"
             + (f"; they first differ at offset {at}" if at is not None else "")]
    lines += ["left:"] + ["  " + line for line in hexdump(left, at)]
    lines += ["right:"] + ["  " + line for line in hexdump(right, at)]
    return lines


def compare(op: str, left, right) -> list[str] | None:
    """pytest_assertrepr_compare for bytes (and lists of bytes): hex dumps."""
    if op != "==":
        return None
    if isinstance(left, (bytes, bytearray)) and isinstance(right, (bytes, bytearray)):
        return [f"{bytes(left)[:60]!r} == {bytes(right)[:60]!r}", *bytes_diff(left, right)]
    if isinstance(left, list) and isinstance(right, list) and left and all(
            isinstance(x, (bytes, bytearray)) for x in left + right):
        for i, (a, b) in enumerate(zip(left, right)):
            if a != b:
                return [f"lists of bytes differ first at item {i}", *bytes_diff(a, b)]
        return [f"lists of bytes: left has {len(left)} items, right {len(right)}"]
    return None


# ---------------------------------------------------------------- where a program waits

def where_waits(pid: int) -> str:
    """'blocked in recv() on fd 3' for each thread of a running program."""
    threads = sorted(Path(f"/proc/{pid}/task").glob("*")) if Path(f"/proc/{pid}").exists() \
        else []
    found = []
    for task in threads[:8]:
        try:
            fields = (task / "syscall").read_text().split()
        except OSError:
            continue
        if not fields or not fields[0].lstrip("-").isdigit():
            found.append(f"thread {task.name}: {fields[0] if fields else '?'} (not in a call)")
            continue
        number = int(fields[0])
        name = SYSCALLS.get(number, f"system call {number}")
        friendly = FRIENDLY.get(name, name)
        what = f"{friendly}()" + (f" [{name}]" if friendly != name else "")
        if name in FD_FIRST and len(fields) > 1:
            fd = int(fields[1], 16)
            what += f" on fd {fd}{_fd_kind(pid, fd)}"
        elif name in ("poll", "ppoll") and len(fields) > 2:
            fds = _polled(pid, int(fields[1], 16), int(fields[2], 16))
            if fds:
                what += " on " + ", ".join(f"fd {fd}{_fd_kind(pid, fd)}" for fd in fds)
        found.append(f"thread {task.name}: blocked in {what}")
    if not found:
        return ""
    return "where it waits (from /proc/PID/task/*/syscall):\n  " + "\n  ".join(found)


def _polled(pid: int, address: int, count: int) -> list[int]:
    """The descriptors of a poll() call: its struct pollfd array (int fd, short
    events, short revents), read from the process's memory."""
    if not 0 < count <= 64:
        return []
    try:
        with open(f"/proc/{pid}/mem", "rb") as memory:
            memory.seek(address)
            raw = memory.read(8 * count)
    except (OSError, ValueError, OverflowError):
        return []
    return [int.from_bytes(raw[i:i + 4], "little", signed=True)
            for i in range(0, len(raw) - 7, 8)]


def _fd_kind(pid: int, fd: int) -> str:
    try:
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return ""
    return f" ({target})"
