"""Lesson 20 exercise: addr_lookup (20.1). Points and hints: course.toml.

Only address literals and `localhost` are looked up on the host (no DNS). The
tests with names of several addresses run in a private mount namespace (made by
root, or inside a user namespace of the test's own), with the test's own
/etc/hosts and an /etc/nsswitch.conf that never asks DNS: they do not depend on
what this machine's /etc/hosts says about localhost."""

from __future__ import annotations

import os
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
    """An IPv4 literal is its one address; one that is no address is an error."""
    result = run("addr_lookup", "127.0.0.1", 8080).ok()
    assert result.lines == ["IPv4 127.0.0.1:8080"], (
        f"looked up 127.0.0.1 port 8080\nexpected one line: IPv4 127.0.0.1:8080\n"
        f"{result.explain()}")
    bad = run("addr_lookup", "--numeric", "999.1.1.1")
    assert bad.returncode == 1 and bad.stderr.startswith("error: resolve 999.1.1.1: ") and \
        bad.stdout == "", (
            f"999.1.1.1 is no address: expected 'error: resolve 999.1.1.1: ...' and exit "
            f"status 1\n{bad.explain()}")


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


# This test's own /etc/hosts: names with several addresses, IPv4 and IPv6.
HOSTS = """127.0.0.1 localhost
127.0.0.1 course-many
127.0.0.2 course-many
127.0.0.3 course-many
10.20.30.40 course-other
192.0.2.1 course-other
"""
HOSTS_V6 = "::1 course-many\n::1 course-other\n"


def in_private_resolver(tmp: Path, program: Path, *args) -> subprocess.CompletedProcess:
    """Runs `program` in a private mount namespace where /etc/hosts is HOSTS and
    /etc/nsswitch.conf says 'hosts: files' (so no name is ever sent to DNS). Root
    makes the namespace directly; another user inside a user namespace of its own
    (where it is root), when the system allows that."""
    hosts, nss = tmp / "hosts", tmp / "nsswitch.conf"
    hosts.write_text(HOSTS + ("" if NO_IPV6 else HOSTS_V6))
    nss.write_text("hosts: files\n")
    script = (f"mount --bind {hosts} /etc/hosts && mount --bind {nss} /etc/nsswitch.conf && "
              'exec "$0" "$@"')
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return subprocess.run(["unshare", *user, "--mount", "sh", "-c", script, str(program),
                           *map(str, args)], capture_output=True, text=True, timeout=5)


@pytest.fixture
def private_resolver():
    """resolve(program, *args) runs it with this test's own /etc/hosts (see
    in_private_resolver); skips the test, with the reason, where that cannot be done."""
    tmp = Path(tempfile.mkdtemp(prefix="l20x-"))
    try:
        why = None
        if shutil.which("unshare") is None:
            why = "the unshare command (util-linux) is not installed"
        else:
            probe = in_private_resolver(tmp, Path("/bin/true"))
            if probe.returncode != 0:
                why = (f"cannot make a private mount namespace ({probe.stderr.strip()}): run "
                       f"the tests as root")
        if why:
            pytest.skip(f"this test looks names up in its own /etc/hosts: {why}")
        yield lambda program, *args: in_private_resolver(tmp, program, *args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_every_address(resolve, programs, name: str, port: int) -> None:
    # The order is getaddrinfo's (RFC 6724 sorting): ask Python, in the same namespace.
    want = resolve(Path(sys.executable), "-c", EXPECTED, name, port).stdout.splitlines()
    listed = [line for line in (HOSTS + ("" if NO_IPV6 else HOSTS_V6)).splitlines()
              if line.endswith(" " + name)]
    assert len(want) == len(listed), f"Python found {want} for {name}, /etc/hosts has {listed}"
    done = resolve(programs.path("addr_lookup"), name, port)
    got = done.stdout.splitlines()
    hint = ""
    if got == want[:1]:
        hint = ("\nonly the first address: getaddrinfo returns a list; follow ai_next from "
                "`first` until it is nullptr")
    if done.returncode != 0 or got != want:
        pytest.fail(
            f"ran addr_lookup {name} {port}, with this test's own /etc/hosts, where {name} has "
            f"{len(listed)} addresses: {[line.split()[0] for line in listed]}\n"
            f"expected exit status 0 and these lines, in this order (getaddrinfo's, as Python's "
            f"socket.getaddrinfo finds them there):\n  {want}\n"
            f"got (exit status {done.returncode}):\n  {got}{hint}\nstderr: {done.stderr!r}",
            pytrace=False)


def check_not_found(resolve, programs, name: str) -> None:
    done = resolve(programs.path("addr_lookup"), name)
    if not (done.returncode == 1 and done.stderr.startswith(f"error: resolve {name}: ")
            and done.stdout == ""):
        pytest.fail(
            f"ran addr_lookup {name}, a name this test's /etc/hosts does not have (and DNS is "
            f"never asked)\nexpected 'error: resolve {name}: ...' on stderr, nothing on stdout, "
            f"exit status 1\ngot exit status {done.returncode}\nstdout: {done.stdout!r}\n"
            f"stderr: {done.stderr!r}", pytrace=False)


def test_lookup_a_name_with_several_addresses(private_resolver, programs):
    """Every address getaddrinfo finds is printed, in its order; a name that does not
    resolve is an error."""
    check_every_address(private_resolver, programs, "course-many", 7)
    check_not_found(private_resolver, programs, "no-such-host.invalid")


@pytest.mark.hidden
def test_lookup_every_address_in_order_and_errors(private_resolver, programs):
    """Every address getaddrinfo finds is printed, in its order; a name that does not
    resolve is an error (other names)."""
    check_every_address(private_resolver, programs, "course-other", 65535)
    check_not_found(private_resolver, programs, "course-nowhere")
