"""Private network namespaces for tests that must not touch the host's network
(lesson 20's `::` listener, lesson 21's broadcasts).

A namespace is a separate network stack: its own interfaces, addresses, routes
and ports. We create them with unique names, wire them with veth pairs or a
bridge, run programs inside with `ip netns exec`, and always delete them, even
when the test fails. Needs root (or CAP_SYS_ADMIN); CI runs as root.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def unavailable_reason() -> str | None:
    """Why namespaces cannot be made here, or None when they can (tries one)."""
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    name = f"course-probe-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    done = ip("netns", "add", name, check=False)
    if done.returncode != 0:
        return (f"cannot create a network namespace ({done.stderr.strip() or 'ip netns add failed'}); "
                f"this test needs root (uid is {os.geteuid()})")
    ip("netns", "del", name, check=False)
    return None


class Namespace:
    """One network namespace with its loopback up; a context manager."""

    def __init__(self, label: str):
        # Unique per test and per xdist worker: names live in a host-wide list.
        self.name = f"course-{label}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.created = False

    def __enter__(self) -> "Namespace":
        ip("netns", "add", self.name)
        self.created = True
        ip("-n", self.name, "link", "set", "lo", "up")
        return self

    def __exit__(self, *exc) -> None:
        self.delete()

    def delete(self) -> None:
        if not self.created:
            return
        # Anything still running inside would keep the namespace alive: stop it.
        pids = ip("netns", "pids", self.name, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        ip("netns", "del", self.name, check=False)
        self.created = False

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
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for host in self.hosts:
            host.delete()
        self.switch.delete()
