"""Python twin of unix_dgram_client: bind a path of your own, or the server cannot answer."""
import argparse
import os
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--path", default="/tmp/socket-lessons-18-dgram.sock")
parser.add_argument("--bind", default=None)
parser.add_argument("--no-bind", action="store_true")
parser.add_argument("--timeout", type=float, default=2.0)
args = parser.parse_args()

client = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
client.settimeout(args.timeout)
own = None
if not args.no_bind:
    own = args.bind or f"/tmp/unix_dgram_client_py.{os.getpid()}.sock"
    client.bind(own)  # our return address
status = 0
try:
    for line in sys.stdin:
        message = line.rstrip("\n")
        if not message:
            break
        client.sendto(message.encode("utf-8"), args.path)
        try:
            data = client.recv(65536)
        except socket.timeout:
            print(f"error: no reply within {args.timeout:g} s", file=sys.stderr)
            status = 1
            break
        print(data.decode("utf-8", errors="backslashreplace"), flush=True)
finally:
    client.close()
    if own:
        os.unlink(own)
sys.exit(status)
