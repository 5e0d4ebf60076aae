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


def screen_lines(output: str, cols: int, rows: int = 600) -> list[str]:
    """The lines a ``cols`` x ``rows`` terminal shows after ``output`` (right-trimmed, trailing blank lines
    dropped). The default screen is too tall for anything to scroll away: every line the run left; 24 rows
    is a learner's terminal, where what scrolled away is gone."""
    import pytest

    pyte = pytest.importorskip("pyte")
    screen = pyte.Screen(cols, rows)
    pyte.Stream(screen).feed(output.replace("\n", "\r\n") if "\r\n" not in output else output)
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def read_until(stream, text: bytes, timeout: float = 60) -> bytes:
    """Read a child's pipe until ``text`` has come (everything read so far), failing the test on a timeout
    or on the pipe's end."""
    import os
    import select

    seen = b""
    deadline = time.monotonic() + timeout
    while text not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"never saw {text!r}; got {seen[-300:]!r}"
        ready, _, _ = select.select([stream], [], [], left)
        if ready:
            chunk = os.read(stream.fileno(), 65536)
            assert chunk, f"the program ended before {text!r}; got {seen[-300:]!r}"
            seen += chunk
    return seen


def thirty_epochs(reporter, rng) -> None:
    """Thirty made-up epochs of a 2-D binary fit into ``reporter``, each with a random decision boundary."""
    import numpy as np

    from tutor.training.protocol import EpochRecord

    class View:
        def boundary_grid(self, w, h):
            probs = rng.random((h, w, 1))  # (rows, cols, 1)
            return np.concatenate([1 - probs, probs], axis=-1)  # (rows, cols, 2)

    for epoch in range(1, 31):
        reporter.epoch_end(EpochRecord("model", epoch, 30, 0.7 / epoch, 0.5 + epoch / 60, 0.8 / epoch, 0.5 + epoch / 61,
                                       1e-2, 0.01, 40000.0, last=epoch == 30), View())


class QuizScreen:
    """``dnn-tutor quiz ARGS`` in a pseudo-terminal, its screen kept by pyte: what the learner sees, not the
    byte stream. ``env``: the child's whole environment (the caller sets DNN_TUTOR_HOME and the rest)."""

    def __init__(self, args, env: dict, cwd: str, cols: int = 80, rows: int = 24):
        import sys

        import pytest

        pexpect = pytest.importorskip("pexpect")
        pyte = pytest.importorskip("pyte")
        env = {**env, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
        env.pop("NO_COLOR", None)
        self.pexpect = pexpect
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.Stream(self.screen)
        self.child = pexpect.spawn(sys.executable, ["-m", "tutor", "quiz", *args], env=env, cwd=cwd,
                                   dimensions=(rows, cols), encoding="utf-8", timeout=30)

    def pump(self, seconds: float = 0.2) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.05))
            except self.pexpect.TIMEOUT:
                continue
            except self.pexpect.EOF:
                return

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def text(self) -> str:
        return "\n".join(self.lines())

    def wait_for(self, pattern: str, timeout: float = 40) -> None:
        """Until ``pattern`` is on the screen, as drawn or with its lines joined (a wrapped message)."""
        import re

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.1)
            if re.search(pattern, self.text()) or re.search(pattern, " ".join(self.text().split())):
                return
        raise AssertionError(f"{pattern!r} never appeared; the screen:\n" + self.text())

    def send(self, keys: str) -> None:
        self.child.send(keys)
        self.pump(0.4)

    def answer(self, text: str) -> None:
        """At the typed-answer prompt, once it has settled: ``text`` and Enter."""
        self.wait_for(r"\? Your answer")
        self.pump(0.5)
        self.send(text + "\r")

    def prompt_row(self) -> int:
        rows = [i for i, line in enumerate(self.lines()) if line.startswith("? Your answer")]
        assert rows, "no answer prompt on the screen:\n" + self.text()
        return rows[-1]

    def finish(self) -> int:
        end = time.monotonic() + 30
        while self.child.isalive() and time.monotonic() < end:
            self.pump(0.1)
        return exit_code(self.child, timeout=0)
