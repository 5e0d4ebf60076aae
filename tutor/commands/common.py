"""Small helpers shared by the command modules (the only layer that prints)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from tutor import console
from tutor.errors import ReaderGone
from tutor.options import SEED_MAX, whole_number  # noqa: F401  (the commands' number options)
from tutor.store import Store


def open_store() -> Store:
    """Open the learner's store; every warning it has (on opening or later, e.g. a damaged
    table found while reading) is printed once on stderr as it happens."""
    return Store(on_warning=console.warning_line)


@contextmanager
def verdict_output(exit_code: int) -> Iterator[None]:
    """Print a result whose exit code is a verdict: a reader that goes away keeps the code (:class:`ReaderGone`)."""
    try:
        yield
    except ReaderGone:
        raise
    except BrokenPipeError as exc:
        raise ReaderGone(exit_code) from exc


def emit_json(data: Any, *, line: bool = False) -> None:
    """Machine-readable output: strict JSON on stdout (NaN and infinities become null), no styling.

    ``line``: the whole document on one line (JSON Lines), for output that goes on run after run."""
    import sys

    from tutor import jsonutil

    if sys.stdout is None:  # started with stdout closed (`>&-`): nowhere to write, nothing to report
        return
    try:
        sys.stdout.write(jsonutil.dumps(data, indent=None if line else 2) + "\n")
        if line:
            sys.stdout.flush()
    except OSError as exc:  # `> /dev/full`: the error line says it was the output, not the learner's files
        exc.stream = "standard output"  # type: ignore[attr-defined]
        raise
