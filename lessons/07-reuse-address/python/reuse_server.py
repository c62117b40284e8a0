"""Python twin of reuse_server: accept one client, say bye, close first (TIME_WAIT)."""
import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8007)
parser.add_argument("--reuse-address", action="store_true")
args = parser.parse_args()

family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
server = socket.socket(family, socket.SOCK_STREAM)
if args.reuse_address:
    # before bind(): lets bind() ignore connections lingering in TIME_WAIT
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    server.bind((args.host, args.port))
except OSError as e:
    print(f"error: bind {args.host}:{args.port}: {e.strerror}", file=sys.stderr)
    print("hint: a recent connection may be in TIME_WAIT; use --reuse-address "
          "(SO_REUSEADDR) on every run", file=sys.stderr)
    sys.exit(1)
server.listen(16)
host, port = server.getsockname()[:2]
print(f"listening on {host}:{port}", flush=True)

conn, addr = server.accept()
conn.sendall(b"bye")
conn.close()  # we close first: our side goes to TIME_WAIT
server.close()
