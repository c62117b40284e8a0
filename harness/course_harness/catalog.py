"""Every server program in the course, and how a well-behaved client talks to it.

The bad-input matrix (harness/tests/test_bad_input.py) and the soak script
(harness/bench/soak.py) both read this table: adding a server to the course
means adding one entry here, and then it is attacked like all the others."""

from __future__ import annotations

import os
import socket
import struct
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .peers import recv_exactly

SECRET = "SECRET-FILE-OUTSIDE-ROOT-7f3a"
FILE_BODY = b"hello from the course's test file\n" * 100


def _lines_until(sock: socket.socket, marker: bytes, timeout: float = 5) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


# ---------------------------------------------------------------- good clients
# Each takes (host, port, server) and raises AssertionError if the server
# does not answer as its lesson promises.

def echo_round_trip(host, port, server=None):
    with socket.create_connection((host, port), timeout=5) as s:
        message = b"well-behaved client\n"
        s.sendall(message)
        got = recv_exactly(s, len(message))
        assert got == message, f"sent {message!r}, echo came back as {got!r}"


def chatbot_greeting(host, port, server=None):
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"what is your name?")
        s.settimeout(5)
        reply = s.recv(4096)
        assert b"bot" in reply.lower(), f"asked the bot's name, got {reply!r}"
        s.sendall(b"bye")
        s.recv(4096)


def file_download(host, port, server=None):
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"good.txt")
        s.settimeout(5)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data == FILE_BODY, f"asked for good.txt, got {len(data)} bytes"


def _printed(server, ending: str, timeout: float = 5) -> None:
    """Waits for the receiver to print a line ending in `ending`. Lines an attack
    made it print may still arrive first (it prints them as it gets to them), so
    those are passed over; the good client's payload is one no attack sends."""
    deadline = time.monotonic() + timeout
    seen = []
    while not any(line.endswith(ending) for line in seen):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"expected a line ending {ending!r}; the receiver printed {seen!r}"
        seen.append(server.next_line(timeout=remaining))


def ack_message(host, port, server):
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"11")
        assert recv_exactly(s, 2) == b"ok", "the receiver did not acknowledge the length"
        s.sendall(b"well-behave")
    _printed(server, "(11 bytes): well-behave")


def framed_message(host, port, server):
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(struct.pack("!I", 11) + b"well-behave")
    _printed(server, "(11 bytes): well-behave")


def _frame(obj: dict) -> bytes:
    body = json.dumps(obj).encode()
    return struct.pack("!I", len(body)) + body


def _read_frame(s: socket.socket) -> dict:
    (length,) = struct.unpack("!I", recv_exactly(s, 4))
    assert length < 1 << 20, f"reply header claims {length} bytes"
    return json.loads(recv_exactly(s, length))


def ftp_listing(host, port, server=None):
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(_frame({"op": "ls"}))
        reply = _read_frame(s)
    assert reply.get("status") == "ok", f"ls replied {reply!r}"
    names = [f["name"] for f in reply.get("files", [])]
    assert "good.txt" in names, f"ls listed {names!r}"


def chat_room_relay(host, port, server=None):
    with socket.create_connection((host, port), timeout=5) as a, \
            socket.create_connection((host, port), timeout=5) as b:
        # connect() returns before the server has added us to the room, so b
        # repeats its line until a, once in the room, hears it.
        a.settimeout(0.2)
        heard = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            b.sendall(b"hello room\n")
            try:
                heard += a.recv(65536)
            except socket.timeout:
                continue
            if b"hello room" in heard:
                return
        raise AssertionError(f"a line from b never reached a; a heard {heard[-200:]!r}")


def http_get(host, port, server=None):
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"GET /good.txt HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        s.settimeout(5)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200"), f"GET /good.txt answered {data[:80]!r}"
    assert data.endswith(FILE_BODY), "the body is not the file"


def udp_upper_echo(host, port, server=None):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(b"hello", (host, port))
        reply, _ = s.recvfrom(65536)
    assert reply == b"HELLO", f"sent b'hello', got {reply!r}"


def udp_printed(host, port, server):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.sendto(b"well-behaved", (host, port))
    _printed(server, ": well-behaved")


# ---------------------------------------------------------------- the table

@dataclass
class ServerSpec:
    program: str
    lesson: str
    good_client: Callable
    args: list[str] = field(default_factory=list)
    kind: str = "stream"          # "stream", "datagram"
    protocol: str = "bytes"       # "bytes", "framed", "json", "file-name", "http", "ack", "lines"
    concurrent: bool = False      # serves many clients at once (must not stall)
    needs_root_dir: bool = False  # gets --root DIR with good.txt in it
    prints_messages: bool = False  # good_client reads the server's stdout

    @property
    def id(self) -> str:
        return self.program


SERVERS = [
    ServerSpec("udp_receiver", "01", udp_printed, kind="datagram", prints_messages=True),
    ServerSpec("udp_echo_server", "02", udp_upper_echo, kind="datagram"),
    ServerSpec("tcp_echo_server", "04", echo_round_trip),
    ServerSpec("file_server", "05", file_download, protocol="file-name", needs_root_dir=True),
    ServerSpec("chatbot_server", "08", chatbot_greeting, protocol="text"),
    ServerSpec("ack_receiver", "12", ack_message, protocol="ack", prints_messages=True),
    ServerSpec("framed_receiver", "13", framed_message, protocol="framed", prints_messages=True),
    ServerSpec("ftp_server", "14", ftp_listing, protocol="json", needs_root_dir=True),
    ServerSpec("threaded_echo_server", "15", echo_round_trip, concurrent=True),
    ServerSpec("chat_room_server", "15", chat_room_relay, protocol="lines", concurrent=True),
    ServerSpec("slow_echo_server", "16", echo_round_trip),
    ServerSpec("select_echo_server", "17", echo_round_trip, concurrent=True),
    ServerSpec("poll_echo_server", "17", echo_round_trip, concurrent=True),
    ServerSpec("epoll_echo_server", "17", echo_round_trip, concurrent=True),
    ServerSpec("http_server", "19", http_get, protocol="http", needs_root_dir=True,
               concurrent=True),
    ServerSpec("dual_stack_echo_server", "20", echo_round_trip),
    ServerSpec("broadcast_listener", "21", udp_printed, kind="datagram", prints_messages=True),
]

# Servers deliberately left out of the matrix, and why (shown by the test module).
NOT_IN_MATRIX = {
    "udp_ack_receiver": "an exercise program (01.1): stubbed in the student release, graded by its tests",
    "udp_tally_receiver": "an exercise program (01.2): stubbed in the student release, graded by its tests",
    "udp_numbered_echo": "an exercise program (02.1): stubbed in the student release, graded by its tests",
    "gbk_server": "an exercise program (03.1): stubbed in the student release, graded by its tests",
    "upper_echo_server": "an exercise program (04.1): stubbed in the student release, graded by its tests",
    "file_size_server": "an exercise program (05.1): stubbed in the student release, graded by its tests",
    "weather_bot": "an exercise program (08.1): stubbed in the student release, graded by its tests",
    "history_bot": "an exercise program (08.2): stubbed in the student release, graded by its tests",
    "line_receiver": "an exercise program (11.1): stubbed in the student release, graded by its tests",
    "checked_ack_receiver": "an exercise program (12.1): stubbed in the student release, graded by its tests",
    "framed_echo_server": "an exercise program (13.1): stubbed in the student release, graded by its tests",
    "threaded_file_server": "an exercise program (15.1): stubbed in the student release, graded by its tests",
    "line_counter_server": "an exercise program (17.1): stubbed in the student release, graded by its tests",
    "unix_whoami_server": "an exercise program (18.1): stubbed in the student release, graded by its tests",
    "http_time_server": "an exercise program (19.1): stubbed in the student release, graded by its tests",
    "backlog_server": "never accepts until --accept-after; lesson 06 tests its queue directly",
    "reuse_server": "serves exactly one client and exits by design (lesson 07)",
    "chat_server": "answers with lines typed on its stdin (lesson 09 tests it with a scripted stdin)",
    "slow_reader": "reads one client and exits by design (lesson 10)",
    "sticky_receiver": "serves one client and exits by design (lesson 11)",
    "unix_echo_server": "a Unix socket (--path), no HOST:PORT; lesson 18 tests bad clients itself",
    "unix_dgram_server": "a Unix socket (--path), no HOST:PORT; lesson 18 tests bad clients itself",
}


def make_root(tmp: Path) -> Path:
    """A server root with one good file and a secret outside it."""
    root = tmp / "root"
    root.mkdir()
    (root / "good.txt").write_bytes(FILE_BODY)
    (root / "sub").mkdir()
    (tmp / "secret.txt").write_text(SECRET + "\n")
    os.symlink(tmp / "secret.txt", root / "escape.txt")
    return root
