"""Lesson 03: the TCP client, against small Python servers written like the seeds'."""
import contextlib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from course_harness import free_port

TWIN = Path(__file__).parent / "python"

# From the seeds: what a Chinese Windows server might say, in GBK.
SEED_TEXT = "接受到了来自客户端的连接请求,对方断开了连接"


@contextlib.contextmanager
def peer_server(handler, host="127.0.0.1"):
    """A one-client TCP server on a free port; `handler(conn)` talks to the client.
    Yields (port, received) where `received` collects every byte the client sent."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind((host, 0))
    listener.listen(1)
    listener.settimeout(5)
    received = []
    errors = []

    def serve():
        try:
            conn, _ = listener.accept()
            conn.settimeout(5)
            with conn:
                handler(conn, received)
        except Exception as e:  # reported by the test below
            errors.append(e)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], received
    finally:
        thread.join(5)
        listener.close()
    assert not errors, f"the test's server failed: {errors!r}"


def echo_lines(conn, received, encode=lambda data: data):
    while data := conn.recv(4096):
        received.append(data)
        conn.sendall(encode(data))


def test_sends_each_line_and_prints_each_reply(run):
    with peer_server(echo_lines) as (port, received):
        result = run("tcp_client", "--port", port, input="hello\n你好\n").ok()
    assert result.lines == ["hello", "你好"], result.explain()
    assert b"".join(received) == "hello你好".encode(), \
        f"the server received {received!r}: each line's bytes, without the newline, expected"


def test_stops_at_an_empty_line(run):
    with peer_server(echo_lines) as (port, received):
        result = run("tcp_client", "--port", port, input="one\n\ntwo\n").ok()
    assert result.lines == ["one"], result.explain()
    assert received == [b"one"], f"server received {received!r}"


def test_decodes_gbk_from_a_windows_server(run):
    # The server decodes what it got (UTF-8) and answers the same text in GBK,
    # as a Chinese Windows program would.
    def gbk_server(conn, received):
        echo_lines(conn, received, lambda data: data.decode("utf-8").encode("gbk"))

    with peer_server(gbk_server) as (port, _):
        result = run("tcp_client", "--port", port, "--encoding", "gbk",
                     input=SEED_TEXT + "\n").ok()
    assert result.lines == [SEED_TEXT], result.explain()


def test_without_encoding_gbk_bytes_are_shown_escaped(run):
    def gbk_server(conn, received):
        conn.recv(100)
        conn.sendall("你好".encode("gbk"))  # C4 E3 BA C3: not valid UTF-8

    with peer_server(gbk_server) as (port, _):
        result = run("tcp_client", "--port", port, input="hi\n").ok()
    assert result.lines == ["\\xc4\\xe3\\xba\\xc3"], result.explain()


def test_one_recv_of_at_most_1024_bytes(run):
    def big_reply(conn, received):
        conn.recv(100)
        conn.sendall(b"a" * 1024 + b"b" * 100)
        conn.recv(100)
        conn.sendall(b"c")

    with peer_server(big_reply) as (port, _):
        result = run("tcp_client", "--port", port, input="one\ntwo\n").ok()
    # The 1124-byte reply takes two recv() calls: the rest arrives with the
    # second message's reply (TCP is a stream; lesson 11 shows more).
    assert result.lines[0] == "a" * 1024, result.explain()
    assert result.lines[1].startswith("b" * 100), result.explain()


def test_notices_the_server_closing(run):
    def one_reply_then_close(conn, received):
        received.append(conn.recv(100))
        conn.sendall(b"bye")
        conn.shutdown(socket.SHUT_WR)  # our FIN: the client's next recv() returns 0
        while conn.recv(100):          # read what it still sends, so close() sends no RST
            pass

    with peer_server(one_reply_then_close) as (port, _):
        result = run("tcp_client", "--port", port, input="one\ntwo\nthree\n").ok()
    assert result.lines == ["bye"], result.explain()
    assert "closed" in result.stderr, result.explain()


def test_connection_refused_exits_1(run):
    port = free_port()
    result = run("tcp_client", "--port", port, input="hello\n").expect_status(1)
    assert "Connection refused" in result.stderr and result.stderr.startswith("error: "), \
        result.explain()


def test_timeout_without_a_reply_exits_1(run):
    def silent(conn, received):
        received.append(conn.recv(100))
        conn.recv(100)  # never answer; returns when the client gives up and closes

    with peer_server(silent) as (port, _):
        started = time.monotonic()
        result = run("tcp_client", "--port", port, "--timeout", "0.3",
                     input="anyone?\n").expect_status(1)
        took = time.monotonic() - started
    assert result.stderr.startswith("error: ") and "no reply" in result.stderr, result.explain()
    assert took < 1.4, f"--timeout 0.3 took {took:.2f} s\n{result.explain()}"


def test_speaks_ipv6(run):
    with peer_server(echo_lines, host="::1") as (port, _):
        result = run("tcp_client", "--host", "::1", "--port", port, input="six\n").ok()
    assert result.lines == ["six"], result.explain()


def test_unknown_encoding_is_a_usage_error(run):
    result = run("tcp_client", "--encoding", "no-such-encoding", input="").expect_status(2)
    assert result.stderr.startswith("error: "), result.explain()


def test_bad_port_and_help(run):
    assert "--encoding" in run("tcp_client", "--help").ok().stdout
    for bad in ("abc", "70000"):
        run("tcp_client", "--port", bad).expect_status(2)


def test_python_twin_decodes_gbk_too():
    def gbk_server(conn, received):
        echo_lines(conn, received, lambda data: data.decode("utf-8").encode("gbk"))

    with peer_server(gbk_server) as (port, _):
        done = subprocess.run([sys.executable, str(TWIN / "tcp_client.py"), "--port", str(port),
                               "--encoding", "gbk"], input=SEED_TEXT + "\n",
                              capture_output=True, text=True, timeout=10)
    assert done.stdout.splitlines() == [SEED_TEXT], done
