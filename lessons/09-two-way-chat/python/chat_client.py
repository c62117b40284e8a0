"""Python twin of chat_client: send a line, wait for the answer, repeat; q ends it."""
import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8009)
parser.add_argument("--timeout", type=float, default=0)
args = parser.parse_args()

sock = socket.create_connection((args.host, args.port), timeout=args.timeout or None)
try:
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            break
        sock.sendall(line.encode("utf-8"))
        if line == "q":
            print("you ended the chat", file=sys.stderr)
            break
        data = sock.recv(4096)
        if not data:
            print("the server closed the connection", file=sys.stderr)
            break
        answer = data.decode("utf-8", errors="backslashreplace")
        print(answer, flush=True)
        if answer == "q":
            print("the server ended the chat", file=sys.stderr)
            break
except (ConnectionResetError, BrokenPipeError) as e:
    print(f"the server vanished ({e.strerror})", file=sys.stderr)
except socket.timeout:
    print("error: no answer in time", file=sys.stderr)
    sys.exit(1)
except KeyboardInterrupt:  # Ctrl-C: stop quietly (exit 130), no traceback
    sys.exit(130)
sock.close()
