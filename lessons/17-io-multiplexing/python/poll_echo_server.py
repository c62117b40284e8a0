"""Python twin of poll_echo_server: one thread, many clients, select.poll()."""
import argparse
import select
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8017)
parser.add_argument("--max-buffer", type=int, default=1 << 20)
args = parser.parse_args()

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen(128)
server.setblocking(False)
host, port = server.getsockname()[:2]
print(f"listening on {host}:{port}", flush=True)

poller = select.poll()
poller.register(server, select.POLLIN)
clients = {}  # fd -> [socket, bytearray to send, closed-by-client flag]


def watch(fd):
    """Tells poll what this client needs now: read unless its buffer is full, write if any."""
    sock, out, eof = clients[fd]
    events = (select.POLLIN if not eof and len(out) < args.max_buffer else 0)
    events |= select.POLLOUT if out else 0
    poller.modify(fd, events)


def close(fd):
    poller.unregister(fd)
    clients.pop(fd)[0].close()


while True:
    for fd, events in poller.poll():
        if fd == server.fileno():
            try:
                conn, addr = server.accept()
            except (BlockingIOError, InterruptedError):
                continue
            conn.setblocking(False)
            clients[conn.fileno()] = [conn, bytearray(), False]
            poller.register(conn, select.POLLIN)
            print(f"connected: {addr[0]}:{addr[1]}", file=sys.stderr)
            continue
        if fd not in clients:
            continue
        sock, out, _ = clients[fd]
        try:
            if events & (select.POLLIN | select.POLLHUP | select.POLLERR):
                data = sock.recv(65536)
                if data:
                    out += data
                else:
                    clients[fd][2] = True  # the client closed its side
            if events & select.POLLOUT and out:
                del out[:sock.send(out)]
        except BlockingIOError:
            pass
        except OSError:
            close(fd)
            continue
        if clients[fd][2] and not out:
            close(fd)
        else:
            watch(fd)
