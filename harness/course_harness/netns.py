"""Private network namespaces for tests that must not touch the host's network
(lesson 20's `::` listener, lesson 21's broadcasts).

A namespace is a separate network stack: its own interfaces, addresses, routes
and ports. We create them with unique names, wire them with veth pairs or a
bridge, run programs inside with `ip netns exec`, and always delete them, even
when the test fails. Needs root (or CAP_SYS_ADMIN); CI runs as root.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import time
import uuid


def _run(argv: list[str], timeout: float = 10) -> subprocess.CompletedProcess:
    """Every `ip` command of this module goes through here (the tests replace it)."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = _run(["ip", *args])
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done


@functools.lru_cache(maxsize=None)
def unavailable_reason() -> str | None:
    """Why namespaces cannot be used here, or None when they can. It tries what
    the tests do, step by step: create two namespaces, bring their loopback up,
    run a command inside one (`ip netns exec`), make a bridge in one and a veth
    pair from it into the other. Creating a namespace is not enough: in a chroot
    (where / is not a mount point) `ip netns add` succeeds and the next step
    fails. Whatever happens, the probe's namespaces are deleted. Remembered for
    the rest of the run (unavailable_reason.cache_clear() forgets it)."""
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    first, second = Namespace("probe"), Namespace("probe")
    steps = [
        ("create a network namespace", lambda: first.create()),
        ("bring its loopback up", lambda: first.ip("link", "set", "lo", "up")),
        ("run a command inside it (ip netns exec)", lambda: first.exec_probe()),
        ("create a second namespace", lambda: second.__enter__()),
        ("create a bridge inside a namespace",
         lambda: first.ip("link", "add", "br0", "type", "bridge")),
        ("create a veth pair between two namespaces",
         lambda: first.ip("link", "add", "port1", "type", "veth", "peer", "name", "eth0",
                          "netns", second.name)),
        ("plug the veth into the bridge", lambda: first.ip("link", "set", "port1", "master",
                                                           "br0")),
    ]
    try:
        for what, step in steps:
            try:
                step()
            except (RuntimeError, OSError, subprocess.SubprocessError) as failure:
                return (f"cannot {what}: {failure}; these tests need root (or CAP_SYS_ADMIN) "
                        f"outside a chroot (uid is {os.geteuid()})")
        return None
    finally:
        first.delete()
        second.delete()


class Namespace:
    """One network namespace with its loopback up; a context manager."""

    def __init__(self, label: str):
        # Unique per test and per xdist worker: names live in a host-wide list.
        self.name = f"course-{label}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.created = False

    def __enter__(self) -> "Namespace":
        self.create()
        try:
            self.ip("link", "set", "lo", "up")
        except BaseException:
            self.delete()  # a namespace half set up is still a namespace: never leave it
            raise
        return self

    def create(self) -> None:
        self.created = True  # from here on delete() tries, even if `add` says it failed
        try:
            ip("netns", "add", self.name)
        except BaseException:
            self.delete()
            raise

    def exec_probe(self) -> None:
        """`true` inside the namespace: `ip netns exec` must be able to enter it."""
        done = _run(self.argv("true"))
        if done.returncode != 0:
            raise RuntimeError(f"ip netns exec {self.name} true failed: "
                               f"{done.stderr.strip() or f'exit status {done.returncode}'}")

    def __exit__(self, *exc) -> None:
        self.delete()

    def delete(self) -> None:
        if not self.created:
            return
        self.created = False
        # Anything still running inside would keep the namespace alive: stop it.
        try:
            pids = ip("netns", "pids", self.name, check=False).stdout.split()
        except (OSError, subprocess.SubprocessError):
            pids = []
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        try:
            ip("netns", "del", self.name, check=False)
        except (OSError, subprocess.SubprocessError):
            pass

    def argv(self, *command: object) -> list[str]:
        """The command line that runs `command` inside this namespace."""
        return ["ip", "netns", "exec", self.name, *map(str, command)]

    def run(self, *command: object, timeout: float = 10) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*command), capture_output=True, text=True,
                              timeout=timeout)

    def ip(self, *args: str) -> subprocess.CompletedProcess:
        return ip("-n", self.name, *args)


class Lan:
    """A little Ethernet: a bridge in its own "switch" namespace, and one
    namespace per host plugged into it with a veth pair, addressed
    10.200.1.1/24, 10.200.1.2/24, ... Nothing is created on the host."""

    def __init__(self, hosts: int, subnet: str = "10.200.1"):
        self.subnet = subnet
        self.switch = Namespace("switch")
        self.hosts = [Namespace(f"host{i + 1}") for i in range(hosts)]

    def address(self, index: int) -> str:
        return f"{self.subnet}.{index + 1}"

    @property
    def broadcast(self) -> str:
        return f"{self.subnet}.255"

    def __enter__(self) -> "Lan":
        try:
            self.switch.__enter__()
            self.switch.ip("link", "add", "br0", "type", "bridge")
            self.switch.ip("link", "set", "br0", "up")
            for i, host in enumerate(self.hosts):
                host.__enter__()
                port = f"port{i + 1}"
                # One veth pair per host: "port" stays on the switch, "eth0" goes into the host.
                self.switch.ip("link", "add", port, "type", "veth", "peer", "name", "eth0",
                               "netns", host.name)
                self.switch.ip("link", "set", port, "master", "br0")
                self.switch.ip("link", "set", port, "up")
                host.ip("addr", "add", f"{self.address(i)}/24", "broadcast", self.broadcast,
                        "dev", "eth0")
                host.ip("link", "set", "eth0", "up")
            self.wait_until_forwarding()
        except BaseException:
            self.__exit__()
            raise
        return self

    def wait_until_forwarding(self, timeout: float = 5) -> None:
        """Until the bridge forwards through every port. A veth's carrier on the
        switch side comes up in a kernel worker thread (linkwatch) after `ip link
        set up` has returned: until then the port's queue drops what it should
        send and the bridge does not forward through it, so a first broadcast a
        few milliseconds after the setup could be lost. Each port that `ip -d
        link` shows UP and forwarding has been through that step."""
        deadline = time.monotonic() + timeout
        while True:
            links = json.loads(self.switch.ip("-d", "-j", "link", "show").stdout or "[]")
            ports = [(link.get("operstate"),
                      link.get("linkinfo", {}).get("info_slave_data", {}).get("state"))
                     for link in links if link.get("ifname", "").startswith("port")]
            if len(ports) == len(self.hosts) and all(p == ("UP", "forwarding") for p in ports):
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(f"the test LAN's bridge ports never all came up forwarding "
                                   f"within {timeout} s: {ports}")
            time.sleep(0.005)

    def __exit__(self, *exc) -> None:
        for host in self.hosts:
            host.delete()
        self.switch.delete()
