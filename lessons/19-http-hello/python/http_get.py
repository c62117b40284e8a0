"""Python twin of http_get: fetch paths over one keep-alive connection, by hand."""
import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8019)
parser.add_argument("--timeout", type=float, default=5)
parser.add_argument("--head", action="store_true")
parser.add_argument("paths", nargs="*", default=["/"])
args = parser.parse_args()

sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
buffer = b""
for i, path in enumerate(args.paths):
    last = i == len(args.paths) - 1
    request = (f"{'HEAD' if args.head else 'GET'} {path} HTTP/1.1\r\n"
               f"Host: {args.host}:{args.port}\r\n"
               f"Connection: {'close' if last else 'keep-alive'}\r\n\r\n")
    sock.sendall(request.encode("latin-1"))

    while b"\r\n\r\n" not in buffer:  # the head ends at the first empty line
        chunk = sock.recv(16384)
        if not chunk:
            sys.exit("error: server closed the connection before replying")
        buffer += chunk
    head, buffer = buffer.split(b"\r\n\r\n", 1)
    print(head.decode("latin-1") + "\n")

    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = 0 if args.head else int(headers.get("content-length", "0"))
    while len(buffer) < length:  # Content-Length says where this response ends
        chunk = sock.recv(16384)
        if not chunk:
            sys.exit("error: server closed in the middle of the body")
        buffer += chunk
    body, buffer = buffer[:length], buffer[length:]
    if headers.get("content-type", "").startswith("text/"):
        sys.stdout.write(body.decode("utf-8", errors="backslashreplace"))
    elif length:
        print(f"({length} bytes of {headers.get('content-type')})")
sock.close()
