"""Python twin of timeout_client: settimeout() makes a silent server a timeout, not a hang."""
import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8016)
parser.add_argument("--timeout", type=float, default=5.0)
args = parser.parse_args()

# create_connection's timeout bounds connect() and is then left on the socket:
# the same as s.settimeout(args.timeout) after connecting. s.gettimeout() reads it.
s = socket.create_connection((args.host, args.port), timeout=args.timeout)
for line in sys.stdin:
    message = line.rstrip("\n")
    if not message:
        break
    s.sendall(message.encode("utf-8"))
    try:
        data = s.recv(4096)
    except socket.timeout:  # waited gettimeout() seconds: the connection is still open
        print(f"error: no reply within {s.gettimeout():g} s (timed out; the connection was "
              "still open)", file=sys.stderr)
        s.close()
        sys.exit(1)
    if not data:  # b"": the server closed the connection
        print("server closed the connection", file=sys.stderr)
        break
    print(data.decode("utf-8", errors="backslashreplace"), flush=True)
s.close()
