"""The course site: it builds strictly from the real programs' output, every link,
anchor and snippet include resolves, every lesson page follows the template, every
command a page tells a student to type exists and parses, and a real browser
shows each lesson page with its code, its diagram and no console errors.

The site is built once per test session (once per run even under xdist: the
first worker builds it under a file lock, the others reuse it):
  1. every lesson demo in course.toml is run with `./course run NN` against the
     programs under test, and its output saved to docs/generated/run-NN.txt, as
     `./course docs` does, so "What you should see" is never invented;
  2. `python3 -m mkdocs build --strict` into a temporary folder.
Screenshots of the home page and of a lesson page are saved under
build/site-screenshots/ (CI keeps them as artifacts).

The checks that need the built site or the browser are marked `slow` and run in
CI's slow step; the rest (template, snippets, commands) run in ./course test.
By hand:  /usr/bin/python3 -m pytest -q -n 2 --dist loadfile harness/tests/test_site.py"""

from __future__ import annotations

import codecs
import concurrent.futures
import fcntl
import functools
import html.parser
import http.server
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest

from course_harness.chromium import Chromium
from course_harness.process import run_program
from course_tools import build as course_build
from course_tools import meta
from course_tools import setup as course_setup

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
LESSON_PAGES = sorted((DOCS / "lessons").glob("*.md"))
SCREENSHOTS = ROOT / "build" / "site-screenshots"



def slow(test):
    """The checks that need the built site or the browser: with the one site build
    (about a second per lesson demo, plus mkdocs) they take more than a few
    seconds, so ./course test leaves them to CI's slow step (.ci/run), which runs
    them with --dist loadfile: one build, one browser. The template, snippet,
    link-target and command checks below are fast and run in ./course test."""
    return pytest.mark.slow(pytest.mark.timeout(240)(test))


# ------------------------------------------------------------------ building

def course_lessons() -> list[dict]:
    return meta.lessons(ROOT)


def capture_demo(number: str, bin_dir: Path) -> str | None:
    """`./course run NN` against the programs under test; None when it worked."""
    env = dict(os.environ, NO_COLOR="1", COURSE_BIN_DIR=str(bin_dir))
    try:
        done = subprocess.run(["sh", str(ROOT / "course"), "run", number],
                              capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return f"./course run {number} did not finish within 60 s"
    if done.returncode != 0:
        return f"./course run {number} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}"
    (DOCS / "generated").mkdir(exist_ok=True)
    (DOCS / "generated" / f"run-{number}.txt").write_text(done.stdout)
    return None


def build_site(out: Path, bin_dir: Path) -> dict:
    demos = [lesson["number"] for lesson in course_lessons() if lesson.get("demo")]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        failures = {n: error for n, error in zip(demos, pool.map(
            functools.partial(capture_demo, bin_dir=bin_dir), demos)) if error}
    log, ok = "", True
    for config, folder in (("mkdocs.yml", out), ("mkdocs.zh.yml", out / "zh")):  # as ./course docs
        done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                               "-f", str(ROOT / config), "-d", str(folder)],
                              capture_output=True, text=True, cwd=ROOT, timeout=240)
        log += f"{config}:\n{done.stdout}{done.stderr}"
        ok = ok and done.returncode == 0
    return {"site": str(out), "ok": ok, "log": log, "demo_failures": failures}


@pytest.fixture(scope="session")
def site_build(tmp_path_factory, programs) -> dict:
    """Builds the site once per run; with xdist the workers share one build."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent
    else:
        shared = tmp_path_factory.getbasetemp()
    result_file = shared / "course-site.json"
    with open(shared / "course-site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result_file.exists():
            result_file.write_text(json.dumps(build_site(shared / "course-site",
                                                         programs.bin_dir)))
        return json.loads(result_file.read_text())


@pytest.fixture(scope="session")
def site(site_build) -> Path:
    if not site_build["ok"]:
        pytest.fail("mkdocs build --strict failed:\n" + site_build["log"][-6000:],
                    pytrace=False)
    return Path(site_build["site"])


@slow
def test_every_lesson_demo_runs_for_its_page(site_build):
    failures = site_build["demo_failures"]
    assert not failures, "the pages show these demos' output, but they failed:\n\n" + \
        "\n\n".join(failures.values())


@slow
def test_site_builds_strictly(site):
    assert (site / "index.html").is_file()


# ------------------------------------------------------------------ the built HTML

class PageParser(html.parser.HTMLParser):
    """Collects a page's ids, links and asset references."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.assets: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag in ("img", "script", "iframe", "source", "audio", "video") and a.get("src"):
            self.assets.append((tag, a["src"]))
            self.links.append(a["src"])
        if tag == "link" and a.get("href"):
            self.assets.append((tag, a["href"]))
            self.links.append(a["href"])
        if tag == "object" and a.get("data"):
            self.assets.append((tag, a["data"]))
            self.links.append(a["data"])


@functools.lru_cache(maxsize=None)
def parse_page(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def html_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if p.name != "404.html")


def resolve(site: Path, page: Path, link: str) -> tuple[Path, str]:
    """The file a relative link points to, and its #fragment."""
    url = urllib.parse.urlsplit(link)
    if not url.path:
        return page, urllib.parse.unquote(url.fragment)
    target = (page.parent / urllib.parse.unquote(url.path)).resolve()
    if target.is_dir() or url.path.endswith("/"):
        target = target / "index.html"
    return target, urllib.parse.unquote(url.fragment)


@slow
def test_every_internal_link_and_anchor_resolves(site):
    broken = []
    for page in html_pages(site):
        for link in parse_page(page).links:
            if re.match(r"^[a-z][a-z0-9+.-]*:", link, re.I):  # http:, mailto:, data:
                continue
            target, fragment = resolve(site, page, link)
            where = f"{page.relative_to(site)}: {link}"
            if not target.is_file():
                broken.append(f"{where} -> no such file {target.relative_to(site.resolve())}"
                              if target.is_relative_to(site.resolve()) else f"{where} -> "
                              "outside the site")
            elif fragment and target.suffix == ".html" and fragment not in parse_page(
                    target).ids:
                broken.append(f"{where} -> no id {fragment!r} in {target.name}")
    assert not broken, "broken links:\n" + "\n".join(broken)


@slow
def test_the_site_loads_nothing_from_the_network(site):
    """Works offline: no CDN fonts, scripts, styles or diagram services."""
    remote = []
    for page in html_pages(site):
        for tag, ref in parse_page(page).assets:
            if re.match(r"^(https?:)?//", ref):
                remote.append(f"{page.relative_to(site)}: <{tag}> {ref}")
    for css in site.rglob("*.css"):
        for ref in re.findall(r"""(?:url\(|@import\s+)['"]?((?:https?:)?//[^'")\s]+)""",
                              css.read_text(encoding="utf-8", errors="replace")):
            remote.append(f"{css.relative_to(site)}: {ref}")
    assert not remote, "assets loaded from the network (the site must work offline):\n" + \
        "\n".join(remote)


@slow
def test_search_index_covers_every_lesson(site):
    index = json.loads((site / "search" / "search_index.json").read_text())
    locations = {doc["location"].split("#")[0] for doc in index["docs"]}
    missing = [p.stem for p in LESSON_PAGES if f"lessons/{p.stem}/" not in locations]
    assert not missing, f"lesson pages missing from the search index: {missing}"


@slow
def test_no_snippet_marker_is_left_unexpanded(site):
    """A `--8<--` line that reached the HTML was not included (wrong indent, typo)."""
    left = [f"{p.relative_to(site)}" for p in html_pages(site)
            if "--8&lt;--" in p.read_text(encoding="utf-8") or
            "--8<--" in p.read_text(encoding="utf-8")]
    assert not left, f"pages with an unexpanded snippet include: {left}"


# ------------------------------------------------------------------ the Markdown

def markdown_pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "generated" not in p.parts)


INCLUDE = re.compile(r'^[ \t]*(?:```\w*[ \t]+)?-{1,2}8<-{1,2}[ \t]+"(?P<spec>[^"]+)"[ \t]*$',
                     re.M)


def test_every_snippet_include_exists_and_is_not_empty():
    sys.path.insert(0, str(DOCS / "hooks"))
    try:
        import snippet_sections
    finally:
        sys.path.pop(0)
    problems = []
    for page in markdown_pages():
        for match in INCLUDE.finditer(page.read_text(encoding="utf-8")):
            spec = match.group("spec")
            path, _, section = spec.partition("#")
            where = f"{page.relative_to(ROOT)}: --8<-- \"{spec}\""
            source = ROOT / path
            if path.startswith("docs/generated/"):
                # Written by the demo capture; checked after the site build.
                continue
            if not source.is_file():
                problems.append(f"{where}: {path} does not exist")
            elif section:
                try:
                    snippet_sections.extract(path, section)
                except (FileNotFoundError, ValueError) as error:
                    problems.append(f"{where}: {error}")
            elif not source.read_text(encoding="utf-8", errors="replace").strip():
                problems.append(f"{where}: {path} is empty")
    assert not problems, "\n".join(problems)


@slow
def test_captured_output_included_by_pages_is_not_empty(site_build):
    problems = []
    for page in markdown_pages():
        for match in INCLUDE.finditer(page.read_text(encoding="utf-8")):
            path = match.group("spec")
            if path.startswith("docs/generated/"):
                source = ROOT / path
                if not source.is_file() or not source.read_text().strip():
                    made_by = ("the lesson's [lesson.demo] in course.toml, run by ./course run"
                               if re.fullmatch(r"docs/generated/run-\d\d\.txt", path) else
                               "nothing: only run-NN.txt files are captured (./course docs and "
                               "this test); a page must not depend on a file no build step writes")
                    problems.append(f"{page.relative_to(ROOT)} includes {path}, which is missing "
                                    f"or empty; it is made by {made_by}")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------ the lesson template

TEMPLATE = ["What you will learn", "The idea", "The code", "Run it by hand",
            "What you should see", "What to observe", "Pitfalls", "Exercises",
            "Further reading"]


def sections(text: str) -> dict[str, str]:
    """Level-2 sections of a page, by heading, outside fenced code."""
    found: dict[str, list[str]] = {}
    current, fence = None, None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            mark = stripped[:3]
            fence = None if fence == mark else (fence or mark)
        if fence is None and line.startswith("## "):
            current = line[3:].strip()
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return {heading: "\n".join(body) for heading, body in found.items()}


@pytest.mark.parametrize("page", LESSON_PAGES, ids=[p.stem[:2] for p in LESSON_PAGES])
def test_lesson_page_follows_the_template(page):
    text = page.read_text(encoding="utf-8")
    found = sections(text)
    headings = list(found)
    name = page.relative_to(ROOT)
    missing = [s for s in TEMPLATE if s not in found]
    assert not missing, (f"{name} lacks the sections {missing}.\nIt has: {headings}\n"
                         f"Every lesson page has, in this order: {TEMPLATE} "
                         "(see docs/lessons/01-udp-sendto-recvfrom.md)")
    order = [h for h in headings if h in TEMPLATE]
    assert order == TEMPLATE, f"{name}: sections out of order: {order}; expected {TEMPLATE}"
    number = page.stem[:2]
    assert re.match(rf"# {number} ", text), f"{name} should start with '# {number} · title'"
    idea = found["The idea"]
    assert re.search(r"```(text|svg)|!\[[^\]]*\]\([^)]*\.svg\)|<svg|<img", idea), \
        f"{name}: 'The idea' has no diagram (a ```text block or an SVG image)"
    code = found["The code"]
    assert re.search(r'--8<-- "[^"]+\.(cpp|hpp)', code), \
        f"{name}: 'The code' includes no C++ source with --8<--"
    assert re.search(r'=== "Python', code) and re.search(r'--8<-- "[^"]+\.py', code), \
        f"{name}: 'The code' has no Python twin in a tab (=== \"Python ...\")"
    assert "```bash" in found["Run it by hand"], \
        f"{name}: 'Run it by hand' shows no ```bash commands"
    assert re.search(r'--8<-- "docs/generated/[^"]+"', found["What you should see"]), \
        (f"{name}: 'What you should see' must show real output, included from docs/generated/ "
         f"(run-{number}.txt is captured by ./course docs from the lesson's [lesson.demo] in "
         "course.toml), not typed into the page")


def nav_pages() -> list[str]:
    text = (ROOT / "mkdocs.yml").read_text()
    return re.findall(r":\s*(\S+\.md)\s*$", text, re.M)


def test_every_lesson_has_a_page_in_the_nav_and_the_home_table():
    nav = nav_pages()
    home = (DOCS / "index.md").read_text(encoding="utf-8")
    problems = []
    for lesson in course_lessons():
        page = f"lessons/{lesson['folder']}.md"
        if not (DOCS / page).is_file():
            problems.append(f"lesson {lesson['number']} has no page docs/{page}")
            continue
        if page not in nav:
            problems.append(f"docs/{page} is not in the nav of mkdocs.yml")
        if f"({page})" not in home:
            problems.append(f"docs/{page} is not linked from the lesson table in docs/index.md")
    for page in LESSON_PAGES:
        if f"lessons/{page.name}" not in nav:
            problems.append(f"docs/lessons/{page.name} is not in the nav of mkdocs.yml")
    assert not problems, "\n".join(dict.fromkeys(problems))


# ------------------------------------------------------------------ commands on the pages
#
# "Every command shown on a page is run by a test." What that means here, so that
# it stays honest and bounded:
#
#  * Every line of every ```bash block in docs/ is split into commands (at |, &&,
#    ||, ;). The course's own commands are those starting with `build/bin/NAME`,
#    `./course` or `python3 lessons/...py`; anything else (ss, tshark, strace,
#    printf, apt-get, brew, docker) is the system's and is not checked.
#  * Each such command must name something that exists: a built program, a
#    Python twin, a ./course subcommand, an existing lesson number.
#  * Its flags must parse: the same command with `--help` appended must exit 0,
#    and each --flag it uses must appear in the --help text of the program or of
#    its subcommand (CLI11 and argparse print help before they look at unknown
#    flags, so exit 0 alone would let a typo through).
#  * Every server command (build/bin/*server, *receiver, *listener, *reader) is
#    run for real, exactly as shown except for --port 0 and a temporary folder for
#    absolute paths: it must come up with its readiness line and stop cleanly on
#    SIGTERM. Lines whose comment says they fail (`# refused: ...`) are left out.
#  * `./course list` runs for real, and the demo capture above runs
#    `./course run NN` for every lesson.
#  * Not run here: clients (they need the page's server and often a person at
#    stdin; the lesson tests run the same programs with the same flags against
#    real servers), and `./course test/docs/setup/build` (CI runs exactly those:
#    .ci/run).

PROGRAM = re.compile(r"^(build/bin/[\w.-]+|\./course|python3?)$")


@dataclass
class Command:
    page: str
    line: str
    argv: list[str]

    def __str__(self):
        return f"{self.page}: {self.line}"


def shell_lines(text: str):
    """Lines of ```bash / ```sh / ```shell blocks (indented ones too), continuations
    joined; of ```console blocks, the `$ ` lines (the rest is their output)."""
    inside = console = False
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            inside = not inside and re.match(r"```\s*(bash|sh|shell|console)\b", stripped) \
                is not None
            console = inside and "console" in stripped
            continue
        if not inside:
            continue
        if console and not pending:
            if not stripped.startswith("$ "):
                continue
            stripped = stripped[2:]
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        yield pending + stripped
        pending = ""


REDIRECTION = re.compile(r"(?<![\w-])\d?(>>?|<)(&\d+|\s*[^\s|;&<>]+)")


def split_commands(line: str) -> list[list[str]]:
    line = REDIRECTION.sub(" ", line)  # 2>&1, > /dev/null, < file: not arguments
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:
        return []
    commands, current = [], []
    for token in tokens:
        if token in ("|", "||", "&&", ";", "&", "(", ")"):
            if current:
                commands.append(current)
            current = []
        elif re.fullmatch(r"[<>]+|\d?>&?\d?|&>", token):
            current.append(token)
        else:
            current.append(token)
    if current:
        commands.append(current)
    # Drop redirections and what follows them, and leading VAR=value / sudo.
    cleaned = []
    for argv in commands:
        while argv and (re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", argv[0]) or argv[0] in
                        ("sudo", "time", "exec", "env", "timeout")):
            argv = argv[2:] if argv[0] == "timeout" else argv[1:]
        out = []
        skip = False
        for token in argv:
            if skip:
                skip = False
                continue
            if re.fullmatch(r"\d?[<>]+|&>|\d?>&\d?", token):
                skip = not token.endswith("&1") and not token.endswith("&2")
                continue
            out.append(token)
        if out:
            cleaned.append(out)
    return cleaned


def page_commands() -> list[Command]:
    found = []
    for page in markdown_pages():
        for line in shell_lines(page.read_text(encoding="utf-8")):
            for argv in split_commands(line):
                program = argv[0]
                if program.startswith("python"):
                    if len(argv) < 2 or not argv[1].startswith("lessons/"):
                        continue
                elif not PROGRAM.match(program):
                    continue
                found.append(Command(str(page.relative_to(ROOT)), line, argv))
    return found


COMMANDS = page_commands()


def help_text(argv: list[str], cwd: Path) -> tuple[int, str]:
    done = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=20,
                          cwd=cwd, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, NO_COLOR="1"))
    return done.returncode, done.stdout + done.stderr


def unknown_flags(argv: list[str], help_output: str) -> list[str]:
    flags = [a.split("=")[0] for a in argv[1:] if re.fullmatch(r"--?[A-Za-z][\w-]*(=.*)?", a)]
    return [f for f in flags if not re.search(rf"(^|[\s,\[]){re.escape(f)}\b", help_output,
                                               re.M)]


@pytest.mark.parametrize("command", COMMANDS, ids=[f"{Path(c.page).stem[:12]}:{' '.join(c.argv)[:40]}"
                                                   for c in COMMANDS])
def test_command_on_a_page_exists_and_its_flags_parse(command, programs):
    argv = list(command.argv)
    program = argv[0]
    if program.startswith("build/bin/"):
        argv[0] = str(programs.path(program.removeprefix("build/bin/")))
    elif program == "./course":
        argv = ["sh", str(ROOT / "course"), *argv[1:]]
        lesson_numbers = {lesson["number"] for lesson in course_lessons()}
        if len(argv) > 3 and argv[2] in ("run", "check", "test", "hint"):
            for key in argv[3:]:
                if not key.startswith("-"):
                    assert key.zfill(2) in lesson_numbers, \
                        f"{command}\n  lesson {key!r} does not exist (course.toml lists " \
                        f"{sorted(lesson_numbers)})"
    else:
        script = ROOT / argv[1]
        assert script.is_file(), f"{command}\n  {argv[1]} does not exist"
        argv = [sys.executable, str(script), *argv[2:]]
    status, output = help_text(argv, ROOT)
    if status == 2 and re.search(r"error: --?[\w-]+: (Directory|File|Path) does not exist", output):
        # CLI11 checks that a --root DIR exists before it looks at --help; the page
        # creates it in an earlier line. The flag itself parsed.
        status = 0
    assert status == 0, (f"{command}\n  with --help appended it exited {status} instead of 0 "
                         f"(a flag or argument the program does not take?):\n{output[-1500:]}")
    if len(argv) > 1:  # options may belong to the program rather than its subcommand
        output += help_text(argv[:1] if program.startswith("build/bin/") else argv[:2], ROOT)[1]
    unknown = unknown_flags(command.argv, output)
    assert not unknown, (f"{command}\n  uses {unknown}, which its --help does not list:\n"
                         f"{output[-1500:]}")


SERVER = re.compile(r"build/bin/\w*(server|receiver|listener|reader)$")
EXPECTED_TO_FAIL = re.compile(r"#.*\b(refus|fail|error|in use|exit [12])", re.I)
SERVER_COMMANDS = [c for c in COMMANDS if SERVER.match(c.argv[0]) and "--help" not in c.argv
                   and not EXPECTED_TO_FAIL.search(c.line)]


@pytest.mark.parametrize("command", SERVER_COMMANDS,
                         ids=[f"{Path(c.page).stem[:12]}:{' '.join(c.argv)[:40]}"
                              for c in SERVER_COMMANDS])
def test_server_command_on_a_page_starts_and_stops(command, programs, server, tmp_path):
    """Runs a server exactly as the page shows it, from the repository's folder, with
    two changes that keep the test parallel-safe: `--port 0` instead of its port,
    and absolute paths (`--root /tmp/shared`, `--path /tmp/echo.sock`) moved into
    a fresh temporary folder (a `--root` folder is created empty). It must print
    its readiness line, and stop cleanly on SIGTERM (the `server` fixture checks)."""
    name = command.argv[0].removeprefix("build/bin/")
    _, usage = help_text([str(programs.path(name))], ROOT)
    args, previous = [], None
    tokens = iter(command.argv[1:])
    for token in tokens:
        if token == "--port" and "--port" in usage:
            next(tokens, None)
            continue
        if token.startswith("--port="):
            continue
        if token.startswith(("/", "~")):
            moved = tmp_path / Path(token.rstrip("/")).name
            if previous in ("--root", "--dir", "--directory"):
                moved.mkdir(parents=True, exist_ok=True)
            token = str(moved)
        args.append(token)
        previous = token
    if "--port" in usage:
        started = server(name, *args, cwd=ROOT)
    else:  # a Unix-domain server: "listening on unix:PATH"
        started = server(name, *args, port0=False, ready=False, cwd=ROOT)
        line = started.next_line(timeout=5)
        assert re.match(r"(listening on|bound to) \S", line), f"{command}\n{started.explain()}"
    assert started.alive(), f"{command}\n{started.explain()}"


def test_setup_page_lists_every_package_course_setup_installs():
    text = (DOCS / "setup.md").read_text(encoding="utf-8")
    missing = {group: [p for p in packages if not re.search(rf"[`\s]{re.escape(p)}[`\s]", text)]
               for group, packages in course_setup.PACKAGES.items()}
    missing = {g: p for g, p in missing.items() if p}
    assert not missing, f"docs/setup.md does not mention these packages of ./course: {missing}"


def test_a_configure_that_failed_is_run_again(tmp_path):
    # A student who ran cmake before ./course setup has a CMakeCache.txt and no
    # build.ninja: ./course build must configure again, not call ninja on nothing.
    (tmp_path / "CMakeCache.txt").write_text("CMAKE_GENERATOR:INTERNAL=Ninja\n")
    assert not course_build.configured(tmp_path)
    assert not (tmp_path / "CMakeCache.txt").exists(), "the half-made cache must go"
    (tmp_path / "build.ninja").write_text("")
    assert course_build.configured(tmp_path)


def test_course_list_runs():
    done = subprocess.run(["sh", str(ROOT / "course"), "list"], capture_output=True,
                          text=True, timeout=30, cwd=ROOT, env=dict(os.environ, NO_COLOR="1"))
    assert done.returncode == 0, done.stdout + done.stderr
    for lesson in course_lessons():
        assert lesson["number"] in done.stdout, done.stdout


# ------------------------------------------------------------------ what the pages claim
#
# Issue 19, "pages that match what really happens": each claim below was checked
# on the course machine's kernel, and a test keeps it so. Quick ones: each runs
# the real programs for a second or two.

def page_text(number: str) -> str:
    return next(p for p in LESSON_PAGES if p.stem.startswith(number)).read_text(encoding="utf-8")


def course_run(number: str, bin_dir: Path) -> list[tuple[str, str]]:
    """`./course run NN` as a student sees it: the (side, text) lines, in order."""
    done = subprocess.run(["sh", str(ROOT / "course"), "run", number], capture_output=True,
                          text=True, timeout=60, cwd=ROOT,
                          env=dict(os.environ, NO_COLOR="1", COURSE_BIN_DIR=str(bin_dir)))
    assert done.returncode == 0, done.stdout + done.stderr
    return [(m.group(1), m.group(2)) for m in
            re.finditer(r"^  (server|client) \| (.*)$", done.stdout, re.M)]


def test_course_run_keeps_each_programs_lines_in_the_order_it_printed_them(programs):
    """`./course run` used to read all of a program's stdout, then all of its stderr:
    the chat server's "connected" came after everything it was told. Now each
    program's stdout and stderr share one pipe, and both programs' lines are
    printed as they arrive. Lesson 09 mixes stdout (the chat) and stderr (about
    the chat) on both sides."""
    lines = course_run("09", programs.bin_dir)

    def order(side: str, expected: list[str]) -> None:
        mine = [text for who, text in lines if who == side]
        found = [next((i for i, text in enumerate(mine) if text.startswith(e)), None)
                 for e in expected]
        assert None not in found and found == sorted(found), (
            f"./course run 09: the {side}'s lines should come in this order: {expected}\n"
            f"got: {mine}")

    order("server", ["listening on", "127.0.0.1:", "hello server", "how are you?",
                     "you ended the chat"])
    order("client", ["connected to", "hi, I am the server", "q", "the server ended the chat"])


def test_what_you_should_see_is_labelled_as_course_run_output():
    problems = []
    for lesson in course_lessons():
        if not lesson.get("demo"):
            continue
        page = DOCS / "lessons" / f"{lesson['folder']}.md"
        seen = sections(page.read_text(encoding="utf-8")).get("What you should see", "")
        number = lesson["number"]
        if f"`./course run {number}`" not in seen or f"docs/generated/run-{number}.txt" not in seen:
            problems.append(f"{page.relative_to(ROOT)}: 'What you should see' must include "
                            f"docs/generated/run-{number}.txt and say it is `./course run {number}`")
    assert not problems, "\n".join(problems)


def twin_argv(script: str, *args: str) -> list[str]:
    """A Python twin, started with SIGINT at its default (a test runner's worker
    may ignore SIGINT, and an ignored signal stays ignored across exec)."""
    launcher = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")
    return [sys.executable, "-c", launcher, str(ROOT / script), *args]


def wait_reading_stdin(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Until the process sleeps in read() on its stdin pipe (or `timeout` passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if "pipe_read" in Path(f"/proc/{proc.pid}/wchan").read_text():
                return
        except OSError:
            return
        time.sleep(0.05)


QUIET_ON_CTRL_C = [  # (twin, kind): servers exit 0 like the C++ ones; clients 130
    ("lessons/01-udp-sendto-recvfrom/python/udp_receiver.py", "server"),
    ("lessons/01-udp-sendto-recvfrom/python/udp_sender.py", "stdin"),
    ("lessons/08-chat-bot/python/chatbot_server.py", "server"),
    ("lessons/09-two-way-chat/python/chat_server.py", "server"),
    ("lessons/09-two-way-chat/python/chat_client.py", "chat"),
]


@pytest.mark.parametrize("twin,kind", QUIET_ON_CTRL_C,
                         ids=[Path(t).stem for t, _ in QUIET_ON_CTRL_C])
def test_python_twin_stops_quietly_on_ctrl_c(twin, kind, server):
    """Ctrl-C (SIGINT) ends a twin as it ends the C++ program: no traceback, exit
    status 0 for a server, 130 (or death by SIGINT, as the C++ client) for a client."""
    args = ["--port", "0"] if kind == "server" else []
    if kind == "chat":
        peer = server("chat_server", stdin=True)
        args = ["--port", str(peer.port)]
    proc = subprocess.Popen(twin_argv(twin, *args), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if kind == "server":
            ready = proc.stdout.readline()
            assert re.match(r"(listening on|bound to) ", ready), (ready, proc.stderr.read())
        if kind == "chat":
            peer.wait_stderr("connected; waiting for its first message")
        wait_reading_stdin(proc) if kind != "server" else time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    allowed = (0,) if kind == "server" else (0, 130, -signal.SIGINT)
    assert "Traceback" not in err and proc.returncode in allowed, (
        f"{twin} on Ctrl-C: exit {proc.returncode} (allowed: {allowed}), stderr:\n{err}")


def test_lesson03_gbk_server_on_the_page_serves_one_client_after_another(programs):
    """The page runs `tcp_client` twice against its GBK server, without and with
    --encoding gbk: a server that accepted one client and exited refused the second."""
    text = page_text("03")
    code = re.search(r'```bash\npython3 -c "\n(?P<code>.*?)"\n```', text, re.S).group("code")
    assert "('127.0.0.1', 8004)" in code, code
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gbk = subprocess.Popen([sys.executable, "-c", "import os, signal, sys; "
                            "signal.signal(signal.SIGINT, signal.SIG_DFL); "
                            "os.execv(sys.executable, [sys.executable, '-c', sys.argv[1]])",
                            code.replace("8004", str(port))],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        replies = []
        for extra in ([], ["--encoding", "gbk"]):
            for _ in range(50):  # until it listens
                done = subprocess.run([str(programs.path("tcp_client")), "--port", str(port),
                                       *extra], input="你好\n", capture_output=True, text=True,
                                      timeout=10)
                if "Connection refused" not in done.stderr or replies:
                    break
                time.sleep(0.1)
            replies.append((done.returncode, done.stdout, done.stderr))
        gbk.send_signal(signal.SIGINT)
        _, err = gbk.communicate(timeout=5)
    finally:
        if gbk.poll() is None:
            gbk.kill()
            gbk.wait()
    assert replies == [(0, "\\xc4\\xe3\\xba\\xc3\n", ""), (0, "你好\n", "")], replies
    assert gbk.returncode == 0 and "Traceback" not in err, (gbk.returncode, err)
    assert "\\xc4\\xe3\\xba\\xc3" in text and "stop lesson 04's echo server" in text


def test_lesson04_reset_client_logs_what_the_page_says(server):
    """The page's resetting client: the server reports the RST at send() or at
    recv(), a race; the page must name both, and nothing else may appear."""
    text = page_text("04")
    command = re.search(r'`(python3 -c "import socket, struct;[^`]*)`', text).group(1)
    code = shlex.split(command)[2]
    echo = server("tcp_echo_server")
    for _ in range(3):
        subprocess.run([sys.executable, "-c", code.replace("8004", str(echo.port))],
                       check=True, timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and echo.stderr.text().count("dropped") < 3:
        time.sleep(0.05)
    logged = re.findall(r"dropped: .*", echo.stderr.text())
    assert len(logged) == 3, echo.explain()
    for line in logged:
        assert re.fullmatch(r"dropped: (send|recv): Connection reset by peer", line), line
    for where in ("send", "recv"):
        assert f"`dropped: {where}: Connection reset by peer`" in text, where


def test_lesson06_hundred_clients_defaults_to_a_server_that_accepts(programs):
    """Exercise 06.1's client closes every connection: against backlog_server (port
    8006), which never accepts, 97 of 100 connects time out. Its default port is
    tcp_echo_server's, and course.toml's text sends it there."""
    def default_port(name: str) -> str:
        _, usage = help_text([str(programs.path(name))], ROOT)
        return re.search(r"--port .*?=(\d+)", usage).group(1)

    assert default_port("hundred_clients") == default_port("tcp_echo_server")
    exercise = next(e for lesson in course_lessons() for e in lesson.get("exercise", [])
                    if e["id"] == "06.1")
    words = exercise["description"] + " ".join(exercise.get("hints", []))
    assert "tcp_echo_server" in words, words
    source = (ROOT / "lessons/06-backlog-and-handshake/hundred_clients.cpp").read_text()
    assert "--port 8006" not in source


def test_lesson08_examples_get_the_replies_the_page_says(server):
    text = page_text("08")
    bot = server("chatbot_server")

    def reply(data: bytes) -> str:
        with socket.create_connection(("127.0.0.1", bot.port), timeout=5) as sock:
            sock.sendall(data)
            return sock.recv(4096).decode("utf-8", errors="replace")

    def printf_bytes(text: str) -> bytes:
        return codecs.escape_decode(text.encode())[0]

    fallback = re.search(r"`printf '([^']*)' \| nc -q1 127\.0\.0\.1 8008` sends bytes that are "
                         r"not UTF-8", text)
    assert fallback, "page 08 lost its invalid-UTF-8 example"
    assert reply(printf_bytes(fallback.group(1))).startswith("Sorry, I don't understand.")
    greeting = re.search(r"`printf '([^']*)'` gets the greeting", text)
    assert greeting and reply(printf_bytes(greeting.group(1))).startswith("Hello!")
    pairs = re.findall(r'`"(\w+)" in data`[^`"]*?on "(\w+)"', text)
    assert len(pairs) >= 2, pairs
    for keyword, word in pairs:
        assert keyword in word, f'the pitfall says "{keyword}" in "{word}" fires: it does not'
        assert reply(word.encode()).startswith("Sorry"), f"the bot should not take {word!r}"


def test_lesson09_kill_9_of_a_client_is_seen_where_the_page_says(server, programs):
    """A client killed with nothing unread: its kernel sends a FIN; the server's
    answer is sent without error, and its next recv() returns 0. Killed with an
    answer unread: a RST, and the server's recv() fails."""
    text = page_text("09")
    chat = server("chat_server", stdin=True)
    for unread in (False, True):
        client = subprocess.Popen([str(programs.path("chat_client")), "--port", str(chat.port)],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            client.stdin.write(b"hello\n")
            client.stdin.flush()
            assert chat.next_line() == "hello"
            if unread:
                client.send_signal(signal.SIGSTOP)
                chat.proc.stdin.write(b"answer\n")
                chat.proc.stdin.flush()
                time.sleep(0.3)
            client.kill()
            client.wait()
            if not unread:
                time.sleep(0.3)
                chat.proc.stdin.write(b"answer\n")
                chat.proc.stdin.flush()
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
        if unread:
            chat.wait_stderr(r"recv: Connection reset by peer")
        else:
            chat.wait_stderr(r"left without saying q")
            assert "Traceback" not in chat.stderr.text()
    assert "left without saying q`" in text and "`recv: Connection reset by peer`" in text
    assert "its `send()` **succeeds**" in text


def test_lesson11_recv_q_counts_the_fin(programs, server):
    """`ss` shows Recv-Q 51 for 50 unread bytes once the sender has closed: the FIN
    takes one sequence number. The page explains the 51."""
    if not shutil.which("ss"):
        pytest.skip("ss (iproute2) is not installed")
    # The receiver sleeps far longer than this test lasts (the fixture stops it):
    # its 50 bytes stay unread for as long as ss needs to show them.
    receiver = server("sticky_receiver", "--delay", "60")
    run_program(programs.path("sticky_sender"), "--port", receiver.port, "--count", "10",
                "--message", "hello").ok()
    deadline, queued = time.monotonic() + 10, None
    while time.monotonic() < deadline:
        shown = subprocess.run(["ss", "-tnH", "state", "close-wait", f"( sport = :{receiver.port} )"],
                               capture_output=True, text=True).stdout.split()
        if shown:
            queued = int(shown[0])
            break
        time.sleep(0.05)
    assert queued == 51, f"Recv-Q {queued}: expected 50 bytes + the FIN"
    assert "**51**" in page_text("11")


def test_lesson17_ratios_are_the_benchmarks_per_round_ratios():
    """The table's last column is what run_bench.py judges: the median over rounds
    of each server's ratio to the reference, from harness/bench/results.json."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("run_bench", ROOT / "harness/bench/run_bench.py")
    run_bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_bench)
    results = json.loads((ROOT / "harness/bench/results.json").read_text(), object_hook=lambda d: {
        int(k) if k.isdigit() else k: v for k, v in d.items()})
    text = page_text("17")
    kinds = {"bench_epoll_echo": "epoll", "epoll_echo_server": "l17-epoll",
             "poll_echo_server": "l17-poll", "select_echo_server": "l17-select"}
    rows = re.findall(r"^\| `(\w+)`(?: \(reference\))? \| ((?:\d+k, )+\d+k) \| ([\d.]+)", text, re.M)
    assert {name for name, _, _ in rows} == set(kinds), rows
    for name, rounds, judged in rows:
        figures = results[kinds[name]]["pingpong"][100]
        assert rounds == ", ".join(f"{r / 1000:.0f}k" for r in figures["all_rps"]), name
        ratio = run_bench.round_ratio(results, kinds[name], "epoll", "pingpong", 100)
        assert judged == f"{ratio:.2f}", f"{name}: the page says {judged}, run_bench {ratio:.2f}"
    medians = re.search(r"`select_echo_server` (\d+)k against `epoll_echo_server`\s+(\d+)k", text)
    assert medians and (int(medians.group(1)), int(medians.group(2))) == (
        round(results["l17-select"]["pingpong"][100]["rps"] / 1000),
        round(results["l17-epoll"]["pingpong"][100]["rps"] / 1000)), medians


def test_lesson20_default_server_says_who_can_reach_it(server, run):
    """The server's default ::1 and the client's default 127.0.0.1 (the contract's,
    for every client) do not meet: the server says so, and the page shows it."""
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("IPv6 is disabled here: ::1 cannot be bound")
    echo = server("dual_stack_echo_server")
    note = echo.wait_stderr(r"IPV6_V6ONLY is off, but ::1 .*").group(0)
    assert "IPv4 clients welcome" not in note
    assert f"`{note.replace(str(echo.port), '8020')}`" in page_text("20"), note
    refused = run("dual_stack_client", "--port", echo.port, input="x\n")
    refused.expect_status(1)
    assert "Connection refused" in refused.stderr, refused.explain()
    assert run("dual_stack_client", "--host", "::1", "--port", echo.port,
               input="six\n").ok().lines == ["six"]


def test_no_page_downloads_into_the_repository():
    """`ftp_client get NAME` saves into the current folder: a page's command, run
    from the repository as the pages are, must say --output (a 200 MB big.bin in
    the clone is one `git add .` away from the history)."""
    bad = [str(c) for c in COMMANDS if c.argv[0].endswith("/ftp_client") and "get" in c.argv
           and not EXPECTED_TO_FAIL.search(c.line)
           and not re.search(r"--output[ =]/", c.line)]
    assert not bad, "downloads into the repository's folder:\n" + "\n".join(bad)


def test_pgrep_on_a_page_finds_only_the_program():
    """`$(pgrep -f NAME)` also finds a shell or strace whose command line contains
    NAME, a bare `pgrep NAME` every process whose name contains it, and `pgrep -x`
    cannot match a name longer than the 15 characters Linux keeps for it: use
    `pgrep -x` for short names, `pidof` for long ones."""
    bad = []
    for page in markdown_pages():
        for match in re.finditer(r"\$\(pgrep ([^)]*)\)", page.read_text(encoding="utf-8")):
            words = shlex.split(match.group(1))
            flags = "".join(w[1:] for w in words if re.fullmatch(r"-[a-zA-Z]+", w))
            names = [w for w in words if not w.startswith("-")]
            where = f"{page.relative_to(ROOT)}: {match.group(0)}"
            if not names:
                bad.append(f"{where}: no name")
            elif "f" in flags:
                if not names[-1].startswith("^"):
                    bad.append(f"{where}: -f matches other command lines too")
            elif "x" not in flags or len(names[-1]) > 15:
                bad.append(f"{where}: without -x it matches every name that contains it, "
                           "and -x fails past 15 characters (use pidof)")
    assert not bad, "\n".join(bad)


def test_a_server_a_page_starts_in_the_background_is_stopped_again():
    """`server &` keeps its port after the page moves on: the same block must stop it."""
    bad = []
    for page in markdown_pages():
        text = page.read_text(encoding="utf-8")
        for body in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", text, re.S):
            lines = body.splitlines()
            for i, line in enumerate(lines):
                if re.search(r"build/bin/\w*(server|receiver|listener|reader)\b[^#|]*&\s*(#|$)",
                             line) and not any(re.match(r"\s*kill\b", later)
                                               for later in lines[i + 1:]):
                    bad.append(f"{page.relative_to(ROOT)}: {line.strip()}")
    assert not bad, "started in the background and never stopped:\n" + "\n".join(bad)


def test_a_page_that_adds_a_qdisc_shows_how_to_remove_it():
    """`tc qdisc add dev lo ... netem` slows every program's loopback traffic."""
    bad = []
    for page in markdown_pages():
        text = page.read_text(encoding="utf-8")
        for body in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", text, re.S):
            if re.search(r"^\s*(sudo )?tc qdisc add", body, re.M) and \
                    not re.search(r"tc qdisc del", body):
                bad.append(f"{page.relative_to(ROOT)}: {body.strip().splitlines()[0]}")
    assert not bad, "a qdisc added without the command that removes it:\n" + "\n".join(bad)


def test_the_seeds_are_defined():
    """Every lesson page speaks of "the seeds": the home page and the glossary say
    what they are."""
    for page in ("index.md", "glossary.md"):
        text = (DOCS / page).read_text(encoding="utf-8")
        assert re.search(r"\*\*\"?The seeds\"?\*\*", text), f"docs/{page} does not define the seeds"
        assert "shared/seeds/" in text, page


# ------------------------------------------------------------------ in a real browser

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site_url(site):
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    with Chromium(tmp_path_factory.mktemp("chromium"), timeout=60) as chromium:
        yield chromium


def load(browser, url: str) -> None:
    browser.goto(url)
    problems = browser.problems()
    assert not problems, f"{url}: the browser reported:\n" + "\n".join(problems)
    base = urllib.parse.urlsplit(url)
    remote = [u for u in browser.requested_urls() if not u.startswith(
        f"{base.scheme}://{base.netloc}/") and not u.startswith(("data:", "blob:"))]
    assert not remote, f"{url} made requests outside the site (must work offline): {remote}"


PAGE_FACTS = """(() => {
  const idea = document.getElementById('the-idea');
  let diagram = false;
  for (let n = idea && idea.nextElementSibling; n && n.tagName !== 'H2'; n = n.nextElementSibling) {
    if (n.matches('pre, img, svg, object') || n.querySelector('pre, img, svg, object')) diagram = true;
  }
  const images = [...document.querySelectorAll('article img')];
  const code = document.querySelector('#the-code') ? (() => {
    for (let n = document.getElementById('the-code').nextElementSibling; n && n.tagName !== 'H2';
         n = n.nextElementSibling) {
      const block = n.querySelector('pre code');
      if (block && block.textContent.trim().split('\\n').length > 3) return block.textContent.length;
    }
    return 0;
  })() : 0;
  return {
    title: document.title,
    h1: (document.querySelector('article h1') || {}).textContent || '',
    diagram,
    code,
    tabs: document.querySelectorAll('.tabbed-set > input').length,
    brokenImages: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
  };
})()"""


def lesson_url(base: str, page: Path) -> str:
    return f"{base}lessons/{page.stem}/"


@slow
@pytest.mark.parametrize("page", LESSON_PAGES, ids=[p.stem[:2] for p in LESSON_PAGES])
def test_lesson_page_in_a_browser(page, browser, site_url):
    url = lesson_url(site_url, page)
    load(browser, url)
    facts = browser.evaluate(PAGE_FACTS)
    assert facts["h1"].strip(), f"{url}: no title heading"
    assert facts["code"] > 0, f"{url}: no code block under 'The code'"
    assert facts["diagram"], f"{url}: no diagram under 'The idea'"
    assert not facts["brokenImages"], f"{url}: images that did not load: {facts['brokenImages']}"
    if page.stem.startswith("01"):
        browser.screenshot(SCREENSHOTS / f"lesson-{page.stem[:2]}.png")


OTHER_PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")
                     if "generated" not in p.parts and p.parent != DOCS / "lessons")


@slow
@pytest.mark.parametrize("page", OTHER_PAGES)
def test_other_page_in_a_browser(page, browser, site_url):
    """Home, setup, concepts, glossary, instructor guide: no errors, every image loads."""
    path = page.removesuffix(".md")
    url = site_url + ("" if path == "index" else path.removesuffix("/index") + "/")
    load(browser, url)
    broken = browser.evaluate("[...document.querySelectorAll('article img')]"
                              ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert not broken, f"{url}: images that did not load: {broken}"


TAB_SWITCH = """(() => {
  const set = document.querySelector('.tabbed-set');
  const labels = set.querySelectorAll(':scope > .tabbed-labels > label, :scope > label');
  const blocks = set.querySelectorAll(':scope > .tabbed-content > .tabbed-block');
  const visible = () => [...blocks].map(b => b.offsetParent !== null || b.getClientRects().length > 0);
  const before = visible();
  labels[labels.length - 1].click();
  const after = visible();
  return {labels: labels.length, before, after};
})()"""


@slow
def test_code_tabs_switch_in_a_browser(browser, site_url):
    """The Python twin sits in a tab next to the C++: clicking the last tab shows it."""
    url = lesson_url(site_url, LESSON_PAGES[0])
    load(browser, url)
    state = browser.evaluate(TAB_SWITCH)
    assert state["labels"] >= 2, f"{url}: expected code tabs, found {state}"
    assert state["before"][0] and not state["before"][-1], \
        f"{url}: before a click, the first tab should be the one shown: {state}"
    assert state["after"][-1] and not state["after"][0], \
        f"{url}: clicking the last tab did not show its code: {state}"
    browser.evaluate("document.getElementById('the-code').scrollIntoView(); window.scrollBy(0, -64)")
    browser.idle(0.3)
    browser.screenshot(SCREENSHOTS / f"lesson-{LESSON_PAGES[0].stem[:2]}-code-tab.png")


@slow
def test_home_page_in_a_browser(browser, site_url):
    load(browser, site_url)
    facts = browser.evaluate("""(() => ({
        lessons: [...document.querySelectorAll('article a[href*="lessons/"]')].length,
        broken: [...document.querySelectorAll('article img')]
                  .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
        images: document.querySelectorAll('article img').length}))()""")
    assert facts["lessons"] >= len(LESSON_PAGES), f"the home page links to too few lessons: {facts}"
    assert facts["images"] >= 1 and not facts["broken"], \
        f"the home page's lesson map did not load: {facts}"
    browser.screenshot(SCREENSHOTS / "home.png")
    browser.evaluate("document.getElementById('the-lesson-map').scrollIntoView(); window.scrollBy(0, -64)")
    browser.idle(0.3)
    browser.screenshot(SCREENSHOTS / "home-lesson-map.png")


# The search goes in through the page address (?q=...), the theme's own link-to-a-search feature,
# not by typing. The theme (mkdocs-material 8.2.5, Debian 12) throttles its messages to the search
# worker and keeps only the latest while the worker is busy, so on a loaded machine a query typed
# just as the index arrives can displace the index itself, and that page's search never starts. A
# ?q= query is sent only once the worker says it is ready. Measured under four busy loops on two
# cores: typed, 8 of 12 page loads found results; through ?q=, 12 of 12.
SEARCH_RESULTS = """new Promise(resolve => {
  let tries = 0;
  const poll = () => {
    const hits = [...document.querySelectorAll('.md-search-result__item a')].map(a => a.href);
    const meta = document.querySelector('.md-search-result__meta').textContent.trim();
    if (hits.length || ++tries > 300) resolve({hits, meta}); else setTimeout(poll, 100);
  };
  poll();
})"""


def search(browser, site_url: str, term: str) -> tuple[list[str], str]:
    """The addresses the site's search lists for `term`, and what its box says."""
    load(browser, site_url + "?" + urllib.parse.urlencode({"q": term}))
    found = browser.evaluate(SEARCH_RESULTS)
    return found["hits"], found["meta"]


@slow
def test_site_search_finds_a_lesson(browser, site_url):
    hits, meta = search(browser, site_url, "recvfrom")
    assert any("lessons/01-" in h for h in hits), \
        f"searching the site for 'recvfrom' did not find lesson 01; results: {hits}, " \
        f"the search box said: {meta!r}"


@slow
@pytest.mark.parametrize("term", ["粘包", "三次握手", "字节序", "广播"])
def test_site_search_finds_the_glossarys_chinese_terms(browser, site_url, term):
    """English lunr drops CJK characters; theme/.../search-cjk.js adds lunr.ja's. The
    glossary has every term; lesson 11 names 粘包 in its first lines."""
    hits, meta = search(browser, site_url, term)
    assert any("glossary" in h for h in hits), \
        f"searching for {term!r} did not find the glossary; results: {hits}, " \
        f"the search box said: {meta!r}"
    if term == "粘包":
        assert any("lessons/11-" in h for h in hits), \
            f"searching for 粘包 did not find lesson 11; results: {hits}"


@slow
@pytest.mark.parametrize("page", ["", "lessons/11-sticky-packets/", "concepts/tcp-vs-udp/"])
def test_the_language_switch_leads_to_the_same_page(browser, site_url, page):
    """English -> 简体中文 -> English, each time the same page (docs/hooks/languages.py)."""
    links = """[...document.querySelectorAll('a.md-select__link')].map(a => [a.hreflang, a.href])"""
    load(browser, site_url + page)
    chinese = dict(browser.evaluate(links)).get("zh")
    assert chinese == site_url + "zh/" + page, f"the 中文 link of /{page} goes to {chinese}"
    load(browser, chinese)
    title = browser.evaluate("document.title")
    assert re.search(r"[\u4e00-\u9fff]", title), f"{chinese} is not Chinese: {title!r}"
    english = dict(browser.evaluate(links)).get("en")
    assert english == site_url + page, f"the English link of /zh/{page} goes to {english}"


@slow
def test_the_chinese_site_search_finds_a_chinese_word(browser, site_url):
    """The Chinese site (theme language zh) indexes with lunr.ja's segmenter."""
    hits, meta = search(browser, site_url + "zh/", "粘包")
    assert any("zh/lessons/11-" in h for h in hits), \
        f"searching the Chinese site for 粘包 did not find lesson 11: {hits} ({meta!r})"


# ------------------------------------------------------------------ layout, dark mode, print page

WIDTHS = [1280, 390]  # a laptop; a phone

# Every code block, figure and image of the article, measured with every tab shown. A block is
# cut off when it scrolls sideways or sticks out of the window; an image when it sticks out of
# the column. Figures drawn in text shrink to fit (theme/assets/javascripts/course.js): their
# scale is returned, to check that they stay readable.
FIT_CHECK = """new Promise(resolve => {
  const blocks = [...document.querySelectorAll('.tabbed-set > .tabbed-content > .tabbed-block')];
  const before = blocks.map(b => b.style.display);
  blocks.forEach(b => { b.style.display = 'block'; });
  requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => {
    const article = document.querySelector('article.md-content__inner');
    const column = article.getBoundingClientRect();
    const what = e => (e.textContent.trim() || e.getAttribute('src') || e.outerHTML)
      .replace(/\\s+/g, ' ').slice(0, 70);
    const problems = [], figures = [];
    for (const code of article.querySelectorAll('pre > code')) {
      const pre = code.parentElement, r = pre.getBoundingClientRect();
      if (code.scrollWidth > code.clientWidth + 1)
        problems.push(`code scrolls sideways (${code.scrollWidth} px in ${code.clientWidth}): ${what(code)}`);
      if (r.right > innerWidth + 1 || r.left < -1)
        problems.push(`code wider than the window (${Math.round(r.left)} to ${Math.round(r.right)} px): ${what(code)}`);
      if (pre.classList.contains('course-figure'))
        figures.push({scale: parseFloat(pre.dataset.courseFit || '0'), text: what(code)});
    }
    for (const figure of article.querySelectorAll('img, svg')) {
      if (figure.closest('a.headerlink, .md-clipboard, label, button, .md-annotation, .md-icon')
          || figure.parentElement.closest('svg')) continue;
      const r = figure.getBoundingClientRect();
      if (r.width && (r.right > Math.min(innerWidth, column.right) + 1 || r.left < column.left - 1))
        problems.push(`figure cut off (${Math.round(r.left)} to ${Math.round(r.right)} px, column ` +
                      `${Math.round(column.left)} to ${Math.round(column.right)}): ${what(figure)}`);
    }
    if (document.documentElement.scrollWidth > innerWidth + 1)
      problems.push(`the page scrolls sideways (${document.documentElement.scrollWidth} px)`);
    blocks.forEach((b, i) => { b.style.display = before[i]; });
    resolve({problems, figures, column: Math.round(column.width)});
  }, 50)));
})"""

# The smallest scale at which a figure drawn in text still reads: at 1280 px, about 11 px type.
# On a phone every figure shrinks a lot (about half; the reader zooms in), but not to nothing.
SMALLEST_FIGURE = {1280: 0.8, 390: 0.3}


def set_width(browser, width: int) -> None:
    browser.call("Emulation.setDeviceMetricsOverride", width=width,
                 height=900 if width > 600 else 844, deviceScaleFactor=1, mobile=width < 600)


@slow
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", LESSON_PAGES, ids=[p.stem[:2] for p in LESSON_PAGES])
def test_lesson_page_fits_the_window(page, width, browser, site_url):
    """Nothing hides behind a sideways scroll bar, on a laptop or a phone: code that is too wide
    wraps on a phone (theme/assets/stylesheets/course.css) and must fit at 1280 px, where a
    command wider than that is broken into lines with `\\` on the page; figures drawn in text
    shrink to fit, and images stay in the column. Screenshots: build/site-screenshots/widths/."""
    url = lesson_url(site_url, page)
    set_width(browser, width)
    try:
        load(browser, url)
        facts = browser.evaluate(FIT_CHECK)
        for section in ("the-idea", "the-code"):
            browser.evaluate(f"document.getElementById('{section}').scrollIntoView(); "
                             "window.scrollBy(0, -64)")
            browser.idle(0.2)
            browser.screenshot(SCREENSHOTS / "widths" /
                               f"lesson-{page.stem[:2]}-{width}-{section.removeprefix('the-')}.png")
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride")
    assert not facts["problems"], f"{url} at {width} px (column {facts['column']} px):\n" + \
        "\n".join(facts["problems"])
    tiny = [f"{f['scale']:.2f}: {f['text']}" for f in facts["figures"]
            if f["scale"] < SMALLEST_FIGURE[width]]
    assert not tiny, (f"{url} at {width} px: figures drawn in text shrunk below "
                      f"{SMALLEST_FIGURE[width]} of their size to fit; make them narrower:\n"
                      + "\n".join(tiny))


PALETTE = """(() => ({
  scheme: document.body.getAttribute('data-md-color-scheme'),
  toggle: [...document.querySelectorAll('form[data-md-component=palette] label')]
            .filter(l => !l.hidden).map(l => l.title),
  figure: (() => { const img = document.querySelector('article img[src$=".svg"]');
                   return img && getComputedStyle(img).backgroundColor; })(),
}))()"""


@slow
def test_dark_mode_toggle_and_the_systems_choice(browser, site_url):
    """The header's toggle switches light <-> dark; with no choice made, the system's
    preference decides; the figures, drawn for a white page, keep a white background."""
    page = next(p for p in LESSON_PAGES if p.stem.startswith("06"))  # has an SVG figure
    url = lesson_url(site_url, page)
    clear = "localStorage.clear()"
    try:
        load(browser, url)
        browser.evaluate(clear)
        load(browser, url)
        light = browser.evaluate(PALETTE)
        assert light["scheme"] == "default" and light["toggle"], f"{url} starts as {light}"
        browser.evaluate("document.querySelector('form[data-md-component=palette] label:not([hidden])')"
                         ".click()")
        dark = browser.evaluate(PALETTE)
        assert dark["scheme"] == "slate", f"the toggle did not switch to dark mode: {dark}"
        assert dark["figure"] == "rgb(255, 255, 255)", \
            f"in dark mode an SVG figure has no white background: {dark}"
        browser.evaluate("document.getElementById('the-idea').scrollIntoView(); window.scrollBy(0, -64)")
        browser.idle(0.3)
        browser.screenshot(SCREENSHOTS / f"lesson-{page.stem[:2]}-dark.png")
        load(browser, lesson_url(site_url, LESSON_PAGES[0]))
        assert browser.evaluate(PALETTE)["scheme"] == "slate", "the choice of dark mode is forgotten"

        browser.evaluate(clear)
        browser.call("Emulation.setEmulatedMedia",
                     features=[{"name": "prefers-color-scheme", "value": "dark"}])
        load(browser, url)
        assert browser.evaluate(PALETTE)["scheme"] == "slate", \
            "a system that prefers dark does not get the dark scheme"
        set_width(browser, 390)
        browser.evaluate("document.getElementById('the-idea').scrollIntoView(); window.scrollBy(0, -64)")
        browser.idle(0.3)
        browser.screenshot(SCREENSHOTS / f"lesson-{page.stem[:2]}-dark-390.png")
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride")
        browser.call("Emulation.setEmulatedMedia", media="", features=[])
        browser.evaluate(clear)


def whole_course_pages(site: Path) -> list[str]:
    """The part ids of print/, in order."""
    return re.findall(r'<section class="course-print-part" id="([^"]+)"',
                      (site / "print" / "index.html").read_text(encoding="utf-8"))


@slow
def test_the_whole_course_is_one_printable_page_in_the_nav(site):
    """docs/hooks/print_page.py: print/ holds every page of the nav once, in nav order, with
    ids that stay unique; every page's nav links to it; search does not find it."""
    import yaml  # Debian: python3-yaml

    for root, config in ((site, "mkdocs.yml"), (site / "zh", "mkdocs.zh.yml")):
        nav = []

        def walk(items):
            for item in items:
                for value in (item.values() if isinstance(item, dict) else [item]):
                    walk(value) if isinstance(value, list) else nav.append(value)
        walk(yaml.load((ROOT / config).read_text(encoding="utf-8"), Loader=yaml.BaseLoader)["nav"])
        expected = [re.sub(r"[^\w-]+", "-", p.removesuffix(".md")).strip("-") for p in nav
                    if p != "print.md"]
        assert whole_course_pages(root) == expected, \
            f"{root.relative_to(site)}/print/ does not hold the nav's pages in order ({config})"
        text = (root / "print" / "index.html").read_text(encoding="utf-8")
        ids = re.findall(r'\sid="([^"]+)"', text)
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        assert not repeated, f"{root.relative_to(site)}/print/ repeats ids: {repeated[:10]}"
        home = (root / "index.html").read_text(encoding="utf-8")
        assert 'href="print/"' in home, f"the home page of {config}'s site has no link to print/"
        index = json.loads((root / "search" / "search_index.json").read_text(encoding="utf-8"))
        printed = sum(len(d["text"]) for d in index["docs"] if d["location"].startswith("print/"))
        assert printed < 2000, f"the search index holds the whole course again ({printed} chars)"


@slow
def test_the_whole_course_page_prints_every_tab(browser, site_url):
    load(browser, site_url + "print/")
    try:
        browser.call("Emulation.setEmulatedMedia", media="print")
        state = browser.evaluate("""(() => {
          const blocks = [...document.querySelectorAll('.tabbed-block')];
          return {blocks: blocks.length,
                  hidden: blocks.filter(b => getComputedStyle(b).display === 'none').length,
                  labelled: blocks.filter(b => b.dataset.courseLabel).length,
                  header: getComputedStyle(document.querySelector('.md-header')).display};
        })()""")
        browser.evaluate("document.getElementById('lessons-01-udp-sendto-recvfrom--the-code')"
                         ".scrollIntoView()")
        browser.idle(0.3)
        browser.screenshot(SCREENSHOTS / "print-page.png")
    finally:
        browser.call("Emulation.setEmulatedMedia", media="")
    assert state["blocks"] and not state["hidden"], f"printing hides tabs of code blocks: {state}"
    assert state["labelled"] == state["blocks"], f"printed tabs without their label: {state}"
    assert state["header"] == "none", f"the header is printed: {state}"
