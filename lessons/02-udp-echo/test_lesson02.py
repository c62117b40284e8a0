"""Lesson 02: a UDP echo server and client."""
import socket
import subprocess
import sys
import threading
from pathlib import Path

from course_harness import udp_socket

TWIN = Path(__file__).parent / "python"


def ask(sock: socket.socket, address, data: bytes) -> bytes:
    sock.sendto(data, address)
    reply, sender = sock.recvfrom(70000)
    assert sender[:2] == address, f"the reply came from {sender}, not from the server {address}"
    return reply


def test_server_upper_cases_ascii_letters_only(server):
    echo = server("udp_echo_server")
    assert echo.ready_line == f"bound to 127.0.0.1:{echo.port}"
    with udp_socket() as client:
        for sent, expected in [(b"hello", b"HELLO"), (b"Mixed 123 !?", b"MIXED 123 !?"),
                               ("你好 abc".encode(), "你好 ABC".encode()),
                               (b"\xff\xfe z", b"\xff\xfe Z")]:
            got = ask(client, echo.address, sent)
            assert got == expected, f"sent {sent!r}, got {got!r}, expected {expected!r}"


def test_server_answers_an_empty_datagram(server):
    echo = server("udp_echo_server")
    with udp_socket() as client:
        assert ask(client, echo.address, b"") == b"", echo.explain()
        assert ask(client, echo.address, b"after") == b"AFTER"


def test_server_echoes_the_largest_datagram(server):
    echo = server("udp_echo_server")
    big = bytes(range(256)) * 255 + b"x" * (65507 - 256 * 255)  # 65507 bytes: the IPv4 maximum
    with udp_socket() as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        got = ask(client, echo.address, big)
    assert len(got) == 65507 and got == big.upper(), f"got {len(got)} bytes back"


def test_server_replies_to_each_sender(server):
    echo = server("udp_echo_server")
    with udp_socket() as one, udp_socket() as two:
        one.sendto(b"one", echo.address)
        two.sendto(b"two", echo.address)
        assert one.recvfrom(100)[0] == b"ONE"
        assert two.recvfrom(100)[0] == b"TWO"
    echo.wait_stderr(r"echoed 3 bytes to 127\.0\.0\.1:\d+")


def test_server_speaks_ipv6(server):
    echo = server("udp_echo_server", "--host", "::1")
    assert echo.ready_line == f"bound to [::1]:{echo.port}"
    with udp_socket("::1") as client:
        assert ask(client, ("::1", echo.port), b"six") == b"SIX"


def test_client_prints_each_reply(run, server):
    echo = server("udp_echo_server")
    result = run("udp_echo_client", "--port", echo.port, input="hello\n你好 world\n").ok()
    assert result.lines == ["HELLO", "你好 WORLD"], result.explain()


def test_client_stops_at_an_empty_line(run, server):
    echo = server("udp_echo_server")
    result = run("udp_echo_client", "--port", echo.port, input="one\n\ntwo\n").ok()
    assert result.lines == ["ONE"], result.explain()


def test_client_says_no_reply_and_goes_on(run):
    # A peer that answers only the second datagram: the first gets "no reply".
    with udp_socket() as peer:
        def answer_second():
            peer.recvfrom(100)
            data, sender = peer.recvfrom(100)
            peer.sendto(b"late but here", sender)
        helper = threading.Thread(target=answer_second, daemon=True)
        helper.start()
        result = run("udp_echo_client", "--port", peer.getsockname()[1], "--timeout", "0.3",
                     input="lost\nanswered\n").ok()
        helper.join(5)
    assert "no reply" in result.stderr, result.explain()
    assert result.lines == ["late but here"], result.explain()


def test_client_takes_the_reply_only_from_the_server(run):
    # Anyone can send a datagram to the client's port: a stranger's arrives
    # first, then the server's reply. Only the reply is printed.
    with udp_socket() as peer, udp_socket() as stranger:
        def answer_after_a_stranger():
            _, client = peer.recvfrom(100)
            stranger.sendto(b"not the server", client)
            peer.sendto(b"REAL", client)
        helper = threading.Thread(target=answer_after_a_stranger, daemon=True)
        helper.start()
        result = run("udp_echo_client", "--port", peer.getsockname()[1], input="real\n").ok()
        helper.join(5)
    assert result.lines == ["REAL"], (
        f"a datagram from another address came before the server's reply; only the reply "
        f"(from the server's address) is the answer\n{result.explain()}")


def test_client_escapes_invalid_utf8_replies(run):
    with udp_socket() as peer:
        def answer():
            _, sender = peer.recvfrom(100)
            peer.sendto(b"bad \xff byte", sender)
        helper = threading.Thread(target=answer, daemon=True)
        helper.start()
        result = run("udp_echo_client", "--port", peer.getsockname()[1], input="x\n").ok()
        helper.join(5)
    assert result.lines == ["bad \\xff byte"], result.explain()


def test_cpp_client_with_python_twin_server(run):
    twin = subprocess.Popen([sys.executable, str(TWIN / "udp_echo_server.py"), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(twin.stdout.readline().rsplit(":", 1)[1])
        result = run("udp_echo_client", "--port", port, input="from c++\n").ok()
        assert result.lines == ["FROM C++"], result.explain()
    finally:
        twin.kill()
        twin.wait()


def test_python_twin_client_with_cpp_server(server):
    echo = server("udp_echo_server")
    done = subprocess.run([sys.executable, str(TWIN / "udp_echo_client.py"), "--port",
                           str(echo.port)], input="from python\n", capture_output=True,
                          text=True, timeout=10)
    assert done.stdout.splitlines() == ["FROM PYTHON"], done


def test_usage_errors_and_help(run):
    for program in ("udp_echo_server", "udp_echo_client"):
        assert "--port" in run(program, "--help").ok().stdout
        result = run(program, "--port", "70000").expect_status(2)
        assert result.stderr.startswith("error: "), result.explain()
    run("udp_echo_client", "--timeout", "abc").expect_status(2)


def test_server_survives_clients_that_vanish(server):
    # Each client closes before the reply arrives: the reply bounces (ICMP
    # "port unreachable"), which must not stop the server serving the next one.
    echo = server("udp_echo_server")
    for _ in range(5):
        with udp_socket() as gone:
            gone.sendto(b"x" * 1000, echo.address)
    with udp_socket() as client:
        assert ask(client, echo.address, b"still there?") == b"STILL THERE?", echo.explain()
    echo.assert_alive("clients vanished before their replies")
