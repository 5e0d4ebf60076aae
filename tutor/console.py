"""The one module that owns the consoles.

Renderers return rich objects; commands hand them to :func:`out` or, for
errors and warnings, to :func:`err` (stderr). ``NO_COLOR`` is honoured by rich
itself; ``is_interactive`` decides between prompts and the plain fallback.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console


def _no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


def stdout_console() -> Console:
    # A fresh console per call binds to the current sys.stdout (the test runner
    # swaps it) and picks up NO_COLOR and the terminal width as they are now.
    return Console(file=sys.stdout, no_color=_no_color(), highlight=False)


def stderr_console() -> Console:
    return Console(file=sys.stderr, no_color=_no_color(), highlight=False, soft_wrap=True)


def out(*renderables, **kwargs) -> None:
    stdout_console().print(*renderables, **kwargs)


def err(message, **kwargs) -> None:
    stderr_console().print(message, **kwargs)


def error_line(message: str) -> None:
    """One line on stderr, prefixed with ``error:``; never markup-interpreted."""
    from rich.text import Text

    line = Text("error: ", style="bold red")
    line.append(message)
    stderr_console().print(line)


def warning_line(message: str) -> None:
    from rich.text import Text

    line = Text("warning: ", style="bold yellow")
    line.append(message)
    stderr_console().print(line)


def is_interactive() -> bool:
    """True when both stdin and stdout are terminals: prompts are allowed."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def terminal_width(default: int = 80) -> int:
    return stdout_console().width or default
