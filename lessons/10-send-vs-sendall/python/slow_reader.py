"""Python twin of slow_reader: accept one client, wait, then read everything and hash it."""
import argparse
import hashlib
import socket
import time

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8010)
parser.add_argument("--delay", type=float, default=3)
parser.add_argument("--rcvbuf", type=int, default=0)
args = parser.parse_args()

family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
server = socket.socket(family, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if args.rcvbuf:
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)  # before listen()
server.bind((args.host, args.port))
server.listen(1)
host, port = server.getsockname()[:2]
print(f"listening on {host}:{port}", flush=True)

conn, addr = server.accept()
time.sleep(args.delay)  # meanwhile the buffers fill up and the sender stalls
digest = hashlib.sha256()
received = 0
while True:
    chunk = conn.recv(65536)
    if not chunk:
        break
    digest.update(chunk)
    received += len(chunk)
print(f"received {received} bytes, sha256 {digest.hexdigest()}", flush=True)
conn.close()
server.close()
