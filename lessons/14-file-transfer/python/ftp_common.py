"""What the Python ftp twins share: a header is struct.pack("!I", n) + n bytes of JSON."""
import json
import struct

CHUNK = 1024 * 1024
MAX_HEADER = 4 * 1024 * 1024


def recv_exactly(conn, n):
    """Loop until n bytes are in; None if the peer closed before the first one."""
    data = bytearray()
    while len(data) < n:
        chunk = conn.recv(min(n - len(data), CHUNK))
        if not chunk:
            if not data:
                return None
            raise ConnectionError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return bytes(data)


def send_header(conn, header):
    data = json.dumps(header).encode("utf-8")
    conn.sendall(struct.pack("!I", len(data)) + data)  # 4-byte big-endian length, then JSON


def recv_header(conn, max_size=MAX_HEADER):
    raw = recv_exactly(conn, 4)
    if raw is None:
        return None
    (length,) = struct.unpack("!I", raw)
    if length > max_size:  # never trust a length from the network
        raise ValueError(f"header of {length} bytes is over the limit of {max_size} bytes")
    header = json.loads(recv_exactly(conn, length) or b"")
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    return header
