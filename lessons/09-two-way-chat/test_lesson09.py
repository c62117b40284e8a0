"""Lesson 09: turn-based two-way chat, driven by stdin on both sides."""
import subprocess
import sys
import time
from pathlib import Path

from course_harness import tcp_connect
from course_harness.peers import reset

TWIN = Path(__file__).parent / "python"


def chat_server(server, answers: str = ""):
    """chat_server with `answers` already waiting on its stdin (one per line)."""
    srv = server("chat_server", stdin=True)
    if answers:
        srv.proc.stdin.write(answers.encode())
        srv.proc.stdin.flush()
    return srv


def test_turns_then_client_quits(server, run):
    srv = chat_server(server, "hi, client\nfine, thanks\n")
    result = run("chat_client", "--port", srv.port, "--timeout", 5,
                 input="hello server\nhow are you?\nq\n").ok()
    assert result.lines == ["hi, client", "fine, thanks"], result.explain()
    assert "you ended the chat" in result.stderr, result.explain()
    assert srv.lines_until(3) == ["hello server", "how are you?", "q"], srv.explain()
    srv.wait_stderr(r"127\.0\.0\.1:\d+ ended the chat")
    srv.assert_alive("the client ended the chat")


def test_server_quits_and_waits_for_the_next_client(server, run):
    srv = chat_server(server, "q\nwelcome back\n")
    first = run("chat_client", "--port", srv.port, "--timeout", 5,
                input="hello\nnever sent\n").ok()
    assert first.lines == ["q"], first.explain()
    assert "the server ended the chat" in first.stderr, first.explain()
    srv.wait_stderr(r"you ended the chat with 127\.0\.0\.1:\d+")
    second = run("chat_client", "--port", srv.port, "--timeout", 5, input="again\nq\n").ok()
    assert second.lines == ["welcome back"], second.explain()
    assert srv.lines_until(3) == ["hello", "again", "q"], srv.explain()


def test_server_survives_a_reset_client(server, run):
    srv = chat_server(server)
    rude = tcp_connect(srv.port)
    rude.sendall(b"I will vanish")
    assert srv.next_line() == "I will vanish"
    reset(rude)  # RST while the server waits... for its keyboard, then sends
    time.sleep(0.1)
    srv.proc.stdin.write(b"are you there?\n")
    srv.proc.stdin.flush()
    srv.wait_stderr(r"127\.0\.0\.1:\d+: .*(reset|Broken pipe)", timeout=5)
    srv.assert_alive("a client reset its connection")
    polite = tcp_connect(srv.port)
    polite.sendall(b"hello")
    assert srv.next_line() == "hello"
    srv.proc.stdin.write(b"answer for the second client\n")
    srv.proc.stdin.flush()
    assert polite.recv(100) == b"answer for the second client"
    polite.close()


def test_client_reports_a_vanished_server(run, programs):
    import socket
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    client = subprocess.Popen([str(programs.path("chat_client")), "--port", str(port),
                               "--timeout", "5"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    conn, _ = listener.accept()
    client.stdin.write(b"anyone?\n")
    client.stdin.flush()
    assert conn.recv(100) == b"anyone?"
    reset(conn)  # the server process "crashes": RST
    listener.close()
    out, err = client.communicate(timeout=5)
    assert client.returncode == 0, (out, err)
    assert b"the server vanished" in err, err


def test_client_reports_a_server_that_closed(server, run):
    srv = chat_server(server)  # no answers: at end of input the server closes and exits
    srv.proc.stdin.close()
    result = run("chat_client", "--port", srv.port, "--timeout", 5, input="hello\n").ok()
    assert "the server closed the connection" in result.stderr, result.explain()
    srv.expect_exit(0)


def test_client_timeout_without_an_answer_exits_1(run):
    import socket
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        result = run("chat_client", "--port", port, "--timeout", 0.3,
                     input="hello?\n").expect_status(1)
    assert f"error: no answer from 127.0.0.1:{port} within 0.3 s" in result.stderr, \
        result.explain()


def test_client_empty_line_ends_without_sending(server, run):
    srv = chat_server(server)
    result = run("chat_client", "--port", srv.port, input="\nnot sent\n").ok()
    assert "end of input" in result.stderr, result.explain()
    srv.wait_stderr(r"left without saying q")


def test_unicode_and_invalid_utf8(server, run):
    srv = chat_server(server, "收到\nq\n")
    with tcp_connect(srv.port) as client:
        client.sendall("你好".encode())
        assert srv.next_line() == "你好"
        assert client.recv(100) == "收到".encode()
        client.sendall(b"bad \xff")
        assert srv.next_line() == "bad \\xff"
        assert client.recv(100) == b"q"


def test_python_twins(server, programs):
    srv = chat_server(server, "from C++\n")
    done = subprocess.run([sys.executable, str(TWIN / "chat_client.py"), "--port",
                           str(srv.port)], input="from Python\nq\n", capture_output=True,
                          text=True, timeout=10)
    assert done.stdout == "from C++\n", done
    twin = subprocess.Popen([sys.executable, str(TWIN / "chat_server.py"), "--port", "0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(twin.stdout.readline().rsplit(":", 1)[1])
        twin.stdin.write("from Python\n")
        twin.stdin.flush()
        done = subprocess.run([str(programs.path("chat_client")), "--port", str(port),
                               "--timeout", "5"], input="from C++\nq\n", capture_output=True,
                              text=True, timeout=10)
        assert done.returncode == 0 and done.stdout == "from Python\n", done
        assert twin.stdout.readline() == "from C++\n"
    finally:
        twin.kill()
        twin.wait()


def test_server_stops_while_waiting_for_the_keyboard(server):
    srv = chat_server(server)
    with tcp_connect(srv.port) as client:
        client.sendall(b"hello")
        assert srv.next_line() == "hello"
        srv.stop()  # SIGTERM while it waits for its stdin: exit 0 within 1 s
