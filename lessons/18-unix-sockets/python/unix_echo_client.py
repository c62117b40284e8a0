"""Python twin of unix_echo_client: connect to a socket file, send each line, print each reply."""
import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--path", default="/tmp/socket-lessons-18.sock")
parser.add_argument("--timeout", type=float, default=5.0)
args = parser.parse_args()

client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
client.settimeout(args.timeout)
client.connect(args.path)  # a path where TCP has (host, port)
for line in sys.stdin:
    message = line.rstrip("\n")
    if not message:
        break
    client.sendall(message.encode("utf-8"))
    data = client.recv(4096)
    if not data:
        print("server closed the connection", file=sys.stderr)
        break
    print(data.decode("utf-8", errors="backslashreplace"), flush=True)
client.close()
