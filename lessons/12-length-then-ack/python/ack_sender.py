"""Python twin of ack_sender: send the length, wait for b"ok", then send the body."""
import argparse
import socket
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8012)
parser.add_argument("--timeout", type=float, default=10)
parser.add_argument("--nodelay", action="store_true")
parser.add_argument("messages", nargs="*")
args = parser.parse_args()

messages = args.messages or [line.rstrip("\n") for line in sys.stdin]
client = socket.create_connection((args.host, args.port), timeout=args.timeout)
if args.nodelay:  # without it, Nagle + delayed ACK can hold each length back ~40 ms
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

for i, message in enumerate(messages, 1):
    body = message.encode("utf-8")
    started = time.perf_counter()
    client.send(str(len(body)).encode("ascii"))  # 1. the length, as digits: b"5"
    ok = client.recv(2)                           # 2. wait for the receiver's b"ok"
    if ok != b"ok":
        sys.exit(f"error: expected b'ok', got {ok!r}")
    client.sendall(body)                          # 3. the body
    waited = (time.perf_counter() - started) * 1000
    print(f"message #{i} ({len(body)} bytes): 1 round trip, {waited:.3f} ms waiting for ok")

print(f"sent {len(messages)} messages with {len(messages)} extra round trips (one per message)")
client.close()
