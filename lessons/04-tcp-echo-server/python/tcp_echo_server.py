"""Python twin of tcp_echo_server: echo every byte back, one client after another."""
import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8004)
parser.add_argument("--once", action="store_true")
args = parser.parse_args()

family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
server = socket.socket(family, socket.SOCK_STREAM)                 # 1. the switchboard
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)       # restart at once (lesson 07)
server.bind((args.host, args.port))                                # 2. its phone number
server.listen(128)                                                 # 3. wait for calls
host, port = server.getsockname()[:2]
print(f"listening on {host}:{port}", flush=True)

try:
    while True:
        client, address = server.accept()                          # 4. one extension per caller
        who = f"{address[0]}:{address[1]}"
        print(f"client {who} connected", file=sys.stderr)
        try:
            while True:
                data = client.recv(4096)                           # 5. talk
                if not data:                                       # b"": the client hung up
                    print(f"client {who} disconnected", file=sys.stderr)
                    break
                client.sendall(data)
        except OSError as e:                                       # e.g. a reset connection
            print(f"client {who} dropped: {e}", file=sys.stderr)
        client.close()                                             # 6. hang up the extension
        if args.once:
            break
except KeyboardInterrupt:
    pass
server.close()
