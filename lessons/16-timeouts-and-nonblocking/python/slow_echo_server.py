"""Python twin of slow_echo_server: echo each message back after a delay."""
import argparse
import sys
import time
import socket

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8016)
parser.add_argument("--delay", type=float, default=0.0)
parser.add_argument("--close-after", type=int, default=0)
args = parser.parse_args()

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen(128)
host, port = server.getsockname()[:2]
print(f"listening on {host}:{port}", flush=True)

while True:
    conn, addr = server.accept()
    print(f"connected: {addr[0]}:{addr[1]}", file=sys.stderr)
    replies = 0
    while args.close_after == 0 or replies < args.close_after:
        data = conn.recv(4096)
        if not data:
            break
        time.sleep(args.delay)
        conn.sendall(data)
        replies += 1
    conn.close()
    print(f"disconnected: {addr[0]}:{addr[1]}", file=sys.stderr)
