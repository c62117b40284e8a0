"""Python twin of udp_echo_client: send each stdin line, print the reply or say "no reply"."""
import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8002)
parser.add_argument("--timeout", type=float, default=2.0)
args = parser.parse_args()

family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
client = socket.socket(family, socket.SOCK_DGRAM)
client.settimeout(args.timeout)  # recvfrom gives up after this many seconds

for line in sys.stdin:
    message = line.rstrip("\n")
    if not message:  # an empty line ends the input
        break
    client.sendto(message.encode("utf-8"), (args.host, args.port))
    try:
        data, server = client.recvfrom(65536)
        print(data.decode("utf-8", errors="backslashreplace"), flush=True)
    except socket.timeout:
        print("no reply", file=sys.stderr, flush=True)
client.close()
