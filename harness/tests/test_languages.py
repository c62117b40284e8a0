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


def test_every_english_page_has_a_chinese_page():
    missing = [str(p.relative_to(DOCS)) for p in pages(DOCS)
               if not (DOCS_ZH / p.relative_to(DOCS)).is_file()]
    assert not missing, f"no Chinese page (docs-zh/) for: {missing}"


def test_both_sites_list_the_same_pages():
    import yaml  # Debian: python3-yaml

    def nav_pages(config: str) -> list[str]:
        data = yaml.load((ROOT / config).read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
        found = []

        def walk(items):
            for item in items:
                for value in (item.values() if isinstance(item, dict) else [item]):
                    walk(value) if isinstance(value, list) else found.append(value)
        walk(data["nav"])
        return found

    assert nav_pages("mkdocs.zh.yml") == nav_pages("mkdocs.yml")


def test_every_exercise_has_its_text_in_both_languages():
    course = meta.load(ROOT)
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


# ------------------------------------------------------------------ the tool's own language

import os  # noqa: E402
import subprocess  # noqa: E402


def course(*args, **env) -> str:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("COURSE_LANG", "LC_ALL", "LC_MESSAGES", "LANG")}
    environment.update(env, NO_COLOR="1")
    done = subprocess.run(["sh", str(ROOT / "course"), *args], capture_output=True, text=True,
                          timeout=60, env=environment)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def first_exercise() -> dict:
    return meta.all_exercises(ROOT)[0][1]


def test_hint_speaks_chinese_with_lang_zh():
    ex = first_exercise()
    text = course("--lang", "zh", "hint", ex["id"])
    assert f"练习 {ex['id']}：{ex['title_zh']}" in text
    assert "提示 1：" in text and ex["hints_zh"][0][:12] in text
    assert ex["hints"][0] not in text  # not the English hint


def test_the_locale_or_course_lang_choose_the_language():
    ex = first_exercise()
    assert ex["title_zh"] in course("hint", ex["id"], LANG="zh_CN.UTF-8")
    assert ex["title_zh"] in course("hint", ex["id"], COURSE_LANG="zh", LANG="en_US.UTF-8")
    english = course("hint", ex["id"], LANG="en_US.UTF-8")
    assert f"exercise {ex['id']}: {ex['title']}" in english and ex["title_zh"] not in english


def test_list_speaks_chinese_and_keeps_its_columns():
    text = course("--lang", "zh", "list")
    lesson = meta.lessons(ROOT)[0]
    assert lesson["title_zh"] in text and "程序：" in text
    from course_tools.i18n import width
    rows = [line for line in text.splitlines() if re.match(r"^\d\d  ", line)]
    states = [re.search(r"(通过|未通过|未运行)", line) for line in rows]
    assert rows and all(states), rows
    # every state starts in the same terminal column: the titles are padded by width
    assert len({width(line[:m.start()]) for line, m in zip(rows, states)}) == 1, rows



# ------------------------------------------------------------------ one word for each term

# The glossary's Chinese terms, and the other translations a page must not use
# instead (the glossary itself names some of them, on purpose, and is exempt).
TERMS = {
    "套接字": ["套接口", "插座", "插口"],
    "监听": ["侦听"],
    "绑定": ["捆绑"],
    "连接": ["建立链接", "断开链接", "链接断开", "链接建立"],
    "接受连接": ["接收连接"],
    "三次握手": ["三路握手", "三向握手", "三步握手"],
    "四次挥手": ["四路挥手", "四次握手", "四次分手"],
    "粘包": ["黏包", "沾包"],
    "数据报": ["数据报文", "资料包"],
    "缓冲区": ["缓存区", "缓冲器"],
    "字节序": ["字节顺序", "位元组顺序"],
    "非阻塞": ["无阻塞"],
    "阻塞": ["堵塞"],
    "超时": ["逾时"],
    "端口": ["埠"],
    "服务器": ["伺服器"],
    "客户端": ["用户端", "用戶端"],
    "文件描述符": ["文件描述字", "文件句柄"],
    "线程": ["执行绪", "執行緒"],
    "地址重用": ["端口复用"],
    "回显服务器": ["回射服务器"],
    "半连接池": ["半连接队列"],
    "全连接队列": ["已完成连接队列"],
}
# Characters that exist only in Traditional Chinese: the course is written in 简体中文.
TRADITIONAL = set("網絡連線監聽訊資數據體與這個們為會時後發應傳從開關過還進對說點種樣實現寫讀錯誤當處單雙無請長頭節碼問題號設備")
PROSE = [p for p in CHINESE if p.name != "glossary.md"]


def prose(text: str) -> str:
    """The page without its code blocks and inline code (those stay as they are)."""
    text = re.sub(r"^\s*(```|~~~).*?^\s*\1", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", text)


@pytest.mark.parametrize("page", PROSE, ids=[str(p.relative_to(DOCS_ZH)) for p in PROSE])
def test_a_chinese_page_uses_one_translation_of_each_glossary_term(page):
    text = prose(page.read_text(encoding="utf-8"))
    found = [f"{variant} (the glossary's word: {term})" for term, variants in TERMS.items()
             for variant in variants if variant in text]
    assert not found, f"{page.relative_to(ROOT)} uses other translations: {found}"
    traditional = sorted({c for c in text if c in TRADITIONAL})
    assert not traditional, f"{page.relative_to(ROOT)}: Traditional characters {traditional}"


def test_the_glossary_names_every_terms_canonical_translation():
    glossary = (DOCS_ZH / "glossary.md").read_text(encoding="utf-8")
    missing = [term for term in TERMS if term not in glossary]
    assert not missing, f"the Chinese glossary does not list {missing}"
