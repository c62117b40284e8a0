"""Python twin of unix_dgram_server: echo datagrams on a Unix socket to senders that have a path."""
import argparse
import os
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--path", default="/tmp/socket-lessons-18-dgram.sock")
args = parser.parse_args()

server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
server.bind(args.path)
print(f"bound to unix:{args.path}", flush=True)
try:
    while True:
        data, sender = server.recvfrom(65536)
        text = data.decode("utf-8", errors="backslashreplace")
        if not sender:  # '' or None: the sender never bound a path
            print(f"from an unbound socket: {text}", flush=True)
            print("cannot reply: the sender did not bind a path", file=sys.stderr)
            continue
        print(f"from unix:{sender}: {text}", flush=True)
        server.sendto(data, sender)
except KeyboardInterrupt:
    pass
finally:
    server.close()
    os.unlink(args.path)
