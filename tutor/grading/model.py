"""The typed grading model: what a ``check`` produces, from the child's facts to the renderer.

One result type flows from :func:`tutor.grading.engine.grade_file` to the
renderer: a :class:`Report` of :class:`CheckResult` rows, with a :class:`Fatal`
when the child produced no complete verdict. Learner facts that cross the
process boundary (an exception, its frames) become :class:`LearnerError` and
:class:`Frame` here, read defensively: the child is not trusted to send the
right types. :meth:`Report.to_dict` is the ``check --json`` document and
:meth:`Report.from_dict` reads it back. No printing, no rich.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from tutor.grading.catalogue import ExerciseInfo
from tutor.grading.wire import _sent_frames

TEXT_CAP = 2000  # longest learner string kept from the child (messages, code lines)


def safe_text(value: object, cap: int = TEXT_CAP) -> str:
    """Text for a value from the child, however odd, cut to ``cap`` (None is "")."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:cap]
    try:
        return str(value)[:cap]
    except Exception:  # noqa: BLE001 - an int of 5,000 digits from a forged message has no str()
        return f"<{type(value).__name__}>"


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if abs(value) < 10**9 else None
    try:
        return int(str(value))
    except Exception:  # noqa: BLE001 - whatever a forged message holds
        return None


@dataclass(frozen=True)
class Frame:
    """One frame of the learner's own code in a traceback."""

    file: str
    line: int
    function: str
    code: str

    @classmethod
    def from_wire(cls, data: object) -> "Frame | None":
        if isinstance(data, Frame):
            return data
        if not isinstance(data, Mapping):
            return None
        return cls(safe_text(data.get("file")), _int(data.get("line")) or 0, safe_text(data.get("function"), 200), safe_text(data.get("code")))

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "function": self.function, "code": self.code}


def frames_from_wire(data: object) -> tuple[Frame, ...]:
    """At most 50 frames: of a deeper traceback the 10 outermost and the 40 innermost (the failing line is the last)."""
    if not isinstance(data, (list, tuple)):
        return ()
    kept = _sent_frames(list(data))  # the worker's own cut, applied again to what came back
    frames = (Frame.from_wire(item) for item in kept)
    return tuple(frame for frame in frames if frame is not None)


@dataclass(frozen=True)
class Recursion:
    """A recursion that never ends, as the child saw it on the stack.

    ``functions``: the learner's functions that keep calling (one: a function that calls itself; more:
    functions that call each other), first called first; ``line`` and ``code``: the call that recurses;
    ``depth``: how often that call was on the stack; ``limit``: Python's recursion limit in the child
    (None where it was not the limit that stopped it: a timeout).
    """

    functions: tuple[str, ...]
    line: int
    code: str
    depth: int
    limit: int | None = None

    @classmethod
    def from_wire(cls, data: object) -> "Recursion | None":
        if isinstance(data, Recursion):
            return data
        if not isinstance(data, Mapping):
            return None
        names = data.get("functions")
        if not isinstance(names, (list, tuple)):
            return None
        functions = tuple(safe_text(name, 100) for name in names[:4] if isinstance(name, str) and name)
        line, depth, limit = _int(data.get("line")), _int(data.get("depth")), _int(data.get("limit"))
        if not functions or line is None or line < 1 or depth is None or depth < 1:
            return None
        return cls(functions, line, safe_text(data.get("code"), 200), depth, limit if limit and limit > 0 else None)

    def to_dict(self) -> dict[str, Any]:
        return {"functions": list(self.functions), "line": self.line, "code": self.code, "depth": self.depth, "limit": self.limit}


@dataclass(frozen=True)
class LearnerError:
    """What went wrong inside the learner's code, as the child saw it.

    ``kind``: exception, syntax, exit, memory, recursion, not-implemented,
    missing (no such function), skipped / arity (an earlier step failed or gave
    too little), shape. ``type`` and ``message`` are the exception's class name
    and text; ``line``/``offset``/``source`` locate a syntax error.
    """

    kind: str
    type: str = ""
    message: str = ""
    frames: tuple[Frame, ...] = ()
    function: str | None = None
    ref: str | None = None
    file: str | None = None
    line: int | None = None
    offset: int | None = None
    source: str = ""
    recursion: Recursion | None = None  # a RecursionError raised by a recursion of the learner's own
    silenced: bool = False  # numpy's warnings were switched off (np.errstate, np.seterr) around the overflow

    @classmethod
    def from_wire(cls, data: object) -> "LearnerError":
        if isinstance(data, LearnerError):
            return data
        if not isinstance(data, Mapping):
            return cls("exception", "?", f"an unreadable error report ({type(data).__name__})")
        function = data.get("function")
        ref = data.get("ref")
        file = data.get("file")
        return cls(
            kind=safe_text(data.get("kind") or "exception", 40),
            type=safe_text(data.get("type"), 200),
            message=safe_text(data.get("message")),
            frames=frames_from_wire(data.get("frames")),
            function=None if function is None else safe_text(function, 200),
            ref=None if ref is None else safe_text(ref, 200),
            file=None if file is None else safe_text(file),
            line=_int(data.get("line")),
            offset=_int(data.get("offset")),
            source=safe_text(data.get("code")),
            recursion=Recursion.from_wire(data.get("recursion")),
            silenced=data.get("silenced") is True,
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "type": self.type,
            "message": self.message,
            "frames": [frame.to_dict() for frame in self.frames],
            "function": self.function,
            "file": self.file,
            "line": self.line,
            "offset": self.offset,
            "code": self.source,
        }
        if self.recursion is not None:
            data["recursion"] = self.recursion.to_dict()
        if self.silenced:
            data["silenced"] = True
        return data


@dataclass(frozen=True)
class Fatal:
    """Why the child produced no (complete) verdict, in one line.

    ``kind``: timeout, memory, output, crash, exit, import, syntax, protocol, processes, disk.
    ``cause``: a diagnosis code more specific than the kind, where the run showed one (``recursion``:
    the time ran out deep in a recursion that never ends); it comes first in :attr:`Report.codes`.
    """

    kind: str
    message: str
    error: LearnerError | None = None
    cause: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"kind": self.kind, "message": self.message, "error": None if self.error is None else self.error.to_dict()}
        if self.cause:
            data["cause"] = self.cause
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Fatal":
        error = data.get("error")
        cause = data.get("cause")
        return cls(str(data.get("kind") or "crash"), str(data.get("message") or ""), None if error is None else LearnerError.from_wire(error),
                   safe_text(cause, 40) if isinstance(cause, str) and cause else None)


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict: passed, or the teaching message and diagnosis code of its failure."""

    id: str
    function: str
    title: str
    passed: bool
    error: float | None
    threshold: float | None
    message: str
    code: str | None = None
    case: str | None = None
    worst: dict[str, Any] | None = None
    not_started: bool = False
    trace: tuple[Frame, ...] = ()
    waits_for: str | None = None  # not started: the function that raised NotImplementedError (another, for a check that needs it)
    calls_failed: tuple[str, ...] = ()  # failed: the learner's functions it calls (by its code) that failed their own checks

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "function": self.function,
            "title": self.title,
            "passed": self.passed,
            "error": self.error,
            "threshold": self.threshold,
            "message": self.message,
            "code": self.code,
            "case": self.case,
            "worst": self.worst,
            "not_started": self.not_started,
            "waits_for": self.waits_for,
            "calls_failed": list(self.calls_failed),
            "trace": [frame.to_dict() for frame in self.trace],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CheckResult":
        return cls(
            id=str(data["id"]),
            function=str(data.get("function", "")),
            title=str(data.get("title", "")),
            passed=bool(data.get("passed")),
            error=data.get("error"),
            threshold=data.get("threshold"),
            message=str(data.get("message", "")),
            code=data.get("code"),
            case=data.get("case"),
            worst=data.get("worst"),
            not_started=bool(data.get("not_started")),
            trace=frames_from_wire(data.get("trace")),
            waits_for=safe_text(data["waits_for"]) if isinstance(data.get("waits_for"), str) else None,
            calls_failed=tuple(safe_text(name, 200) for name in data["calls_failed"] if isinstance(name, str))
            if isinstance(data.get("calls_failed"), (list, tuple)) else (),
        )


USES_TORCH = "uses-torch"  # a code beside the diagnoses: the file of a numpy exercise imports torch


@dataclass(frozen=True)
class Report:
    """The verdict on one learner file for one exercise, with the learner's prints."""

    exercise_id: str
    file: str
    file_hash: str
    seed: int
    checks: tuple[CheckResult, ...]
    fatal: Fatal | None
    output: str
    output_truncated: bool
    seconds: float
    containment: tuple[str, ...] = field(default=())
    uses_torch: bool = False  # a numpy exercise whose file imports torch: the checks cannot tell derived numbers from autograd's
    ipython_lines: tuple[int, ...] = ()  # IPython-only statements (%magic, !shell, get_ipython()) run as `pass`: where they start

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def total(self) -> int:
        return len(self.checks)

    @property
    def not_started(self) -> bool:
        return self.fatal is None and self.passed == 0 and all(c.not_started for c in self.checks)

    @property
    def ok(self) -> bool:
        return self.fatal is None and self.passed == self.total

    @property
    def credited(self) -> int:
        """Checks that count toward the exercise: a stopped run (a fatal) is never "done",
        even when every check it judged passed (e.g. a flood of output after correct results)."""
        if self.fatal is not None and self.total > 0:
            return min(self.passed, self.total - 1)
        return self.passed

    @property
    def status(self) -> str:
        """The one exercise-status rule (:func:`tutor.progress.exercise_label`), as recorded."""
        from tutor.progress import exercise_label

        return exercise_label(self.credited, self.total, started=not self.not_started)

    @property
    def codes(self) -> list[str]:
        """Diagnostic codes of the failing checks, first failure first, without repeats."""
        seen: list[str] = []
        if self.fatal:
            if self.fatal.cause and self.fatal.cause != self.fatal.kind:
                seen.append(self.fatal.cause)
            seen.append(self.fatal.kind)
        for check in self.checks:
            if not check.passed and check.code and check.code not in seen:
                seen.append(check.code)
        if self.uses_torch:
            seen.append(USES_TORCH)
        return seen

    @property
    def nothing_ran(self) -> bool:
        """A fatal stop before any check could look at a result."""
        return self.fatal is not None and all(c.code == "not-run" for c in self.checks)

    def first_trace(self) -> tuple[Frame, ...]:
        return next((c.trace for c in self.checks if not c.passed and c.trace), ())

    def to_dict(self) -> dict[str, Any]:
        """The ``check --json`` document.

        exercise, file, file_sha256, seed (repeat with --seed), passed, total,
        status ("not started" / "n of m checks" / "done"), ok, fatal (null or
        {kind, message, error, and cause where the run showed one: recursion}), checks (each: id, function, title, passed,
        error, threshold, message, code, case, worst {tensor, index, expected,
        got}, not_started, waits_for (the function that raised
        NotImplementedError), calls_failed (the learner's functions that a
        failing check's function calls and that failed their own checks), trace), codes (diagnoses of the failing checks,
        first first), output (the learner's prints), output_truncated, seconds,
        containment (the protections that were in force for the learner's code), uses_torch,
        ipython_lines (where IPython-only statements start, each graded as ``pass``).
        """
        return {
            "exercise": self.exercise_id,
            "file": self.file,
            "file_sha256": self.file_hash,
            "seed": self.seed,
            "passed": self.passed,
            "total": self.total,
            "status": self.status,
            "ok": self.ok,
            "fatal": None if self.fatal is None else self.fatal.to_dict(),
            "checks": [c.to_dict() for c in self.checks],
            "codes": self.codes,
            "output": self.output,
            "output_truncated": self.output_truncated,
            "seconds": round(self.seconds, 3),
            "containment": list(self.containment),
            "uses_torch": self.uses_torch,
            "ipython_lines": list(self.ipython_lines),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Report":
        fatal = data.get("fatal")
        return cls(
            exercise_id=str(data["exercise"]),
            file=str(data["file"]),
            file_hash=str(data["file_sha256"]),
            seed=int(data["seed"]),
            checks=tuple(CheckResult.from_dict(c) for c in data.get("checks", [])),
            fatal=None if not fatal else Fatal.from_dict(fatal),
            output=str(data.get("output", "")),
            output_truncated=bool(data.get("output_truncated")),
            seconds=float(data.get("seconds", 0.0)),
            containment=tuple(str(x) for x in data.get("containment", ())),
            uses_torch=bool(data.get("uses_torch")),
            ipython_lines=tuple(int(x) for x in data.get("ipython_lines", ())),
        )


@dataclass(frozen=True)
class CheckRecord:
    """What ``check`` did: the report, the exercise, and the quiz question it brought forward."""

    report: Report
    exercise: ExerciseInfo
    quiz_scheduled: str | None = None
    recorded: bool = False
    warnings: tuple[str, ...] = ()  # the store's recovery notices, for stderr
    unsaved: str | None = None  # why the attempt could not be saved (a full disk, a read-only home), shown after the report
    kept: bool = True  # False under check --no-record: nothing was to be saved

    @property
    def exit_code(self) -> int:
        return 0 if self.report.ok else 1

    def to_dict(self) -> dict[str, Any]:
        data = self.report.to_dict()
        data["quiz_scheduled"] = self.quiz_scheduled
        data["saved"] = self.kept and self.unsaved is None
        data["recorded"] = self.recorded  # False under --no-record (and for an untouched starter)
        return data
