"""Python twin of udp_echo_server: reply to every datagram with its bytes upper-cased."""
import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8002)
args = parser.parse_args()

family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
server = socket.socket(family, socket.SOCK_DGRAM)
server.bind((args.host, args.port))
host, port = server.getsockname()[:2]
print(f"bound to {host}:{port}", flush=True)

try:
    while True:  # a server runs forever
        data, client = server.recvfrom(65536)  # 65536: room for the largest datagram
        # bytes.upper() changes only the ASCII letters a-z, like the C++ server.
        server.sendto(data.upper(), client)
        print(f"echoed {len(data)} bytes to {client[0]}:{client[1]}", file=sys.stderr)
except KeyboardInterrupt:
    pass
finally:
    server.close()
