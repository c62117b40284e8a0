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


def render(lesson: dict, the_plan: list, language: str = "en") -> str:
    if language == "zh":
        return render_zh(lesson, the_plan)
    exercises = meta.exercises(lesson)
    if not exercises:
        return (f"No exercises for this lesson yet. Change the programs and watch what "
                f"happens: `./course check {lesson['number']}` tells you whether they still "
                f"keep their contract.\n")
    out = [f"Each exercise is code you write in this lesson's folder; the place is marked "
           f"`TODO(exercise NN.M)`. `./course check {lesson['number']}` runs the public tests, "
           f"`./course watch` re-runs them on every save, `./course hint NN.M` helps.\n"]
    for ex in exercises:
        mine = [t for t in the_plan if t.exercise == ex["id"]]
        public = sum(not t.hidden for t in mine)
        hidden = len(mine) - public
        files = ", ".join(f"`lessons/{lesson['folder']}/{f}`" for f in ex.get("files", []))
        tests = f"{public} public test{'s' * (public != 1)}" + \
            (f" and {hidden} hidden" if hidden else "")
        out.append(f"### Exercise {ex['id']}: {ex['title']}\n")
        out.append(f"*{sum(t.points for t in mine):g} points · edit {files} · {tests}*\n")
        description = textwrap.dedent(ex.get("description", "")).strip()
        if description:
            out.append(description + "\n")
        hints = ex.get("hints", [])
        if hints:
            out.append('??? tip "Hints"\n')
            out += [f"    {n}. {hint}" for n, hint in enumerate(hints, 1)]
            out.append("")
    return "\n".join(out) + "\n"


def render_zh(lesson: dict, the_plan: list) -> str:
    """The same list in Chinese, from course.toml's title_zh, description_zh, hints_zh."""
    exercises = meta.exercises(lesson)
    if not exercises:
        return (f"本课暂时没有练习。改一改程序，看看会发生什么："
                f"`./course check {lesson['number']}` 会告诉你它们是否仍然遵守约定。\n")
    out = [f"每个练习都是你在本课文件夹里要写的代码，位置用 `TODO(exercise NN.M)` 标出。"
           f"`./course check {lesson['number']}` 运行公开测试，`./course watch` 在你每次保存时"
           f"重新运行，`./course hint NN.M` 给出提示。\n"]
    for ex in exercises:
        mine = [t for t in the_plan if t.exercise == ex["id"]]
        public = sum(not t.hidden for t in mine)
        hidden = len(mine) - public
        files = "、".join(f"`lessons/{lesson['folder']}/{f}`" for f in ex.get("files", []))
        tests = f"{public} 个公开测试" + (f"，{hidden} 个隐藏测试" if hidden else "")
        out.append(f"### 练习 {ex['id']}：{ex.get('title_zh') or ex['title']}\n")
        out.append(f"*{sum(t.points for t in mine):g} 分 · 修改 {files} · {tests}*\n")
        description = textwrap.dedent(ex.get("description_zh") or ex.get("description", ""))
        if description.strip():
            out.append(description.strip() + "\n")
        hints = ex.get("hints_zh") or ex.get("hints", [])
        if hints:
            out.append('??? tip "提示"\n')
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
