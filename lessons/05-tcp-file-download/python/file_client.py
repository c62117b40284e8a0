"""Python twin of file_client: ask for a file by name and save what arrives."""
import argparse
import os
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("name")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8005)
parser.add_argument("--output")
parser.add_argument("--timeout", type=float, default=10.0)
args = parser.parse_args()

output = args.output or "download_" + os.path.basename(args.name)
part = output + ".part"  # the real name only once the download is complete

try:
    client = socket.create_connection((args.host, args.port), timeout=args.timeout)
    client.sendall(args.name.encode("utf-8"))  # the name, in one send, no terminator
    total = 0
    with open(part, "wb") as file:
        while True:
            chunk = client.recv(64 * 1024)
            if not chunk:  # b"": the server closed, the file is complete
                break
            file.write(chunk)
            total += len(chunk)
    client.close()
except OSError as e:
    if os.path.exists(part):
        os.remove(part)
    sys.exit(f"error: download {args.name}: {e}")

if total == 0:  # missing, refused or empty: we cannot tell, so keep nothing
    os.remove(part)
    sys.exit(f"error: download {args.name}: the server sent nothing")
os.replace(part, output)
print(f"saved {total} bytes to {output}")
