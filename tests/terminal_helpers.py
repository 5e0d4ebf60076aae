"""Helpers for the tests that drive the program in a pseudo-terminal (no tests here)."""

from __future__ import annotations

import time


def exit_code(child, timeout: float = 20.0) -> int:
    """Wait for a pexpect child to end and return its exit status (minus the signal that ended it).

    ``close()`` alone gives a process 0.1 s after its terminal hangs up and then kills it; on a busy
    machine a program can still be exiting then, and the test would see a signal instead of its
    exit code. So wait for the process first, and close only what is left.
    """
    end = time.monotonic() + timeout
    while child.isalive() and time.monotonic() < end:
        time.sleep(0.02)
    child.close(force=True)
    return child.exitstatus if child.exitstatus is not None else -(child.signalstatus or 0)
