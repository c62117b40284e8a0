"""Small Python peers the tests use to talk to the C++ programs, in the
spirit of the seeds' own Python snippets."""

from __future__ import annotations

import ctypes
import errno
import os
import signal
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


class SilentListener:
    """A TCP port where connect() gets no answer at all, for as long as the `with`
    lasts: no SYN-ACK, no reset, so a connect() waits until its own timeout (a
    blocking one for minutes). It listens with backlog 0 and never accepts by
    itself: its accept queue has one place, and while that is taken the kernel
    drops every new SYN (the client sends it again after 1 s, 3 s, ...).
    free_places=0 takes the place at once, with a connect that has completed
    before `port` is handed out; free_places=1 leaves it to the program under test
    (its first connect works, every later one waits). free_a_place() accepts the
    connection in the queue (and closes it): the next SYN, or the next repeat of a
    waiting one, gets in."""

    def __init__(self, host: str = "127.0.0.1", free_places: int = 0):
        if free_places not in (0, 1):
            raise ValueError("a backlog-0 listener has exactly one place")
        self.host, self.free_places = host, free_places
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.held: list[socket.socket] = []
        self.port = 0

    def __enter__(self) -> "SilentListener":
        try:
            self.listener.bind((self.host, 0))
            self.listener.listen(0)
            self.port = self.listener.getsockname()[1]
            if self.free_places == 0:  # connected (so in the queue) when this returns
                self.held.append(socket.create_connection((self.host, self.port), timeout=5))
        except BaseException:
            self.__exit__()
            raise
        return self

    def free_a_place(self) -> None:
        self.listener.settimeout(5)
        connection, _ = self.listener.accept()
        connection.close()

    def __exit__(self, *exc) -> None:
        for sock in self.held:
            sock.close()
        self.listener.close()


@contextmanager
def silent_port(host: str = "127.0.0.1", free_places: int = 0):
    """The port of a SilentListener (see there), for as long as the `with` lasts."""
    with SilentListener(host, free_places) as silent:
        yield silent.port


TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
              "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
              "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING", "0C": "NEW_SYN_RECV"}


def tcp_sockets(port: int) -> list[tuple[int, int, str]]:
    """This network namespace's TCP sockets with `port` at one end or the other, as
    the kernel lists them in /proc/net/tcp and tcp6: (local port, remote port,
    state), e.g. (41938, 8006, "SYN_SENT") for a connect() still waiting for an
    answer. It shows what a program under test is doing with its connections
    (connecting, closed, still open) without waiting and hoping."""
    return [(local, remote, state) for local, remote, state, _, _ in tcp_table()
            if port in (local, remote)]


def tcp_table() -> list[tuple[int, int, str, int, int]]:
    """Every TCP socket of this network namespace, read from /proc/net/tcp and
    tcp6 in one go (a snapshot within a millisecond or so): (local port, remote
    port, state, tx_queue, rx_queue)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, remote = (int(fields[i].rsplit(":", 1)[1], 16) for i in (1, 2))
            tx, rx = (int(x, 16) for x in fields[4].split(":"))
            found.append((local, remote, TCP_STATES.get(fields[3], fields[3]), tx, rx))
    return found


def wait_for_tcp(port: int, condition, timeout: float = 5):
    """Polls tcp_sockets(port) until condition(sockets) gives something true, and
    returns that; None if `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition(tcp_sockets(port))
        if result or time.monotonic() >= deadline:
            return result or None
        time.sleep(0.01)


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


def process_state(pid: int) -> str:
    """The state letter the kernel gives process `pid` in /proc/PID/stat: "R" running,
    "S" asleep in a system call (blocked, waiting for something: room in a send
    buffer, a readable socket), "D" in an uninterruptible wait, "T" stopped (SIGSTOP),
    "Z" exited but not yet reaped; "" once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[0]  # after "(comm)", which may hold spaces


@contextmanager
def stopped(pid: int, timeout: float = 5):
    """Process `pid` frozen with SIGSTOP for as long as the `with` lasts, and let go
    with SIGCONT at the end (also when the test fails, so that it can still be
    stopped cleanly). Frozen, a program does nothing at all, not even read: a peer
    that is slow for exactly as long as the test needs, where a --delay only hopes
    to be long enough. The kernel still does the TCP work for it: connections to
    its listener complete and their bytes fill its receive buffer. Enters once
    /proc shows the process stopped (at most `timeout` seconds)."""
    os.kill(pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + timeout
        while process_state(pid) not in ("T", "t", "Z", "") and time.monotonic() < deadline:
            time.sleep(0.001)
        yield
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def wait_until_blocked(proc, ready=lambda: True, timeout: float = 5) -> str:
    """Waits until `proc` (a subprocess.Popen) sleeps in a system call at a moment
    when ready() is true, or has exited: "blocked" or "exited"; "" if `timeout`
    seconds pass first. A client that is sending and sleeps has run into a full
    buffer and waits for room (poll(), or a blocking send()): a fact the test can
    wait for, where a reader that starts after a delay only hopes that the sender
    got that far meanwhile. ready() says from when a sleep counts (for example
    "its first bytes have arrived": connect() may sleep for a moment too)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            return "exited"
        if ready() and process_state(proc.pid) == "S":
            return "blocked"
        if time.monotonic() >= deadline:
            return ""
        time.sleep(0.001)


def tcp_connection(local: tuple, remote: tuple) -> tuple[str, int, int] | None:
    """The TCP socket at address `local` (host, port) connected to `remote`, as the
    kernel sees it: (state, tx_queue, rx_queue), None if there is none. tx_queue:
    bytes written on it that the peer's kernel has not acknowledged yet (still in
    the buffers, or on their way); rx_queue: bytes that arrived and the program
    has not read yet. Either end of a connection: for the program's end of a
    test's socket `s`, tcp_connection(s.getpeername(), s.getsockname()). Asked of
    the kernel for this one socket (sock_diag, as `ss` does): /proc/net/tcp lists
    every socket, tens of thousands when tests have left TIME_WAITs behind, and
    takes milliseconds to read; it is the fallback."""
    family = socket.AF_INET6 if ":" in local[0] else socket.AF_INET
    try:
        return _diag_one(family, local[:2], remote[:2])
    except OSError:
        pass
    for row in tcp_queues(local[1]):
        if row[:2] == (local[1], remote[1]) and row[2] != "TIME_WAIT":
            return row[2:]
    return None


def _diag_one(family: int, local: tuple, remote: tuple) -> tuple[str, int, int] | None:
    """tcp_connection's question as one sock_diag request (linux/inet_diag.h):
    struct inet_diag_req_v2 with an exact inet_diag_sockid, no dump."""
    def address(host: str) -> bytes:
        packed = socket.inet_pton(family, host)
        return packed + bytes(16 - len(packed))

    sockid = (struct.pack("!HH", local[1], remote[1]) + address(local[0]) + address(remote[0])
              + struct.pack("=IQ", 0, 0xFFFFFFFFFFFFFFFF))  # any interface, no cookie
    request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
    sock_diag_by_family, nlm_f_request, nlmsg_error = 20, 1, 2
    message = struct.pack("=IHHII", 16 + len(request), sock_diag_by_family, nlm_f_request, 1,
                          0) + request
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4) as diag:  # NETLINK_SOCK_DIAG
        diag.settimeout(5)
        diag.send(message)
        reply = diag.recv(65536)
    if struct.unpack_from("=H", reply, 4)[0] == nlmsg_error:
        if struct.unpack_from("=i", reply, 16)[0] == -errno.ENOENT:
            return None
        raise OSError("sock_diag refused the request")
    state = TCP_STATES.get(f"{reply[17]:02X}", str(reply[17]))  # struct inet_diag_msg
    rx, tx = struct.unpack_from("=II", reply, 16 + 4 + 48 + 4)
    return state, tx, rx


def tcp_queues(port: int) -> list[tuple[int, int, str, int, int]]:
    """tcp_sockets(port) with each socket's queues, from the same /proc/net/tcp
    rows: (local port, remote port, state, tx_queue, rx_queue), as in
    tcp_connection."""
    return [row for row in tcp_table() if port in row[:2]]


def all_threads_asleep(pid: int) -> bool:
    """Every thread of process `pid` sleeps in a system call (state S): none is
    running, or about to run, or stopped."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for task in tasks:
        try:
            stat = Path(f"/proc/{pid}/task/{task}/stat").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        if stat.rsplit(")", 1)[1].split()[0] != "S":
            return False
    return bool(tasks)


def peer_is_done(pid: int, sock: socket.socket) -> bool:
    """True when program `pid`, at the other end of the TCP connection `sock`, has
    read every byte sent on `sock`, sleeps, and has nothing on its way back: what
    it sent in answer (if anything) is in sock's receive queue by then. Read it at
    once, without waiting (recv with MSG_DONTWAIT): what is not there was never sent.
    So a test stops waiting for an answer that a wrong program never sends, and
    sees that a right one sends nothing, without a timeout. For programs that
    answer what they have read before they sleep again (event loops, a thread
    per client), not for ones that answer later on a timer. Checked in this
    order: our bytes acknowledged by its kernel and read by it (its rx_queue 0),
    then every thread asleep, then nothing unacknowledged on its side (its
    tx_queue 0: delivery over loopback may be left to a kernel thread for a
    moment, and until it is done the bytes count there). Also false whenever in
    doubt (the connection is closing, or gone): callers then just look again."""
    try:
        ours, theirs = sock.getsockname(), sock.getpeername()
    except OSError:
        return False
    mine, peer = tcp_connection(ours, theirs), tcp_connection(theirs, ours)
    if not (mine and peer and mine[1] == 0 and peer[0] == "ESTABLISHED" and peer[2] == 0):
        return False
    if not all_threads_asleep(pid):
        return False
    peer = tcp_connection(theirs, ours)
    return bool(peer and peer[0] == "ESTABLISHED" and peer[1] == 0)


def idle_cpu(pid: int, sleeps: int = 2, timeout: float = 2) -> tuple[float, float, int]:
    """How busy process `pid` is while it has nothing to do: watches it until it
    has gone to sleep (blocked in a system call) `sleeps` more times, or `timeout`
    seconds passed, and returns (seconds watched, CPU seconds it used meanwhile,
    times it went to sleep). A loop that spins never goes to sleep, so for it the
    watch ends only after `timeout`; a program that sleeps is watched for as many
    of its own wake-ups as asked, not for a guessed number of seconds. CPU time
    comes from /proc/PID/schedstat (nanoseconds) where the kernel has it, else
    from /proc/PID/stat (clock ticks). Single-threaded programs: it reads the main
    thread."""

    def sample() -> tuple[int, float]:
        status = Path(f"/proc/{pid}/status").read_text()
        went_to_sleep = int(status.split("\nvoluntary_ctxt_switches:", 1)[1].split()[0])
        try:
            cpu = int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
        except (OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return went_to_sleep, cpu

    started = time.monotonic()
    sleeps0, cpu0 = sample()
    while True:
        now = time.monotonic()
        went_to_sleep, cpu = sample()
        if went_to_sleep - sleeps0 >= sleeps or now - started >= timeout:
            return now - started, cpu - cpu0, went_to_sleep - sleeps0
        time.sleep(0.001)


_NETLINK_SOCK_DIAG = 4         # linux/netlink.h
_SOCK_DIAG_BY_FAMILY = 20      # linux/sock_diag.h
_INET_DIAG_REQ_BYTECODE = 1    # linux/inet_diag.h, and its filter operations:
_BC_JMP, _BC_S_EQ, _BC_D_EQ = 1, 11, 12
_STATE_NUMBERS = {int(code, 16): name for code, name in TCP_STATES.items()}


def tcp_sockets_now(port: int) -> list[tuple[int, int, str]]:
    """tcp_sockets(port), asked of the kernel over netlink (sock_diag, what `ss`
    uses) with the port filtered there: a look costs about as much with tens of
    thousands of sockets in the table (other tests' TIME_WAITs on a shared
    machine) as with ten, where /proc/net/tcp takes 30 ms to list them all. Falls
    back to tcp_sockets where sock_diag is missing."""
    # "sport == port, or dport == port" in inet_diag's bytecode: each op is
    # (code, yes, no) with the offsets to go on at; a port compare is followed by an
    # op whose `no` holds the port; running off the end by exactly 0 keeps a socket.
    bytecode = (struct.pack("=BBHBBH", _BC_S_EQ, 8, 12, 0, 0, port)   # yes: to the jump
                + struct.pack("=BBH", _BC_JMP, 4, 12)                 # always `no`: the end
                + struct.pack("=BBHBBH", _BC_D_EQ, 8, 12, 0, 0, port))  # no: past the end
    attribute = struct.pack("=HH", 4 + len(bytecode), _INET_DIAG_REQ_BYTECODE) + bytecode
    found = []
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_SOCK_DIAG) as diag:
            for sequence, family in enumerate((socket.AF_INET, socket.AF_INET6), 1):
                # inet_diag_req_v2: family, protocol, extensions, pad, every state, and
                # an empty socket id (48 bytes); then the filter
                body = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) \
                    + bytes(48) + attribute
                diag.send(struct.pack("=IHHII", 16 + len(body), _SOCK_DIAG_BY_FAMILY,
                                      0x301, sequence, 0) + body)  # NLM_F_REQUEST | DUMP
                done = False
                while not done:
                    data = diag.recv(65536)
                    offset = 0
                    while offset + 16 <= len(data):
                        length, kind = struct.unpack_from("=IH", data, offset)
                        if kind == 3:  # NLMSG_DONE
                            done = True
                            break
                        if kind == 2:  # NLMSG_ERROR
                            error = -struct.unpack_from("=i", data, offset + 16)[0]
                            raise OSError(error, os.strerror(error))
                        # inet_diag_msg: family, state, timer, retrans, then the
                        # ports (network byte order)
                        state, local, remote = struct.unpack_from("!xBxxHH", data, offset + 16)
                        found.append((local, remote, _STATE_NUMBERS.get(state, str(state))))
                        offset += (length + 3) & ~3
    except OSError:
        return tcp_sockets(port)
    return found


def wait_for_tcp_while(port: int, condition, process=None, timeout: float = 5):
    """wait_for_tcp(port, condition, timeout) with tcp_sockets_now's quick looks, and
    stopping as soon as `process` (a subprocess.Popen) has exited, after one last
    look: a program that has ended makes no more connections, so a test of a wrong
    program (one that never connects) fails at once instead of waiting out
    `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        exited = process is not None and process.poll() is not None  # before the look
        result = condition(tcp_sockets_now(port))
        if result or exited or time.monotonic() >= deadline:
            return result or None
        time.sleep(0.002)


# SO_ATTACH_REUSEPORT_CBPF (asm-generic/socket.h; Python's socket module lacks it)
_SO_ATTACH_REUSEPORT_CBPF = 51
_SKF_NET_OFF = -0x100000  # classic BPF: a load relative to the IP header


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


class SelectiveListener:
    """A TCP port that gives no answer at all to the connects from chosen local
    ports, and completes the handshake of every other one, for as long as the
    `with` lasts. Until answer_all_but() is called it answers none.

    A SilentListener whose place is freed lets in whichever SYN comes next, so a
    test that wants "connect number 1 fails, number 2 works" depends on when each
    client resends its SYN; here the choice is made per connect, by its local port
    (which tcp_sockets shows while it waits in SYN_SENT), so the answer stays the
    same whenever the SYNs come, resent ones included.

    How: two listening sockets share the port (SO_REUSEPORT), and a classic BPF
    program attached to the pair (SO_ATTACH_REUSEPORT_CBPF, no privilege needed)
    picks one of them for each incoming SYN by its source port. One is silent like
    a SilentListener (backlog 0, its one place taken by a connection of its own,
    so the kernel drops every SYN sent there); the other has room for `room`
    connections, which wait in its queue, never accepted: answered() takes them."""

    def __init__(self, host: str = "127.0.0.1", room: int = 128):
        self.host, self.room = host, room
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.silent = socket.socket(self.family, socket.SOCK_STREAM)
        self.open = socket.socket(self.family, socket.SOCK_STREAM)
        self.held: list[socket.socket] = []
        self.silent_index = 0
        self.port = 0

    def __enter__(self) -> "SelectiveListener":
        try:
            for sock in (self.silent, self.open):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            self.silent.bind((self.host, 0))
            self.port = self.silent.getsockname()[1]
            self.open.bind((self.host, self.port))
            self.silent.listen(0)
            self.open.listen(self.room)
            # The program's answer is an index into the group, in the order the
            # sockets joined it; which one is 0 is found out rather than assumed.
            self._attach([(0x06, 0, 0, 0)])  # ret 0: every SYN to socket 0
            probe = socket.create_connection((self.host, self.port), timeout=5)
            if self._queued() == (0, 1):  # it went to the open one: the silent one is 1
                probe.close()
                self.answered()
                self.silent_index = 1
                self._attach([(0x06, 0, 0, 1)])
                probe = socket.create_connection((self.host, self.port), timeout=5)
            self.held.append(probe)
            if self._queued() != (1, 0):  # the silent listener's one place: taken
                raise RuntimeError(f"SelectiveListener: queues {self._queued()}, not (1, 0)")
        except BaseException:
            self.__exit__()
            raise
        return self

    def answer_all_but(self, *local_ports: int) -> None:
        """From now on the connects from `local_ports` get no answer (their resent
        SYNs neither) and every other connect is answered."""
        silent, answering = self.silent_index, 1 - self.silent_index
        # The TCP header follows the IP header: IPv4's is 20 bytes (Linux adds no
        # options of its own), IPv6's 40 (no extension headers on loopback).
        source_port = _SKF_NET_OFF + (40 if self.family == socket.AF_INET6 else 20)
        program = [(0x28, 0, 0, source_port & 0xFFFFFFFF)]  # ldh [source port]
        for i, local in enumerate(local_ports):  # jeq #local: to the last "ret silent"
            program.append((0x15, len(local_ports) - i, 0, local))
        program += [(0x06, 0, 0, answering), (0x06, 0, 0, silent)]
        self._attach(program)

    def answered(self) -> list[int]:
        """The local ports of the connections answered so far and not yet taken
        (accepted, and closed, by this call)."""
        ports = []
        self.open.setblocking(False)
        try:
            while True:
                try:
                    connection, peer = self.open.accept()
                except BlockingIOError:
                    return ports
                connection.close()
                ports.append(peer[1])
        finally:
            self.open.setblocking(True)

    def _queued(self) -> tuple[int, int]:
        """The lengths of the silent and the open listener's queues, once a
        connection is in one of them (its last handshake step may still be on its
        way when connect() returns; at most 5 s)."""
        deadline = time.monotonic() + 5
        while True:
            counts = accept_queue_length(self.silent), accept_queue_length(self.open)
            if sum(counts) or time.monotonic() >= deadline:
                return counts
            time.sleep(0.001)

    def _attach(self, program: list[tuple[int, int, int, int]]) -> None:
        filters = (_SockFilter * len(program))(*[_SockFilter(*op) for op in program])
        fprog = _SockFprog(len(program), filters)
        self.silent.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_REUSEPORT_CBPF, bytes(fprog))

    def __exit__(self, *exc) -> None:
        for sock in self.held:
            sock.close()
        self.silent.close()
        self.open.close()


def accept_queue_length(listener: socket.socket) -> int:
    """How many connections wait in the accept queue of `listener`, a listening
    socket of the test's own (TCP_INFO's tcpi_unacked, for a listener)."""
    info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 32)
    return struct.unpack_from("=I", info, 24)[0]  # after 8 one-byte fields and 4 u32


def wait_for_connect_behind(listener: socket.socket, process=None, timeout: float = 5):
    """The local ports of the connects to `listener`'s port that wait for an answer
    (SYN_SENT) while a connection waits in its queue; None once `process` has
    exited or `timeout` seconds have passed. The queue is counted before each look
    at the sockets, so with a listener of one place (backlog 0) the connects found
    come after the one in the queue: connect number 2 of a client that connects
    one after another, not number 1 in the moment before its handshake is done."""
    port = listener.getsockname()[1]
    deadline = time.monotonic() + timeout
    while True:
        exited = process is not None and process.poll() is not None
        queued = accept_queue_length(listener) > 0
        waiting = [local for local, remote, state in tcp_sockets_now(port)
                   if remote == port and state == "SYN_SENT"] if queued else []
        if waiting or exited or time.monotonic() >= deadline:
            return waiting or None
        time.sleep(0.002)
