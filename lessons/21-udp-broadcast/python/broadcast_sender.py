"""Python twin of broadcast_sender: UDP datagrams to a broadcast address."""
import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")  # e.g. 10.200.1.255 or 255.255.255.255
parser.add_argument("--port", type=int, default=8021)
parser.add_argument("--no-broadcast", action="store_true")
parser.add_argument("messages", nargs="*")
args = parser.parse_args()

messages = args.messages or [line.rstrip("\n") for line in sys.stdin]
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if not args.no_broadcast:
    # Without this, sendto() a broadcast address fails: PermissionError (EACCES).
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
for message in messages:
    if not message:
        break
    sent = udp.sendto(message.encode("utf-8"), (args.host, args.port))
    print(f"sent {sent} bytes to {args.host}:{args.port}")
udp.close()
