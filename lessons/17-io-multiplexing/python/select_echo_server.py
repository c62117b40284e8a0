"""Python twin of select_echo_server: one thread, many clients, select.select()."""
import argparse
import socket
import select
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
server.setblocking(False)  # accept() must never block the one thread we have
host, port = server.getsockname()[:2]
print(f"listening on {host}:{port}", flush=True)

outgoing = {}  # socket -> bytearray of bytes to echo back
finished = set()  # clients that closed their side


def close(sock):
    outgoing.pop(sock, None)
    finished.discard(sock)
    sock.close()


while True:
    # Read from the listener and every client whose buffer is not full
    # (backpressure); write to every client with something waiting.
    readers = [server] + [s for s, out in outgoing.items()
                          if s not in finished and len(out) < args.max_buffer]
    writers = [s for s, out in outgoing.items() if out]
    readable, writable, _ = select.select(readers, writers, [])

    for sock in readable:
        if sock is server:
            try:
                conn, addr = server.accept()
            except (BlockingIOError, InterruptedError):
                continue
            conn.setblocking(False)
            outgoing[conn] = bytearray()
            print(f"connected: {addr[0]}:{addr[1]}", file=sys.stderr)
            continue
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            close(sock)
            continue
        if data:
            outgoing[sock] += data
        else:
            finished.add(sock)  # send back what is left, then close

    for sock in writable:
        if sock not in outgoing:
            continue
        try:
            sent = sock.send(outgoing[sock])  # may take only part of it
            del outgoing[sock][:sent]
        except BlockingIOError:
            pass
        except OSError:
            close(sock)

    for sock in [s for s in finished if not outgoing.get(s)]:
        close(sock)
