"""Python twin of framed_sender: each message as struct.pack("!I", n) + its bytes."""
import argparse
import socket
import struct
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8013)
parser.add_argument("messages", nargs="*")
args = parser.parse_args()

messages = args.messages or [line.rstrip("\n") for line in sys.stdin]
client = socket.create_connection((args.host, args.port))

for i, message in enumerate(messages, 1):
    payload = message.encode("utf-8")
    # "!" = network byte order (big-endian) and standard sizes; "I" = unsigned
    # 4 bytes. Plain "i" would be signed and in this CPU's own byte order.
    header = struct.pack("!I", len(payload))
    client.sendall(header + payload)
    print(f"sent message #{i}: header {header.hex(' ')} + {len(payload)} bytes")
client.close()
