"""Python twin of tcp_client: send each stdin line, print each reply, notice when the server closes."""
import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8004)
parser.add_argument("--timeout", type=float, default=5.0)
parser.add_argument("--encoding", default="utf-8")  # "gbk" for a Chinese Windows server
args = parser.parse_args()

try:
    # create_connection = socket() + connect(), trying every address of the name.
    client = socket.create_connection((args.host, args.port), timeout=args.timeout)
except OSError as e:
    sys.exit(f"error: connect to {args.host}:{args.port}: {e.strerror or e}")

for line in sys.stdin:
    message = line.rstrip("\n")
    if not message:  # an empty line ends the input
        break
    client.sendall(message.encode("utf-8"))
    try:
        data = client.recv(1024)
    except socket.timeout:
        sys.exit(f"error: no reply within {args.timeout} s")
    if not data:  # b"": the server closed the connection
        print("server closed the connection", file=sys.stderr)
        break
    print(data.decode(args.encoding, errors="backslashreplace"), flush=True)
client.close()
