"""What crosses the boundary between the grading child and its parent (child side; stdlib only).

:class:`Channel` sends length-prefixed pickles on the result descriptor;
:func:`sanitize` turns whatever the learner's code returned into plain data
(arrays, numbers, strings, short containers); :func:`describe_exception`
records an exception raised by the learner's code as facts (kind, type,
message, the learner's own frames), which the parent puts into words
(:mod:`tutor.grading.failures`). :class:`CappedWriter` caps the learner's
prints. Loaded by path by :mod:`worker`, which never imports the tutor package.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import traceback
from types import TracebackType
from typing import Any

# The functions the channel and :func:`sanitize` use, taken before the learner's code runs: code that
# replaces pickle.dumps, os.write or numpy's functions (np.ndarray = None, np.asarray = ...) changes
# what it calls itself, never what the grader sends or how it reads a result.
_dumps, _pack, _write, _getpid, _exit = pickle.dumps, struct.pack, os.write, os.getpid, os._exit
_NP: Any = None  # numpy's pieces sanitize uses (see freeze_numpy); None until the worker has imported numpy


def freeze_numpy(np: Any) -> Any:
    """Keep numpy's own types and functions for :func:`sanitize` (the worker calls it before the learner's code
    runs); returns the kept pieces, which the worker uses too."""
    global _NP
    import types

    _NP = types.SimpleNamespace(
        ndarray=np.ndarray, generic=np.generic, array=np.array, asarray=np.asarray, complex128=np.complex128,
        float64=np.float64, errstate=np.errstate, isfinite=np.isfinite, full=np.full, sum=np.sum, shape=np.shape,
        nan=float("nan"), floating=np.floating, complexfloating=np.complexfloating,
    )
    return _NP


def _numpy() -> Any:
    if _NP is None:
        import numpy as np

        return freeze_numpy(np)
    return _NP


MAX_ITEMS = 64  # longest list/tuple/dict sent back
MAX_ARRAY = 1_000_000  # elements; the exercises' arrays are tiny (and a frame is capped at 32 MiB)
# Layers without settings of their own that a transfer head may hold: the child describes them by
# name, the parent rebuilds them to redo the step (specs/transfer.py).
PLAIN_LAYERS = ("ReLU", "Tanh", "Sigmoid", "GELU", "SiLU", "Identity", "Flatten")


class OutputLimit(BaseException):
    """Raised from print() once the learner has printed more than the cap."""


class StepFailed(Exception):
    def __init__(self, info: dict[str, Any]):
        super().__init__(info.get("message", ""))
        self.info = info


class CappedWriter(io.TextIOBase):
    def __init__(self, stream: Any, cap: int):
        self._stream = stream
        self._cap = cap
        self.written = 0
        self.exceeded = False
        self.muted = False  # during finite differences: the same prints, hundreds of times

    def writable(self) -> bool:
        return True

    def write(self, text: object) -> int:  # type: ignore[override]
        text = str(text)
        if self.muted:
            return len(text)
        room = self._cap - self.written
        if len(text) > room:
            if room > 0:
                self._stream.write(text[:room])
                self.written += room
            self.exceeded = True
            try:
                self._stream.flush()
            except OSError:
                pass
            raise OutputLimit()
        self._stream.write(text)
        self.written += len(text)
        return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError:
            pass


class Channel:
    def __init__(self, fd: int):
        self._fd = fd
        self._pid = os.getpid()
        self.busy = False  # a frame is being written (a signal handler must not start another)

    def send(self, *message: Any) -> None:
        if _getpid() != self._pid:
            # A copy made by the learner's fork() has come back into the grader's code: it must not
            # speak for the worker (its frames would mix with the real ones or report its own
            # errors as the run's). It ends here, quietly; the worker goes on alone.
            _exit(0)
        data = _dumps(message, protocol=4)
        payload = _pack(">I", len(data)) + data
        view = memoryview(payload)
        self.busy = True
        while view:
            try:
                n = _write(self._fd, view)
            except OSError:
                # The parent stopped listening (it refused a frame, or the run was ended): nothing
                # more can be said, and a traceback here would show in the learner's prints as theirs.
                _exit(0)
            view = view[n:]
        self.busy = False


# ---------------------------------------------------------------- errors


FRAMES_HEAD, FRAMES_TAIL = 10, 40  # learner frames sent of a deep traceback: where it entered, and where it failed
RECURSION_MIN = 50  # one line of the learner's on the stack this many times: a recursion, not a helper calling another


def _learner_frames(tb: TracebackType | None, learner_path: str) -> list[dict[str, Any]]:
    """Every frame of the learner's file in ``tb``, outermost first."""
    frames = []
    for frame in traceback.extract_tb(tb):
        if os.path.realpath(frame.filename) == learner_path:
            frames.append({"file": frame.filename, "line": frame.lineno, "function": frame.name, "code": (frame.line or "").strip()})
    return frames


def _sent_frames(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A deep traceback's outermost and innermost frames: the failing line is the last one, however deep."""
    if len(frames) <= FRAMES_HEAD + FRAMES_TAIL:
        return frames
    return frames[:FRAMES_HEAD] + frames[-FRAMES_TAIL:]


def recursion_summary(frames: list[tuple[str, int, str]], limit: int | None = None) -> dict[str, Any] | None:
    """A recursion that never ends, as facts: the learner's (function, line, code) triples on the stack,
    outermost first. The line most often on it is the call that recurses; the functions whose calls are on
    it about as often are the ones that call each other (one, for a function that calls itself). None
    when no line is there :data:`RECURSION_MIN` times."""
    counts: dict[tuple[str, int], int] = {}
    codes: dict[tuple[str, int], str] = {}
    for function, line, code in frames:
        key = (str(function), int(line or 0))
        counts[key] = counts.get(key, 0) + 1
        codes.setdefault(key, str(code or ""))
    if not counts:
        return None
    top = max(counts, key=lambda key: counts[key])  # the first of equals: the outermost
    depth = counts[top]
    if depth < RECURSION_MIN:
        return None
    functions: list[str] = []
    for key, count in counts.items():  # in the order they were first called
        if count * 2 >= depth and key[0] not in functions:
            functions.append(key[0])
    return {"functions": functions[:4], "line": top[1], "code": codes[top][:200], "depth": depth,
            "limit": int(limit) if limit else None}


def _nul_line(path: str) -> int | None:
    """The line of the file's first NUL byte (None when it cannot be read or holds none)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(16 * 1024 * 1024)
    except OSError:
        return None
    at = data.find(b"\0")
    return data.count(b"\n", 0, at) + 1 if at >= 0 else None


def describe_exception(exc: BaseException, learner_path: str) -> dict[str, Any]:
    if isinstance(exc, SyntaxError) and exc.filename is None and "null bytes" in str(exc.msg):
        line = _nul_line(learner_path)  # compile() names neither the file nor the line of a NUL byte
        if line is not None:
            return {
                "kind": "syntax",
                "type": type(exc).__name__,
                "message": "the file holds a NUL byte (\\x00), which Python source cannot: was it saved as UTF-16 "
                           "(\"Unicode\" in some editors) or copied from a binary file? Save it as UTF-8 text",
                "file": learner_path,
                "line": line,
                "offset": None,
                "code": "",
                "frames": [],
            }
    if isinstance(exc, SyntaxError) and os.path.realpath(exc.filename or "") == learner_path:
        return {
            "kind": "syntax",
            "type": type(exc).__name__,
            "message": exc.msg,
            "file": exc.filename,
            "line": exc.lineno,
            "offset": exc.offset,
            "code": (exc.text or "").rstrip("\n"),
            "frames": [],
        }
    if isinstance(exc, NotImplementedError):
        kind = "not-implemented"
    elif isinstance(exc, SystemExit):
        kind = "exit"
    elif isinstance(exc, MemoryError):
        kind = "memory"
    elif isinstance(exc, RecursionError):
        kind = "recursion"
    else:
        kind = "exception"
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a learner exception whose __str__ fails
        message = "<unprintable>"
    if isinstance(exc, SystemExit):
        message = repr(exc.code)
    frames = _learner_frames(exc.__traceback__, learner_path)
    info: dict[str, Any] = {
        "kind": kind,
        "type": type(exc).__name__,
        "message": message[:500],
        "frames": _sent_frames(frames),
    }
    if kind == "recursion":
        import sys

        summary = recursion_summary([(f["function"], f["line"], f["code"]) for f in frames], sys.getrecursionlimit())
        if summary is not None:
            info["recursion"] = summary
    return info


# ---------------------------------------------------------------- values


MAX_VALUES = 20_000  # values in one result, all containers together (the grader refuses a message past 200,000)


def sanitize(value: Any, depth: int = 0, budget: list[int] | None = None) -> Any:
    """Plain data for the result channel: arrays, numbers, strings, containers.

    ``budget``: values left for this result (MAX_VALUES to start): 64 items a level, five levels deep,
    is still a billion values; past the budget a container is described instead of sent.
    """
    np = _numpy()

    if budget is None:
        budget = [MAX_VALUES]
    budget[0] -= 1
    if budget[0] < 0 and isinstance(value, (tuple, list, dict)):
        return {"$object": type(value).__name__, "repr": f"a nested {type(value).__name__} of more than {MAX_VALUES:,} values"}

    if isinstance(value, int) and int.__int__(value).bit_length() > 128:  # the parent takes up to 128 bits
        return {"$object": "int", "repr": f"an integer of about {int(int.__int__(value).bit_length() * 0.30103) + 1} digits"}
    if value is None or type(value) in (bool, int, float, complex):
        return value
    if isinstance(value, int):  # subclasses become the plain type (the parent unpickles plain data only)
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, complex):
        return complex(float.__float__(float(value.real)), float.__float__(float(value.imag)))
    if isinstance(value, str):
        return str.__str__(value)[:200]
    if depth > 4:
        return {"$object": type(value).__name__, "repr": "<nested too deep>"}
    if isinstance(value, np.ndarray):
        if value.size > MAX_ARRAY:
            return {"$object": "numpy.ndarray", "repr": f"an array of shape {value.shape}: far larger than expected"}
        if value.dtype.kind in "biufc":
            if value.dtype.itemsize > 16:  # long double complex: the grader takes up to 16 bytes a number
                value = value.astype(np.complex128)
            return np.array(value, copy=True, subok=False)
        return {"$object": f"ndarray[{value.dtype}]", "repr": _short_repr(value)}
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return np.asarray(value if value.dtype.itemsize <= 16 else np.complex128(value))
    if isinstance(value, tuple):
        return tuple(sanitize(v, depth + 1, budget) for v in value[:MAX_ITEMS])
    if isinstance(value, list):
        return [sanitize(v, depth + 1, budget) for v in value[:MAX_ITEMS]]
    if isinstance(value, dict):
        return {str(k)[:60]: sanitize(v, depth + 1, budget) for k, v in list(value.items())[:MAX_ITEMS]}
    return {"$object": f"{type(value).__module__}.{type(value).__qualname__}", "repr": _short_repr(value)}


def _short_repr(value: object) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001
        text = "<unprintable>"
    return text[:200]


