"""Small Python peers the tests use to talk to the C++ programs, in the
spirit of the seeds' own Python snippets."""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (for tests that need a fixed port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


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
