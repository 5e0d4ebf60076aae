"""Compare what the learner returned with the reference, and name the likely bug.

Every failure is a :class:`Mismatch` carrying an :class:`Outcome` whose message
says what was expected, what came back, where (tensor, index, relative error,
case) and, when the evidence is clear, the likely cause. Its ``code`` is a
diagnosis from :mod:`tutor.grading.diagnoses` so ``hint`` can tailor its advice.

Evidence rules:

- a known-bug variant is named only when the learner's values match it far
  more closely than the pass threshold (:data:`VARIANT_TOL`, and a hundred
  times closer than they are to the reference);
- a constant factor is named only for a clean ratio (-1, 2, 1/2, N, 1/N, ...)
  that fits every entry; for a single number (a loss) it must hold with the same
  ratio in at least two cases (:func:`judge_cases` weighs the cases together);
- overflow is named only when numpy reported it (the stability cases run with
  ``np.errstate(over="raise")``, kept so even where the learner's code switches numpy's
  warnings off: see ``worker.ErrorStateGuard``), float32 (or float16) only when the values carry
  that type's rounding; otherwise the message says what differs and where, and names no cause.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from tutor.grading.diagnoses import Diagnosis
from tutor.grading.diagnoses import get as _registered
from tutor.grading.failures import OVERFLOW_SILENCED, OVERFLOW_WARNED

TOL = 1e-7  # default relative-error threshold per tensor
NUMERIC_TOL = 1e-6  # finite differences carry rounding error of about eps*|f|/h
VARIANT_TOL = 1e-9  # how close to a known-bug variant counts as "matches it" (far below TOL)
NUMERIC_ABS_FLOOR = 1e-9  # finite differences at h = 1e-5 carry about 1e-11 * |loss| of rounding
STABILITY_ERRSTATE = {"over": "raise", "divide": "raise"}  # numpy errstate for the stability cases

D = Diagnosis


@dataclass
class Outcome:
    passed: bool
    message: str = ""
    error: float | None = None
    threshold: float | None = None
    code: str | None = None
    worst: dict[str, Any] | None = None
    case: str | None = None
    not_started: bool = False
    waits_for: str | None = None  # not started: the function that raised NotImplementedError (maybe not this check's)
    trace: list[Any] = field(default_factory=list)  # the learner's frames, for exceptions
    plain: str | None = None  # the same failure told without a cause (set when the cause was inferred from values)
    detail: str | None = None  # what must agree between cases for the cause to stand (e.g. the factor)
    scalar: bool = False


class Mismatch(Exception):
    def __init__(self, outcome: Outcome):
        super().__init__(outcome.message)
        self.outcome = outcome


def fail(message: str, code: str | Diagnosis = D.VALUES, **extra: Any) -> Mismatch:
    """A Mismatch with a registered diagnosis code (an unregistered code is a grader bug: ValueError)."""
    return Mismatch(Outcome(False, message, code=_registered(code).value, **extra))


def rel_error(a: Any, b: Any) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(all="ignore"):
        scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
        if np.isfinite(scale) and scale > 1e100:  # huge values: their norms would overflow to inf/inf = nan
            a, b = a / scale, b / scale
    return float(np.linalg.norm((a - b).ravel()) / max(np.linalg.norm(a.ravel()) + np.linalg.norm(b.ravel()), 1e-12))


def fmt(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "biuf":
        value = value[()]
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)


def fmt_pair(expected: Any, got: Any) -> tuple[str, str]:
    """Both numbers with enough digits that they read differently (6 significant digits, more when needed)."""
    for digits in (6, 8, 10, 12, 17):
        a, b = f"{float(expected):.{digits}g}", f"{float(got):.{digits}g}"
        if a != b:
            return a, b
    return fmt(expected), fmt(got)


def at(name: str, index: Sequence[int]) -> str:
    """``dx[0, 2]``, or just ``loss`` for a scalar."""
    return f"{name}{list(index)}" if len(index) else name


def describe(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, dict) and "$object" in value:
        kind = str(value["$object"])
        if kind.startswith("ndarray[") and kind.endswith("]"):  # an array of something other than numbers
            return f"an array of dtype {kind[8:-1]} ({str(value.get('repr', ''))[:60]})"
        return f"a {kind} ({str(value.get('repr', ''))[:60]})"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__} ({fmt(value)})"


def unpack(value: Any, names: tuple[str, ...], function: str, case: str) -> tuple[Any, ...]:
    """The learner's tuple return, or a Mismatch naming what should have come back."""
    if isinstance(value, (tuple, list)) and len(value) == len(names):
        return tuple(value)
    wanted = "(" + ", ".join(names) + ")"
    got = describe(value)
    hint = " (is a return statement missing?)" if value is None else ""
    raise fail(f"{function} should return a tuple {wanted}; it returned {got}{hint} [{case}]", code=D.NONE if value is None else D.ARITY, case=case)


# A reshaped check: (code, test(got, expected) -> bool, text). ``test`` gets the learner's
# array of the wrong shape and the reference, and says whether it is the known slip.
Reshaped = tuple[Diagnosis, Callable[[np.ndarray, np.ndarray], bool], str]


def as_array(name: str, got: Any, expected: np.ndarray, case: str, scalar: bool = False, reshaped: Sequence[Reshaped] = ()) -> np.ndarray:
    """Type, dtype and shape checks that come before comparing values."""
    shape = "a float" if scalar else f"an array of shape {expected.shape}"
    if got is None:
        raise fail(f"{name}: expected {shape}, got None (is a return statement missing?) [{case}]", code=D.NONE, case=case)
    if isinstance(got, dict) and got.get("$object") == "numpy.ndarray":  # an array too large to send back (wire.sanitize)
        raise fail(f"{name}: expected {shape}, got {str(got.get('repr', 'a far larger array'))[:120]} [{case}]", code=D.SHAPE, case=case)
    if isinstance(got, bool) or (isinstance(got, dict) and "$object" in got) or isinstance(got, (tuple, list, dict, str)):
        kind = describe(got)
        extra = " — return a numpy array (np.asarray), not a torch tensor" if "torch" in kind else ""
        raise fail(f"{name}: expected {shape}, got {kind}{extra} [{case}]", code=D.NOT_ARRAY, case=case)
    if isinstance(got, (int, float)):
        got = np.asarray(float(got)) if scalar else np.asarray(got)
    if not isinstance(got, np.ndarray):
        raise fail(f"{name}: expected {shape}, got {describe(got)} [{case}]", code=D.NOT_ARRAY, case=case)
    if scalar:
        if got.shape != () and got.size != 1:
            raise fail(f"{name}: expected a scalar (a float), got an array of shape {got.shape} — reduce it with .mean() or .sum() [{case}]", code=D.SHAPE, case=case)
        got = got.reshape(())
    elif got.shape != expected.shape:
        _shape_slip(name, got, expected, case, reshaped)
    if got.dtype.kind == "b":
        raise fail(f"{name}: expected float64 values, got True/False (bool) — a comparison such as x > 0 gives booleans: "
                   f"multiply by it, or turn it into numbers with .astype(np.float64) [{case}]", code=D.DTYPE, case=case)
    if got.dtype.kind in "iu":
        raise fail(f"{name}: expected float64 values, got integers ({got.dtype}) — an integer array or integer division somewhere [{case}]", code=D.DTYPE, case=case)
    if got.dtype.kind == "c":
        raise fail(f"{name}: expected real float64 values, got {got.dtype} [{case}]", code=D.DTYPE, case=case)
    if got.dtype != np.float64:
        where = f"look for {got.dtype} (e.g. .astype(np.{got.dtype}) or dtype=np.{got.dtype})"
        if is_narrow(got.dtype):  # a buffer made narrow once stays so: in-place updates keep an array's dtype
            where += f"; an array made {got.dtype} stays {got.dtype} through in-place updates (+=, *=)"
        raise fail(f"{name}: expected float64, got {got.dtype} — keep every array in float64: {where} [{case}]", code=D.DTYPE, case=case)
    return got


def _shape_slip(name: str, got: np.ndarray, expected: np.ndarray, case: str, reshaped: Sequence[Reshaped]) -> None:
    said = f"{name}: expected shape {expected.shape}, got {got.shape}"
    for code, test, text in reshaped:
        try:
            hit = bool(test(got, expected))
        except Exception:  # noqa: BLE001 - a test that cannot apply to this array simply does not match
            hit = False
        if hit:
            raise fail(f"{said} — {text} [{case}]", code=code, case=case)
    if got.ndim == 2 and got.shape == expected.shape[::-1]:
        raise fail(f"{said} — transposed: check the order of the factors in the matrix product [{case}]", code=D.TRANSPOSED, case=case)
    axes = _extra_axes(got.shape, expected.shape)
    if axes is not None and all(got.shape[a] == 1 for a in axes):
        raise fail(f"{said} — an extra axis of length 1 (a stray [None], keepdims=True or reshape?) [{case}]", code=D.SHAPE, case=case)
    if axes is not None and got.dtype.kind == "f":
        summed = got.sum(axis=axes)
        if np.all(np.isfinite(summed)) and rel_error(summed, expected) <= TOL:
            raise fail(
                f"{said} — not summed: the sum over axis {axes[0] if len(axes) == 1 else axes} is right; every example "
                f"(and position) adds to the same parameter, so sum that gradient over {'it' if len(axes) == 1 else 'them'} [{case}]",
                code=D.DB_NOT_SUMMED,
                case=case,
            )
        raise fail(f"{said} — it has extra axes {axes}: something that should be summed over them is not [{case}]", code=D.SHAPE, case=case)
    raise fail(f"{said} [{case}]", code=D.SHAPE, case=case)


def _extra_axes(got: tuple[int, ...], want: tuple[int, ...]) -> tuple[int, ...] | None:
    """Axes of ``got`` whose removal leaves ``want`` (in order), or None."""
    extra = len(got) - len(want)
    if extra <= 0 or len(got) > 6:
        return None
    for axes in itertools.combinations(range(len(got)), extra):
        if tuple(s for i, s in enumerate(got) if i not in axes) == tuple(want):
            return axes
    return None


# The floats narrower than float64, narrowest first: (type, correct significant digits, the relative
# error beyond which a slip is more than that type's rounding).
NARROW_FLOATS = ((np.dtype(np.float16), 3, 1e-2), (np.dtype(np.float32), 7, 1e-5))


def is_narrow(dtype: Any) -> bool:
    return any(dtype == narrow for narrow, _, _ in NARROW_FLOATS)


def narrow_code(dtype: Any) -> Diagnosis:
    """The diagnosis for values that went through ``dtype`` (float16 or float32)."""
    return D.FLOAT16 if dtype == np.float16 else D.FLOAT32


def narrow_digits(dtype: Any) -> int:
    return next(digits for narrow, digits, _ in NARROW_FLOATS if dtype == narrow)


def narrow_rounding(got: np.ndarray, expected: np.ndarray) -> np.dtype | None:
    """The narrower float (float16, float32) whose rounding ``got`` carries where the float64 reference does not:
    the values went through that type. None when they carry no such rounding."""
    if got.shape != expected.shape or got.size == 0 or got.dtype != np.float64:
        return None
    with np.errstate(all="ignore"):
        for narrow, _, beyond in NARROW_FLOATS:
            informative = np.isfinite(expected) & (expected.astype(narrow).astype(np.float64) != expected) & (np.abs(expected) > 1e-30)
            if int(informative.sum()) < max(1, informative.size // 2):
                continue
            values = got[informative]
            if rel_error(values, expected[informative]) > beyond:  # far beyond this type's rounding: some other slip
                continue
            if np.all(values.astype(narrow).astype(np.float64) == values) and not np.array_equal(values, expected[informative]):
                return narrow
    return None


def find_narrow(value: Any, path: str = "") -> tuple[str, np.ndarray] | None:
    """(where, array) of the first float16 or float32 array inside a returned structure (a cache), or None."""
    if isinstance(value, np.ndarray):
        return (path or "the value", value) if is_narrow(value.dtype) else None
    if isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            found = find_narrow(item, f"{path}[{i}]")
            if found:
                return found
    if isinstance(value, dict) and "$object" not in value:
        for key, item in value.items():
            found = find_narrow(item, f"{path}[{key!r}]")
            if found:
                return found
    return None


def compare(
    name: str,
    expected: Any,
    got: Any,
    *,
    case: str,
    threshold: float = TOL,
    scalar: bool = False,
    variants: Iterable[tuple[Any, Any, str]] = (),
    batch: int | None = None,
    zero_mask: np.ndarray | None = None,
    reshaped: Sequence[Reshaped] = (),
) -> float:
    """Relative error of ``got`` against ``expected``; raises Mismatch with a diagnosis when above threshold.

    ``variants`` are (code, array, text) triples: the values a known slip would give.
    """
    expected = np.asarray(expected, dtype=np.float64)
    arr = as_array(name, got, expected, case, scalar, reshaped)
    if not np.all(np.isfinite(arr)):
        index = _index(np.argwhere(~np.isfinite(arr)))
        value = arr[index] if arr.shape else arr
        raise fail(
            f"{name}: got {fmt(value)}{' at ' + at(name, index) if index else ''} where {fmt(expected[index] if expected.shape else expected)} was expected"
            f" — a NaN or infinity came out of the arithmetic (0/0, inf − inf, log(0) or an overflow) [{case}]",
            code=D.NAN,
            case=case,
        )
    narrow = None if scalar else narrow_rounding(arr, expected)
    if narrow is not None:
        error = rel_error(arr, expected)
        worst = _worst(name, expected, arr)
        raise fail(
            f"{name}: the values carry {narrow} rounding (about {narrow_digits(narrow)} correct digits, relative error {error:.1e}): e.g. {at(name, worst['index'])} "
            f"is {worst['got']!r}, expected {worst['expected']!r} — part of the computation runs in {narrow}; keep every array float64 [{case}]",
            code=narrow_code(narrow),
            error=error,
            threshold=threshold,
            worst=worst,
            case=case,
        )
    error = rel_error(arr, expected)
    if error <= threshold:
        return error
    worst = _worst(name, expected, arr)
    shown = fmt_pair(worst["expected"], worst["got"])
    spot = f"worst at {at(name, worst['index'])}: expected {shown[0]}, got {shown[1]}"
    where = f"{spot} (relative error {error:.1e})"
    plain = f"{name}: relative error {error:.2e} (threshold {threshold:.0e}); {spot} [{case}]"
    common = {"error": error, "threshold": threshold, "worst": worst, "case": case, "plain": plain, "scalar": scalar}
    for code, variant, text in variants:
        variant = np.asarray(variant, dtype=np.float64)
        if variant.shape != arr.shape or not np.all(np.isfinite(variant)):
            continue
        distance = rel_error(arr, variant)
        if distance <= VARIANT_TOL and distance <= error * 1e-2:
            raise fail(f"{name}: {text}; {where} [{case}]", code=code, detail=str(code), **common)
    code, text, detail = _factor(arr, expected, batch)
    if code:
        raise fail(f"{name}: {text}; {where} [{case}]", code=code, detail=detail, **common)
    if zero_mask is not None and arr.shape == zero_mask.shape:
        wrong = np.abs(arr - expected) > 1e-9 * (1 + np.abs(expected))
        if wrong.any() and not (wrong & ~zero_mask).any():
            raise fail(
                f"{name}: wrong only where the input is exactly 0 — the ReLU kink: its derivative at 0 is taken as 0 (PyTorch's convention); {where} [{case}]",
                code=D.RELU_KINK,
                detail="relu-kink",
                **common,
            )
    raise fail(plain, code=D.VALUES, error=error, threshold=threshold, worst=worst, case=case, scalar=scalar)


def _index(positions: np.ndarray) -> tuple[int, ...]:
    if len(positions) == 0:
        return ()
    return tuple(int(i) for i in positions[0])


def _worst(name: str, expected: np.ndarray, got: np.ndarray) -> dict[str, Any]:
    diff = np.abs(got - expected)
    raw = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.shape else ()
    index = tuple(int(i) for i in raw)
    return {"tensor": name, "index": index, "expected": float(expected[index]), "got": float(got[index])}


def _clean(c: float) -> str | None:
    """c as a small fraction p/q when it is one (to 1e-9), else None."""
    for q in range(1, 9):
        p = round(c * q)
        if p != 0 and abs(p) <= 64 and abs(c - p / q) <= 1e-9 * max(1.0, abs(c)):
            return str(p) if q == 1 else f"{p}/{q}"
    return None


def _factor(got: np.ndarray, expected: np.ndarray, batch: int | None) -> tuple[Diagnosis | None, str, str | None]:
    denominator = float(np.sum(expected * expected))
    if denominator == 0.0:
        return None, "", None
    if not np.any(got):
        return D.ZERO, "came back as zeros", "zero"
    c = float(np.sum(got * expected)) / denominator
    if abs(c - 1) < 1e-9 or rel_error(got, c * expected) > 1e-9:
        return None, "", None
    if batch and batch > 1 and (abs(c - batch) <= 1e-9 * batch or abs(c * batch - 1) <= 1e-9):
        which = f"×{batch}" if c > 1 else f"×1/{batch}"
        return D.BATCH_MEAN, f"off by a factor {which} (N = {batch}): the batch mean is taken twice or not at all", "N" if c > 1 else "1/N"
    if abs(c + 1) < 1e-9:
        return D.SIGN, "off by a factor ×−1: the sign is flipped", "-1"
    ratio = _clean(c)
    if ratio is None:
        return None, "", None
    return D.FACTOR, f"off by a constant factor ×{ratio}{FACTOR_CAUSES.get(ratio, '')}", ratio


# The likely causes of the commonest clean factors, said with them ("1/2", not a one-half glyph: in ASCII that
# glyph decomposes into "12").
FACTOR_CAUSES = {
    "2": ": a stray 2 — e.g. from differentiating x² as 2x where the loss has 1/2, or from adding a gradient twice",
    "1/2": ": a stray 1/2 or a missing 2 — e.g. x²'s derivative taken as x, or two gradients averaged where they add up",
}


def judge_cases(runs: Iterable[Callable[[], float | None]]) -> float:
    """Run one comparison per case; a cause is named only if every failing case supports it.

    Returns the worst error when all pass. Structural failures (a shape, a type,
    an exception) are reported as they are. When the failing cases disagree on
    the cause, or a clean factor of a single number shows in one case only, the
    first failure is reported without a cause.
    """
    worst = 0.0
    failures: list[Mismatch] = []
    for run in runs:
        try:
            worst = max(worst, run() or 0.0)
        except Mismatch as mismatch:
            failures.append(mismatch)
    if not failures:
        return worst
    structural = [m for m in failures if m.outcome.plain is None and m.outcome.code != D.VALUES.value]
    if structural:  # a specific diagnosis from one case beats a bare "shape" from another
        specific = [m for m in structural if m.outcome.code != D.SHAPE.value]
        raise (specific or structural)[0]
    first = failures[0].outcome
    keys = {(m.outcome.code, m.outcome.detail) for m in failures}
    lone_scalar_factor = first.scalar and first.code in (D.FACTOR.value, D.SIGN.value, D.BATCH_MEAN.value) and len(failures) < 2
    if len(keys) == 1 and first.plain is not None and not lone_scalar_factor:
        raise failures[0]
    if first.plain is None:
        raise failures[0]
    note = " (the failing cases do not point to one cause)" if len(keys) > 1 else ""
    raise Mismatch(Outcome(False, first.plain.replace(" [", f"{note} [", 1) if note else first.plain, error=first.error,
                           threshold=first.threshold, code=D.VALUES.value, worst=first.worst, case=first.case))


# ---------------------------------------------------------------- exceptions in plain words

_MATMUL = re.compile(r"matmul: Input operand (\d) has a mismatch in its core dimension (\d), with gufunc signature \S+ \(size (\d+) is different from (\d+)\)")
_DOT = re.compile(r"shapes \(([\d, ]*)\) and \(([\d, ]*)\) not aligned: (\d+) \(dim (\d+)\) != (\d+) \(dim (\d+)\)")
_BROADCAST = re.compile(r"operands could not be broadcast together with (?:remapped )?shapes ((?:\[[^\]]*\]|\([\d,]*\))\s?)+")
_INPLACE = re.compile(r"non-broadcastable output operand with shape (\([\d, ]*\)) doesn't match the broadcast shape (\([\d, ]*\))")
_FPE = re.compile(r"raised FloatingPointError: (overflow|divide by zero|invalid value|underflow) encountered in (\w+)")


def refine(outcome: Outcome, overflow: Diagnosis = D.OVERFLOW) -> Outcome:
    """Put numpy's exception messages into plain words and name the slip they reveal.

    ``overflow`` is the code for an exp that overflowed (the softmax's own code
    for the softmax). Other outcomes come back unchanged.
    """
    if outcome.code != D.EXCEPTION.value:
        return outcome
    message = outcome.message
    m = _MATMUL.search(message)
    if m:
        right, left = m.group(3), m.group(4)
        plain = f"a matrix product A @ B whose inner dimensions do not agree: A's last axis has {left} entries, B's first axis has {right}"
        return _refined(outcome, _fix_last(message.replace(m.group(0), plain), _MATMUL_FIX), D.MATMUL_SHAPE)
    m = _DOT.search(message)
    if m:
        plain = f"a matrix product of shapes ({m.group(1)}) and ({m.group(2)}) whose inner dimensions do not agree ({m.group(3)} vs {m.group(5)})"
        return _refined(outcome, _fix_last(message.replace(m.group(0), plain), _MATMUL_FIX), D.MATMUL_SHAPE)
    m = _BROADCAST.search(message)
    if m:
        shapes = re.findall(r"\([\d,]*\)|\[[^\]]*\]", m.group(0))
        plain = f"arrays of shapes {' and '.join(shapes)} cannot be combined element by element"
        fix = "broadcasting needs each axis equal or 1, matched from the right: a missing keepdims=True or a wrong axis?"
        return _refined(outcome, _fix_last(message.replace(m.group(0), plain), fix), D.BROADCAST)
    m = _INPLACE.search(message)
    if m:
        plain = f"an in-place update (+= or -=) of an array of shape {m.group(1)} with a value of shape {m.group(2)}"
        fix = "the value must fit the array: is it missing a sum over an axis?"
        return _refined(outcome, _fix_last(message.replace(m.group(0), plain), fix), D.BROADCAST)
    m = _FPE.search(message)
    if m:
        kind, ufunc = m.group(1), m.group(2)
        if kind == "overflow":
            code = overflow if ufunc in ("exp", "power", "exp2", "expm1") else D.OVERFLOW
            if code != D.OVERFLOW:
                fix = "subtract each row's maximum logit before exponentiating"
            elif "where(" in message:  # np.where computes both branches, the one it throws away too
                fix = "np.where computes both branches, so exponentiate only −|x|"
            else:
                fix = "exponentiate only numbers ≤ 0"
            # numpy's warnings switched off around it (np.errstate, np.seterr): the grader kept them on for this case
            hidden = ("; switching numpy's warnings off (np.errstate, np.seterr) hid the overflow without preventing it"
                      if OVERFLOW_SILENCED in message else "")
            if OVERFLOW_WARNED in message:  # the result was finite: the overflow happened on the way
                said = _said_once(outcome, m, f"overflowed: {ufunc} gave inf",
                                  f"; the formula then rounded the inf away, so the result looked right{hidden}", fix)
            else:
                said = _said_once(outcome, m, f"overflowed: {ufunc} gave inf", f" where a finite value was expected{hidden}", fix)
            return _refined(outcome, said, code)
        if kind == "divide by zero" and ufunc in ("log", "log2", "log10"):
            said = _said_once(outcome, m, "took log(0)", ": a probability underflowed to exactly 0",
                              "compute log-probabilities as shifted − log(Σ exp(shifted)), not log(softmax)")
            return _refined(outcome, said, D.LOG_ZERO)
        if kind == "divide by zero":
            return _refined(outcome, message.replace(m.group(0), f"divided by zero in {ufunc}"), D.NAN)
        if kind == "underflow":  # numpy raises on underflow only where the learner's code asked it to
            said = _said_once(outcome, m, f"raised FloatingPointError: underflow in {ufunc}",
                              ", which numpy raises only because your code asked it to (np.seterr(all='raise') or "
                              "np.errstate(under='raise')): a result too small for float64 becoming 0 is harmless here",
                              "ask numpy to raise on overflow only: np.seterr(over='raise'), or leave its default")
            return _refined(outcome, said, D.EXCEPTION)
    return outcome


EXACT_FORWARD = 1e-10  # a float64 forward that matches PyTorch this closely is the same function


SAME_FUNCTION_TOL = 1e-3  # float64 centred differences of PyTorch's own function land far closer than this
NEAR_FORWARD = 1e-6  # a float64 forward this close to PyTorch's (and no float32 inside) is checked the same way


def _checked_differences(claimed: Any, coords: Any, ref_grad: Any, outputs: Any, ref_outputs: list[Any], *,
                         name: str, forward: str, case: str) -> Any:
    """The finite differences to judge a backward by, at ``coords``.

    They are taken in the learner's process, where the learner's code could rewrite them. Where
    every output of the forward matches PyTorch to float64 precision, the forward is PyTorch's
    function, so its centred differences are PyTorch's gradient: that is used instead (at the
    points the child found smooth), and rewritten numbers gain nothing. Otherwise the child's own
    differences are the only evidence, as before. Where the forward matches PyTorch at the inputs
    (exactly, or to :data:`NEAR_FORWARD` with nothing narrower than float64 inside) but its own
    differences (at smooth points) are far from PyTorch's gradient, it is not PyTorch's function
    around them (an answer looked up for these inputs, or differences rewritten): that fails.
    """
    outs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
    if len(outs) < len(ref_outputs) or not isinstance(ref_grad, np.ndarray):
        return claimed
    worst = 0.0  # the forward's largest relative error against PyTorch, over its outputs
    for out, want in zip(outs, ref_outputs):
        want = np.asarray(want, dtype=np.float64)
        if np.ndim(out) == 0 and want.ndim == 0:
            out = np.asarray(out, dtype=np.float64) if isinstance(out, (int, float, np.floating, np.ndarray)) else None
        if not isinstance(out, np.ndarray) or out.shape != want.shape or out.dtype.kind != "f" or not np.all(np.isfinite(out)):
            return claimed
        worst = max(worst, rel_error(out.astype(np.float64), want))
        if worst > NEAR_FORWARD:
            return claimed
    if worst > EXACT_FORWARD and _narrowed(outputs, ref_outputs) is not None:
        return claimed  # float32 inside: its differences are rounding, which the judges below name
    values = np.asarray(claimed, dtype=np.float64).reshape(-1)
    points = np.asarray(coords, dtype=np.int64).reshape(-1)
    if values.shape != points.shape or (points.size and points.max() >= ref_grad.size):
        return claimed
    truth = ref_grad.reshape(-1)[points].astype(np.float64)
    smooth = np.isfinite(values)
    off = np.abs(values - truth) > SAME_FUNCTION_TOL * float(np.max(np.abs(truth), initial=0.0)) + 1e-7
    if np.any(smooth & off):  # right at the inputs, not around them: an answer looked up, or numbers rewritten
        i = int(np.flatnonzero(smooth & off)[0])
        how = "exactly" if worst <= EXACT_FORWARD else f"to {worst:.0e}"
        raise fail(
            f"{name}: your {forward} matches PyTorch {how} at the inputs, yet its finite differences around them "
            f"disagree with PyTorch's gradient (at flat index {int(points[i])}: {values[i]:.6g} against {truth[i]:.6g}): "
            f"it is not the same function near the inputs (does it special-case these inputs, or change between calls?) [{case}]",
            code=D.BACKWARD_VS_FORWARD,
            case=case,
        )
    return np.where(smooth, truth, np.nan) if worst <= EXACT_FORWARD else claimed


def _pairs(outputs: Any, ref_outputs: Any) -> Any:
    """A forward's outputs beside PyTorch's, one pair each (a lone output is one pair)."""
    outs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
    refs = list(ref_outputs) if isinstance(ref_outputs, (tuple, list)) else [ref_outputs]
    return zip(outs, refs)


def _close_to(outputs: Any, ref_outputs: Any) -> bool:
    """Whether a forward's float outputs agree with PyTorch's to 1e-2 and are not all zeros (no placeholder)."""
    compared = False
    for out, want in _pairs(outputs, ref_outputs):
        if not (isinstance(out, (float, np.floating)) or (isinstance(out, np.ndarray) and out.dtype.kind == "f")):
            continue
        try:
            got, expected = np.asarray(out, dtype=np.float64), np.asarray(want, dtype=np.float64)
        except (TypeError, ValueError):
            return False
        if got.shape != expected.shape or not np.any(expected) or rel_error(got, expected) > 1e-2:
            return False
        compared = True
    return compared


def _narrowed(outputs: Any, ref_outputs: Any) -> np.dtype | None:
    """The narrower float (float16, float32) a forward's outputs went through: arrays of that type, or
    float64 values carrying its rounding; None when they did not.

    (Agreeing with PyTorch only to about 1e-8 is no proof: a forward that adds noise does that too.)"""
    for out, want in _pairs(outputs, ref_outputs):
        found = find_narrow(out)
        if found is not None:
            return found[1].dtype
        if isinstance(out, (float, np.floating)) or (isinstance(out, np.ndarray) and out.dtype.kind == "f"):
            got = np.asarray(out, dtype=np.float64).reshape(-1)
            try:
                expected = np.asarray(want, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError):
                continue
            narrow = narrow_rounding(got, expected)
            if narrow is not None:
                return narrow
    return None


_MATMUL_FIX = "write down both shapes; a .T is missing or in the wrong place"


def _fix_last(message: str, fix: str) -> str:
    """The fix after where it happened (line, code, case): never run into the quoted line."""
    return f"{message}. Fix: {fix}."


def _said_once(outcome: Outcome, match: re.Match[str], what: str, why: str, fix: str) -> str:
    """A numpy floating-point error said once: what went wrong, where (the line, the case), why, then the fix.

    The line's code is left out: the report's traceback panel shows it right below."""
    head = outcome.message[:match.start()]  # "sigmoid_forward " (after any "f needs g: ")
    line = f" at line {outcome.trace[-1].line}" if outcome.trace else ""
    case = f" [{outcome.case}]" if outcome.case else ""
    return f"{head}{what}{line}{case}{why}. Fix: {fix}."


def _refined(outcome: Outcome, message: str, code: Diagnosis) -> Outcome:
    outcome.message = message
    outcome.code = code.value
    return outcome


# ---------------------------------------------------------------- finite differences


def compare_numeric(
    name: str, analytic: Any, coords: Any, numeric: Any, *, case: str, forward: str, shape: tuple[int, ...], threshold: float = NUMERIC_TOL,
    reference: Any = None, outputs: tuple[Any, list[Any]] | None = None,
) -> float:
    """Your backward at sampled coordinates against centred differences of your own forward.

    ``reference``: PyTorch's gradient (the whole tensor). Where every difference is exactly 0 but
    PyTorch's gradient is not, the forward is a placeholder (zeros, a constant) and a backward of
    zeros agreeing with it proves nothing: that fails. ``outputs``: (the forward's outputs, PyTorch's);
    where they agree to float64 precision, ``reference`` stands for the child's differences
    (:func:`_checked_differences`).
    """
    if reference is not None and outputs is not None:
        numeric = _checked_differences(numeric, coords, reference, *outputs, name=name, forward=forward, case=case)
    if not isinstance(analytic, np.ndarray) or analytic.dtype.kind != "f":
        raise fail(f"{name}: your backward returned {describe(analytic)}, which cannot be compared with finite differences [{case}]", code=D.NOT_ARRAY, case=case)
    if analytic.shape != tuple(shape):
        transposed = analytic.ndim == 2 and analytic.shape == tuple(shape)[::-1]
        raise fail(
            f"{name}: expected shape {tuple(shape)}, got {analytic.shape}{' — transposed' if transposed else ''}: cannot compare with finite differences [{case}]",
            code=D.TRANSPOSED if transposed else D.SHAPE,
            case=case,
        )
    flat = analytic.reshape(-1)
    coords = np.asarray(coords, dtype=np.int64)
    if coords.size and coords.max() >= flat.size:
        raise fail(f"{name}: your backward returned shape {analytic.shape}, too small for the input [{case}]", code=D.SHAPE, case=case)
    numeric = np.asarray(numeric, dtype=np.float64)
    keep = np.isfinite(numeric)
    a = flat[coords][keep]
    b = numeric[keep]
    # the type the forward's output went through, asked only where the differences gave up or came out 0
    narrow = _narrowed(*outputs) if outputs is not None and coords.size and (a.size == 0 or not np.any(b)) else None
    if a.size == 0 and narrow is not None:
        raise fail(
            f"{name}: finite differences of your own {forward} could not be taken: its output went through {narrow} "
            f"(about {narrow_digits(narrow)} significant digits), too coarse for steps that small; keep every array float64 [{case}]",
            code=narrow_code(narrow),
            case=case,
        )
    if a.size == 0 and coords.size:  # every sampled point gave up: nothing was compared, so nothing passes
        raise fail(
            f"{name}: finite differences of your own {forward} could not be taken at any of the {coords.size} sampled points: "
            f"its output does not change smoothly under tiny steps of the input (does it add noise, draw random numbers, "
            f"or keep state between calls?) [{case}]",
            code=D.BACKWARD_VS_FORWARD,
            case=case,
        )
    if not np.all(np.isfinite(a)):
        raise fail(f"{name}: your backward returned non-finite values [{case}]", code=D.NAN, case=case)
    if reference is not None and b.size and not np.any(b):
        truth = np.asarray(reference, dtype=np.float64).reshape(-1)
        if truth.size == flat.size and float(np.max(np.abs(truth[coords][keep]))) > 1e-8:
            if narrow is not None:
                raise fail(
                    f"{name}: finite differences of your {forward} are 0 at every sampled point: its output went through "
                    f"{narrow} (about {narrow_digits(narrow)} significant digits), too coarse to see steps that small; keep every array float64 [{case}]",
                    code=narrow_code(narrow),
                    case=case,
                )
            if outputs is not None and _close_to(*outputs):  # the right output, blind to small steps: rounded inside
                raise fail(
                    f"{name}: finite differences of your {forward} are 0 at every sampled point, where PyTorch's gradient is not, "
                    f"yet its output is close to PyTorch's: it does not change under steps this small, so a step inside it rounds "
                    f"(through float16 or float32, or np.round): keep every array float64 [{case}]",
                    code=D.CONSTANT_FORWARD,
                    case=case,
                )
            raise fail(
                f"{name}: finite differences of your {forward} are 0 at every sampled point, where PyTorch's gradient is not: "
                f"its output does not depend on its input (does it still return a placeholder such as zeros?) [{case}]",
                code=D.CONSTANT_FORWARD,
                case=case,
            )
    error = rel_error(a, b)
    # Near-zero gradients: finite differences cannot resolve a relative error
    # there, so an absolute difference below ABS_FLOOR per point also passes.
    if error <= threshold or float(np.max(np.abs(a - b))) <= NUMERIC_ABS_FLOOR:
        return error
    j = int(np.argmax(np.abs(a - b)))
    index = tuple(int(i) for i in np.unravel_index(int(coords[keep][j]), analytic.shape))
    worst = {"tensor": name, "index": index, "expected": float(b[j]), "got": float(a[j])}
    numeric, yours = fmt_pair(b[j], a[j])
    raise fail(
        f"{name} does not match the centred-difference gradient of your own {forward}: at {at(name, index)} "
        f"your backward gives {yours}, finite differences give {numeric} (relative error {error:.2e}) [{case}]",
        code=D.BACKWARD_VS_FORWARD,
        error=error,
        threshold=threshold,
        worst=worst,
        case=case,
    )
