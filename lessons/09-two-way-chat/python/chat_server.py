"""Python twin of chat_server: turn-based chat, you answer from the keyboard."""
import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8009)
args = parser.parse_args()

family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
server = socket.socket(family, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen(5)
host, port = server.getsockname()[:2]
print(f"listening on {host}:{port}", flush=True)

try:
    while True:
        conn, addr = server.accept()
        peer = f"{addr[0]}:{addr[1]}"
        print(f"{peer} connected", file=sys.stderr)
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    print(f"{peer} left", file=sys.stderr)
                    break
                text = data.decode("utf-8", errors="backslashreplace")
                print(text, flush=True)
                if text == "q":
                    print(f"{peer} ended the chat", file=sys.stderr)
                    break
                answer = sys.stdin.readline().rstrip("\n")
                if not answer:  # end of input: stop serving
                    conn.close()
                    sys.exit(0)
                conn.sendall(answer.encode("utf-8"))
                if answer == "q":
                    print(f"you ended the chat with {peer}", file=sys.stderr)
                    break
        except OSError as e:  # a client that resets costs only its own chat
            print(f"{peer}: {e}", file=sys.stderr)
        conn.close()
except KeyboardInterrupt:  # Ctrl-C: stop quietly (exit 0), no traceback
    pass
server.close()
