"""Python twin of udp_sender: each argument becomes one UDP datagram."""
import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8001)
parser.add_argument("messages", nargs="*")
args = parser.parse_args()

try:
    messages = args.messages or [line.rstrip("\n") for line in sys.stdin]
except KeyboardInterrupt:  # Ctrl-C while it reads stdin: stop quietly (exit 130)
    sys.exit(130)

# SOCK_DGRAM: a UDP socket. No connection: every sendto() names the receiver.
family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
udp = socket.socket(family, socket.SOCK_DGRAM)
for message in messages:
    data = message.encode("utf-8")  # sockets carry bytes, not str
    sent = udp.sendto(data, (args.host, args.port))
    print(f"sent {sent} bytes to {args.host}:{args.port}")
udp.close()
