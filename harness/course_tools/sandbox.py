"""Keeping a submission's programs away from its grade.

A grade is only worth something if the graded code cannot touch it. When the
grader runs as root (Gradescope, PrairieLearn and GitHub's runners all allow it)
a submission is graded like this:

  * its programs are built, and run, as an unprivileged user of their own (one
    uid per test worker, from a block no real account uses), so they cannot
    write the course, the build, the report or another worker's files, cannot
    read the hidden tests (mode 0600, root's), and cannot signal the grader;
  * after every test, every process of that uid is killed, so nothing a test
    started outlives it;
  * the whole test run gets a network namespace of its own (only a loopback),
    so parallel gradings never meet on a port and nothing reaches the network.

Without root none of this is possible, and the report says so
(`sandbox.isolated: false`): such a grade is feedback for the student, not a
grade an instructor should sign."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

UID_BASE = 61000      # uids 61000-61999: above Debian's dynamic range, below nobody
UIDS_PER_JOB = 8      # one per pytest-xdist worker of one submission
ENV_UID_BASE = "COURSE_SANDBOX_UID_BASE"   # read by harness/course_harness/plugin.py
ENV_UID = "COURSE_SANDBOX_UID"             # set by the plugin, read by the wrappers

WRAPPER = """#!/bin/sh
# A submission's program, run as this test worker's sandbox user (course_tools/sandbox.py).
[ -n "${COURSE_SANDBOX_UID:-}" ] || { echo "sandbox: COURSE_SANDBOX_UID is not set" >&2; exit 126; }
exec setpriv --reuid="$COURSE_SANDBOX_UID" --regid="$COURSE_SANDBOX_UID" --clear-groups \\
  --no-new-privs -- %s "$@"
"""


def why_not_isolated() -> str | None:
    """None when this grader can isolate submissions, else the reason."""
    if os.geteuid() != 0:
        return f"the grader is not root (uid {os.geteuid()}): programs run as the grader"
    missing = [tool for tool in ("setpriv", "unshare", "ip") if not shutil.which(tool)]
    if missing:
        return f"missing {', '.join(missing)} (util-linux, iproute2)"
    return None


BLOCKS = 1000 // UIDS_PER_JOB  # uid blocks in 61000-61999
CLAIMS = Path("/run/lock/course-sandbox") if Path("/run/lock").is_dir() \
    else Path(tempfile.gettempdir()) / "course-sandbox-claims"


def claim_block() -> tuple[int, object]:
    """A block of uids no other grading on this machine is using, and the open,
    locked file that keeps it ours until released (or until this process ends).
    Two gradings that shared a uid would kill each other's programs (and builds)
    after every test."""
    CLAIMS.mkdir(mode=0o700, parents=True, exist_ok=True)
    for block in range(BLOCKS):
        claim = open(CLAIMS / f"{block}.lock", "w")
        try:
            fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return block, claim
        except BlockingIOError:
            claim.close()
    raise RuntimeError(f"all {BLOCKS} sandbox uid blocks are in use on this machine")


@dataclass
class Sandbox:
    """The isolation of one grading job (one submission at a time)."""

    job: int = 0          # its uid block: claimed, so unique on this machine
    isolated: bool = False
    reason: str = ""
    private_network: bool = False
    claim: object = None  # the locked file that holds the block

    @classmethod
    def claim(cls, want: bool = True) -> "Sandbox":
        """A sandbox for one grading; call release() when it is done."""
        reason = why_not_isolated() if want else "isolation was turned off (--no-sandbox)"
        if reason is not None:
            return cls(isolated=False, reason=reason)
        block, claim = claim_block()
        # A container without CAP_SYS_ADMIN (Gradescope's, PrairieLearn's) cannot make
        # a network namespace: the tests' ephemeral ports still keep gradings apart.
        network = subprocess.run(["unshare", "--net", "--", "true"],
                                 capture_output=True).returncode == 0
        return cls(job=block, isolated=True, private_network=network, claim=claim)

    def release(self) -> None:
        if self.claim is not None:
            if self.isolated:
                kill_all_block(self.uid_base)  # nothing of this grading outlives it
            self.claim.close()
            self.claim = None

    @property
    def uid_base(self) -> int:
        return UID_BASE + self.job * UIDS_PER_JOB

    def describe(self) -> dict:
        if not self.isolated:
            return {"isolated": False, "reason": self.reason}
        return {"isolated": True, "uids": f"{self.uid_base}-{self.uid_base + UIDS_PER_JOB - 1}",
                "network": "a private network namespace" if self.private_network
                else "the host's loopback (no network namespace here): ephemeral ports"}

    # ------------------------------------------------------------ files

    def lock_down(self, course: Path, private: list[Path]) -> None:
        """Root owns the course; the given files (hidden tests, the grading plan)
        become readable by root only."""
        if not self.isolated:
            return
        for path in private:
            os.chmod(path, 0o600)
        for folder in (course, *course.parents):
            if folder == Path("/"):
                break
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:  # the sandbox user must reach the programs
                os.chmod(folder, stat.S_IMODE(mode) | 0o711)

    def hand_build_to_user(self, build_dir: Path) -> None:
        """The build runs as the sandbox user: a submission's source can then not
        #include a file only root may read (a hidden test) into its compiler errors."""
        if self.isolated:
            _chown_tree(build_dir, self.uid_base)

    def take_build_back(self, build_dir: Path) -> None:
        if self.isolated:
            _chown_tree(build_dir, 0)

    def as_user(self, argv: list[str]) -> list[str]:
        if not self.isolated:
            return argv
        return ["setpriv", f"--reuid={self.uid_base}", f"--regid={self.uid_base}",
                "--clear-groups", "--no-new-privs", "--", *argv]

    def program_dir(self, build_bin: Path, wrapped: set[str], out: Path) -> Path:
        """The folder the tests take programs from: the build's own programs, except
        that the submission's programs start through a wrapper that drops to the
        sandbox user."""
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        for program in sorted(build_bin.iterdir()):
            target = out / program.name
            if self.isolated and program.name in wrapped:
                target.write_text(WRAPPER % _quote(str(program)))
                target.chmod(0o755)
            else:
                target.symlink_to(program)
        return out

    # ------------------------------------------------------------ running

    def run_argv(self, argv: list[str]) -> list[str]:
        """The test run's command line: in a network namespace of its own."""
        if not self.private_network:
            return argv
        return ["unshare", "--net", "--", "sh", "-c",
                'ip link set lo up && exec "$@"', "course-grade", *argv]

    def env(self) -> dict[str, str]:
        return {ENV_UID_BASE: str(self.uid_base)} if self.isolated else {}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _chown_tree(top: Path, uid: int) -> None:
    os.chown(top, uid, uid)
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


# ---------------------------------------------------------------- used by the pytest plugin

def processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            found.append(int(entry))
                        break
        except (OSError, ValueError):
            continue
    return found


def kill_all(uid: int, patience: float = 5.0) -> int:
    """SIGKILLs every process of `uid` (and whatever it forks meanwhile) until none
    is left; returns how many it killed. A process a test left behind must not
    live on into the next test."""
    killed = 0
    deadline = time.monotonic() + patience
    while True:
        pids = processes_of(uid)
        if not pids:
            return killed
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        if time.monotonic() > deadline:
            return killed
        time.sleep(0.01)


def kill_all_block(base: int) -> None:
    for uid in range(base, base + UIDS_PER_JOB):
        kill_all(uid, patience=2.0)


def worker_uid(base: int, worker: str | None) -> int:
    """gw0 -> base, gw3 -> base + 3; the controller (no xdist) -> base."""
    if worker and worker.startswith("gw") and worker[2:].isdigit():
        return base + int(worker[2:]) % UIDS_PER_JOB
    return base
