"""The C++ page (docs/cpp.md): every example in docs/cpp-examples/ is on the page, compiles
under the course's warning policy, runs, and prints what its last lines say it prints; and
the compiler errors the page quotes are the ones g++ gives for the mistakes it describes.

Each example is compiled by g++ directly (no CMake: a student compiles them with the one
command the page shows), with a hard timeout for the compiler and for the program. The
compiles take a few seconds each, so these are `slow` checks, run by CI's slow step:
    /usr/bin/python3 -m pytest -q -m slow harness/tests/test_cpp_page.py"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "cpp.md"
EXAMPLES = ROOT / "docs" / "cpp-examples"
SOURCES = sorted(EXAMPLES.glob("*.cpp"))
FLAGS = ["-std=c++20", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-pthread"]
COMPILE_TIMEOUT = 120  # nlohmann/json takes a few seconds; a loaded 2-core machine, longer
RUN_TIMEOUT = 10
OUTPUT_MARK = "// It prints:"


def slow(test):
    return pytest.mark.slow(pytest.mark.timeout(COMPILE_TIMEOUT + RUN_TIMEOUT + 30)(test))


def expected_output(source: Path) -> list[str]:
    """The lines after `// It prints:`, each `// ` (or a bare `//` for an empty line)."""
    text = source.read_text(encoding="utf-8")
    assert OUTPUT_MARK in text, f"{source.name} does not end with '{OUTPUT_MARK}' and its output"
    lines = []
    for line in text.split(OUTPUT_MARK, 1)[1].strip("\n").splitlines():
        assert line.startswith("//"), f"{source.name}: after '{OUTPUT_MARK}', {line!r} is not a comment"
        lines.append(line[3:] if line.startswith("// ") else "")
    return lines


def compile_source(source: Path, out: Path, text: str | None = None) -> subprocess.CompletedProcess:
    """g++ with the course's flags; `text` replaces the file's content (written beside `out`)."""
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed (./course setup installs it)")
    if text is not None:
        source = out.with_suffix(".cpp")
        source.write_text(text, encoding="utf-8")
    try:
        return subprocess.run(["g++", *FLAGS, str(source), "-o", str(out)], capture_output=True,
                              text=True, timeout=COMPILE_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"g++ {source.name} did not finish within {COMPILE_TIMEOUT} s", pytrace=False)


def test_every_example_is_on_the_page_and_every_include_exists():
    page = PAGE.read_text(encoding="utf-8")
    included = re.findall(r'^[ \t]*--8<-- "docs/cpp-examples/([^"#]+)"[ \t]*$', page, re.M)
    assert SOURCES, "docs/cpp-examples/ has no examples"
    missing = [s.name for s in SOURCES if s.name not in included]
    assert not missing, f"examples that docs/cpp.md does not include: {missing}"
    absent = [name for name in included if not (EXAMPLES / name).is_file()]
    assert not absent, f"docs/cpp.md includes examples that do not exist: {absent}"
    for source in SOURCES:
        expected_output(source)  # every example says what it prints


@slow
@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_example_compiles_with_every_warning_an_error_and_prints_what_it_says(source, tmp_path):
    binary = tmp_path / source.stem
    built = compile_source(source, binary)
    assert built.returncode == 0, f"g++ {' '.join(FLAGS)} {source.name} failed:\n{built.stderr}"
    try:
        ran = subprocess.run([str(binary)], capture_output=True, text=True, timeout=RUN_TIMEOUT,
                             cwd=tmp_path, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{source.name} did not finish within {RUN_TIMEOUT} s", pytrace=False)
    assert ran.returncode == 0, f"{source.name} exited {ran.returncode}:\n{ran.stdout}{ran.stderr}"
    assert not ran.stderr, f"{source.name} wrote to stderr:\n{ran.stderr}"
    printed = [line.rstrip() for line in ran.stdout.splitlines()]
    assert printed == expected_output(source), (
        f"{source.name} printed:\n{ran.stdout}\nbut its '{OUTPUT_MARK}' lines say:\n"
        + "\n".join(expected_output(source)))


# The mistakes the page describes, made in an example, and the words of g++'s error that the
# page quotes: (example, text to replace, replacement, what g++ and the page both say).
MISTAKES = [
    ("warnings.cpp", "    static_cast<void>(length);  // unused until you write the counting\n",
     "", "unused parameter"),
    ("warnings.cpp", "static_cast<std::size_t>(received) <= buffer_size",
     "received <= buffer_size", "different\nsignedness"),
    ("warnings.cpp", "std::vector<char> buffer(n);", "char buffer[n];\n    buffer[0] = 0;",
     "ISO C++ forbids variable length\narray"),
    ("optional.cpp", '        case Intent::hello:\n            return "Hello!";\n', "",
     "enumeration value 'hello' not handled in switch"),
    ("raii.cpp", "// Fd copy = first;", "Fd copy = first;", "use of deleted function"),
    ("filesystem.cpp", "std::uintmax_t size = fs::file_size", "fs::file_size",
     "ignoring return value ... declared with attribute\n'nodiscard'"),
]


def words(text: str) -> str:
    """Text with its line breaks and runs of spaces as single spaces, and typographic quotes
    (g++ in a UTF-8 locale) as plain ones."""
    return re.sub(r"\s+", " ", text.replace("‘", "'").replace("’", "'"))


@slow
@pytest.mark.parametrize("example, old, new, error", MISTAKES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)])
def test_a_mistake_the_page_describes_fails_the_build_as_the_page_says(example, old, new, error,
                                                                       tmp_path):
    source = EXAMPLES / example
    text = source.read_text(encoding="utf-8")
    assert old in text, f"{example} no longer contains {old!r}: update MISTAKES"
    built = compile_source(source, tmp_path / source.stem, text.replace(old, new, 1))
    assert built.returncode != 0, f"{example} with {old!r} -> {new!r} still compiles"
    quoted = words(error)
    if "..." in quoted:
        first, last = quoted.split(" ... ")
        assert first in words(built.stderr) and last in words(built.stderr), built.stderr
    else:
        assert quoted in words(built.stderr), \
            f"g++ did not say {quoted!r} for {example}:\n{built.stderr}"
    assert quoted in words(PAGE.read_text(encoding="utf-8")), \
        f"docs/cpp.md should quote g++'s words for this mistake: {quoted!r}"
