"""Lesson 20 exercise: addr_lookup (20.1). Points and hints: course.toml.

Only address literals and `localhost` are looked up on the host (no DNS). The
test with a name of many addresses runs in a private mount namespace, with its
own /etc/hosts and an /etc/nsswitch.conf that never asks DNS."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from course_harness import ipv6_disabled_reason

NO_IPV6 = ipv6_disabled_reason()

# What Python's socket.getaddrinfo (the same C library call) finds, written the course's way.
EXPECTED = """
import socket, sys
for family, _, _, _, address in socket.getaddrinfo(sys.argv[1], int(sys.argv[2]),
                                                   socket.AF_UNSPEC, socket.SOCK_STREAM):
    print(f"IPv6 [{address[0]}]:{address[1]}" if family == socket.AF_INET6
          else f"IPv4 {address[0]}:{address[1]}")
"""


def expected_lines(host: str, port: int) -> list[str]:
    done = subprocess.run([sys.executable, "-c", EXPECTED, host, str(port)],
                          capture_output=True, text=True, timeout=5, check=True)
    return done.stdout.splitlines()


def test_lookup_an_ipv4_literal(run):
    result = run("addr_lookup", "127.0.0.1", 8080).ok()
    assert result.lines == ["IPv4 127.0.0.1:8080"], (
        f"looked up 127.0.0.1 port 8080\nexpected one line: IPv4 127.0.0.1:8080\n"
        f"{result.explain()}")


@pytest.mark.skipif(NO_IPV6 is not None, reason=NO_IPV6 or "")
def test_lookup_an_ipv6_literal(run):
    result = run("addr_lookup", "::1", 8080).ok()
    assert result.lines == ["IPv6 [::1]:8080"], (
        f"looked up ::1 port 8080\nexpected one line: IPv6 [::1]:8080\n{result.explain()}")
    result = run("addr_lookup", "::1").ok()
    assert result.lines == ["IPv6 [::1]:80"], (
        f"looked up ::1 without a port (80 by default)\nexpected one line: IPv6 [::1]:80\n"
        f"{result.explain()}")


def test_lookup_localhost_like_python(run):
    want = expected_lines("localhost", 8020)
    result = run("addr_lookup", "localhost", 8020).ok()
    assert result.lines == want, (
        f"looked up localhost port 8020\nexpected these lines, in this order (what Python's "
        f"socket.getaddrinfo finds here): {want}\n{result.explain()}")


HOSTS = """127.0.0.1 localhost
127.0.0.1 course-many
127.0.0.2 course-many
127.0.0.3 course-many
"""
HOSTS_V6 = "::1 course-many\n"


def in_private_resolver(tmp: Path, program: Path, *args) -> subprocess.CompletedProcess:
    """Runs `program` in a private mount namespace where /etc/hosts is HOSTS and
    /etc/nsswitch.conf says 'hosts: files' (so no name is ever sent to DNS)."""
    hosts, nss = tmp / "hosts", tmp / "nsswitch.conf"
    hosts.write_text(HOSTS + ("" if NO_IPV6 else HOSTS_V6))
    nss.write_text("hosts: files\n")
    script = (f"mount --bind {hosts} /etc/hosts && mount --bind {nss} /etc/nsswitch.conf && "
              'exec "$0" "$@"')
    return subprocess.run(["unshare", "--mount", "sh", "-c", script, str(program), *map(str, args)],
                          capture_output=True, text=True, timeout=5)


def private_resolver_unavailable(tmp: Path) -> str | None:
    if shutil.which("unshare") is None:
        return "the unshare command (util-linux) is not installed"
    probe = in_private_resolver(tmp, Path("/bin/true"))
    if probe.returncode != 0:
        return f"cannot make a private mount namespace (needs root): {probe.stderr.strip()}"
    return None


@pytest.mark.hidden
def test_lookup_every_address_in_order_and_errors(run, programs):
    bad = run("addr_lookup", "--numeric", "999.1.1.1")
    assert bad.returncode == 1 and bad.stderr.startswith("error: ") and \
        "999.1.1.1" in bad.stderr and bad.stdout == "", (
            f"999.1.1.1 is no address: expected 'error: ...' naming it and exit status 1\n"
            f"{bad.explain()}")

    tmp = Path(tempfile.mkdtemp(prefix="l20x-"))
    try:
        reason = private_resolver_unavailable(tmp)
        if reason:
            pytest.skip(f"the many-address lookup needs a private /etc/hosts: {reason}")
        # The order is getaddrinfo's (RFC 6724 sorting): ask Python, in the same namespace.
        want = in_private_resolver(tmp, Path(sys.executable), "-c", EXPECTED, "course-many",
                                   7).stdout.splitlines()
        assert len(want) == HOSTS.count("course-many") + (0 if NO_IPV6 else 1), want
        done = in_private_resolver(tmp, programs.path("addr_lookup"), "course-many", 7)
        assert done.returncode == 0 and done.stdout.splitlines() == want, (
            f"looked up course-many, a name with {len(want)} addresses\nexpected these lines, "
            f"in this order: {want}\n"
            f"got (status {done.returncode}): {done.stdout.splitlines()}\n{done.stderr}")
        lost = in_private_resolver(tmp, programs.path("addr_lookup"), "no-such-host.invalid")
        assert lost.returncode == 1 and lost.stderr.startswith("error: ") and \
            "no-such-host.invalid" in lost.stderr, (
                f"looked up no-such-host.invalid (a name that never resolves)\nexpected "
                f"'error: ...' and exit status 1\ngot status {lost.returncode}\n"
                f"stdout: {lost.stdout!r}\nstderr: {lost.stderr!r}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
