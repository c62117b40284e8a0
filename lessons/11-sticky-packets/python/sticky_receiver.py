"""Python twin of sticky_receiver: accept one client and print every recv()."""
import argparse
import socket
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8011)
parser.add_argument("--bufsize", type=int, default=1024)
parser.add_argument("--delay", type=float, default=0)
args = parser.parse_args()

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen(5)
host, port = server.getsockname()[:2]
print(f"listening on {host}:{port}", flush=True)

conn, addr = server.accept()
print(f"client {addr[0]}:{addr[1]} connected", file=sys.stderr)
time.sleep(args.delay)  # let the sender's bytes pile up in the receive buffer

calls = 0
while True:
    data = conn.recv(args.bufsize)  # whatever has arrived, up to bufsize bytes
    if not data:
        break
    calls += 1
    text = data.decode("utf-8", errors="backslashreplace")
    print(f"recv #{calls} ({len(data)} bytes): {text}", flush=True)
conn.close()
server.close()
