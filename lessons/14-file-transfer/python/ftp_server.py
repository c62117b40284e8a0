"""Python twin of ftp_server: ls, get and put with JSON headers, sha256, a temporary name."""
import argparse
import hashlib
import os
import socket
import sys

from ftp_common import CHUNK, recv_header, send_header

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8014)
parser.add_argument("--root", required=True)
args = parser.parse_args()
root = os.path.realpath(args.root)


def confine(name):
    """The real path of NAME inside the root, or ValueError."""
    if not isinstance(name, str) or not name or name.startswith("/") or "\0" in name:
        raise ValueError(f"refused name {name!r}")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise ValueError(f"refused name {name!r}: '..' and '.' are not allowed")
    real = os.path.realpath(os.path.join(root, name))  # follows symlinks
    if os.path.commonpath([root, real]) != root or real == root:
        raise ValueError(f"refused name {name!r}: outside the root")
    return real


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def serve(conn, request):
    op = request.get("op")
    if op == "ls":
        files = [{"name": e.name, "size": e.stat().st_size} for e in os.scandir(root)
                 if e.is_file(follow_symlinks=False)]
        files.sort(key=lambda f: f["name"])
        send_header(conn, {"status": "ok", "message": f"{len(files)} files", "files": files})
    elif op == "get":
        path = confine(request.get("name"))
        if not os.path.isfile(path):
            raise ValueError(f"no such file: {request['name']}")
        size = os.path.getsize(path)
        send_header(conn, {"status": "ok", "message": "sending", "size": size,
                           "sha256": sha256_of(path)})
        with open(path, "rb") as f:
            conn.sendfile(f)
    elif op == "put":
        path, size, expected = confine(request.get("name")), request.get("size"), request.get("sha256")
        if not isinstance(size, int) or size < 0 or not isinstance(expected, str):
            raise ValueError("put needs a size (a whole number) and a sha256 (hex)")
        temp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".part")
        digest, received = hashlib.sha256(), 0
        try:
            with open(temp, "wb") as f:
                while received < size:
                    chunk = conn.recv(min(CHUNK, size - received))
                    if not chunk:
                        raise ConnectionError(f"upload cut after {received} of {size} bytes")
                    digest.update(chunk)
                    f.write(chunk)
                    received += len(chunk)
            if digest.hexdigest() != expected:
                raise ValueError("sha256 mismatch")
            os.replace(temp, path)  # verified: now it gets its name
        finally:
            if os.path.exists(temp):
                os.remove(temp)
        send_header(conn, {"status": "ok", "message": f"stored ({size} bytes)", "size": size,
                           "sha256": expected})
    else:
        raise ValueError(f"unknown op {op!r}")


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen(5)
host, port = server.getsockname()[:2]
print(f"listening on {host}:{port}", flush=True)
while True:  # one request per connection, clients one after another
    conn, addr = server.accept()
    with conn:
        try:
            request = recv_header(conn, 64 * 1024)
            if request is not None:
                serve(conn, request)
        except (ValueError, OSError) as e:  # json.JSONDecodeError is a ValueError
            print(f"client {addr[0]}:{addr[1]}: error: {e}", file=sys.stderr)
            try:
                send_header(conn, {"status": "error", "message": str(e)})
            except OSError:
                pass
