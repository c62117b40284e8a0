"""The course in two languages: English (docs/) and Chinese (docs-zh/, mkdocs.zh.yml).

A Chinese page lines up with its English page section by section: the same
headings at the same levels with the same anchors (a Chinese heading keeps the
English id: `## 练习 {#exercises}`), and the same snippet includes, so code and
captured output stay one source for both. Every exercise in course.toml has its
title, description and hints in both languages."""

from __future__ import annotations

import difflib
import re
import sys
import tomllib
from pathlib import Path

import pytest
from markdown.extensions.toc import slugify

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

from course_tools import meta  # noqa: E402

DOCS, DOCS_ZH = ROOT / "docs", ROOT / "docs-zh"
FENCE = re.compile(r"^\s*(```|~~~)")
EXPLICIT_ID = re.compile(r"\{\s*#([\w-]+)[^}]*\}\s*$")


def pages(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.md")
                  if "generated" not in p.relative_to(folder).parts)


def headings(text: str, need_ids: bool) -> list[tuple[int, str]]:
    """(level, id) of every heading below the title, outside code blocks."""
    found, inside = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
            continue
        match = None if inside else re.match(r"^(#{2,6})\s+(.*?)\s*$", line)
        if not match:
            continue
        explicit = EXPLICIT_ID.search(match.group(2))
        if explicit:
            found.append((len(match.group(1)), explicit.group(1)))
        elif need_ids:
            found.append((len(match.group(1)), f"(no {{#id}}: {match.group(2)})"))
        else:
            plain = re.sub(r"`([^`]*)`", r"\1", match.group(2))
            found.append((len(match.group(1)), slugify(plain, "-")))
    return found


def snippet_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if "--8<--" in line]


CHINESE = pages(DOCS_ZH)


@pytest.mark.parametrize("page", CHINESE, ids=[str(p.relative_to(DOCS_ZH)) for p in CHINESE])
def test_a_chinese_page_lines_up_with_its_english_page(page):
    english = DOCS / page.relative_to(DOCS_ZH)
    assert english.is_file(), f"{page.relative_to(ROOT)} has no English page {english}"
    en, zh = english.read_text(encoding="utf-8"), page.read_text(encoding="utf-8")
    want, got = headings(en, need_ids=False), headings(zh, need_ids=True)
    assert got == want, "the headings do not line up (level, id):\n" + "\n".join(
        difflib.unified_diff([str(h) for h in want], [str(h) for h in got], "english",
                             "chinese", lineterm=""))
    assert snippet_lines(zh) == snippet_lines(en), \
        "the Chinese page must include the same snippets, in the same order"


def test_every_exercise_has_its_text_in_both_languages():
    with open(ROOT / "course.toml", "rb") as f:
        course = tomllib.load(f)
    missing = []
    for lesson in course["lesson"]:
        for ex in lesson.get("exercise", []):
            for key in ("title_zh", "description_zh", "hints_zh"):
                if not ex.get(key):
                    missing.append(f"{ex['id']}: {key}")
            if len(ex.get("hints_zh", [])) != len(ex.get("hints", [])):
                missing.append(f"{ex['id']}: {len(ex.get('hints_zh', []))} hints_zh for "
                               f"{len(ex.get('hints', []))} hints")
            if ex.get("title_zh") and not re.search(r"[\u4e00-\u9fff]", ex["title_zh"]):
                missing.append(f"{ex['id']}: title_zh is not Chinese")
    assert not missing, "course.toml: " + "; ".join(missing)


def test_the_chinese_exercise_section_comes_from_course_toml():
    sys.path.insert(0, str(DOCS / "hooks"))
    import exercises as hook
    lesson = next(lesson for lesson in meta.lessons(ROOT) if meta.exercises(lesson))
    text = hook.render(lesson, meta.plan(ROOT), "zh")
    for ex in meta.exercises(lesson):
        assert f"### 练习 {ex['id']}：{ex['title_zh']}" in text
        assert ex["hints_zh"][0] in text
    assert "提示" in text and "分" in text
