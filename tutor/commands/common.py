"""Small helpers shared by the command modules (the only layer that prints)."""

from __future__ import annotations

from typing import Any

from tutor import console
from tutor.store import Store


def open_store() -> Store:
    """Open the learner's store; every warning it has (on opening or later, e.g. a damaged
    table found while reading) is printed once on stderr as it happens."""
    return Store(on_warning=console.warning_line)


def emit_json(data: Any) -> None:
    """Machine-readable output: strict JSON on stdout (NaN and infinities become null), no styling."""
    import sys

    from tutor import jsonutil

    if sys.stdout is None:  # started with stdout closed (`>&-`): nowhere to write, nothing to report
        return
    sys.stdout.write(jsonutil.dumps(data, indent=2) + "\n")
