"""Python twin of ack_receiver: read the length, answer b"ok", read exactly that many bytes."""
import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8012)
parser.add_argument("--max-size", type=int, default=1024 * 1024)
args = parser.parse_args()


def recv_exactly(conn, n):
    """recv() may return less than asked: loop until n bytes are in."""
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the client closed before the body")
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
    print(f"client {addr[0]}:{addr[1]} connected", file=sys.stderr)
    count = 0
    try:
        while True:
            digits = conn.recv(11)  # 1. the length, e.g. b"5"
            if not digits:
                break
            if not digits.isdigit() or int(digits) > args.max_size:
                raise ValueError(f"bad length {digits!r}")
            length = int(digits)
            conn.sendall(b"ok")  # 2. "go ahead"
            body = recv_exactly(conn, length)  # 3. exactly that many bytes
            count += 1
            text = body.decode("utf-8", errors="backslashreplace")
            print(f"message #{count} ({length} bytes): {text}", flush=True)
    except (ValueError, ConnectionError) as e:
        print(f"error: client {addr[0]}:{addr[1]}: {e}; dropping the connection", file=sys.stderr)
    conn.close()
