"""mkdocs hook: a lesson page's Exercises section, generated from course.toml.

On docs/lessons/<folder>.md the marker `<!-- exercises -->` becomes the list of
that lesson's exercises (title, points, file to edit, description, hints in a
collapsed box), so the page can never disagree with ./course hint or the grader.
A page without the marker but with a "## Exercises" heading gets the list in
place of that section's text once the lesson has exercises in course.toml."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

from course_tools import meta  # noqa: E402

MARKER = "<!-- exercises -->"
SECTION = re.compile(r"^## (Exercises|练习)[^\n]*\n(?P<body>.*?)(?=^## |\Z)", re.M | re.S)
PAGE = re.compile(r"^lessons/(?P<folder>\d\d-[^/]+)\.md$")


# The section's own words in each language; the exercises' text comes from
# course.toml (title, description, hints, and their *_zh twins).
WORDS = {
    "en": {
        "none": "No exercises for this lesson yet. Change the programs and watch what happens: "
                "`./course check {n}` tells you whether they still keep their contract.\n",
        "intro": "Each exercise is code you write in this lesson's folder; the place is marked "
                 "`TODO(exercise NN.M)`. `./course check {n}` runs the public tests, "
                 "`./course watch` re-runs them on every save, `./course hint NN.M` helps.\n",
        "heading": "### Exercise {id}: {title}\n",
        "facts": "*{points:g} points · edit {files} · {tests}*\n",
        "tests": lambda public, hidden: f"{public} public test{'s' * (public != 1)}" + (
            f" and {hidden} hidden" if hidden else ""),
        "and": ", ", "hints": "Hints", "suffix": "",
    },
    "zh": {
        "none": "本课暂时没有练习。改一改程序，看看会发生什么：`./course check {n}` "
                "会告诉你它们是否仍然遵守约定。\n",
        "intro": "每个练习都是你在本课文件夹里要写的代码，位置用 `TODO(exercise NN.M)` 标出。"
                 "`./course check {n}` 运行公开测试，`./course watch` 在你每次保存时重新运行，"
                 "`./course hint NN.M` 给出提示。\n",
        "heading": "### 练习 {id}：{title}\n",
        "facts": "*{points:g} 分 · 修改 {files} · {tests}*\n",
        "tests": lambda public, hidden: f"{public} 个公开测试" + (
            f"，{hidden} 个隐藏测试" if hidden else ""),
        "and": "、", "hints": "提示", "suffix": "_zh",
    },
}


def render(lesson: dict, the_plan: list, language: str = "en") -> str:
    words = WORDS.get(language, WORDS["en"])

    def text(ex: dict, key: str, default=""):  # the exercise's own words, in this language
        return ex.get(key + words["suffix"]) or ex.get(key, default)

    exercises = meta.exercises(lesson)
    if not exercises:
        return words["none"].format(n=lesson["number"])
    out = [words["intro"].format(n=lesson["number"])]
    for ex in exercises:
        mine = [t for t in the_plan if t.exercise == ex["id"]]
        public = sum(not t.hidden for t in mine)
        files = words["and"].join(f"`lessons/{lesson['folder']}/{f}`"
                                  for f in ex.get("files", []))
        out.append(words["heading"].format(id=ex["id"], title=text(ex, "title")))
        out.append(words["facts"].format(points=sum(t.points for t in mine), files=files,
                                         tests=words["tests"](public, len(mine) - public)))
        description = textwrap.dedent(text(ex, "description")).strip()
        if description:
            out.append(description + "\n")
        hints = text(ex, "hints", [])
        if hints:
            out.append(f'??? tip "{words["hints"]}"\n')
            out += [f"    {n}. {hint}" for n, hint in enumerate(hints, 1)]
            out.append("")
    return "\n".join(out) + "\n"


def site_language(config) -> str:
    """"zh" for the Chinese site (mkdocs.zh.yml), else "en"."""
    try:
        return config["theme"]["language"]
    except (TypeError, KeyError):
        return "en"


def on_page_markdown(markdown: str, page, config, files) -> str:
    match = PAGE.match(page.file.src_uri)
    if not match:
        return markdown
    lesson = next((lesson for lesson in meta.lessons(ROOT)
                   if lesson["folder"] == match.group("folder")), None)
    if lesson is None:
        return markdown
    language = site_language(config)
    if MARKER in markdown:
        return markdown.replace(MARKER, render(lesson, meta.plan(ROOT), language))
    if meta.exercises(lesson):
        section = SECTION.search(markdown)
        if section:
            start, end = section.span("body")
            return markdown[:start] + "\n" + render(lesson, meta.plan(ROOT), language) + \
                "\n" + markdown[end:]
    return markdown
