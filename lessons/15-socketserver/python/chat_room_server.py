"""Python twin of chat_room_server: every line goes to every other client."""
import argparse
import queue
import socket
import signal
import socketserver
import sys
import threading

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8015)
parser.add_argument("--queue-limit", type=int, default=1000, help="lines waiting per client")
args = parser.parse_args()

lock = threading.Lock()  # guards `members`: every client thread touches it
members = {}             # name -> (queue of lines waiting for it, its socket)


def broadcast(sender, data):
    with lock:
        for name, (outbox, sock) in list(members.items()):
            if name == sender:
                continue
            try:
                outbox.put_nowait(data)  # never wait for a slow client
            except queue.Full:
                print(f"dropping {name}: it is not reading", file=sys.stderr, flush=True)
                del members[name]
                sock.shutdown(socket.SHUT_RDWR)  # wakes its reader and its writer


class ChatHandler(socketserver.StreamRequestHandler):
    def handle(self):
        name = f"{self.client_address[0]}:{self.client_address[1]}"
        outbox = queue.Queue(maxsize=args.queue_limit)
        # A second thread per client does the sending, so a client that does
        # not read blocks only its own writer.
        writer = threading.Thread(target=self.write_lines, args=(outbox,), daemon=True)
        writer.start()
        broadcast(name, f"* {name} joined\n".encode())
        with lock:
            members[name] = (outbox, self.request)
        print(f"{name} joined", file=sys.stderr, flush=True)
        try:
            for line in self.rfile:  # one line at a time, until the client closes
                if line.endswith(b"\n"):
                    broadcast(name, line)
        except ConnectionError:
            pass
        with lock:
            members.pop(name, None)
        try:
            outbox.put_nowait(None)  # tells the writer to stop
        except queue.Full:
            pass
        broadcast(name, f"* {name} left\n".encode())
        print(f"{name} left", file=sys.stderr, flush=True)

    def write_lines(self, outbox):
        while (data := outbox.get()) is not None:
            try:
                self.wfile.write(data)
            except OSError:
                break


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def stop(signum, frame):
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, stop)
with Server((args.host, args.port), ChatHandler) as server:
    host, port = server.server_address[:2]
    print(f"listening on {host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
