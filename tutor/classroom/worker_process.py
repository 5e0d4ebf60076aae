"""The worker process's own side: what runs inside ``python -m tutor.classroom.pool`` and inside a
worker forked from the fork server. It loads the grader and torch once, then grades one task after
another (each submission still in its own contained grading child) and answers with one JSON line
(or one pipe message) per task. It ends when its input closes, when its parent dies (Linux: a
parent-death signal), and on Ctrl-C or SIGTERM, after its grading child has stopped.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort; stdin closing also ends the worker
        pass


def _handle(task: dict) -> dict:
    from tutor.classroom import adapter

    if task.get("mode") == "check":
        from tutor.errors import TutorError

        try:
            record = adapter.grade_and_record(task["exercise"], Path(task["path"]), seed=task["seed"], timeout=task["timeout"])
        except TutorError as exc:
            return {"error": exc.message}
        return {"report": adapter.report_to_dict(record.report), "quiz_scheduled": record.quiz_scheduled,
                "unsaved": record.unsaved, "warnings": list(record.warnings)}
    row = adapter.grade_row(task["student"], task["exercise"], Path(task["path"]), seed=task["seed"], timeout=task["timeout"],
                            own=str(task.get("own") or task["path"]))
    return {"row": row.__dict__}


def _warm_up() -> None:
    """Load the grader and torch now, so a row's seconds are its own grading time."""
    try:
        from tutor.classroom import adapter  # noqa: F401
        from tutor.grading import service

        service.prepare_parent()
        import torch  # noqa: F401
    except ImportError:
        pass


def _stop(signum, frame) -> None:
    # The first Ctrl-C or SIGTERM stops the grading in progress (the grader
    # then ends its child); later ones must not interrupt that clean-up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:
        return
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # ignored like our parent ignores it
        signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)  # last: once SIGTERM is caught, every handler is in place
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything a library prints goes to the log, never into the answers
    sys.stdout = sys.stderr
    from tutor import import_guard

    import_guard.install()  # Ctrl-C or SIGTERM while torch imports waits for the import (see there)
    try:
        _warm_up()
        for line in sys.stdin:
            if not line.strip():
                continue
            task = json.loads(line)
            answer = _handle(task)
            out.write(json.dumps(answer) + "\n")
            out.flush()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    # The grading child is already stopped and its folder removed; skip the
    # slow interpreter tear-down (torch) so Ctrl-C ends the whole run promptly.
    sys.stderr.flush()
    os._exit(0)
