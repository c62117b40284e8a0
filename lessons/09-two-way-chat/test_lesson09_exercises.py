"""Lesson 09 exercise: stamped_chat_client (09.1). Points and hints: course.toml."""
import re
import socket
import threading
import time

import pytest


class Peer:
    """A Python chat server that answers each message with the next of `answers`."""

    def __init__(self, answers: list[bytes]):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.heard: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, args=(answers,), daemon=True)
        self.thread.start()

    def _serve(self, answers):
        self.sock.settimeout(10)
        client, _ = self.sock.accept()
        with client:
            client.settimeout(10)
            for answer in answers:
                message = client.recv(4096)
                if not message:
                    return
                self.heard.append(message)
                client.sendall(answer)

    def close(self):
        self.thread.join(10)
        self.sock.close()


def clock_now() -> str:
    return time.strftime("%H:%M:%S", time.localtime())


def test_stamped_chat_client_stamps_each_answer(run):
    peer = Peer([b"hi there", "你好".encode()])
    before = clock_now()
    result = run("stamped_chat_client", "--port", peer.port, input="hello\nhow are you\n")
    after = clock_now()
    peer.close()
    stamps = [re.fullmatch(r"\[(\d\d:\d\d:\d\d)\] (.*)", line) for line in result.lines]
    ok = len(stamps) == 2 and all(stamps) and [m.group(2) for m in stamps] == ["hi there", "你好"]
    assert ok and all(before <= m.group(1) <= after for m in stamps), (
        f"the server answered b'hi there' and '你好' between {before} and {after}\n"
        f"expected two lines '[HH:MM:SS] hi there' and '[HH:MM:SS] 你好' with those times\n"
        f"{result.explain()}")


def test_stamped_chat_client_still_chats(run):
    peer = Peer([b"fine", b"q"])
    result = run("stamped_chat_client", "--port", peer.port, input="hello\nand you?\nnever sent\n")
    peer.close()
    assert peer.heard == [b"hello", b"and you?"] and result.returncode == 0, (
        f"the server answered b'fine', then b'q' (end of chat)\nexpected it to hear "
        f"[b'hello', b'and you?'] and the client to exit 0\nit heard: {peer.heard}\n"
        f"{result.explain()}")


@pytest.mark.hidden
def test_stamped_chat_client_stamps_invalid_utf8_escaped(run):
    peer = Peer([b"\xff ok"])
    result = run("stamped_chat_client", "--port", peer.port, input="x\n")
    peer.close()
    assert len(result.lines) == 1 and re.fullmatch(r"\[\d\d:\d\d:\d\d\] \\xff ok",
                                                   result.lines[0]), result.explain()
