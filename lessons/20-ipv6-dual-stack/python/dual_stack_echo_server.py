"""Python twin of dual_stack_echo_server: one IPv6 socket that, on ::, takes IPv4 clients too."""
import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="::1")  # safe: IPv6 loopback; '::' for every interface
parser.add_argument("--port", type=int, default=8020)
parser.add_argument("--v6only", action="store_true")
args = parser.parse_args()

family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
server = socket.socket(family, socket.SOCK_STREAM)
if family == socket.AF_INET6:
    # 0: this IPv6 socket also takes IPv4 connections. Set it before bind().
    server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if args.v6only else 0)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen()
host, port = server.getsockname()[:2]
print(f"listening on {f'[{host}]' if ':' in host else host}:{port}", flush=True)
if family == socket.AF_INET6:
    # Who can reach it: IPv4 clients only through :: (or a v4-mapped address);
    # ::1 is an IPv6 address and nothing else.
    if args.v6only:
        note = "IPV6_V6ONLY is on: IPv6 clients only"
    elif host == "::":
        note = "IPV6_V6ONLY is off: IPv4 clients welcome too"
    elif host.startswith("::ffff:"):
        note = "IPV6_V6ONLY is off: IPv4 clients of this mapped address only"
    else:
        note = (f"IPV6_V6ONLY is off, but {args.host} is an IPv6 address: clients connect with "
                f"--host {args.host} (IPv4 clients are refused; --host :: takes both)")
    print(note, file=sys.stderr, flush=True)

try:
    while True:
        conn, addr = server.accept()
        client_host, client_port = addr[:2]  # IPv6 addresses come as a 4-tuple
        kind = "IPv6"
        if client_host.startswith("::ffff:") and "." in client_host:
            kind = f"IPv4 client {client_host[7:]}, seen as a v4-mapped IPv6 address"
        elif family == socket.AF_INET:
            kind = "IPv4"
        who = f"[{client_host}]:{client_port}" if ":" in client_host else f"{client_host}:{client_port}"
        print(f"connected: {who} ({kind})", file=sys.stderr, flush=True)
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)
        print(f"disconnected: {who}", file=sys.stderr, flush=True)
except KeyboardInterrupt:
    pass
finally:
    server.close()
