"""The course's pytest harness: find the lesson binaries, start servers, run
clients, and explain every failure in terms a student can act on."""

from .process import Result, Server, run_program, start_server  # noqa: F401
from .peers import tcp_connect, free_port, udp_socket, ipv6_disabled_reason  # noqa: F401
