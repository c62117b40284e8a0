"""Small Python peers the tests use to talk to the C++ programs, in the
spirit of the seeds' own Python snippets."""

from __future__ import annotations

import socket
import struct
import time
from contextlib import contextmanager
from pathlib import Path


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (for tests that need a fixed port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextmanager
def refused_port(host: str = "127.0.0.1"):
    """A TCP port where every connect() is refused at once, for as long as the
    `with` lasts: a socket is bound to it but never listens, so the kernel answers
    each SYN with a reset (ECONNREFUSED). Bound, the port cannot be taken by
    another program meanwhile (free_port's port can)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as bound:
        bound.bind((host, 0))
        yield bound.getsockname()[1]


@contextmanager
def silent_port(host: str = "127.0.0.1", free_places: int = 0):
    """A TCP port where connect() gets no answer at all, for as long as the `with`
    lasts: no SYN-ACK, no reset, so a connect() waits until its own timeout (a
    blocking one for minutes). It listens with backlog 0 and never accepts: its
    accept queue has one place, and once that is taken the kernel drops every new
    SYN. free_places=0 takes the place here, with a connect that has completed
    before the port is handed out; free_places=1 leaves it to the program under
    test (its first connect works, every later one waits)."""
    if free_places not in (0, 1):
        raise ValueError("a backlog-0 listener has exactly one place")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.bind((host, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        held = []
        try:
            if free_places == 0:
                held.append(socket.create_connection((host, port), timeout=5))  # in the queue now
            yield port
        finally:
            for sock in held:
                sock.close()


def tcp_connect(port: int, host: str = "127.0.0.1", timeout: float = 5) -> socket.socket:
    """A connected TCP socket whose every recv/send gives up after `timeout` seconds."""
    sock = socket.create_connection((host, port), timeout=timeout)
    return sock


def udp_socket(host: str = "127.0.0.1", timeout: float = 5) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    sock.bind((host, 0))
    return sock


def recv_all(sock: socket.socket, timeout: float = 5) -> bytes:
    """Everything until the peer closes, within `timeout` seconds."""
    sock.settimeout(timeout)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def recv_exactly(sock: socket.socket, n: int, timeout: float = 5) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"peer closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def reset(sock: socket.socket) -> None:
    """Closes with SO_LINGER 0, so the peer gets a RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def ipv6_disabled_reason():
    """Why IPv6 cannot be used here, or None (tests that need ::1 skip with it)."""
    if not Path("/proc/net/if_inet6").exists():
        return "IPv6 is disabled in this kernel (no /proc/net/if_inet6: ipv6.disable=1?)"
    flag = Path("/proc/sys/net/ipv6/conf/lo/disable_ipv6")
    if flag.exists() and flag.read_text().strip() == "1":
        return "IPv6 is disabled on the loopback (net.ipv6.conf.lo.disable_ipv6 = 1)"
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError as e:
        return f"IPv6 is unusable here: cannot bind ::1 ({e})"
    return None
