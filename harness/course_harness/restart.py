"""A server restarted at once on the port it just left (lesson 07's point, kept
by every server after it): a test stops the server while a client is connected,
so that the server closes first and its side of the connection stays in
TIME_WAIT; only with SO_REUSEADDR set does the new bind() on that port work."""

from __future__ import annotations

import socket

from .peers import recv_all, wait_for_tcp


def stop_leaving_time_wait(srv, host: str = "127.0.0.1") -> int:
    """Connects to `srv`, has one echo round trip, stops the server (SIGTERM)
    and closes the client after the server's FIN: returns the port, whose
    server side is now in TIME_WAIT (checked: else the restart proves nothing)."""
    port = srv.port
    with socket.create_connection((host, port), timeout=5) as client:
        client.sendall(b"ping")
        assert client.recv(100), f"no echo before the stop\n{srv.explain()}"
        srv.stop()  # the server closes first: the active close
        rest = recv_all(client, timeout=5)
        assert rest == b"", f"after the stop the client got {rest!r}, not the server's FIN"
    waiting = wait_for_tcp(port, lambda sockets: [s for s in sockets
                                                  if s[0] == port and s[2] == "TIME_WAIT"])
    assert waiting, f"the server closed first, so port {port} should be in TIME_WAIT"
    return port


def echoes(port: int, host: str = "127.0.0.1") -> bytes:
    with socket.create_connection((host, port), timeout=5) as client:
        client.sendall(b"again")
        client.shutdown(socket.SHUT_WR)
        return recv_all(client, timeout=5)
