"""mkdocs hook: the whole course on one page (print/), to print or to read offline.

Nobody writes that page: this hook adds print.md to the site and to the end of the nav
(in the site's language: both mkdocs.yml and mkdocs.zh.yml run it), and fills it, once
every page is rendered, with every other page of the nav in nav order, each as a part of
its own (<section class="course-print-part">). So it can never miss or repeat a page.

Each part's ids are made unique and its links made to work from print/:
`id="the-idea"` on lesson 01 becomes `id="lessons-01-udp-sendto-recvfrom--the-idea"`, a
link to another page of the course becomes a link to that page's part here
(`../02-udp-echo/#the-idea` -> `#lessons-02-udp-echo--the-idea`), and images and other
files are addressed from print/. The page's table of contents lists the parts.

The theme's stylesheet (theme/assets/stylesheets/course.css) starts every part on a new
sheet when printing, and prints every tab of a code block under its label. The search
index keeps only the page's own short introduction: the course is not found twice."""

from __future__ import annotations

import posixpath
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from mkdocs.structure.files import File
from mkdocs.structure.toc import AnchorLink, TableOfContents

SOURCE = "print.md"
MARKER = "<!-- course-print: the parts -->"
WORDS = {
    "en": {"nav": "The whole course (print)", "title": "The whole course",
           "intro": "Every page of this site, in the order of its navigation, on one page: "
                    "print it (your browser's Print command; each part starts on a new "
                    "sheet, and every tab of a code block is printed) or read it offline."},
    "zh": {"nav": "全部课程（打印版）", "title": "全部课程",
           "intro": "本站的全部页面，按导航的顺序放在这一页上：可以打印（用浏览器的“打印”；"
                    "每一部分从新的一页开始，代码块的每个标签页都会打印出来），也可以离线阅读。"},
}

TAG = re.compile(r"<[A-Za-z][^<>]*>")
ATTRIBUTE = re.compile(r'(?P<space>\s)(?P<name>[A-Za-z_:][-\w:.]*)="(?P<value>[^"]*)"')
URL_REF = re.compile(r"url\(#(?P<id>[^)\s]+)\)")

_state: dict = {}


def words(config) -> dict:
    try:
        language = config["theme"]["language"]
    except (TypeError, KeyError):
        language = "en"
    return WORDS.get(language, WORDS["en"])


def _mentions(nav, source: str) -> bool:
    for item in nav or []:
        values = item.values() if isinstance(item, dict) else [item]
        for value in values:
            if isinstance(value, list) and _mentions(value, source):
                return True
            if value == source:
                return True
    return False


def on_config(config):
    if config["nav"] is not None and not _mentions(config["nav"], SOURCE):
        config["nav"].append({words(config)["nav"]: SOURCE})
    return config


def on_files(files, config):
    if files.get_file_from_path(SOURCE) is None:
        folder = Path(tempfile.mkdtemp(prefix="course-print-"))
        _state["folder"] = folder  # removed again by on_post_build
        text = words(config)
        (folder / SOURCE).write_text(f"# {text['title']}\n\n{text['intro']}\n\n{MARKER}\n",
                                     encoding="utf-8")
        files.append(File(SOURCE, str(folder), config["site_dir"],
                          config["use_directory_urls"]))
    return files


def on_nav(nav, config, files):
    _state["nav"] = nav
    return nav


# ------------------------------------------------------------------ one part

def slug(page) -> str:
    return re.sub(r"[^\w-]+", "-", page.file.src_uri.removesuffix(".md")).strip("-") or "home"


def page_key(url: str) -> str:
    """A page's address in the site, as the nav's pages have it ("", "lessons/01-x/")."""
    url = url.removesuffix("index.html")
    return "" if url in (".", "./") else url


def rewrite(content: str, page, here: str, parts: dict[str, str]) -> str:
    """`content` (rendered for `page`) with its ids prefixed and its links made to work
    from `here`, the print page's address; `parts` maps each page's address to its part."""
    prefix = slug(page) + "--"
    ids = set(re.findall(r'\sid="([^"]+)"', content))

    def local(fragment: str) -> str:
        return "#" + (prefix + fragment if fragment in ids else fragment)

    def link(value: str) -> str:
        address = urlsplit(value)
        if not value or value.startswith("//") or address.scheme:
            return value  # another site
        if not address.path:
            return local(address.fragment) if address.fragment else value
        target = posixpath.normpath(posixpath.join(page.url, address.path))
        target = "" if target == "." else target
        folder = address.path.endswith("/") or target == ""
        key = page_key(target + "/" if folder and target else target)
        if key in parts:  # a page of the course: its part on this page
            owner = parts[key]
            return f"#{owner}--{address.fragment}" if address.fragment else f"#{owner}"
        up = "../" * (here.rstrip("/").count("/") + 1) if here else ""
        return (up + target + ("/" if folder and target else "")
                + (f"?{address.query}" if address.query else "")
                + (f"#{address.fragment}" if address.fragment else ""))

    def attribute(match: re.Match) -> str:
        name, value = match.group("name"), match.group("value")
        lowered = name.lower()
        if lowered in ("id", "name", "for"):
            value = prefix + value
        elif lowered in ("aria-labelledby", "aria-describedby", "aria-controls"):
            value = " ".join(prefix + v if v in ids else v for v in value.split())
        elif lowered in ("href", "xlink:href", "src", "data"):
            value = link(value)
        value = URL_REF.sub(lambda m: f"url(#{prefix + m.group('id')})"
                            if m.group("id") in ids else m.group(0), value)
        return f'{match.group("space")}{name}="{value}"'

    def tag(match: re.Match) -> str:
        text = match.group(0)
        if text.lower().startswith(("<meta", "<link")):
            return text
        return ATTRIBUTE.sub(attribute, text)

    rewritten = TAG.sub(tag, content)
    # url(#id) inside an inline SVG's <style> element
    return URL_REF.sub(lambda m: f"url(#{prefix + m.group('id')})" if m.group("id") in ids
                       else m.group(0), rewritten)


def printed_pages(nav, me) -> list:
    return [page for page in nav.pages if page is not me and page.file.src_uri != SOURCE]


def on_page_context(context, page, config, nav):
    if page.file.src_uri != SOURCE:
        return context
    items = []
    for item in nav.items:
        if getattr(item, "is_page", False):
            if item is not page:
                items.append(AnchorLink(item.title, slug(item), 1))
        elif getattr(item, "is_section", False):
            children = [c for c in _flatten(item) if c is not page]
            if children:
                section = AnchorLink(item.title, slug(children[0]), 1)
                section.children = [AnchorLink(c.title, slug(c), 2) for c in children]
                items.append(section)
    # The theme shows the children of the page's own title (its h1) as its contents.
    title = next(iter(page.toc), None)
    if title is None:
        page.toc = TableOfContents(items)
    else:
        title.children = items
        page.toc = TableOfContents([title])
    return context


def _flatten(section) -> list:
    found = []
    for child in section.children:
        if getattr(child, "is_page", False):
            found.append(child)
        elif getattr(child, "is_section", False):
            found += _flatten(child)
    return found


def on_post_page(output, page, config):
    if page.file.src_uri != SOURCE or MARKER not in output:
        return output
    nav = _state["nav"]
    pages = printed_pages(nav, page)
    parts = {page_key(p.url): slug(p) for p in pages}
    body = []
    for part in pages:
        content = part.content or ""
        if not re.match(r"\s*<h1[\s>]", content):
            content = f"<h1>{part.title}</h1>\n{content}"
        body.append(f'<section class="course-print-part" id="{slug(part)}">\n'
                    f"{rewrite(content, part, page.url, parts)}\n</section>")
    return output.replace(MARKER, "\n".join(body), 1)


def on_post_build(config):
    folder = _state.pop("folder", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
