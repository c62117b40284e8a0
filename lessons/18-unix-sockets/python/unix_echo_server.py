"""Python twin of unix_echo_server: an echo server on a Unix stream socket (a path, not a port)."""
import argparse
import os
import socket
import stat
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--path", default="/tmp/socket-lessons-18.sock")
parser.add_argument("--mode", default="0600")
args = parser.parse_args()
mode = int(args.mode, 8)

# A leftover socket file: remove it only if nobody answers there.
if os.path.lexists(args.path):
    if not stat.S_ISSOCK(os.lstat(args.path).st_mode):
        sys.exit(f"error: {args.path}: exists and is not a socket; not removing it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(args.path)
        sys.exit(f"error: {args.path}: another server is listening there; not starting")
    except ConnectionRefusedError:
        print(f"removing stale socket file {args.path} (nobody listens there)", file=sys.stderr)
        os.unlink(args.path)
    finally:
        probe.close()

server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # AF_UNIX: the address is a path
old_mask = os.umask(~mode & 0o777)  # the file is created with these permissions
server.bind(args.path)
os.umask(old_mask)
os.chmod(args.path, mode)
server.listen(128)
print(f"listening on unix:{args.path}", flush=True)

try:
    number = 0
    while True:
        conn, _ = server.accept()  # the address is '' for an unnamed client
        number += 1
        print(f"client #{number} connected", file=sys.stderr)
        while True:
            data = conn.recv(4096)
            if not data:
                break
            conn.sendall(data)
        conn.close()
        print(f"client #{number} disconnected", file=sys.stderr)
except KeyboardInterrupt:
    pass
finally:
    server.close()
    os.unlink(args.path)  # a Unix socket file stays behind unless we remove it
