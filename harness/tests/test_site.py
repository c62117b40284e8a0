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

import concurrent.futures
import fcntl
import functools
import html.parser
import http.server
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest

from course_harness.chromium import Chromium
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
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                           "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=180)
    return {"site": str(out), "ok": done.returncode == 0,
            "log": done.stdout + done.stderr, "demo_failures": failures}


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


@slow
def test_site_search_finds_a_lesson(browser, site_url):
    load(browser, site_url + "?" + urllib.parse.urlencode({"q": "recvfrom"}))
    found = browser.evaluate(SEARCH_RESULTS)
    hits = found["hits"]
    assert any("lessons/01-" in h for h in hits), \
        f"searching the site for 'recvfrom' did not find lesson 01; results: {hits}, " \
        f"the search box said: {found['meta']!r}"


@slow
@pytest.mark.parametrize("term", ["粘包", "三次握手", "字节序", "广播"])
def test_site_search_finds_the_glossarys_chinese_terms(browser, site_url, term):
    """English lunr drops CJK characters; theme/.../search-cjk.js adds lunr.ja's. The
    glossary has every term; lesson 11 names 粘包 in its first lines."""
    load(browser, site_url + "?" + urllib.parse.urlencode({"q": term}))
    found = browser.evaluate(SEARCH_RESULTS)
    hits = found["hits"]
    assert any("glossary" in h for h in hits), \
        f"searching for {term!r} did not find the glossary; results: {hits}, " \
        f"the search box said: {found['meta']!r}"
    if term == "粘包":
        assert any("lessons/11-" in h for h in hits), \
            f"searching for 粘包 did not find lesson 11; results: {hits}"
