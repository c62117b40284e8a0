"""Python twin of chatbot_server: keyword replies from a table, one client after another."""
import argparse
import re
import socket
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8008)
args = parser.parse_args()

# The table, in priority order: the first keyword found wins.
KEYWORDS = [("bye", "bye"), ("再见", "bye"), ("time", "time"), ("时间", "time"),
            ("name", "name"), ("名字", "name"), ("hello", "hello"), ("你好", "hello")]


def reply(intent):
    if intent == "bye":
        return "Goodbye! 再见!"
    if intent == "time":
        return "The time is " + time.strftime("%Y-%m-%d %H:%M:%S") + " (当前时间)"
    if intent == "name":
        return "I am socketbot, a chat bot. 我是聊天机器人 socketbot."
    if intent == "hello":
        return "Hello! 你好!"
    return "Sorry, I don't understand. 我不明白您的意思."


def match(data):
    try:
        text = data.decode("utf-8").lower()
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace").lower()
    for word, intent in KEYWORDS:
        if word.isascii():
            # a whole English word: no letter or digit right before or after
            if re.search(r"(?<![A-Za-z0-9])" + word + r"(?![A-Za-z0-9])", text):
                return intent
        elif word in text:
            return intent
    return None


family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
server = socket.socket(family, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen(128)
host, port = server.getsockname()[:2]
print(f"listening on {host}:{port}", flush=True)

try:
    while True:
        conn, addr = server.accept()
        print(f"{addr[0]}:{addr[1]} connected", file=sys.stderr)
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    break
                intent = match(data)
                conn.sendall(reply(intent).encode("utf-8"))
                if intent == "bye":
                    break
        except OSError as e:
            print(f"{addr[0]}:{addr[1]}: {e}", file=sys.stderr)
        conn.close()
except KeyboardInterrupt:  # Ctrl-C: stop quietly (exit 0), no traceback
    pass
server.close()
