"""harness/course_harness/netns.py without root: `ip` is replaced by a fake that
keeps a list of namespaces and fails the step a test chooses. The probe
(unavailable_reason) must name the step that failed, and neither the probe nor
Namespace may leave a namespace behind, whichever step fails (in a chroot
`ip netns add` works and bringing the loopback up does not)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_harness import netns  # noqa: E402


class FakeIp:
    """`ip` with namespaces as a set. `fail` names a step: the first command that
    matches it exits 1 (a failing `netns add` may still have made the namespace,
    as ip does when the mount that follows the mkdir fails)."""

    STEPS = {
        "netns add": lambda argv: argv[1:3] == ["netns", "add"],
        "lo up": lambda argv: argv[-4:] == ["link", "set", "lo", "up"],
        "netns exec": lambda argv: argv[1:3] == ["netns", "exec"],
        "bridge": lambda argv: argv[-2:] == ["type", "bridge"],
        "veth": lambda argv: "veth" in argv,
        "master": lambda argv: "master" in argv,
    }

    def __init__(self, fail: str | None = None):
        self.fail = fail
        self.namespaces: set[str] = set()
        self.made: list[str] = []
        self.commands: list[list[str]] = []

    def __call__(self, argv, timeout=10):
        argv = list(argv)
        self.commands.append(argv)
        assert argv[0] == "ip", argv
        failing = self.fail is not None and self.STEPS[self.fail](argv)
        if argv[1:3] == ["netns", "add"]:
            self.namespaces.add(argv[3])
            self.made.append(argv[3])
        elif argv[1:3] == ["netns", "del"]:
            if argv[3] not in self.namespaces:
                return subprocess.CompletedProcess(argv, 1, "", "No such file or directory")
            self.namespaces.discard(argv[3])
        elif argv[1:3] == ["netns", "pids"]:
            return subprocess.CompletedProcess(argv, 0, "", "")
        elif argv[1] == "-n" or argv[1:3] == ["netns", "exec"]:
            if argv[2 if argv[1] == "-n" else 3] not in self.namespaces:
                return subprocess.CompletedProcess(argv, 1, "", "Cannot open network namespace")
        if failing:
            self.fail = None  # the first matching command fails, the cleanup does not
            return subprocess.CompletedProcess(argv, 1, "", f"simulated failure: {' '.join(argv)}")
        return subprocess.CompletedProcess(argv, 0, "", "")


@pytest.fixture
def fake_ip(monkeypatch):
    def install(fail=None):
        fake = FakeIp(fail)
        monkeypatch.setattr(netns, "_run", fake)
        monkeypatch.setattr(netns.shutil, "which", lambda name: f"/usr/sbin/{name}")
        return fake
    netns.unavailable_reason.cache_clear()
    yield install
    netns.unavailable_reason.cache_clear()


def test_the_probe_passes_when_every_step_works_and_leaves_nothing(fake_ip):
    fake = fake_ip()
    assert netns.unavailable_reason() is None
    assert len(fake.made) == 2 and not fake.namespaces
    done = {" ".join(c[3:] if c[1] == "-n" else c[1:3]) for c in fake.commands}
    for step in ("netns add", "link set lo up", "netns exec", "link add br0 type bridge",
                 "link set port1 master br0"):
        assert step in done, (step, fake.commands)


@pytest.mark.parametrize("step, says", [
    ("netns add", "cannot create a network namespace"),
    ("lo up", "cannot bring its loopback up"),
    ("netns exec", "cannot run a command inside it (ip netns exec)"),
    ("bridge", "cannot create a bridge"),
    ("veth", "cannot create a veth pair"),
    ("master", "cannot plug the veth into the bridge"),
])
def test_the_probe_names_the_failing_step_and_deletes_its_namespaces(fake_ip, step, says):
    fake = fake_ip(step)
    reason = netns.unavailable_reason()
    assert reason is not None and reason.startswith(says), reason
    assert "simulated failure" in reason, reason  # what ip said is passed on
    assert fake.made and not fake.namespaces, f"left behind: {fake.namespaces}"


def test_the_probe_is_remembered(fake_ip):
    fake = fake_ip("lo up")
    first = netns.unavailable_reason()
    count = len(fake.commands)
    assert netns.unavailable_reason() == first and len(fake.commands) == count


def test_no_ip_command(fake_ip, monkeypatch):
    fake_ip()
    monkeypatch.setattr(netns.shutil, "which", lambda name: None)
    assert "iproute2" in netns.unavailable_reason()


@pytest.mark.parametrize("step", ["netns add", "lo up"])
def test_a_namespace_that_fails_to_set_up_is_deleted(fake_ip, step):
    fake = fake_ip(step)
    space = netns.Namespace("t")
    with pytest.raises(RuntimeError, match="simulated failure"):
        with space:
            pytest.fail("the body must not run")
    assert fake.made == [space.name] and not fake.namespaces


def test_a_lan_that_fails_half_way_deletes_every_namespace(fake_ip):
    fake = fake_ip("veth")
    with pytest.raises(RuntimeError, match="simulated failure"):
        with netns.Lan(2):
            pytest.fail("the body must not run")
    assert fake.made and not fake.namespaces


def test_a_namespace_is_deleted_after_its_block(fake_ip):
    fake = fake_ip()
    with netns.Namespace("t") as space:
        assert fake.namespaces == {space.name}
    assert not fake.namespaces


def test_the_real_probe_leaves_no_namespace():
    """On this machine, whatever it can do: the probe's namespaces are gone after it."""
    netns.unavailable_reason.cache_clear()
    try:
        reason = netns.unavailable_reason()
    finally:
        netns.unavailable_reason.cache_clear()
    if reason and "iproute2" in reason:
        pytest.skip(reason)
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"course-probe-{os.getpid()}-" not in listed, listed
