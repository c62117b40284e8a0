"""Python twin of epoll_echo_server: one thread, many clients, select.epoll() (Linux)."""
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
server.listen(4096)
server.setblocking(False)
host, port = server.getsockname()[:2]
print(f"listening on {host}:{port}", flush=True)

epoll = select.epoll()
epoll.register(server.fileno(), select.EPOLLIN)
clients = {}  # fd -> [socket, bytearray to send, closed-by-client flag]


def close(fd):
    epoll.unregister(fd)
    clients.pop(fd)[0].close()


while True:
    for fd, events in epoll.poll():  # only the ready ones come back
        if fd == server.fileno():
            try:
                conn, addr = server.accept()
            except (BlockingIOError, InterruptedError):
                continue
            conn.setblocking(False)
            clients[conn.fileno()] = [conn, bytearray(), False]
            epoll.register(conn.fileno(), select.EPOLLIN)
            print(f"connected: {addr[0]}:{addr[1]}", file=sys.stderr)
            continue
        if fd not in clients:
            continue
        sock, out, _ = clients[fd]
        try:
            if events & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                data = sock.recv(65536)
                if data:
                    out += data
                else:
                    clients[fd][2] = True
            if events & select.EPOLLOUT and out:
                del out[:sock.send(out)]
        except BlockingIOError:
            pass
        except OSError:
            close(fd)
            continue
        if clients[fd][2] and not out:
            close(fd)
            continue
        # Read unless the output buffer is full (backpressure); write only when
        # something waits: an idle socket is always writable.
        wanted = select.EPOLLIN if not clients[fd][2] and len(out) < args.max_buffer else 0
        epoll.modify(fd, wanted | (select.EPOLLOUT if out else 0))
