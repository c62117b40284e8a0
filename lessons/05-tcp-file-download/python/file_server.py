"""Python twin of file_server: send the file a client names, in chunks, from --root."""
import argparse
import os
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8005)
parser.add_argument("--root", required=True)
parser.add_argument("--timeout", type=float, default=10.0)
args = parser.parse_args()

root = os.path.realpath(args.root)
if not os.path.isdir(root) or root == "/":
    sys.exit(f"error: root {args.root}: missing, not a folder, or the whole file system")


def inside_root(name: str):
    """The real path of `name` if it lies inside the root, else None.
    realpath() follows every symlink and '..', so what is left is the truth."""
    if not name or "\0" in name or name.startswith("/"):
        return None
    path = os.path.realpath(os.path.join(root, name))
    return path if path.startswith(root + os.sep) else None


family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
server = socket.socket(family, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen(128)
host, port = server.getsockname()[:2]
print(f"listening on {host}:{port}", flush=True)

try:
    while True:
        client, address = server.accept()
        client.settimeout(args.timeout)  # a silent or stuck client is dropped
        who = f"{address[0]}:{address[1]}"
        try:
            data = client.recv(4096)  # the name: one recv, no terminator
            name = data.decode("utf-8", errors="surrogateescape")
            path = inside_root(name)
            if not data:
                print(f"{who} closed without asking for a file", file=sys.stderr)
            elif path is None:
                print(f"{who} asked for {name!r}: refused, outside the root", file=sys.stderr)
            elif not os.path.isfile(path):
                print(f"{who} asked for {name!r}: no such file", file=sys.stderr)
            else:
                sent = 0
                with open(path, "rb") as file:
                    # Read and send a chunk at a time; never file.read() it whole.
                    while chunk := file.read(64 * 1024):
                        client.sendall(chunk)
                        sent += len(chunk)
                print(f"{who} asked for {name!r}: sent {sent} bytes", file=sys.stderr)
        except OSError as e:
            print(f"{who} dropped: {e}", file=sys.stderr)
        client.close()  # closing tells the client the file is complete
except KeyboardInterrupt:
    pass
server.close()
