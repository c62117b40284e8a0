"""Python twin of threaded_echo_server: socketserver.ThreadingTCPServer, as the seed writes it."""
import argparse
import signal
import socketserver
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8015)
parser.add_argument("--quiet", action="store_true")
args = parser.parse_args()


class EchoHandler(socketserver.BaseRequestHandler):
    # The method must be called handle: the server calls it once per client,
    # in that client's own thread. self.request is the connected socket.
    def handle(self):
        if not args.quiet:
            print(f"{self.client_address[0]}:{self.client_address[1]} connected",
                  file=sys.stderr, flush=True)
        try:
            while True:  # receive, send back, until the client closes
                data = self.request.recv(1024)
                if not data:
                    break
                self.request.sendall(data)
        except ConnectionResetError as error:
            print(error, file=sys.stderr, flush=True)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # the seed's commented-out line, switched on (lesson 07)
    daemon_threads = True       # so that Ctrl-C does not wait for connected clients
    address_family = socketserver.socket.AF_INET6 if ":" in args.host else socketserver.socket.AF_INET


def stop(signum, frame):
    raise KeyboardInterrupt  # leave serve_forever() as Ctrl-C would


signal.signal(signal.SIGTERM, stop)
with Server((args.host, args.port), EchoHandler) as server:
    host, port = server.server_address[:2]
    print(f"listening on {f'[{host}]' if ':' in host else host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
