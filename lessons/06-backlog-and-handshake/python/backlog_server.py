"""Python twin of backlog_server: listen(n) with a small n, and accept late."""
import argparse
import socket
import time

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8006)
parser.add_argument("--backlog", type=int, default=2)
parser.add_argument("--accept-after", type=float, default=None)  # default: never
args = parser.parse_args()

family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
server = socket.socket(family, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
# The kernel now completes handshakes by itself; at most backlog + 1
# finished connections wait for accept() on Linux, later SYNs are dropped.
server.listen(args.backlog)
host, port = server.getsockname()[:2]
print(f"listening on {host}:{port}", flush=True)

try:
    if args.accept_after is None:
        while True:
            time.sleep(3600)  # never accept: Ctrl-C ends it
    time.sleep(args.accept_after)
    number = 0
    while True:
        conn, addr = server.accept()  # takes the oldest connection in the queue
        number += 1
        conn.sendall(f"welcome #{number}".encode())
        conn.close()
except KeyboardInterrupt:
    pass
finally:
    server.close()
