#!/usr/bin/env python3
"""Benchmark: stream a 1 GiB file file_server -> file_client over loopback and
compare with iperf3 (one TCP stream, loopback) measured in the same run.

    /usr/bin/python3 harness/bench/file_stream.py [--bin-dir build/bin] [--rounds 3]

Prints MB/s for both, the ratio (target: >= 0.8x iperf3) and the peak RSS
(VmHWM) of file_server and file_client, which must stay small: the file is
streamed in chunks, never held in memory.

Rounds alternate iperf3 and file transfers so that both see the same machine
load; the best and the median round of each are reported, and the 0.8x
target is judged on the median of the per-round ratios (each round's transfer
against that round's iperf3), so that a fast round of one is never divided by
a slow round of the other on a VM whose speed drifts. Two file_client
runs per round:
  * "to stdout": `--output - > /dev/null`, the network path alone, like iperf3,
    which also throws the bytes away;
  * "to tmpfs": saved as a real file (NAME.part, then renamed) on /dev/shm,
    which adds the cost of allocating and filling 1 GiB of page cache; a
    local `cat FILE > tmpfs` (no network at all) is shown as its ceiling.
Not part of the default tests (it moves several GiB and takes ~30 s)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_file(path: Path, size: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            f.write(block[:min(left, len(block))])
            left -= len(block)
    with open(path, "rb") as f:  # warm the page cache: we measure the network, not the disk
        while f.read(1 << 22):
            pass


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return -1


def iperf3_round(size: int) -> float:
    """One iperf3 single-stream run of `size` bytes on loopback; MB/s received."""
    port = free_port()
    server = subprocess.Popen(["iperf3", "-s", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):  # wait until it listens (no probe connection: iperf3 counts it)
            if f":{port} " in subprocess.run(["ss", "-ltnH"], capture_output=True,
                                             text=True).stdout:
                break
            time.sleep(0.05)
        done = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-n", str(size),
                               "-J"], capture_output=True, text=True, timeout=120)
        report = json.loads(done.stdout)
        if "error" in report:
            raise RuntimeError("iperf3: " + report["error"])
        return report["end"]["sum_received"]["bits_per_second"] / 8 / 1e6
    finally:
        server.kill()
        server.wait()


def local_copy_round(source: Path, folder: Path) -> float:
    """MB/s of `cat FILE > tmpfs` with no network at all: the ceiling for saving to tmpfs."""
    target = folder / "copy.bin"
    started = time.monotonic()
    with open(target, "wb") as out:
        subprocess.run(["cat", str(source)], stdout=out, check=True)
    took = time.monotonic() - started
    size = target.stat().st_size
    target.unlink()
    return size / took / 1e6


def client_round(client: Path, port: int, name: str, size: int, output: str,
                 cwd: Path) -> tuple[float, int]:
    """One file_client download; (MB/s, peak RSS in KiB)."""
    started = time.monotonic()
    proc = subprocess.Popen([str(client), "--port", str(port), name, "--output", output],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    # Peak RSS from /proc/PID/status (VmHWM: the high-water mark of this
    # program's own memory since exec). Not getrusage(): its ru_maxrss would
    # include the forked Python parent's pages from before exec().
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, vm_hwm_kib(proc.pid))
        except (FileNotFoundError, ProcessLookupError):
            pass
        time.sleep(0.01)
    took = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"file_client failed: {proc.stderr.read().decode()}")
    if output != "-":
        got = (cwd / output).stat().st_size
        (cwd / output).unlink()
        if got != size:
            raise RuntimeError(f"file_client saved {got} bytes, expected {size}")
    return size / took / 1e6, peak


TARGET = 0.8  # file_server -> file_client, network path, against iperf3


def round_ratios(rates: list[float], reference: list[float]) -> list[float]:
    """Each round's rate over the same round's reference rate."""
    return [rate / ref for rate, ref in zip(rates, reference, strict=True)]


def summarise(iperf: list[float], to_stdout: list[float], to_tmpfs: list[float],
              copies: list[float]) -> tuple[list[str], bool]:
    """The report's lines (MB/s per round, best, median) and whether the network
    path meets TARGET, judged on the median of its per-round ratios to iperf3."""
    def line(label: str, rates: list[float]) -> str:
        per_round = statistics.median(round_ratios(rates, iperf))
        return (f"{label:<34} best {max(rates):7.0f} MB/s   median {statistics.median(rates):7.0f}"
                f" MB/s   per round {per_round:.2f}x iperf3")

    network = statistics.median(round_ratios(to_stdout, iperf))
    lines = [
        f"{'iperf3 (1 stream, loopback)':<34} best {max(iperf):7.0f} MB/s   median "
        f"{statistics.median(iperf):7.0f} MB/s",
        line("file_server -> file_client stdout", to_stdout),
        line("file_server -> file_client tmpfs", to_tmpfs),
        f"{'cat FILE > tmpfs (no network)':<34} best {max(copies):7.0f} MB/s; saving to tmpfs "
        f"reached {statistics.median(round_ratios(to_tmpfs, copies)):.2f}x of a local copy "
        "(median per round)",
        f"ratio (network path, median of per-round ratios): {network:.2f}x iperf3 "
        f"(best against best: {max(to_stdout) / max(iperf):.2f}x)",
    ]
    return lines, network >= TARGET


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", type=Path,
                        default=Path(os.environ.get("COURSE_BIN_DIR", ROOT / "build" / "bin")))
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plain", action="store_true",
                        help="run file_server's plain read()/send() loop instead of sendfile()")
    parser.add_argument("--chunk-size", type=int, default=256 * 1024,
                        help="file_server --chunk-size for --plain (bytes)")
    args = parser.parse_args()
    args.bin_dir = args.bin_dir.resolve()

    for tool in ("iperf3",):
        if not shutil.which(tool):
            sys.exit(f"error: {tool} is not installed (./course setup --ci installs it)")
    server_bin, client_bin = args.bin_dir / "file_server", args.bin_dir / "file_client"
    for program in (server_bin, client_bin):
        if not program.is_file():
            sys.exit(f"error: {program} is not built (./course build)")

    size = args.size_mib << 20
    scratch = Path(tempfile.mkdtemp(prefix="file-stream-",
                                    dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    try:
        served, saved = scratch / "root", scratch / "downloads"
        served.mkdir()
        saved.mkdir()
        print(f"making a {args.size_mib} MiB file in {served} ...", flush=True)
        make_file(served / "big.bin", size)

        mode = ["--plain", "--chunk-size", str(args.chunk_size)] if args.plain else []
        server = subprocess.Popen([str(server_bin), "--root", str(served), "--port", "0", *mode],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        port = int(server.stdout.readline().rsplit(":", 1)[1])
        iperf, to_stdout, to_tmpfs, client_rss, copies = [], [], [], [], []
        try:
            for n in range(1, args.rounds + 1):
                iperf.append(iperf3_round(size))
                rate, rss = client_round(client_bin, port, "big.bin", size, "-", saved)
                to_stdout.append(rate)
                client_rss.append(rss)
                rate, rss = client_round(client_bin, port, "big.bin", size, "big.bin", saved)
                to_tmpfs.append(rate)
                client_rss.append(rss)
                copies.append(local_copy_round(served / "big.bin", saved))
                print(f"round {n}: iperf3 {iperf[-1]:6.0f} MB/s   file to stdout "
                      f"{to_stdout[-1]:6.0f} MB/s ({to_stdout[-1] / iperf[-1]:.2f}x)   "
                      f"file to tmpfs {to_tmpfs[-1]:6.0f} MB/s   cat to tmpfs {copies[-1]:6.0f} MB/s",
                      flush=True)
            server_rss = vm_hwm_kib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=5)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print()
    print(f"file_server mode: {'plain read()/send(), ' + str(args.chunk_size) + ' B chunks' if args.plain else 'sendfile()'}; "
          f"{args.size_mib} MiB, {args.rounds} rounds; load average {os.getloadavg()[0]:.1f}")
    lines, ok = summarise(iperf, to_stdout, to_tmpfs, copies)
    print("\n".join(lines))
    print(f"peak RSS: file_server {server_rss / 1024:.1f} MiB, "
          f"file_client {max(client_rss) / 1024:.1f} MiB (file: {args.size_mib} MiB)")
    print(f"target: {'meets' if ok else 'BELOW'} the {TARGET}x iperf3 target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
