"""A failing test's report shows what happened on the wire (harness/course_harness/wire.py):
the transcript of what the test sent and received, expected and got as hex dumps
with the first differing offset marked, a packet capture that `tshark -r` reads,
a replay line, and, for a program that hangs, the system call it is blocked in.

Each is checked on a deliberately failing test, run by pytest in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAILING = '''
from course_harness import tcp_connect
from course_harness.peers import recv_exactly


def test_upper_echo(server):
    """The echo server is not an upper-casing one: this test must fail."""
    echo = server("tcp_echo_server")
    with tcp_connect(echo.port) as sock:
        sock.sendall(b"hello, wire\\n")
        answer = recv_exactly(sock, 12)
    assert answer == b"HELLO, WIRE\\n"


def test_receiver_that_hangs(run):
    """Nothing is ever sent to it: udp_receiver waits in recvfrom() until killed."""
    run("udp_receiver", "--port", "0", "--count", "1", timeout=1.5)
'''


@pytest.fixture(scope="module")
def report(tmp_path_factory, programs) -> dict:
    folder = tmp_path_factory.mktemp("failing")
    (folder / "test_failing.py").write_text(FAILING)
    out = folder / "report.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "harness"),
               COURSE_BIN_DIR=str(programs.bin_dir))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "course_harness.plugin", "-p",
         "no:cacheprovider", f"--course-report={out}", f"--course-capture={folder / 'pcap'}",
         "-o", "timeout=30", f"--rootdir={folder}", str(folder / "test_failing.py")],
        capture_output=True, text=True, timeout=120, cwd=folder, env=env)
    entries = {e["nodeid"].split("::")[-1]: e for e in json.loads(out.read_text())}
    return {"entries": entries, "output": done.stdout + done.stderr, "folder": folder}


def test_both_tests_fail(report):
    assert {e["outcome"] for e in report["entries"].values()} == {"failed"}, report["output"]


def test_a_transcript_lists_each_chunk_with_direction_size_and_time(report):
    wire = report["entries"]["test_upper_echo"]["wire"]
    assert "test -> 127.0.0.1:" in wire and "tcp" in wire, wire
    assert "12 bytes  b'hello, wire\\n'" in wire and "test <- 127.0.0.1:" in wire, wire
    assert " s  test" in wire  # the time since the test started


def test_expected_and_got_are_hex_dumps_with_the_first_difference_marked(report):
    message = report["entries"]["test_upper_echo"]["message"]
    assert "they first differ at offset 0" in message, message
    assert "00000000: 6865 6c6c 6f2c 2077 6972 650a" in message, message  # hello, wire
    assert "00000000: 4845 4c4c 4f2c 2057 4952 450a" in message, message  # HELLO, WIRE
    assert "^^ first difference, offset 0" in message


def test_a_replay_line_repeats_the_tests_input(report):
    wire = report["entries"]["test_upper_echo"]["wire"]
    assert "printf 'hello, wire\\x0a' | nc -q1 127.0.0.1 " in wire, wire


@pytest.mark.skipif(os.geteuid() != 0, reason="tcpdump needs root (CI runs as root)")
def test_a_pcap_of_the_failing_test_opens_in_tshark(report):
    wire = report["entries"]["test_upper_echo"]["wire"]
    pcaps = sorted((report["folder"] / "pcap").glob("*upper_echo*.pcap"))
    assert pcaps and f"tshark -r {pcaps[0]}" in wire, wire
    tshark = shutil.which("tshark")
    assert tshark, "tshark is in ./course setup's test packages"
    done = subprocess.run([tshark, "-r", str(pcaps[0]), "-Y", "tcp.payload", "-T", "fields",
                           "-e", "tcp.payload"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "68656c6c6f2c20776972650a" in done.stdout.replace(":", ""), done.stdout


def test_a_hang_says_where_the_program_waits(report):
    message = report["entries"]["test_receiver_that_hangs"]["message"]
    assert "did not finish within 1.5 s" in message, message
    assert "blocked in poll() on fd " in message or \
        "blocked in recv() [recvfrom] on fd " in message, message
    assert "(socket:[" in message  # the fd it waits on is a socket
    assert "During handling" not in message


def test_a_passing_test_keeps_no_capture(report):
    kept = {p.name for p in (report["folder"] / "pcap").glob("*.pcap")}
    assert all("upper_echo" in name or "hangs" in name for name in kept), kept
