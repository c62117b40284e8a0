"""Python twin of framed_receiver: read a 4-byte header, unpack the length, read that many bytes."""
import argparse
import socket
import struct
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8013)
parser.add_argument("--max-size", type=int, default=1024 * 1024)
args = parser.parse_args()


def recv_exactly(conn, n):
    """Loop until n bytes are in; None if the peer closed before the first one."""
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            if not data:
                return None
            raise ConnectionError(f"closed after {len(data)} of {n} bytes")
        data += chunk
    return data


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen(5)
host, port = server.getsockname()[:2]
print(f"listening on {host}:{port}", flush=True)

while True:  # clients one after another
    conn, addr = server.accept()
    count = 0
    try:
        while True:
            header = recv_exactly(conn, 4)  # 1. the header: always 4 bytes
            if header is None:
                break
            (length,) = struct.unpack("!I", header)  # 2. big-endian unsigned int
            if length > args.max_size:  # never trust a length from the network
                raise ValueError(f"frame of {length} bytes is over --max-size")
            payload = recv_exactly(conn, length) if length else b""  # 3. the payload
            if payload is None:
                raise ConnectionError("closed after the header")
            count += 1
            text = payload.decode("utf-8", errors="backslashreplace")
            print(f"message #{count} ({length} bytes): {text}", flush=True)
    except (ValueError, ConnectionError) as e:
        print(f"error: client {addr[0]}:{addr[1]}: {e}; dropping the connection", file=sys.stderr)
    conn.close()
