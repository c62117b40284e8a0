"""Python twin of dual_stack_client: an echo client that says IPv4 or IPv6."""
import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8020)
parser.add_argument("--timeout", type=float, default=5)
args = parser.parse_args()

# create_connection tries every address getaddrinfo gives, IPv6 and IPv4 alike.
sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
version = "IPv6" if sock.family == socket.AF_INET6 else "IPv4"
print(f"connected over {version} from {sock.getsockname()[:2]} to {sock.getpeername()[:2]}",
      file=sys.stderr)
for line in sys.stdin:
    message = line.rstrip("\n").encode()
    if not message:
        break
    sock.sendall(message)
    reply = b""
    while len(reply) < len(message):
        chunk = sock.recv(len(message) - len(reply))
        if not chunk:
            sys.exit("server closed the connection")
        reply += chunk
    print(reply.decode("utf-8", errors="backslashreplace"))
sock.close()
