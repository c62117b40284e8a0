"""Lesson 04: the TCP echo server."""
import socket
import subprocess
import sys
import threading
from pathlib import Path

from course_harness import tcp_connect
from course_harness.peers import recv_all, recv_exactly, reset
from course_harness.restart import echoes, stop_leaving_time_wait

TWIN = Path(__file__).parent / "python"


def test_echoes_every_byte_unchanged(server):
    echo = server("tcp_echo_server")
    assert echo.ready_line == f"listening on 127.0.0.1:{echo.port}"
    with tcp_connect(echo.port) as client:
        for message in (b"hello", "你好".encode(), b"\x00\xff\r\n binary", b"x"):
            client.sendall(message)
            got = recv_exactly(client, len(message))
            assert got == message, f"sent {message!r}, got back {got!r}\n{echo.explain()}"


def test_echoes_a_megabyte_while_we_keep_sending(server):
    # The server must loop over short sends; we read concurrently so that
    # neither side's buffers fill up and deadlock.
    echo = server("tcp_echo_server")
    data = bytes(range(256)) * 4096  # 1 MiB
    with tcp_connect(echo.port) as client:
        sender = threading.Thread(target=lambda: (client.sendall(data),
                                                  client.shutdown(socket.SHUT_WR)))
        sender.start()
        got = recv_all(client, timeout=8)
        sender.join(5)
    assert got == data, f"sent {len(data)} bytes, got {len(got)} back (or different bytes)"


def test_serves_clients_one_after_another_and_logs_them(server):
    echo = server("tcp_echo_server")
    for n in range(3):
        with tcp_connect(echo.port) as client:
            client.sendall(f"client {n}".encode())
            assert recv_exactly(client, 8) == f"client {n}".encode()
            port = client.getsockname()[1]
        echo.wait_stderr(rf"127\.0\.0\.1:{port} connected")
        echo.wait_stderr(rf"127\.0\.0\.1:{port} disconnected")


def test_second_client_waits_for_the_first(server):
    echo = server("tcp_echo_server")
    with tcp_connect(echo.port) as first, tcp_connect(echo.port) as second:
        second.sendall(b"second")  # queued: the server is busy with `first`
        first.sendall(b"first")
        assert recv_exactly(first, 5) == b"first"
        second.settimeout(0.3)
        try:
            early = second.recv(100)
        except socket.timeout:
            early = None
        assert early is None, f"the second client got {early!r} while the first was served"
        first.close()
        assert recv_exactly(second, 6) == b"second"


def test_once_exits_after_the_first_client(server):
    echo = server("tcp_echo_server", "--once")
    with tcp_connect(echo.port) as client:
        client.sendall(b"only")
        assert recv_exactly(client, 4) == b"only"
    echo.expect_exit(0)


def test_survives_a_client_reset_mid_message(server):
    echo = server("tcp_echo_server")
    rude = tcp_connect(echo.port)
    rude.sendall(b"half a mess")
    reset(rude)  # SO_LINGER 0: the server sees a RST, not a FIN
    echo.wait_stderr(r"(disconnected|dropped)")
    # A peer that resets while its echo is still coming back, too.
    for _ in range(3):
        rude = tcp_connect(echo.port)
        rude.sendall(b"y" * 200_000)
        reset(rude)
    with tcp_connect(echo.port) as polite:
        polite.sendall(b"still there?")
        assert recv_exactly(polite, 12) == b"still there?", echo.explain()
    echo.assert_alive("clients reset their connections")


def test_stops_on_sigterm_while_a_client_is_connected(server):
    echo = server("tcp_echo_server")
    client = tcp_connect(echo.port)
    client.sendall(b"hi")
    assert recv_exactly(client, 2) == b"hi"
    echo.stop()  # must exit 0 within 1 s although a client is still connected
    client.close()


def test_stops_on_sigterm_while_a_client_does_not_read(server):
    echo = server("tcp_echo_server")
    client = tcp_connect(echo.port)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.settimeout(0.5)
    try:  # fill both directions' buffers: the server is now stuck sending
        for _ in range(400):
            client.send(b"z" * 65536)
    except (socket.timeout, BlockingIOError):
        pass
    echo.stop()
    client.close()


def test_tcp_client_talks_to_it(run, server):
    echo = server("tcp_echo_server")
    result = run("tcp_client", "--port", echo.port, input="hello\n你好\n").ok()
    assert result.lines == ["hello", "你好"], result.explain() + "\n" + echo.explain()


def test_speaks_ipv6(server):
    echo = server("tcp_echo_server", "--host", "::1")
    assert echo.ready_line == f"listening on [::1]:{echo.port}"
    with tcp_connect(echo.port, host="::1") as client:
        client.sendall(b"six")
        assert recv_exactly(client, 3) == b"six"


def test_port_in_use_is_a_runtime_error(run, server):
    first = server("tcp_echo_server")
    result = run("tcp_echo_server", "--port", first.port).expect_status(1)
    assert "Address already in use" in result.stderr, result.explain()


def test_usage_errors_and_help(run):
    assert "--once" in run("tcp_echo_server", "--help").ok().stdout
    run("tcp_echo_server", "--port", "abc").expect_status(2)
    run("tcp_echo_server", "--bogus").expect_status(2)


def test_cpp_client_with_python_twin_server(run):
    twin = subprocess.Popen([sys.executable, str(TWIN / "tcp_echo_server.py"), "--port", "0",
                             "--once"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(twin.stdout.readline().rsplit(":", 1)[1])
        result = run("tcp_client", "--port", port, input="twin\n").ok()
        assert result.lines == ["twin"], result.explain()
        assert twin.wait(timeout=5) == 0
    finally:
        twin.kill()
        twin.wait()


def test_python_client_with_cpp_server(server):
    echo = server("tcp_echo_server")
    twin_client = TWIN.parent.parent / "03-tcp-client" / "python" / "tcp_client.py"
    done = subprocess.run([sys.executable, str(twin_client), "--port", str(echo.port)],
                          input="from python\n", capture_output=True, text=True, timeout=10)
    assert done.stdout.splitlines() == ["from python"], done


def test_restarts_at_once_on_the_port_it_left(server):
    """Stopped while a client was connected, the server closed first and left its
    side in TIME_WAIT: SO_REUSEADDR lets the new one bind that port at once."""
    port = stop_leaving_time_wait(server("tcp_echo_server"))
    again = server("tcp_echo_server", "--port", port)
    assert echoes(port) == b"again", again.explain()
