"""mkdocs hook: include a named section of a source file, so a page shows the
exact lines it talks about and can never drift from the code.

In a page:      --8<-- "lessons/01-udp-sendto-recvfrom/udp_sender.cpp#send"
In the source:  // --8<-- [start:send]   ...   // --8<-- [end:send]
(also "# --8<--" in Python). Whole files are included by pymdownx.snippets as usual.
A missing file, a missing section or an empty one fails the build."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INCLUDE = re.compile(r'^(?P<indent>[ \t]*)--8<-- "(?P<path>[^"#]+)#(?P<section>[\w-]+)"[ \t]*$',
                     re.M)
MARKER = re.compile(r"--8<-- \[(start|end):([\w-]+)\]")


def extract(path: str, section: str) -> list[str]:
    source = ROOT / path
    if not source.is_file():
        raise FileNotFoundError(f"snippet file {path} does not exist")
    lines, inside = [], False
    for line in source.read_text(encoding="utf-8").splitlines():
        marker = MARKER.search(line)
        if marker and marker.group(2) == section:
            inside = marker.group(1) == "start"
            continue
        if inside and not MARKER.search(line):
            lines.append(line)
    if not lines or not any(line.strip() for line in lines):
        raise ValueError(f"snippet section {path}#{section} is missing or empty")
    # Remove the common indentation so the snippet reads as a unit.
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return [line[indent:] for line in lines]


# A whole-file include of a source that has section markers: the markers are
# for the hook, not the reader, so such files are included here without them
# (pymdownx.snippets 9.x would show them). Files without markers are left to it.
WHOLE = re.compile(r'^(?P<indent>[ \t]*)--8<-- "(?P<path>[^"#]+)"[ \t]*$', re.M)


def on_page_markdown(markdown: str, page, config, files) -> str:
    def replace(match: re.Match) -> str:
        body = extract(match.group("path"), match.group("section"))
        return "\n".join(match.group("indent") + line for line in body)

    def replace_whole(match: re.Match) -> str:
        source = ROOT / match.group("path")
        if not source.is_file():
            return match.group(0)  # pymdownx.snippets reports the missing file
        lines = source.read_text(encoding="utf-8").splitlines()
        if not any(MARKER.search(line) for line in lines):
            return match.group(0)
        return "\n".join((match.group("indent") + line).rstrip()
                         for line in lines if not MARKER.search(line))

    return WHOLE.sub(replace_whole, INCLUDE.sub(replace, markdown))
