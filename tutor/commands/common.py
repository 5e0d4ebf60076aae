"""Small helpers shared by the command modules (the only layer that prints)."""

from __future__ import annotations

from tutor import console
from tutor.store import Store


def open_store() -> Store:
    """Open the learner's store, printing any recovery warning once on stderr."""
    store = Store()
    for warning in store.warnings:
        console.warning_line(warning)
    return store


def emit_json(data) -> None:
    """Machine-readable output: plain JSON on stdout, no styling."""
    import json
    import sys

    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
