"""Python twin of http_server: a minimal HTTP/1.1 static file server on a plain socket.

The seed's idea, grown up: send the header first (b'HTTP/1.1 200 OK\\r\\n...\\r\\n'),
then the file. One thread per connection, keep-alive, GET and HEAD only.
"""
import argparse
import os
import socket
import sys
import threading
import time
from email.utils import formatdate
from urllib.parse import unquote_to_bytes

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8019)
parser.add_argument("--root", required=True)
parser.add_argument("--timeout", type=float, default=10)
parser.add_argument("--max-head", type=int, default=8192)
args = parser.parse_args()

ROOT = os.path.realpath(args.root)
if not os.path.isdir(ROOT) or ROOT == "/":
    sys.exit(f"error: --root {args.root}: missing, not a folder, or the whole file system")

TYPES = {".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".json": "application/json", ".png": "image/png", ".jpg": "image/jpeg",
         ".gif": "image/gif", ".svg": "image/svg+xml", ".ico": "image/x-icon"}
REASONS = {200: "OK", 301: "Moved Permanently", 400: "Bad Request", 404: "Not Found",
           405: "Method Not Allowed", 408: "Request Timeout", 413: "Content Too Large",
           414: "URI Too Long", 431: "Request Header Fields Too Large",
           505: "HTTP Version Not Supported"}


def head(status, content_type, length, keep_alive, extra=""):
    """The status line and headers, ending with the empty line."""
    return (f"HTTP/1.1 {status} {REASONS[status]}\r\n"
            f"Date: {formatdate(usegmt=True)}\r\n"
            "Server: socket-lessons (python)\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n"
            f"{extra}\r\n").encode("latin-1")


def send_error(conn, status, head_only=False, keep_alive=False, extra=""):
    body = f"{status} {REASONS[status]}\n".encode()
    conn.sendall(head(status, "text/plain; charset=utf-8", len(body), keep_alive, extra))
    if not head_only:
        conn.sendall(body)


def inside_root(path):
    """The real path if it is inside ROOT (symlinks followed), else None."""
    real = os.path.realpath(path)
    if real != ROOT and not real.startswith(ROOT + os.sep):
        return None
    return real if os.path.exists(real) else None


def relative_path(target):
    """'/a/b%20c.txt?x=1' -> 'a/b c.txt'; None for anything we refuse."""
    if not target.startswith("/"):
        return None
    raw = target.split("?", 1)[0].split("#", 1)[0]
    decoded = unquote_to_bytes(raw)  # decode FIRST: '%2e%2e' is '..'
    if b"\0" in decoded or b"\\" in decoded:
        return None
    parts = [p for p in decoded.split(b"/") if p not in (b"", b".")]
    if b".." in parts:
        return None
    return os.fsdecode(b"/".join(parts))


def answer(conn, method, target, version, headers):
    """Sends one response; returns (status, keep_alive)."""
    head_only = method == "HEAD"
    connection = headers.get("connection", "").lower()
    keep_alive = "keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection
    if method not in ("GET", "HEAD"):
        send_error(conn, 405, head_only, False, "Allow: GET, HEAD\r\n")
        return 405, False
    if headers.get("content-length", "0") != "0" or "transfer-encoding" in headers:
        send_error(conn, 413, head_only)
        return 413, False
    relative = relative_path(target)
    if relative is None:
        send_error(conn, 400, head_only, keep_alive)
        return 400, keep_alive
    path = inside_root(os.path.join(ROOT, relative))
    if path and os.path.isdir(path):
        if not target.split("?")[0].endswith("/"):
            location = f"Location: {target.split('?')[0]}/\r\n"
            send_error(conn, 301, head_only, keep_alive, location)
            return 301, keep_alive
        path = inside_root(os.path.join(path, "index.html"))
    if not path or not os.path.isfile(path):
        send_error(conn, 404, head_only, keep_alive)
        return 404, keep_alive
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        content_type = TYPES.get(os.path.splitext(path)[1].lower(), "application/octet-stream")
        if head_only:
            conn.sendall(head(200, content_type, size, keep_alive))
        else:
            # the header first, with the first piece of the file in the same send
            # (two small sends in a row meet Nagle's algorithm: see the page)...
            conn.sendall(head(200, content_type, size, keep_alive) + f.read(65536))
            conn.sendfile(f)  # ...then the rest of the file
    return 200, keep_alive


def serve(conn, addr):
    peer = f"{addr[0]}:{addr[1]}"
    buffer = b""
    with conn:
        while True:
            deadline = time.monotonic() + args.timeout
            while b"\r\n\r\n" not in buffer[:args.max_head]:
                if len(buffer) >= args.max_head:
                    send_error(conn, 431)
                    return
                conn.settimeout(max(0.001, deadline - time.monotonic()))
                try:
                    chunk = conn.recv(4096)
                except socket.timeout:
                    if buffer.strip():
                        send_error(conn, 408)
                    return
                if not chunk:
                    return
                buffer += chunk
            raw, buffer = buffer.split(b"\r\n\r\n", 1)
            lines = raw.lstrip(b"\r\n").decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            headers = {}
            for line in lines[1:]:
                name, colon, value = line.partition(":")
                if not colon or not name or name != name.strip():
                    parts = []
                    break
                headers.setdefault(name.lower(), value.strip())
            if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or (
                    parts[2] == "HTTP/1.1" and "host" not in headers):
                send_error(conn, 400)
                return
            method, target, version = parts
            status, keep_alive = answer(conn, method, target, version, headers)
            print(f'{peer} "{method} {target} {version}" {status}', file=sys.stderr, flush=True)
            if not keep_alive:
                return


server = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen()
host, port = server.getsockname()[:2]
print(f"listening on {f'[{host}]' if ':' in host else host}:{port}", flush=True)
try:
    while True:
        conn, addr = server.accept()
        # daemon threads: Ctrl-C ends the program without waiting for idle clients
        threading.Thread(target=serve, args=(conn, addr), daemon=True).start()
except KeyboardInterrupt:
    pass
finally:
    server.close()
