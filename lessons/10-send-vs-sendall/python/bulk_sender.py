"""Python twin of bulk_sender: one send() versus sendall()."""
import argparse
import hashlib
import socket

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8010)
parser.add_argument("--bytes", type=int, default=16 << 20)
parser.add_argument("--mode", choices=["send", "sendall"], default="sendall")
parser.add_argument("--sndbuf", type=int, default=0)
parser.add_argument("--timeout", type=float, default=2)
args = parser.parse_args()


def make_data(size):
    """The same bytes as bulk_sender.cpp: a 64 KiB block of xorshift noise,
    repeated, each copy stamped with its number (8 bytes, big-endian)."""
    block = 64 * 1024
    noise = bytearray(block)
    state = 0x9E3779B97F4A7C15
    mask = (1 << 64) - 1
    for i in range(block):
        state ^= (state << 13) & mask
        state ^= state >> 7
        state ^= (state << 17) & mask
        noise[i] = state & 0xFF
    copies = (size + block - 1) // block
    return b"".join(n.to_bytes(8, "big") + noise[8:] for n in range(copies))[:size]


data = make_data(args.bytes)
sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
if args.sndbuf:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, args.sndbuf)

if args.mode == "send":
    try:
        accepted = sock.send(data)  # one call: it may take only part of `data`
    except socket.timeout:
        accepted = 0
    print(f"send() accepted {accepted} of {len(data)} bytes, "
          f"sha256 {hashlib.sha256(data[:accepted]).hexdigest()}", flush=True)
else:
    sock.sendall(data)  # loops over send() until every byte is gone
    print(f"sent {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}", flush=True)
sock.close()
