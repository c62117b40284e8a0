"""Python twin of udp_receiver: bind a port and print every datagram that arrives."""
import argparse
import socket

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8001)
parser.add_argument("--bufsize", type=int, default=1024)
parser.add_argument("--count", type=int, default=0)
args = parser.parse_args()

family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
udp = socket.socket(family, socket.SOCK_DGRAM)
udp.bind((args.host, args.port))  # a tuple: (IP, port)
host, port = udp.getsockname()[:2]
print(f"bound to {host}:{port}", flush=True)

received = 0
try:
    while args.count == 0 or received < args.count:
        # recvfrom gives the bytes and the sender's address; anything past
        # bufsize is cut off and lost (Python cannot tell you how much).
        data, (sender_host, sender_port) = udp.recvfrom(args.bufsize)[:2]
        text = data.decode("utf-8", errors="backslashreplace")
        print(f"from {sender_host}:{sender_port}: {text}", flush=True)
        received += 1
except KeyboardInterrupt:  # Ctrl-C: stop quietly (exit 0), no traceback
    pass
udp.close()
