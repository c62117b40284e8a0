"""The language of the course tool's own messages: English or 简体中文.

Chosen by `./course --lang zh`, else $COURSE_LANG, else the locale ($LC_ALL,
$LC_MESSAGES, $LANG: zh_CN.UTF-8 gives Chinese). The English text is the key:
`t("exercise {id}: {title}", id=..., title=...)` returns the Chinese sentence
when Chinese is chosen, and the English one otherwise (also for any sentence
not translated yet). Programs and test messages stay in English: their exact
strings are part of the contract, and the Chinese pages explain them."""

from __future__ import annotations

import os
import unicodedata

LANGUAGES = ("en", "zh")


def language() -> str:
    """"zh" or "en"."""
    for variable in ("COURSE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def choose(chosen: str | None) -> None:
    """`./course --lang X`: for this run and the programs it starts."""
    if chosen:
        os.environ["COURSE_LANG"] = chosen


def width(text: str) -> int:
    """Columns on a terminal: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int) -> str:
    """`text` cut or padded to `columns` terminal columns (f"{x:<N}" counts characters)."""
    out, used = [], 0
    for c in text:
        w = width(c)
        if used + w > columns:
            break
        out.append(c)
        used += w
    return "".join(out) + " " * (columns - used)


def t(text: str, **values) -> str:
    out = MESSAGES.get(language(), {}).get(text, text)
    return out.format(**values) if values else out


def field(item: dict, key: str, default=""):
    """course.toml's `key` of a lesson or exercise, in the chosen language
    (`title_zh` beside `title`): the English one where no translation exists."""
    if language() == "zh" and item.get(f"{key}_zh"):
        return item[f"{key}_zh"]
    return item.get(key, default)


MESSAGES: dict[str, dict[str, str]] = {"zh": {
    # ./course hint
    "exercise {id}: {title}  ({points:g} points, {status})":
        "练习 {id}：{title}（{points:g} 分，{status}）",
    "  edit:   {files}   ({where})": "  修改：  {files}   （{where}）",
    "look for TODO(exercise {id})": "找到 TODO(exercise {id})",
    "solved in this copy: ./course start gives you the exercises to do":
        "这份副本里已经有答案：./course start 会把练习交给你来做",
    "  check:  ./course check {n}    or: ./course watch":
        "  检查：  ./course check {n}    或者：./course watch",
    "  tests:  {public} public here, {hidden} hidden that your instructor runs":
        "  测试：  这里有 {public} 个公开测试，另有 {hidden} 个隐藏测试由老师运行",
    "  (no hints for this one: read the failing test's message)":
        "  （这个练习没有提示：读一读失败测试的消息）",
    "  hint {n}: ": "  提示 {n}：",
    "  hints:  ./course hint {id}": "  提示：  ./course hint {id}",
    "lesson {n}: {title}": "第 {n} 课：{title}",
    "lesson {n} has no exercises yet: read its page (docs/lessons/{folder}.md) and experiment.":
        "第 {n} 课暂时没有练习：读一读它的页面（docs-zh/lessons/{folder}.md），动手试一试。",
    # states
    "pass": "通过", "fail": "未通过", "not run": "未运行",
    # ./course list
    "your workspace: the exercises are yours to do (./course hint NN)":
        "你的工作区：练习由你来完成（./course hint NN）",
    "a student release: the exercises are yours to do (./course hint NN)":
        "学生版：练习由你来完成（./course hint NN）",
    "the reference: every exercise is solved in this copy "
    "(./course start gives you the exercises to do)":
        "参考答案版：这份副本里每个练习都已经做好（./course start 会把练习交给你来做）",
    "      programs: {programs}": "      程序：{programs}",
    "pts": "分", "{passed}/{total} tests": "{passed}/{total} 个测试",
    # ./course test and check
    "lesson": "课", "passed": "通过", "failed": "失败", "skipped": "跳过", "result": "结果",
    "   (tests counted as ./course grade counts them)": "   （按 ./course grade 的方式计数）",
    "PASS": "通过", "FAIL": "失败", "TO DO": "待完成", "NO TESTS": "没有测试",
    "  exercise {ids} not solved yet": "  练习 {ids} 还没有完成",
    "course: {passed} passed, {failed} failed": "course：{passed} 个通过，{failed} 个失败",
    # ./course grade
    "lesson / exercise": "课 / 练习", "tests": "测试", "points": "分数",
    "score: {score:g} / {max_score:g}    {summary}": "得分：{score:g} / {max_score:g}    {summary}",
    "all public tests passed": "公开测试全部通过",
    "all tests, public and hidden, passed": "公开和隐藏测试全部通过",
    "{passed} passed, {failed} failed": "{passed} 个通过，{failed} 个失败",
    " (public tests)": "（公开测试）",
    " ({n} hidden tests not run, worth {points:g} points)":
        "（{n} 个隐藏测试没有运行，共 {points:g} 分）",
    "  (did not build)": "  （没有编译成功）",
    "  +{n} hidden not run": "  +{n} 个隐藏测试未运行",
}}
