"""mkdocs hook: the language switch leads to this same page in the other language.

The theme's language menu links each `extra.alternate` entry to one fixed
address. Both configurations (mkdocs.yml, mkdocs.zh.yml) give each language its
site root instead (`root`: "" for this site, "zh/" or "../" for the other), and
this hook turns it into that language's copy of the page being rendered."""

from __future__ import annotations


def on_page_context(context, page, config, nav):
    for language in config["extra"].get("alternate", []):
        language["link"] = language.get("root", "") + page.url
    return context
