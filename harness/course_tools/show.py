"""./course run, demo and capture: start a lesson's server, run its client
against it, show both sides' output; capture records that with tshark."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from .build import build
from .console import CourseError, paint, say
from .project import BUILD, find_lesson


class Transcript:
    """Both programs' output on one timeline, as it happens. Each program's stdout
    and stderr share one pipe, so its own lines keep the order it printed them in
    (every course program flushes each line); the two programs' pipes are read by
    one thread each, and every line is printed the moment it arrives. Reading a
    program's stdout to its end and only then its stderr (as capturing them apart
    would) scrambles the story: the server's "connected" after the client's goodbye."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pumps: list[threading.Thread] = []

    def say(self, text: str) -> None:
        with self.lock:
            print(text, flush=True)

    def line(self, who: str, text: str) -> None:
        self.say(f"  {paint(who, 'dim')} | {text.rstrip(chr(10))}")

    def follow(self, who: str, stream) -> None:
        def pump() -> None:
            for text in stream:
                self.line(who, text)
        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        self.pumps.append(thread)

    def finish(self, timeout: float = 5) -> None:
        for thread in self.pumps:
            thread.join(timeout)


READY = re.compile(r"^(listening on|bound to) ")


def start_program(argv: list[str], cwd=None) -> subprocess.Popen:
    """stdout and stderr through one pipe: the program's lines in the order it printed them."""
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.PIPE, text=True, encoding="utf-8",
                            errors="backslashreplace", cwd=cwd)


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
    out = Transcript()
    # demo.port = false: the programs take no --port (lesson 18's Unix sockets use --path).
    port0 = ["--port", "0"] if demo.get("port", True) else []
    server_argv = [str(bin_dir / demo["server"][0]), *demo["server"][1:], *port0]
    out.say(paint("$ " + shlex.join([demo["server"][0], *demo["server"][1:], *port0]), "bold"))
    server = start_program(server_argv, cwd=demo.get("cwd"))
    # The readiness line comes first on stdout; a server may log to stderr before it.
    early: list[str] = []
    while True:
        text = server.stdout.readline()
        if not text or READY.match(text) or len(early) >= 20:
            break
        early.append(text)
        out.line("server", text)
    ready = text.strip()
    match = re.search(r":(\d+)$", ready) if port0 else re.search(r" unix:(.+)$", ready)
    if not READY.match(ready) or not match:
        server.kill()
        rest = server.communicate(timeout=5)[0]
        raise CourseError(f"the server did not start: {''.join(early) + ready + chr(10) + rest}")
    port = match.group(1)
    out.line("server", ready)
    out.follow("server", server.stdout)
    if demo.get("server_input"):  # what a person would type into the server (lesson 09)
        server.stdin.write(demo["server_input"])
        server.stdin.flush()
    if before_client:
        before_client(port)
    client = [demo["client"][0], *demo["client"][1:], *(["--port", port] if port0 else [])]
    out.say(paint("$ " + shlex.join(client) + (f"   (stdin: {demo['input']!r})"
                                               if demo.get("input") else ""), "bold"))
    talker = start_program([str(bin_dir / client[0]), *client[1:]])
    out.follow("client", talker.stdout)
    try:
        talker.stdin.write(demo.get("input", ""))
        talker.stdin.close()
    except BrokenPipeError:  # a client that does not read its stdin
        pass
    try:
        talker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        talker.kill()
        talker.wait()
    time.sleep(0.2)
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    out.finish()
    ok = talker.returncode == 0 and server.returncode == 0
    say("both sides exited cleanly" if ok else
        f"client exit {talker.returncode}, server exit {server.returncode}")
    return 0 if ok else 1


def capture(key: str, output: str | None, svg: str | None = None) -> int:
    """Records a lesson's demo (./course run) with tshark on loopback, as a pcap
    that Wireshark opens. Only the demo's port is captured (a capture filter).
    svg: also draw the packets as a ladder diagram into that SVG file ("": next
    to the pcap, with .svg for its suffix)."""
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
    ports: list[str] = []

    def start_recording(port: str) -> None:
        ports.append(port)
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
    if svg is not None:
        drawn = Path(svg).resolve() if svg else path.with_suffix(".svg")
        draw_ladder(tshark, path, drawn, lesson, int(ports[0]) if ports else None)
        say(f"ladder diagram written to {drawn}")
    return status


def draw_ladder(tshark: str, pcap: Path, out: Path, lesson: dict, port: int | None) -> None:
    """The capture as a ladder diagram (ladder.py): tshark reads the pcap's fields."""
    from . import ladder
    done = subprocess.run([tshark, "-r", str(pcap), *ladder.TSHARK_ARGS], capture_output=True,
                          text=True, encoding="utf-8", errors="replace", check=False)
    if done.returncode != 0:
        raise CourseError(f"tshark could not read {pcap}:\n{done.stderr}")
    packets = ladder.packets_from_tshark(done.stdout)
    if not packets:
        raise CourseError(f"{pcap} holds no TCP or UDP packet to draw")
    demo = lesson["demo"]
    svg = ladder.ladder_svg(
        packets, server_port=port, title=f"Lesson {lesson['number']}: {lesson['title']}",
        commands=(shlex.join(demo["server"]), shlex.join(demo["client"])),
        footnote=f"a real capture: ./course capture {lesson['number']} --svg")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(svg, encoding="utf-8")
