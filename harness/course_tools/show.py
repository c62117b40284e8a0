"""./course run, demo and capture: start a lesson's server, run its client
against it, show both sides' output; capture records that with tshark."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .build import build
from .console import CourseError, paint, say
from .project import BUILD, find_lesson


def show_output(who: str, text: str) -> None:
    for line in text.splitlines():
        print(f"  {paint(who, 'dim')} | {line}")


def run_lesson(key: str, before_client=None) -> int:
    """`before_client(port)`, if given, runs once the server is ready (./course capture)."""
    lesson = find_lesson(key)
    demo = lesson.get("demo")
    if not demo:
        raise CourseError(f"lesson {lesson['number']} has no demo; see its page in docs/")
    # COURSE_BIN_DIR (set by ./course test for pytest) names programs already built.
    bin_dir = Path(os.environ["COURSE_BIN_DIR"]) if os.environ.get("COURSE_BIN_DIR") \
        else build(quiet=True) / "bin"
    say(f"lesson {lesson['number']}: {lesson['title']}")
    # demo.port = false: the programs take no --port (lesson 18's Unix sockets use --path).
    port0 = ["--port", "0"] if demo.get("port", True) else []
    server_argv = [str(bin_dir / demo["server"][0]), *demo["server"][1:], *port0]
    print(paint("$ " + shlex.join([demo["server"][0], *demo["server"][1:], *port0]), "bold"))
    server = subprocess.Popen(server_argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.PIPE, text=True, cwd=demo.get("cwd"))
    ready = server.stdout.readline().strip()
    match = re.search(r":(\d+)$", ready) if port0 else re.search(r" unix:(.+)$", ready)
    if not match:
        server.kill()
        raise CourseError(f"the server did not start: {ready or server.stderr.read()}")
    port = match.group(1)
    show_output("server", ready)
    if demo.get("server_input"):  # what a person would type into the server (lesson 09)
        server.stdin.write(demo["server_input"])
        server.stdin.flush()
    if before_client:
        before_client(port)
    client = [demo["client"][0], *demo["client"][1:], *(["--port", port] if port0 else [])]
    print(paint("$ " + shlex.join(client) + (f"   (stdin: {demo['input']!r})"
                                           if demo.get("input") else ""), "bold"))
    done = subprocess.run([str(bin_dir / client[0]), *client[1:]], input=demo.get("input", ""),
                          capture_output=True, text=True, timeout=30)
    show_output("client", done.stdout + done.stderr)
    time.sleep(0.2)
    server.send_signal(signal.SIGTERM)
    out, err = server.communicate(timeout=5)
    show_output("server", out + err)
    ok = done.returncode == 0 and server.returncode == 0
    say("both sides exited cleanly" if ok else
        f"client exit {done.returncode}, server exit {server.returncode}")
    return 0 if ok else 1


def capture(key: str, output: str | None) -> int:
    """Records a lesson's demo (./course run) with tshark on loopback, as a pcap
    that Wireshark opens. Only the demo's port is captured (a capture filter)."""
    tshark = shutil.which("tshark")
    if not tshark:
        raise CourseError("tshark is not installed; ./course setup installs it")
    lesson = find_lesson(key)
    if lesson.get("demo", {}).get("port", True) is False:
        raise CourseError(f"lesson {lesson['number']}'s demo uses no TCP/UDP port: "
                          "nothing to capture")
    path = Path(output) if output else BUILD / "captures" / f"lesson-{lesson['number']}.pcapng"
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    recorder: list[subprocess.Popen] = []

    def start_recording(port: str) -> None:
        say(f"recording loopback traffic on port {port} with tshark")
        log = open(path.with_suffix(".log"), "w+")
        proc = subprocess.Popen([tshark, "-i", "lo", "-f", f"port {port}", "-w", str(path)],
                                stdout=subprocess.DEVNULL, stderr=log, text=True)
        recorder.append(proc)
        # tshark says "Capturing on 'Loopback: lo'", and a moment later (4.x)
        # "Capture started": only then are packets really being recorded.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            log.seek(0)
            text = log.read()
            if "Capture started" in text or ("Capturing on" in text and
                                             time.monotonic() > deadline - 17):
                time.sleep(0.3)
                return
            time.sleep(0.1)
        proc.kill()
        log.seek(0)
        raise CourseError("tshark did not start capturing (may you capture on lo? try sudo):\n"
                          + log.read())

    status = run_lesson(key, before_client=start_recording)
    if recorder:
        time.sleep(0.5)  # the last FIN/ACKs
        recorder[0].send_signal(signal.SIGINT)
        try:
            recorder[0].communicate(timeout=10)
        except subprocess.TimeoutExpired:
            recorder[0].kill()
    path.with_suffix(".log").unlink(missing_ok=True)
    if not path.exists():
        raise CourseError("tshark wrote no capture file")
    say("the packets (tshark -r):")
    subprocess.run([tshark, "-r", str(path)], check=False)
    say(f"capture written to {path}")
    print(f"open it with:  wireshark {path}   or   tshark -r {path} -V")
    return status
