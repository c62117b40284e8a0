"""Lesson 08 exercises: weather_bot (08.1) and history_bot (08.2). Points and hints: course.toml."""
import socket

import pytest

from course_harness import tcp_connect

WEATHER = "I can't see the sky from here, but I hope it's sunny! 希望是晴天!"
THANKS = "You're welcome! 不客气!"
FIRST = "Tell me more. 请多说一些."


def ask(sock: socket.socket, message: str) -> str:
    """Sends one message and returns the bot's one reply (one recv, as the seed does)."""
    sock.sendall(message.encode())
    sock.settimeout(5)
    return sock.recv(4096).decode("utf-8", errors="backslashreplace")


def conversation(port: int, messages: list[str]) -> list[str]:
    with tcp_connect(port) as sock:
        return [ask(sock, m) for m in messages]


# ------------------------------------------------------------------ 08.1

def test_weather_bot_talks_about_the_weather(server):
    bot = server("weather_bot")
    replies = conversation(bot.port, ["How is the WEATHER today?", "今天天气怎么样"])
    assert replies == [WEATHER, WEATHER], (
        f"sent 'How is the WEATHER today?' and '今天天气怎么样'\n"
        f"expected both answered: {WEATHER!r}\ngot: {replies}\n{bot.explain()}")


def test_weather_bot_says_you_are_welcome(server):
    bot = server("weather_bot")
    replies = conversation(bot.port, ["thanks!", "谢谢你"])
    assert replies == [THANKS, THANKS], (
        f"sent 'thanks!' and '谢谢你'\nexpected both answered: {THANKS!r}\ngot: {replies}\n"
        f"{bot.explain()}")


@pytest.mark.hidden
def test_weather_bot_keeps_the_lesson_table_first(server):
    bot = server("weather_bot")
    replies = conversation(bot.port, ["hello, thanks", "what time is it? weather?", "blah"])
    assert replies[0] == "Hello! 你好!" and replies[1].startswith("The time is"), (
        f"the lesson's keywords must still win: got {replies}\n{bot.explain()}")
    assert "不明白" in replies[2], f"'blah' should still get the fallback, got {replies[2]!r}"


# ------------------------------------------------------------------ 08.2

def test_history_bot_repeats_an_earlier_message(server):
    bot = server("history_bot", "--seed", 1)
    replies = conversation(bot.port, ["apple", "banana", "cherry"])
    assert replies[0] == FIRST and replies[1] == "apple" and replies[2] in ("apple", "banana"), (
        f"sent 'apple', 'banana', 'cherry'\nexpected: {FIRST!r}, then 'apple' (the only "
        f"earlier message), then 'apple' or 'banana'\ngot: {replies}\n{bot.explain()}")


def test_history_bot_is_repeatable_with_a_seed(server):
    said = [f"message {i}" for i in range(12)]
    runs = [conversation(server("history_bot", "--seed", 7).port, said) for _ in range(2)]
    earlier_only = all(reply in said[:i] for i, reply in enumerate(runs[0]) if i > 0)
    assert runs[0] == runs[1] and earlier_only and len(set(runs[0][1:])) > 1, (
        f"two history_bot --seed 7 got the same 12 messages\nexpected the same answers both "
        f"times, each an earlier message, and not always the same one\n"
        f"got:\n{runs[0]}\n{runs[1]}")


@pytest.mark.hidden
def test_history_bot_forgets_beyond_its_history_and_between_clients(server):
    bot = server("history_bot", "--history", 2, "--seed", 3)
    replies = conversation(bot.port, ["a", "b", "c", "d", "e", "f"])
    assert all(replies[i] in "abcdef"[i - 2:i] for i in range(2, 6)), (
        f"--history 2: each answer must be one of the last 2 messages\ngot: {replies}")
    again = conversation(bot.port, ["x", "y"])
    assert again == [FIRST, "x"], f"a new client starts with an empty history, got {again}"
