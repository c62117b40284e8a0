"""Lesson 05 exercise: file_size_server (05.1). Points and hints: course.toml."""
import pytest

from course_harness import tcp_connect
from course_harness.peers import recv_all


def ask(port: int, name: bytes) -> bytes:
    with tcp_connect(port) as sock:
        sock.sendall(name)
        return recv_all(sock)


@pytest.fixture
def root(tmp_path):
    (tmp_path / "root" / "sub").mkdir(parents=True)
    (tmp_path / "root" / "hello.txt").write_bytes(b"hello")
    (tmp_path / "root" / "sub" / "big.bin").write_bytes(b"x" * 100_000)
    (tmp_path / "root" / "empty").write_bytes(b"")
    (tmp_path / "secret.txt").write_bytes(b"top secret")
    return tmp_path / "root"


def test_file_size_server_tells_the_size(server, root):
    sizes = server("file_size_server", "--root", root)
    answers = [ask(sizes.port, b"hello.txt"), ask(sizes.port, b"sub/big.bin")]
    assert answers == [b"5\n", b"100000\n"], (
        f"asked for b'hello.txt' (5 bytes) and b'sub/big.bin' (100000 bytes)\n"
        f"expected: [b'5\\n', b'100000\\n']\ngot:      {answers}\n{sizes.explain()}")


def test_file_size_server_tells_empty_from_missing(server, root):
    sizes = server("file_size_server", "--root", root)
    answers = [ask(sizes.port, b"empty"), ask(sizes.port, b"missing.txt")]
    assert answers == [b"0\n", b"no such file\n"], (
        f"asked for b'empty' (a 0-byte file) and b'missing.txt' (no such file)\n"
        f"expected: [b'0\\n', b'no such file\\n']\ngot:      {answers}\n{sizes.explain()}")


def test_file_size_server_answers_inside_its_root_only(server, root):
    """A file in the root gets its size; ../, an absolute path or a link out of the
    root is "no such file", even though the file it names exists."""
    sizes = server("file_size_server", "--root", root)
    (root / "link").symlink_to(root.parent / "secret.txt")
    outside = root.parent / "secret.txt"
    names = [b"hello.txt", b"../secret.txt", str(outside).encode(), b"link"]
    expected = [b"5\n"] + [b"no such file\n"] * 3
    answers = [ask(sizes.port, name) for name in names]
    wrong = [f"  {name!r}: expected {want!r}, got {got!r}"
             for name, want, got in zip(names, expected, answers) if got != want]
    assert answers == expected, (
        f"--root {root}; {outside} (10 bytes) exists but is outside it\n"
        f"asked for {names}\nexpected: {expected}\ngot:      {answers}\n"
        + "\n".join(wrong) + f"\n{sizes.explain()}")


def test_file_size_server_answers_files_not_folders(server, root):
    """A file gets its size; a folder (sub, sub/, .) is "no such file"."""
    sizes = server("file_size_server", "--root", root)
    names = [b"hello.txt", b"sub", b"sub/", b"."]
    expected = [b"5\n"] + [b"no such file\n"] * 3
    answers = [ask(sizes.port, name) for name in names]
    wrong = [f"  {name!r}: expected {want!r}, got {got!r}"
             for name, want, got in zip(names, expected, answers) if got != want]
    assert answers == expected, (
        f"--root {root}; hello.txt is a 5-byte file, sub and . are folders\n"
        f"asked for {names}\nexpected: {expected}\ngot:      {answers}\n"
        + "\n".join(wrong) + f"\n{sizes.explain()}")


@pytest.mark.hidden
def test_file_size_server_stays_inside_its_root(server, root):
    sizes = server("file_size_server", "--root", root)
    (root / "link").symlink_to(root.parent / "secret.txt")
    names = [b"../secret.txt", str(root.parent / "secret.txt").encode(), b"link", b"sub"]
    answers = [ask(sizes.port, name) for name in names]
    assert answers == [b"no such file\n"] * 4, (
        f"asked for names outside the root, and a folder: {names}\n"
        f"expected 'no such file' for each\ngot: {answers}\n{sizes.explain()}")
