"""Lesson 08: a keyword chat bot."""
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from course_harness import tcp_connect
from course_harness.peers import recv_all, reset

TWIN = Path(__file__).parent / "python"
TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
FALLBACK = "Sorry, I don't understand. 我不明白您的意思."


def ask(sock: socket.socket, message: bytes) -> str:
    """Sends one message and returns the bot's one reply (one recv, as a client would)."""
    sock.sendall(message)
    data = sock.recv(4096)
    return data.decode("utf-8")


def kind(reply: str) -> str:
    if reply.startswith("Goodbye"):
        return "bye"
    if TIME.search(reply):
        return "time"
    if "bot" in reply:
        return "name"
    if reply.startswith("Hello"):
        return "hello"
    if reply == FALLBACK:
        return "fallback"
    return "?"


CASES = [
    (b"hello", "hello"), (b"HELLO there", "hello"), ("你好".encode(), "hello"),
    ("你好啊".encode(), "hello"), (b"what is your name?", "name"), ("你叫什么名字".encode(), "name"),
    (b"what TIME is it?", "time"), ("现在几点?时间".encode(), "time"), (b"Time", "time"),
    (b"hello, what time is it?", "time"),      # time comes before hello in the table
    (b"name and time", "time"), (b"bye hello", "bye"), (b"hello bye", "bye"),
    (b"nameless", "fallback"), (b"timeout", "fallback"), (b"othello", "fallback"),
    (b"good morning", "fallback"), (b"goodbye", "fallback"),
    (b"hello_world", "hello"),  # only ASCII letters and digits glue words together
    (b"\xff\xfe\x00 garbage", "fallback"), (b"h\xc3llo", "fallback"),
]


@pytest.mark.parametrize("message,expected", CASES, ids=[repr(m) for m, _ in CASES])
def test_keyword_table(server, message, expected):
    bot = server("chatbot_server")
    with tcp_connect(bot.port) as client:
        got = ask(client, message)
    assert kind(got) == expected, (f"sent {message!r}, got reply {got!r} ({kind(got)}), "
                                   f"expected the {expected} reply\n{bot.explain()}")


def test_a_conversation_then_bye_closes(server):
    bot = server("chatbot_server")
    with tcp_connect(bot.port) as client:
        assert kind(ask(client, "你好".encode())) == "hello"
        assert "bot" in ask(client, b"your name?")
        assert TIME.search(ask(client, b"time please")), "time reply must hold YYYY-MM-DD HH:MM:SS"
        client.sendall("再见".encode())
        rest = recv_all(client)  # the farewell, then the server closes (a zero-byte read)
    assert rest.decode().startswith("Goodbye"), rest
    bot.wait_stderr(r"said goodbye")


def test_goodbye_is_not_bye(server):
    bot = server("chatbot_server")
    with tcp_connect(bot.port) as client:
        assert ask(client, b"goodbye") == FALLBACK
        assert kind(ask(client, b"ok, BYE!")) == "bye"


def test_invalid_utf8_and_a_64k_blob_get_the_fallback(server):
    bot = server("chatbot_server")
    blob = bytes(range(256)) * 256  # 64 KiB, no keyword as a whole word
    assert len(blob) == 65536
    with tcp_connect(bot.port) as client:
        assert ask(client, b"\xc3\x28 \xff") == FALLBACK
        client.sendall(blob)
        # The blob arrives in several recv()s: one fallback reply for each.
        client.settimeout(0.5)
        replies = b""
        try:
            while True:
                chunk = client.recv(65536)
                if not chunk:
                    break
                replies += chunk
        except socket.timeout:
            pass
        text = replies.decode("utf-8")
        count = text.count(FALLBACK)
        assert count >= 1 and text == FALLBACK * count, f"replies to the 64 KiB blob: {text[:300]!r}"
        client.settimeout(5)
        assert kind(ask(client, b"hello")) == "hello", "the bot must still answer afterwards"
    bot.assert_alive("a 64 KiB blob")


def test_sequential_clients_are_all_served(server):
    bot = server("chatbot_server")
    for i in range(3):
        with tcp_connect(bot.port) as client:
            assert kind(ask(client, b"hello")) == "hello", f"client {i + 1}"
    with tcp_connect(bot.port) as rude:
        rude.sendall(b"hello")
        reset(rude)  # vanish with a RST
    with tcp_connect(bot.port) as client:
        assert kind(ask(client, b"name")) == "name"
    bot.assert_alive("a client reset its connection")


def test_python_twin_agrees(server):
    twin = subprocess.Popen([sys.executable, str(TWIN / "chatbot_server.py"), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(twin.stdout.readline().rsplit(":", 1)[1])
        for message, expected in CASES:
            with tcp_connect(port) as client:
                assert kind(ask(client, message)) == expected, message
    finally:
        twin.kill()
        twin.wait()


def test_with_lesson_03_tcp_client(server, run):
    bot = server("chatbot_server")
    result = run("tcp_client", "--port", bot.port, "--timeout", 5,
                 input="hello\nwhat TIME is it?\n你的名字?\nbye\n").ok()
    kinds = [kind(line) for line in result.lines]
    assert kinds == ["hello", "time", "name", "bye"], result.explain()
    bot.wait_stderr(r"said goodbye")


def test_a_client_that_leaves_is_let_go(server):
    """recv() giving 0 is the end: the bot logs that the client left and answers
    nothing more, then serves the next client."""
    bot = server("chatbot_server")
    with tcp_connect(bot.port) as sock:
        ask(sock, b"hello")
        me = "%s:%d" % sock.getsockname()
    with tcp_connect(bot.port) as sock:  # served once the bot is done with the first
        ask(sock, b"hello")
    bot.stderr.wait_caught_up()
    log = bot.stderr.text()
    said = re.findall(rf"^{re.escape(me)} said: ", log, re.M)
    assert f"{me} left" in log and len(said) == 1, (
        f"a client sent b'hello', got its answer and closed; expected the bot to log "
        f"'{me} left' and answer nothing more (recv() gave 0: the end)\n{bot.explain()}")
