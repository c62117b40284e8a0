"""The mistakes catalogue (lessons/*/mutants.toml) and the tool that runs it
(harness/course_tools/mutants.py): the catalogue parses and cannot rot silently,
every exercise has its wrong solutions, the verdicts and the closing line are
computed as documented, and one small end-to-end run (slow) classifies a caught,
a missed and a stillborn mutant."""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

from course_tools import meta, mutants  # noqa: E402


@pytest.fixture(scope="module")
def catalogue() -> list[mutants.Mutant]:
    return mutants.load(ROOT)


# ------------------------------------------------------------------ the catalogue

def test_the_catalogue_parses(catalogue):
    assert len(catalogue) >= 100
    assert all(m.mistake and "\n" not in m.mistake for m in catalogue)


def test_every_lesson_has_a_catalogue(catalogue):
    have = {m.lesson for m in catalogue if not m.exercise}
    missing = [lesson["folder"] for lesson in meta.lessons(ROOT) if lesson["number"] not in have]
    assert not missing, f"lessons without mistakes of their own in {mutants.CATALOGUE}: {missing}"


def test_every_find_occurs_exactly_once_in_its_file(catalogue):
    problems = []
    for m in catalogue:
        text = (ROOT / m.path).read_text(encoding="utf-8")
        if text.count(m.find) != 1:
            problems.append(f"{m.key} {m.path}: `find` occurs {text.count(m.find)} times")
    assert not problems, "\n".join(problems)


def test_every_exercise_has_at_least_two_wrong_solutions(catalogue):
    counts = {ex["id"]: 0 for _, ex in meta.all_exercises(ROOT)}
    for m in catalogue:
        if m.exercise:
            counts[m.exercise] += 1
    short = {ex: n for ex, n in counts.items() if n < 2}
    assert not short, f"exercises with fewer than 2 mutants: {short}"


def test_no_mutant_is_listed_twice(catalogue):
    seen = {}
    for m in catalogue:
        key = (m.path, m.find, m.replace)
        assert key not in seen, f"{m.key} repeats {seen[key]}"
        seen[key] = m.key


def test_list_prints_the_catalogue():
    out = io.StringIO()
    with redirect_stdout(out):
        status = mutants.main(["--list", "01", "13.1"], root=ROOT)
    assert status == 0
    text = out.getvalue()
    assert "udp_sender.cpp" in text and "framed_echo_server.cpp" in text
    assert "framed_sender.cpp" not in text  # 13.1 alone: the exercise's mutants only


# ------------------------------------------------------------------ a catalogue that rots

def fake_course(tmp_path: Path, catalogue: str) -> Path:
    (tmp_path / "course.toml").write_text(
        '[course]\ntitle = "t"\n\n[[lesson]]\nnumber = "01"\nfolder = "01-x"\ntitle = "x"\n'
        'programs = ["a"]\n\n[[lesson.exercise]]\nid = "01.1"\ntitle = "e"\nfiles = ["e.cpp"]\n'
        'programs = ["e"]\ntests = ["test_x.py::test_*"]\n', encoding="utf-8")
    folder = tmp_path / "lessons" / "01-x"
    folder.mkdir(parents=True)
    (folder / "a.cpp").write_text("int main() { return 0; }  // twice twice\n")
    (folder / "e.cpp").write_text("int f() { return 1; }\n")
    (folder / "mutants.toml").write_text(catalogue, encoding="utf-8")
    return tmp_path


def test_a_find_that_no_longer_matches_is_an_error_not_a_skip(tmp_path):
    root = fake_course(tmp_path, '''
[[mutant]]
file = "a.cpp"
mistake = "gone"
find = "return 1;"
replace = "return 2;"

[[mutant]]
file = "a.cpp"
mistake = "ambiguous"
find = "twice"
replace = "once"

[[mutant]]
file = "a.cpp"
mistake = "fine"
find = "return 0;"
replace = "return 3;"
''')
    with pytest.raises(mutants.CatalogueError) as caught:
        mutants.load(root)
    message = str(caught.value)
    assert "mutant 1 ('gone'): `find` occurs 0 times in lessons/01-x/a.cpp" in message
    assert "mutant 2 ('ambiguous'): `find` occurs 2 times" in message
    assert "mutant 3" not in message


def test_other_catalogue_mistakes_are_named(tmp_path):
    root = fake_course(tmp_path, '''
[[mutant]]
file = "a.cpp"
find = "return 0;"
replace = "return 3;"

[[mutant]]
file = "a.cpp"
mistake = "typo in a key"
exercice = "01.1"
find = "return 0;"
replace = "return 3;"

[[mutant]]
file = "missing.cpp"
mistake = "no such file"
find = "x"
replace = "y"

[[mutant]]
file = "a.cpp"
exercise = "01.1"
mistake = "not the exercise's file"
find = "return 0;"
replace = "return 4;"

[[mutant]]
file = "e.cpp"
exercise = "01.7"
mistake = "no such exercise"
find = "return 1;"
replace = "return 4;"

[[mutant]]
file = "e.cpp"
mistake = "changes nothing"
find = "return 1;"
replace = "return 1;"
''')
    with pytest.raises(mutants.CatalogueError) as caught:
        mutants.load(root)
    message = str(caught.value)
    for expected in ("mutant 1: missing mistake", "mutant 2: unknown keys ['exercice']",
                     "no file missing.cpp", "a.cpp is not one of exercise 01.1's files",
                     "lesson 01 has no exercise 01.7", "`replace` is the same as `find`"):
        assert expected in message, message


def test_the_command_says_what_is_wrong_and_fails(tmp_path, capsys):
    root = fake_course(tmp_path, '[[mutant]]\nfile = "a.cpp"\nmistake = "m"\n'
                                 'find = "nowhere"\nreplace = "x"\n')
    assert mutants.main(["--list"], root=root) == 2
    assert "`find` occurs 0 times" in capsys.readouterr().err


# ------------------------------------------------------------------ verdicts

def result(status: str, exercise: str = "") -> mutants.Result:
    m = mutants.Mutant("01", "01-x", 1, "a.cpp", "f", "r", "m", exercise)
    return mutants.Result(m, status)


def test_the_closing_line_and_the_exit_status():
    caught_9 = [result("caught") for _ in range(9)]
    # stillborn and not-run mutants are not counted
    _, _, line, status = mutants.summary(caught_9 + [result("missed"), result("stillborn"),
                                                     result("not run")])
    assert (line, status) == ("mutants: 9 caught of 10 (90%)", 0)
    _, _, line, status = mutants.summary(caught_9[:8] + [result("missed"), result("missed")])
    assert (line, status) == ("mutants: 8 caught of 10 (80%)", 1)  # below 90%
    _, _, _, status = mutants.summary(caught_9 * 3 + [result("missed", "01.1")])
    assert status == 1  # a wrong solution of an exercise passes its tests
    _, _, _, status = mutants.summary(caught_9 + [result("error")])
    assert status == 1  # could not be judged
    _, _, line, status = mutants.summary([result("stillborn")])
    assert (line, status) == ("mutants: 0 caught of 0 (0%)", 1)


def test_the_report_lists_missed_and_stillborn_mutants():
    text = mutants.report([result("caught"), result("missed", "01.1"), result("stillborn")])
    assert text.splitlines()[0].split() == ["lesson", "exercise", "file", "mistake", "result",
                                            "first", "failing", "test"]
    assert "missed (every public test passed: a gap in the tests): 1" in text
    assert "stillborn (did not compile: fix the entry): 1" in text
    assert text.splitlines()[-1] == "mutants: 1 caught of 2 (50%)"


def test_changed_lessons_follow_the_last_commit(tmp_path):
    root = fake_course(tmp_path, "")
    (root / "lessons" / "02-y").mkdir()
    with open(root / "course.toml", "a", encoding="utf-8") as f:
        f.write('\n[[lesson]]\nnumber = "02"\nfolder = "02-y"\ntitle = "y"\nprograms = []\n')

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root,
                       check=True, capture_output=True, timeout=60)

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "one")
    assert mutants.changed_lessons(root) == ["01", "13"]  # no parent: the fixed set
    (root / "lessons" / "02-y" / "b.cpp").write_text("// new\n")
    (root / "README").write_text("x\n")
    git("add", ".")
    git("commit", "-q", "-m", "two")
    assert mutants.changed_lessons(root) == ["02"]
    (root / "README").write_text("y\n")
    git("commit", "-q", "-am", "three")
    assert mutants.changed_lessons(root, ["01"]) == ["01"]  # no lesson touched: the fallback


# ------------------------------------------------------------------ end to end

@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_a_tiny_run_classifies_caught_missed_and_stillborn(tmp_path):
    lesson, _ = meta.find_exercise(ROOT, "01")

    def mutant(number, find, replace, mistake):
        return mutants.Mutant("01", lesson["folder"], number, "udp_sender.cpp", find, replace,
                              mistake)

    chosen = [
        mutant(1, "message.data(), message.size(), 0, receiver.addr(),",
               "message.data(), message.size() / 2, 0, receiver.addr(),",
               "sends half of each message"),
        mutant(2, "// SOCK_DGRAM = UDP. No connect(), no listen()",
               "// SOCK_DGRAM = UDP. Neither connect() nor listen()", "a comment reworded"),
        mutant(3, "return 0;  // sock closes itself here", "return 0  // sock closes itself here",
               "a missing semicolon"),
    ]
    source = (ROOT / chosen[0].path).read_text(encoding="utf-8")
    results, _ = mutants.run(ROOT, [lesson], chosen, jobs=1, timeout=300, scratch=tmp_path)
    assert [r.status for r in results] == ["caught", "missed", "stillborn"], \
        mutants.report(results)
    caught, missed, stillborn = results
    assert caught.failure.startswith("test_lesson01") and caught.rebuilt == ["udp_sender"]
    assert missed.rebuilt == ["udp_sender"]  # rebuilt, even though the code is the same
    assert "error" in stillborn.detail
    assert (ROOT / chosen[0].path).read_text(encoding="utf-8") == source  # never touched
    assert list(tmp_path.iterdir()) == []  # the scratch trees are gone
    assert mutants.summary(results)[2] == "mutants: 1 caught of 2 (50%)"
