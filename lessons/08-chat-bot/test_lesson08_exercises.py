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

def check_answers(said: list[str], replies: list[str], history: int | None, what: str,
                  other_clients: tuple[str, ...] = ()) -> None:
    """Each reply must be FIRST (for the first message) or one of the client's
    earlier messages, among the last `history` of them; says which one is not.
    `other_clients`: what earlier clients said (never an answer to this one)."""
    for i, (message, reply) in enumerate(zip(said, replies)):
        if reply in other_clients:
            pytest.fail(f"{what}\nmessage {i + 1}, {message!r}, was answered {reply!r}, which "
                        f"an earlier client said: each client has a history of its own, and a "
                        f"new one starts empty\nall the replies: {replies}", pytrace=False)
        if i == 0:
            if reply != FIRST:
                pytest.fail(f"{what}\nthe first message, {message!r}, has nothing earlier to "
                            f"repeat: expected {FIRST!r}\ngot {reply!r}\nall the replies: "
                            f"{replies}", pytrace=False)
            continue
        allowed = said[max(0, i - history):i] if history else said[:i]
        if reply in allowed:
            continue
        if reply == message:
            why = ("that is the message being answered, not an earlier one: pick the answer "
                   "first, then remember the message")
        elif reply in said[:i]:
            why = (f"that one was said {i - said.index(reply)} messages before, but --history "
                   f"{history} keeps only the last {history}: forget the oldest (pop_front) "
                   f"once more than {history} are kept")
        elif reply == FIRST:
            why = "there were earlier messages to pick from"
        else:
            why = "that is no message of this client's"
        pytest.fail(
            f"{what}\nmessage {i + 1}, {message!r}, was answered {reply!r}\nexpected one of "
            f"{allowed} (the client's earlier messages"
            + (f", the last {history} of them" if history else "") + f"): {why}\n"
            f"all the replies: {replies}", pytrace=False)


def test_history_bot_repeats_an_earlier_message(server):
    bot = server("history_bot", "--seed", 1)
    said = ["apple", "banana", "cherry"]
    replies = conversation(bot.port, said)
    check_answers(said, replies, None, f"sent {said} to history_bot --seed 1")


def test_history_bot_is_repeatable_with_a_seed(server):
    said = [f"message {i}" for i in range(12)]
    runs = [conversation(server("history_bot", "--seed", 7).port, said) for _ in range(2)]
    what = f"two history_bot --seed 7 each got the same 12 messages, {said[0]!r} to {said[-1]!r}"
    check_answers(said, runs[0], None, what + " (the first bot)")
    if runs[0] != runs[1]:
        first = next(i for i, (a, b) in enumerate(zip(*runs)) if a != b)
        pytest.fail(f"{what}\nexpected the same answers from both (the same --seed makes the "
                    f"same picks)\ngot different answers to message {first + 1}: "
                    f"{runs[0][first]!r} and {runs[1][first]!r}\nfirst bot:  {runs[0]}\n"
                    f"second bot: {runs[1]}", pytrace=False)
    if len(set(runs[0][1:])) == 1:
        pytest.fail(f"{what}\nexpected the picks to vary (random, among all the earlier "
                    f"messages)\ngot {runs[0][1]!r} every time: {runs[0]}", pytrace=False)


def test_history_bot_keeps_only_its_history_per_client(server):
    """At most --history messages are remembered per client, the oldest forgotten;
    a new client starts with an empty history."""
    bot = server("history_bot", "--history", 2, "--seed", 5)
    said = [f"m{i}" for i in range(1, 31)]
    replies = conversation(bot.port, said)
    what = "sent 30 messages, 'm1' to 'm30', to history_bot --history 2 --seed 5"
    check_answers(said, replies, 2, what)
    if all(reply == said[i - 1] for i, reply in enumerate(replies) if i > 0):
        pytest.fail(f"{what}\nexpected random picks between the last 2 messages\ngot always "
                    f"the one just before: {replies}\nare 2 messages kept, or only 1?",
                    pytrace=False)
    again = ["new", "client"]
    replies = conversation(bot.port, again)
    check_answers(again, replies, 2, f"then a second client sent {again}", tuple(said))


@pytest.mark.hidden
def test_history_bot_forgets_beyond_a_history_of_one(server):
    """At most --history messages are remembered per client, the oldest forgotten;
    a new client starts with an empty history (--history 1, three clients)."""
    bot = server("history_bot", "--history", 1, "--seed", 11)
    earlier: tuple[str, ...] = ()
    for client in ("a", "b", "c"):
        said = [f"{client}{i}" for i in range(6)]
        replies = conversation(bot.port, said)
        check_answers(said, replies, 1, f"client {client} sent {said} to history_bot "
                                        f"--history 1 --seed 11", earlier)
        earlier += tuple(said)
