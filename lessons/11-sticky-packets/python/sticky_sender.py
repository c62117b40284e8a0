"""Python twin of sticky_sender: --count separate sends of --message, in a tight loop."""
import argparse
import socket

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8011)
parser.add_argument("--count", type=int, default=10)
parser.add_argument("--message", default="hello")
parser.add_argument("--nodelay", action="store_true")
args = parser.parse_args()

client = socket.create_connection((args.host, args.port))
if args.nodelay:
    # Nagle off: small segments leave at once. Boundaries still do not survive.
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

data = args.message.encode("utf-8")
for _ in range(args.count):
    client.sendall(data)  # nothing on the wire says where one message ends

print(f"made {args.count} sends of {len(data)} bytes ({args.count * len(data)} bytes)")
client.close()
