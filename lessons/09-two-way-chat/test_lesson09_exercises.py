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


class Zone:
    """A time zone made for the test, in which the local time is `hh:mm:00` at the
    moment it is made: the program runs with TZ set to it (a POSIX TZ string, such
    as "CRS+13:45:07", whose offset goes down to seconds). So the test chooses what
    the clock shows: times that need a zero in front of each field, hours past 12,
    and an offset from UTC that a stamp in UTC (gmtime) would not match."""

    def __init__(self, hh: int, mm: int):
        now = int(time.time())
        offset = (now % 86400 - (hh * 3600 + mm * 60)) % 86400  # local = UTC - offset
        if offset > 43200:
            offset -= 86400
        sign, size = ("+", offset) if offset >= 0 else ("-", -offset)
        self.tz = f"CRS{sign}{size // 3600}:{size // 60 % 60:02d}:{size % 60:02d}"
        self.offset = offset
        self.start = now

    def clock(self, when: float) -> str:
        local = (int(when) - self.offset) % 86400
        return f"{local // 3600:02d}:{local // 60 % 60:02d}:{local % 60:02d}"


def check_stamps(run, hh: int, mm: int, answers: list[bytes], printed: list[str]) -> None:
    """Runs the client against a Peer giving `answers`, in a Zone where it is hh:mm:00,
    and checks it prints each of `printed` with the local time in front."""
    peer = Peer(answers)
    zone = Zone(hh, mm)
    # 8 s at most (the run fails after that): the seconds stay one digit, 00 to 08.
    said = "".join(f"message {i + 1}\n" for i in range(len(answers)))  # one per answer
    result = run("stamped_chat_client", "--port", peer.port, input=said, env={"TZ": zone.tz},
                 timeout=8)
    first, last = zone.clock(zone.start), zone.clock(time.time())
    peer.close()
    stamps = [re.fullmatch(r"\[(\d\d:\d\d:\d\d)\] (.*)", line) for line in result.lines]
    if len(stamps) == len(printed) and all(stamps) and \
            [m.group(2) for m in stamps] == printed and \
            all(first <= m.group(1) <= last for m in stamps):
        return
    utc = time.strftime("%H:%M:%S", time.gmtime(zone.start))
    pytest.fail(
        f"the server answered {answers}; the client ran with TZ={zone.tz}, a time zone made "
        f"for this test, in which the local time was {first} when it started and {last} when "
        f"it ended (UTC: {utc} at the start)\n"
        f"expected {len(printed)} line{'s' if len(printed) > 1 else ''}: "
        + ", ".join(f"'[HH:MM:SS] {text}'" for text in printed)
        + f", with the local time between {first} and {last}, two digits for each of hours "
        f"(00-23), minutes and seconds\ngot:\n{result.stdout or '(nothing)'}"
        f"{stamp_hint(result.lines, zone, first, last)}\n{result.explain()}", pytrace=False)


def stamp_hint(lines: list[str], zone: Zone, first: str, last: str) -> str:
    """What a wrong stamp most likely is, in words (or "")."""
    shown = [m.group(1) for m in (re.match(r"\[([\d:]+)\]", line) for line in lines) if m]
    if not shown:
        return ""
    parts = shown[0].split(":")
    if len(parts) == 3 and any(len(part) < 2 for part in parts):
        return ("\neach field needs two digits (07:08:00, not 7:8:0): std::strftime with "
                "\"[%H:%M:%S] \" writes them so")
    utc = [time.strftime("%H:%M:%S", time.gmtime(when)) for when in
           range(zone.start, int(time.time()) + 1)]
    if shown[0] in utc:
        return "\nthat is the time in UTC, not the local time: localtime_r, not gmtime_r"
    if first >= "13" and shown[0][:2] == f"{int(first[:2]) - 12:02d}":
        return "\nthat is a 12-hour clock: %H counts the hours 00-23 (%I counts 01-12)"
    return ""


def test_stamped_chat_client_stamps_each_answer(run):
    """Every answer gets the local time in front: [HH:MM:SS], two digits each."""
    check_stamps(run, 7, 8, [b"hi there", "你好".encode()], ["hi there", "你好"])
    check_stamps(run, 13, 5, [b"hi there", "你好".encode()], ["hi there", "你好"])


def test_stamped_chat_client_still_chats(run):
    peer = Peer([b"fine", b"q"])
    result = run("stamped_chat_client", "--port", peer.port, input="hello\nand you?\nnever sent\n")
    peer.close()
    assert peer.heard == [b"hello", b"and you?"] and result.returncode == 0, (
        f"the server answered b'fine', then b'q' (end of chat)\nexpected it to hear "
        f"[b'hello', b'and you?'] and the client to exit 0\nit heard: {peer.heard}\n"
        f"{result.explain()}")


@pytest.mark.hidden
def test_stamped_chat_client_stamps_other_times(run):
    """Every answer gets the local time in front: [HH:MM:SS], two digits each (other
    times, an answer that is not valid UTF-8)."""
    check_stamps(run, 0, 0, [b"\xff ok"], ["\\xff ok"])
    check_stamps(run, 22, 9, [b"late", b"later"], ["late", "later"])
