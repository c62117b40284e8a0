"""mkdocs hook: `[lesson 04](lesson:04)` links to lesson 04's page wherever it is.

The concepts pages, the glossary and the API reference point at lessons by
number. This hook turns `(lesson:NN)` or `(lesson:NN#anchor)` into the relative
link to docs/lessons/NN-*.md. While a lesson has no page yet, the link becomes
plain text, so the site still builds strictly and never shows a broken link."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[(?P<text>[^\]]+)\]\(lesson:(?P<number>\d\d)(?P<anchor>#[\w-]+)?\)")


def lesson_pages() -> dict[str, str]:
    return {page.name[:2]: f"lessons/{page.name}" for page in sorted((DOCS / "lessons").glob(
        "[0-9][0-9]-*.md"))}


def on_page_markdown(markdown: str, page, config, files) -> str:
    pages = lesson_pages()
    here = posixpath.dirname(page.file.src_path.replace("\\", "/"))

    def replace(match: re.Match) -> str:
        target = pages.get(match.group("number"))
        if target is None:
            return match.group("text")
        return (f"[{match.group('text')}]({posixpath.relpath(target, here or '.')}"
                f"{match.group('anchor') or ''})")

    return LINK.sub(replace, markdown)
