"""Is a program done with what it was given? For a test that waits for a reply
which a wrong program never sends: instead of waiting out a timeout, it stops
waiting once the program is back to waiting for its next input.

A program that has printed its line for a request and whose every thread is
blocked again, in a call that waits for input (recvfrom, accept, poll, ...) or
parked on a futex, has sent whatever it was going to send for that request.
What it sent over loopback is normally in the peer's socket by then, but a
busy machine can leave the delivery to a kernel thread (ksoftirqd) for a
moment: GRACE seconds are still allowed for it. The reply of a working program
therefore never depends on the grace; only a missing reply is noticed sooner."""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path

from .wire import SYSCALLS

GRACE = 0.3  # seconds a reply may still take to be delivered once the program is idle

# Calls in which a server sits between one request and the next.
WAITING_FOR_INPUT = {"read", "recvfrom", "recvmsg", "recvmmsg", "poll", "ppoll", "select",
                     "pselect6", "epoll_wait", "epoll_pwait", "epoll_pwait2", "accept",
                     "accept4", "futex"}


def waiting_for_input(pid: int) -> bool:
    """Every thread of `pid` is blocked in a call that waits for input (or parked):
    none is running or in the middle of sending."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for task in tasks:
        try:
            number = (task / "syscall").read_text().split()[0]
        except (OSError, IndexError):
            continue  # the thread ended meanwhile
        if not number.isdigit() or SYSCALLS.get(int(number)) not in WAITING_FOR_INPUT:
            return False
    return bool(tasks)


def done_with(server, printed: int) -> bool:
    """The server has printed more than `printed` stdout lines (its line for the
    request) and is back to waiting for input; or it has exited."""
    if server.proc.poll() is not None:
        return True
    with server.stdout.lock:
        lines = len(server.stdout.all)
    return lines > printed and waiting_for_input(server.proc.pid)


def datagram_reply(sock: socket.socket, done, timeout: float = 5) -> tuple[bytes, tuple] | None:
    """The next datagram at `sock`, (data, sender); None once `done()` (the program
    is done with the request: done_with, for one) has held GRACE seconds on end
    with nothing come, or after `timeout`."""
    deadline = time.monotonic() + timeout
    quiet_since = None
    while (left := deadline - time.monotonic()) > 0:
        if select.select([sock], [], [], min(left, 0.005))[0]:
            return sock.recvfrom(65536)
        if not done():
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > GRACE:
            return None
    return None
