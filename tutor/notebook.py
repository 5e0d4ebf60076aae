"""Jupyter magics: ``%%dnn_check <exercise>`` grades a cell, ``%dnn_hint <exercise>`` shows the next hint.

Load with ``%load_ext tutor``. The cell's source is written to a temporary
file and graded by the same contained child and checks as ``dnn-tutor check``
(in a grading process of its own, started at the first check and kept for the
session, so torch never loads into the kernel); the attempt is recorded in the
learner's store; then the cell runs in the kernel so its functions exist for
the next cells. A cell that hung, crashed or ran out of memory in the grader,
or has a syntax error, is not run in the kernel.
"""

from __future__ import annotations

import argparse
import dataclasses
import atexit
import re
import os
import shlex
import tempfile
import threading
from pathlib import Path

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from tutor import console
from tutor.errors import TutorError

# The cell then runs in the kernel as a plain cell would: after a normal report, or after an
# exception while it was imported (the kernel shows the same exception). Any other way of stopping
# the grader (a time-out, memory, a crash, an exit, a flood of output, too many processes, a
# corrupted channel, a syntax error) would hang or break the kernel too, or repeat a shown error.
RUN_AFTER = (None, "import")
CELL_PREFIX = "dnn-tutor-cell-"  # the cell's source, written for the grader: dnn-tutor-cell-<kernel pid>-…
_WHY_NOT_RUN = {
    "syntax": "it has a syntax error (fix it and run the cell again)",
    "timeout": "it ran past the time limit in the grader",
    "memory": "it ran out of memory in the grader",
    "output": "it printed too much in the grader",
    "processes": "it started too many processes in the grader",
    "disk": "it wrote too many files in the grader",
}
_NUMPY_IMPORT = re.compile(r"^\s*(import\s+numpy\b|from\s+numpy\b)", re.MULTILINE)

_worker = None
_worker_lock = threading.Lock()


def _grader():
    global _worker
    with _worker_lock:  # two cells graded at once (threads) share one worker, made once
        if _worker is None:
            from tutor.classroom.notebook_worker import NotebookWorker

            _worker = NotebookWorker()
            atexit.register(_close_worker)
        return _worker


def _close_worker() -> None:
    global _worker
    if _worker is not None:
        _worker.close()
        _worker = None


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, never SystemExit in the kernel
        raise UsageError(f"{self.prog}: {message}")


def _check_parser() -> _Parser:
    parser = _Parser(prog="%%dnn_check", add_help=False)
    parser.add_argument("exercise")
    parser.add_argument("--seed", default=None)  # read as check reads them (tutor.options), in grade_cell
    parser.add_argument("--timeout", default="20")
    parser.add_argument("--no-run", action="store_true", dest="no_run")
    return parser


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _find(exercise: str):
    from tutor.grading import catalogue

    try:
        return catalogue.find(exercise)
    except TutorError as exc:
        raise UsageError(exc.message) from None


def cell_source(cell: str) -> str:
    """What is graded: the cell, plus ``import numpy as np`` at the end when the cell does not import numpy.

    A notebook usually imports numpy in an earlier cell; the import goes last
    so every line number in a message is the cell's own.
    """
    from tutor.grading.ipython import without_ipython

    cell = without_ipython(cell)[0]  # %matplotlib, !ls: `pass` for grading; they run in the kernel as written
    if _NUMPY_IMPORT.search(cell):
        return cell
    return cell.rstrip("\n") + "\n\nimport numpy as np  # added by %%dnn_check: the cell is graded on its own\n"


def _relabel(value, path: str):
    """Show the temporary file as "your cell" in every message."""
    if isinstance(value, str):
        return value.replace(path, "<cell>")
    if isinstance(value, dict):
        return {k: _relabel(v, path) for k, v in value.items()}
    if isinstance(value, list):
        return [_relabel(v, path) for v in value]
    return value


def grade_cell(exercise: str, cell: str, *, seed: int | str | None = None, timeout: float | str = 20.0) -> dict:
    """Grade a cell's source as ``exercise``; the answer of the grading process (report or error)."""
    from tutor.classroom.pool import Task

    info = _find(exercise)
    from tutor.grading.engine import check_seed, check_timeout

    from tutor.options import SEED_MAX, whole_number

    try:
        timeout = check_timeout(timeout)  # the range `check` and `grade` take
        if isinstance(seed, str):
            seed = whole_number(seed, "--seed", 0, SEED_MAX)
        if seed is not None:
            check_seed(seed)
    except TutorError as error:
        raise UsageError(str(error)) from None
    from tutor.fsutil import remove_tree
    from tutor.grading.containment import remove_stale_dirs

    remove_stale_dirs(CELL_PREFIX)  # left by a kernel that was killed while it graded
    folder = tempfile.mkdtemp(prefix=f"{CELL_PREFIX}{os.getpid()}-")  # named after this kernel: see remove_stale_dirs
    try:
        path = Path(folder) / info.file
        try:
            source = cell_source(cell).encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate ("\ud800"), pasted or typed
            raise UsageError(f"this cell holds a character that is not valid text ({exc.object[exc.start:exc.end]!r} "
                             f"at character {exc.start + 1}); remove it and run the cell again") from None
        path.write_bytes(source)
        answer = _grader().request(Task("notebook", info.id, str(path), seed, timeout, mode="check"))  # type: ignore[arg-type]
    finally:
        remove_tree(folder)
    return _relabel(answer, str(path))


@magics_class
class TutorMagics(Magics):
    @cell_magic
    def dnn_check(self, line: str, cell: str):
        """%%dnn_check EXERCISE [--seed S] [--timeout T] [--no-run]: grade this cell, then run it."""
        from tutor.classroom.adapter import report_from_dict
        from tutor.render.grading import render_report

        args = _check_parser().parse_args(_split(line))
        info = _find(args.exercise)
        try:
            answer = grade_cell(info.id, cell, seed=args.seed, timeout=args.timeout)
        except KeyboardInterrupt:  # the kernel was interrupted: the grader is stopped, nothing of ours to show
            console.error_line("grading interrupted; the cell was not run")
            return None
        if "error" in answer:
            console.error_line(f"could not grade this cell: {answer['error']}")
            return None
        report = dataclasses.replace(report_from_dict(answer["report"]), file="this cell")
        console.out(render_report(report, info, hint_command="%dnn_hint {id}"))
        if answer.get("quiz_scheduled"):
            console.out(f"quiz: question {answer['quiz_scheduled']} will come up in your next `dnn-tutor quiz`", style="dim")
        for warning in answer.get("warnings") or ():
            console.warning_line(str(warning))
        if answer.get("unsaved"):  # a full disk or a read-only home: the verdict stands, the attempt is not recorded
            console.error_line(str(answer["unsaved"]))
        fatal_kind = getattr(report.fatal, "kind", None)
        if args.no_run:
            return None
        if fatal_kind not in RUN_AFTER:
            why = _WHY_NOT_RUN.get(fatal_kind, f"it stopped the grader ({fatal_kind})")
            console.out(f"(not run in the kernel: {why})", style="dim")
            return None
        if self.shell is not None:
            self.shell.run_cell(cell, store_history=False)
        return None

    @line_magic
    def dnn_hint(self, line: str):
        """%dnn_hint EXERCISE [--restart]: the next hint (after a failing check: about that mistake)."""
        from tutor.grading import hints
        from tutor.render.grading import render_hint

        parser = _Parser(prog="%dnn_hint", add_help=False)
        parser.add_argument("exercise")
        parser.add_argument("--restart", action="store_true")
        args = parser.parse_args(_split(line))
        info = _find(args.exercise)
        try:
            if args.restart:
                try:
                    hints.reset_ladder(info.id)
                except TutorError as exc:  # a read-only or full home: the hint is still shown
                    console.warning_line(exc.message)
            hint = hints.next_hint(info, show=lambda shown: console.out(render_hint(_in_notebook_words(shown, info), info,
                                                                                    hint_command="%dnn_hint {id}")))
        except TutorError as exc:  # the progress database cannot be used: one line, as %%dnn_check says it
            console.error_line(exc.message)
            return None
        if hint.unsaved:
            console.warning_line(hint.unsaved)
        return None


def _in_notebook_words(hint, info):
    """A hint that names the command line's check names the notebook's instead."""
    text = hint.text.replace(f"dnn-tutor check exercises/{info.file}", f"%%dnn_check {info.id}")
    return dataclasses.replace(hint, text=text)


def load_ipython_extension(ipython) -> None:
    ipython.register_magics(TutorMagics)


def unload_ipython_extension(ipython) -> None:
    _close_worker()
