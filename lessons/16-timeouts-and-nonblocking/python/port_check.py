"""Python twin of port_check: connect_ex() with a timeout, one port after another."""
import argparse
import errno
import os
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--ports", required=True, help="A-B")
parser.add_argument("--timeout", type=float, default=1.0)
args = parser.parse_args()

try:
    first, _, last = args.ports.partition("-")
    first, last = int(first), int(last or first)
    assert 1 <= first <= last <= 65535
except (ValueError, AssertionError):
    print(f"error: --ports: expected A-B with 1 <= A <= B <= 65535, got {args.ports!r}",
          file=sys.stderr)
    sys.exit(2)

family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
counts = {"open": 0, "closed": 0, "no answer": 0}
for port in range(first, last + 1):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(args.timeout)  # connect_ex gives up after this long
    # connect_ex returns an error number instead of raising: 0 means connected.
    code = s.connect_ex((args.host, port))
    s.close()
    where = f"[{args.host}]:{port}" if family == socket.AF_INET6 else f"{args.host}:{port}"
    if code == 0:
        counts["open"] += 1
        print(f"{where} open")
    elif code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.ETIMEDOUT):  # the timeout passed
        counts["no answer"] += 1
        print(f"{where} no answer within {args.timeout:g} s")
    else:
        counts["closed"] += 1
        print(f"{where} closed ({os.strerror(code)})")
print(f"checked {last - first + 1} ports: {counts['open']} open, {counts['closed']} closed, "
      f"{counts['no answer']} no answer")
