"""Entry point: imports every command module so its commands register on ``app``."""

from __future__ import annotations

import sys

from tutor.app import app
from tutor.commands import core  # noqa: F401  (home, lessons, lesson, progress, doctor)
from tutor.commands import exercises  # noqa: F401  (exercises, check, hint, init, reset)
from tutor.commands import demos  # noqa: F401  (demos, demo, playground, data, bench)
from tutor.commands import quiz  # noqa: F401  (quiz)

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C outside a command (e.g. during start-up)
        sys.stderr.write("\ninterrupted\n")
        sys.exit(130)
