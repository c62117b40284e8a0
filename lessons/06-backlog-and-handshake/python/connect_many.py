"""Python twin of connect_many: open N connections, count the handshakes that complete."""
import argparse
import socket
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8006)
parser.add_argument("--count", type=int, default=10)
parser.add_argument("--timeout", type=float, default=3)
parser.add_argument("--hold", type=float, default=0)
args = parser.parse_args()

opened = []
for i in range(1, args.count + 1):
    try:
        # connect() returns once the SYN, SYN-ACK, ACK handshake is done
        conn = socket.create_connection((args.host, args.port), timeout=args.timeout)
        opened.append(conn)
        print(f"connection {i}/{args.count}: connected", file=sys.stderr)
    except OSError as e:  # a full accept queue drops our SYN: we time out
        print(f"connection {i}/{args.count}: {e}", file=sys.stderr)

print(f"connected {len(opened)}/{args.count}", flush=True)
time.sleep(args.hold)
for i, conn in enumerate(opened, 1):
    conn.setblocking(False)  # read what arrived meanwhile, so close() sends FIN, not RST
    try:
        data = conn.recv(256)
        print(f"connection {i} received: {data.decode(errors='backslashreplace')}",
              file=sys.stderr)
    except BlockingIOError:
        pass
    conn.close()
