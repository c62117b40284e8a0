"""Python twin of ftp_client: ls, get NAME, put FILE, with a progress bar."""
import argparse
import hashlib
import os
import socket
import sys
import time

from ftp_common import CHUNK, recv_header, send_header

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8014)
parser.add_argument("--progress", action="store_true")
parser.add_argument("op", choices=["ls", "get", "put"])
parser.add_argument("name", nargs="?")
parser.add_argument("--output")
parser.add_argument("--as", dest="as_name")
args = parser.parse_args()
show = sys.stderr.isatty() or args.progress


def progress(label, done, total, started):
    """'\\r' goes back to the start of the line, so the bar redraws in place."""
    if not show:
        return
    percent = int(done / total * 100) if total else 100
    rate = done / max(time.monotonic() - started, 1e-9) / 1e6
    bar = "#" * (percent // 5)
    end = "\r" if sys.stderr.isatty() and done < total else "\n"
    sys.stderr.write(f"{label} {percent:3d}% [{bar:<20}] {done}/{total} bytes {rate:.1f} MB/s{end}")
    sys.stderr.flush()


def reply_or_exit(conn):
    reply = recv_header(conn)
    if reply is None or reply.get("status") != "ok":
        sys.exit(f"error: {args.op} {args.name or ''}: "
                 f"{reply.get('message') if reply else 'no reply'}")
    return reply


conn = socket.create_connection((args.host, args.port), timeout=10)
if args.op == "ls":
    send_header(conn, {"op": "ls"})
    for f in reply_or_exit(conn)["files"]:
        print(f"{f['size']:>12}  {f['name']}")
elif args.op == "get":
    send_header(conn, {"op": "get", "name": args.name})
    reply = reply_or_exit(conn)
    output = args.output or os.path.basename(args.name)
    digest, received, started = hashlib.sha256(), 0, time.monotonic()
    try:
        with open(output + ".part", "wb") as f:
            while received < reply["size"]:
                chunk = conn.recv(min(CHUNK, reply["size"] - received))
                if not chunk:
                    raise ConnectionError(f"cut after {received} of {reply['size']} bytes")
                digest.update(chunk)
                f.write(chunk)
                received += len(chunk)
                progress(output, received, reply["size"], started)
        if digest.hexdigest() != reply["sha256"]:
            raise ValueError("sha256 mismatch")
        os.replace(output + ".part", output)  # verified: now it gets its name
        print(f"saved {output} ({received} bytes, sha256 {reply['sha256']} verified)")
    finally:
        if os.path.exists(output + ".part"):
            os.remove(output + ".part")
else:
    name = args.as_name or os.path.basename(args.name)
    digest = hashlib.sha256()
    with open(args.name, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    size = os.path.getsize(args.name)
    send_header(conn, {"op": "put", "name": name, "size": size, "sha256": digest.hexdigest()})
    sent, started = 0, time.monotonic()
    with open(args.name, "rb") as f:
        while chunk := f.read(CHUNK):
            conn.sendall(chunk)
            sent += len(chunk)
            progress(name, sent, size, started)
    reply_or_exit(conn)
    print(f"stored {name} on the server ({size} bytes, sha256 verified by the server)")
conn.close()
