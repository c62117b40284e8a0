"""A receiver for struct_upload, the seeds' way: struct.unpack the header, then read exactly
`size` bytes of file, then answer b"ok"."""
import argparse
import os
import socket
import struct
import sys

CHUNK = 64 * 1024
MAX_NAME = 255                # a file name, not a novel
MAX_SIZE = 1024 * 1024 * 1024  # never trust a size from the network

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8014)
parser.add_argument("--dir", default=".", help="where received files are saved")
parser.add_argument("--once", action="store_true", help="exit after one upload")
args = parser.parse_args()


def recv_exactly(conn, n):
    """Loop until n bytes are in (one recv() may return fewer)."""
    data = bytearray()
    while len(data) < n:
        chunk = conn.recv(min(n - len(data), CHUNK))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return bytes(data)


def receive(conn):
    (name_length,) = struct.unpack("!I", recv_exactly(conn, 4))  # 4 bytes, big-endian
    if name_length > MAX_NAME:
        raise ValueError(f"a name of {name_length} bytes is too long")
    name = recv_exactly(conn, name_length).decode("utf-8")
    (size,) = struct.unpack("!Q", recv_exactly(conn, 8))  # 8 bytes, big-endian
    if size > MAX_SIZE:
        raise ValueError(f"a file of {size} bytes is too big")
    name = os.path.basename(name)  # never let the sender pick a folder
    if name in ("", ".", ".."):
        raise ValueError(f"refused the name {name!r}")
    path = os.path.join(args.dir, name)
    received = 0
    with open(path + ".part", "wb") as f:
        while received < size:
            chunk = conn.recv(min(CHUNK, size - received))
            if not chunk:
                os.remove(path + ".part")
                raise ConnectionError(f"cut after {received} of {size} bytes")
            f.write(chunk)
            received += len(chunk)
    os.replace(path + ".part", path)  # complete: now it gets its name
    conn.sendall(b"ok")
    return name, size


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen(5)
host, port = server.getsockname()[:2]
print(f"listening on {host}:{port}", flush=True)

while True:
    conn, addr = server.accept()
    with conn:
        conn.settimeout(30)
        try:
            name, size = receive(conn)
            print(f"received {name} ({size} bytes) from {addr[0]}:{addr[1]}", flush=True)
        except (ValueError, OSError) as e:  # OSError: ConnectionError, timeouts, disk
            print(f"error: client {addr[0]}:{addr[1]}: {e}", file=sys.stderr, flush=True)
    if args.once:
        break
server.close()
