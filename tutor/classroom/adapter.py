"""The one place where the classroom and the notebook call the grading engine.

:func:`grade` grades one file in the engine's contained child process and
returns its report without recording anything; :func:`grade_and_record` also
records the attempt, the hint state and the quiz concept exactly as
``dnn-tutor check`` does. Everything else here turns a report into a gradebook
row or into JSON and back. Nothing here prints.
"""

from __future__ import annotations

import time
from pathlib import Path

from tutor.classroom import gradebook
from tutor.classroom.gradebook import Row

# Kinds of a fatal stop that a row reports as its status (the runner's words).
FATAL_KINDS = ("timeout", "memory", "output", "crash", "exit", "import", "syntax", "protocol", "processes", "disk")
USES_TORCH = "uses-torch"  # the grader's code for a numpy exercise whose file imports torch (model.USES_TORCH)
EMPTY = "empty"  # the code of a row whose file holds nothing but blanks ("missing" is for no file at all)
TORCH_NOTE = "imports torch: its checks cannot tell its gradients from autograd's"
MAX_PEEK = 64 * 1024  # enough of a file to tell it holds more than blanks


def grade(exercise_id: str, path: Path, *, seed: int | None, timeout: float, own: str | None = None):
    """Grade ``path`` as ``exercise_id`` in a contained child; nothing is recorded. ``own``: grading a class,
    the student's folder (or file): the child may read nothing else of the class."""
    from tutor.grading import service

    readable = [p for p in own.split("\0") if p] if own else None  # NUL, which no path holds, separates several
    return service.grade_file(exercise_id, Path(path), seed=seed, timeout=timeout, read_only=readable or None)


def grade_and_record(exercise_id: str, path: Path, *, seed: int | None, timeout: float):
    """Grade as ``check`` does and record the attempt in the learner's store: the CheckRecord (report, quiz
    question scheduled, and why the attempt could not be saved, when it could not)."""
    from tutor.grading import service

    return service.grade_and_record(exercise_id, Path(path), seed=seed, timeout=timeout)


def status_of(report) -> str:
    """done, partial (some checks passed), failed (the file ran and no check passed), not started (nothing of
    the exercise written: a starter, an empty file) or how the run stopped."""
    if report.fatal:
        kind = str(getattr(report.fatal, "kind", "") or "error")
        return kind if kind in FATAL_KINDS else gradebook.ERROR
    if report.not_started or _nothing_written(report):
        return gradebook.NOT_STARTED
    if report.ok:
        return gradebook.DONE
    return gradebook.PARTIAL if int(report.passed) > 0 else gradebook.FAILED


def _nothing_written(report) -> bool:
    """No check passed and the only diagnosis is that the functions are not there (an empty file)."""
    codes = set(report.codes) - {"uses-torch"}  # `import torch` alone is not work
    return int(report.passed) == 0 and bool(codes) and codes <= {"missing", "not-started"}


def _is_empty(path: object) -> bool:
    """Whether the graded file holds nothing but whitespace (False when it cannot be read)."""
    try:
        with open(str(path), "rb") as handle:
            return not handle.read(MAX_PEEK).strip()
    except (OSError, TypeError, ValueError):
        return False


def failing_summary(report, most: int = 2) -> str:
    """The first failing function(s) of a graded run, each with its diagnosis code and the tensor that was
    off, for a partial or failed row's note: ``rnn_step_backward: bias-averaged (db); rnn_backward:
    bias-averaged (db)``. A function that fails only because one it needs failed is left out (its message
    starts "<function> needs "); more than ``most`` functions end with "+N more"."""
    failing = [c for c in tuple(getattr(report, "checks", ()) or ()) if not getattr(c, "passed", True)]
    own = [c for c in failing if not str(getattr(c, "message", "")).startswith(f"{c.function} needs ")] or failing
    parts: dict[str, str] = {}
    for check in own:
        function = str(getattr(check, "function", "") or getattr(check, "id", "") or "a check")
        if function in parts:
            continue
        worst = getattr(check, "worst", None)
        tensor = worst.get("tensor") if isinstance(worst, dict) else None
        parts[function] = f"{function}: {check.code or 'fails'}" + (f" ({tensor})" if tensor else "")
    shown = list(parts.values())
    return "; ".join(shown[:most]) + (f"; +{len(shown) - most} more" if len(shown) > most else "")


def note_of(report) -> str:
    """A stopped run's one-line error for the row's note ("SyntaxError line 12: expected ':'"); for a graded
    run, the IPython-only lines of an exported notebook; else ""."""
    fatal = report.fatal
    if not fatal:
        lines = tuple(getattr(report, "ipython_lines", ()))
        if lines:  # an exported notebook: graded, but a teacher should know what was left out
            shown = ", ".join(str(n) for n in lines[:5]) + (", …" if len(lines) > 5 else "")
            return f"IPython-only line{'s' if len(lines) > 1 else ''} {shown} (an exported notebook's magics) run without IPython"
        return ""
    error = getattr(fatal, "error", None)
    if fatal.kind == "syntax" and error is not None:
        where = f" in {Path(error.file).name}" if error.file and Path(error.file).name != Path(report.file).name else ""
        return gradebook.note_line(f"SyntaxError{where} line {error.line}: {error.message}")
    return gradebook.note_line(fatal.message)


def row_from_report(student: str, report, seed: int) -> Row:
    """The gradebook's row. A stopped run scores 0 (it never counts as done, as ``check`` says): how many
    checks ran before the stop depends on timing (when a fork bomb was seen, when the deadline came), so
    the same file would get a different score each run; the note says how many had passed, then why it stopped
    (never empty: a kept stopped-run row without a note is from an older gradebook and is graded again).
    A partial or failed row's note names its first failing function(s) (:func:`failing_summary`); an empty
    file's row has the code ``empty`` (not ``missing``: that is a student without the file) and says so; a
    numpy exercise that imports torch says its checks cannot tell."""
    codes = [c for c in report.codes]
    status = status_of(report)
    note = note_of(report) or (f"the run stopped ({status})" if report.fatal else "")
    if report.fatal and report.passed:  # the count first: a long message would push it past the note's cap
        note = gradebook.note_line(f"{report.passed} of {report.total} checks passed before the stop (not counted); {note}")
    elif not report.fatal:
        said = []
        if status == gradebook.NOT_STARTED and set(codes) - {USES_TORCH} == {"missing"}:
            if _is_empty(getattr(report, "file", "")):
                codes = [EMPTY if c == "missing" else c for c in codes]
                said.append("the file is empty")
            else:
                functions = list(dict.fromkeys(str(c.function) for c in getattr(report, "checks", ()) or () if c.function))
                said.append("the file defines none of the exercise's functions" + (f" ({_some(functions)})" if functions else ""))
        elif status in (gradebook.PARTIAL, gradebook.FAILED):
            said.append(failing_summary(report))
        if USES_TORCH in codes:
            said.append(TORCH_NOTE)
        note = gradebook.note_line("; ".join(n for n in [*said, note] if n))
    return Row(
        student=student,
        exercise=report.exercise_id,
        passed=0 if report.fatal else int(report.passed),
        total=int(report.total),
        status=status,
        codes=codes,
        seconds=float(report.seconds),
        sha256=report.file_hash,
        seed=int(seed),
        note=note,
    )


def _some(names: list[str], shown: int = 3) -> str:
    return ", ".join(names[:shown]) + (", …" if len(names) > shown else "")


def grade_row(student: str, exercise_id: str, path: Path, *, seed: int, timeout: float, own: str | None = None) -> Row:
    """A gradebook row for one submission; a failure of the grader itself becomes status "error"."""
    started = time.monotonic()
    try:
        report = grade(exercise_id, path, seed=seed, timeout=timeout, own=own)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - one broken submission must not stop the class
        from tutor.classroom.submissions import file_sha256
        from tutor.errors import TutorError

        try:
            digest = file_sha256(path)
        except OSError:
            digest = ""
        # The grader refuses a file it cannot read (gone, too large, not a regular file) with a TutorError.
        status = gradebook.UNREADABLE if isinstance(exc, TutorError) else gradebook.ERROR
        code = gradebook.UNREADABLE if isinstance(exc, TutorError) else "grader-error"
        note = gradebook.note_line(str(exc) if isinstance(exc, TutorError) else f"{type(exc).__name__}: {exc}")
        return Row(student, exercise_id, 0, 0, status, [code], time.monotonic() - started, digest, seed, note=note)
    return row_from_report(student, report, seed)


def check_total(exercise_id: str, seed: int) -> int:
    """How many checks the exercise has (for rows of students with no file)."""
    try:
        from tutor.grading import engine

        return len(engine.build_plan(exercise_id, seed).checks)
    except Exception:  # noqa: BLE001 - only a nicety for the gradebook
        return 0


# ---------------------------------------------------------------- report <-> JSON (notebook worker)


def _plain(value):
    """JSON-safe copy: numpy scalars and arrays become numbers and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if hasattr(value, "item"):
        return _plain(value.item())
    return str(value)


def report_to_dict(report) -> dict:
    return _plain(report.to_dict())


def report_from_dict(data: dict):
    """The grader's report object back from :func:`report_to_dict` (for rendering)."""
    from tutor.grading.model import Report

    return Report.from_dict(data)
