"""Compare what the learner returned with the reference, and name the likely bug.

Every failure is a :class:`Mismatch` carrying an :class:`Outcome` whose message
says what was expected, what came back, and where (tensor, index, case), and
whose ``code`` names the diagnosis (``transposed``, ``batch-mean``,
``bias-averaged``, ``softmax-overflow``, ...) so ``hint`` can tailor its advice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TOL = 1e-7  # default relative-error threshold per tensor
NUMERIC_TOL = 1e-6  # finite differences carry rounding error of about eps*|f|/h
VARIANT_TOL = 1e-6
NUMERIC_ABS_FLOOR = 1e-9  # finite differences at h = 1e-5 carry about 1e-11 * |loss| of rounding  # how close to a known-bug variant counts as "matches it"


@dataclass
class Outcome:
    passed: bool
    message: str = ""
    error: float | None = None
    threshold: float | None = None
    code: str | None = None
    worst: dict | None = None
    case: str | None = None
    not_started: bool = False
    trace: list = field(default_factory=list)  # the learner's frames, for exceptions


class Mismatch(Exception):
    def __init__(self, outcome: Outcome):
        super().__init__(outcome.message)
        self.outcome = outcome


def fail(message: str, code: str = "values", **extra) -> Mismatch:
    return Mismatch(Outcome(False, message, code=code, **extra))


def rel_error(a, b) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm((a - b).ravel()) / max(np.linalg.norm(a.ravel()) + np.linalg.norm(b.ravel()), 1e-12))


def fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)


def describe(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, dict) and "$object" in value:
        return f"a {value['$object']} ({value.get('repr', '')[:60]})"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__} ({fmt(value)})"


def unpack(value, names: tuple[str, ...], function: str, case: str):
    """The learner's tuple return, or a Mismatch naming what should have come back."""
    if isinstance(value, (tuple, list)) and len(value) == len(names):
        return tuple(value)
    wanted = "(" + ", ".join(names) + ")"
    got = describe(value)
    hint = " (is a return statement missing?)" if value is None else ""
    raise fail(f"{function} should return a tuple {wanted}; it returned {got}{hint} [{case}]", code="none" if value is None else "arity", case=case)


def as_array(name: str, got, expected: np.ndarray, case: str, scalar: bool = False) -> np.ndarray:
    """Type, dtype and shape checks that come before comparing values."""
    shape = "a float" if scalar else f"an array of shape {expected.shape}"
    if got is None:
        raise fail(f"{name}: expected {shape}, got None (is a return statement missing?) [{case}]", code="none", case=case)
    if isinstance(got, bool) or (isinstance(got, dict) and "$object" in got) or isinstance(got, (tuple, list, dict, str)):
        kind = describe(got)
        extra = " — return a numpy array (np.asarray), not a torch tensor" if "torch" in kind else ""
        raise fail(f"{name}: expected {shape}, got {kind}{extra} [{case}]", code="not-array", case=case)
    if isinstance(got, (int, float)):
        got = np.asarray(float(got)) if scalar else np.asarray(got)
    if not isinstance(got, np.ndarray):
        raise fail(f"{name}: expected {shape}, got {describe(got)} [{case}]", code="not-array", case=case)
    if scalar:
        if got.shape != ():
            raise fail(f"{name}: expected a scalar (a float), got an array of shape {got.shape} — reduce it with .mean() or .sum() [{case}]", code="shape", case=case)
    elif got.shape != expected.shape:
        if got.ndim == 2 and got.shape == expected.shape[::-1] and got.shape != expected.shape:
            raise fail(
                f"{name}: expected shape {expected.shape}, got {got.shape} — transposed: check the order of the factors in the matrix product [{case}]",
                code="transposed",
                case=case,
            )
        raise fail(f"{name}: expected shape {expected.shape}, got {got.shape} [{case}]", code="shape", case=case)
    if got.dtype.kind in "iub":
        raise fail(f"{name}: expected float64 values, got integers ({got.dtype}) — an integer array or integer division somewhere [{case}]", code="dtype", case=case)
    if got.dtype.kind == "c":
        raise fail(f"{name}: expected real float64 values, got {got.dtype} [{case}]", code="dtype", case=case)
    if got.dtype != np.float64:
        raise fail(f"{name}: expected float64, got {got.dtype} — keep every array in float64 (no .astype(np.float32)) [{case}]", code="dtype", case=case)
    return got


def compare(
    name: str,
    expected,
    got,
    *,
    case: str,
    threshold: float = TOL,
    scalar: bool = False,
    variants: list[tuple[str, object, str]] = (),
    batch: int | None = None,
    zero_mask: np.ndarray | None = None,
    nan_hint: str = "",
) -> float:
    """Relative error of ``got`` against ``expected``; raises Mismatch with a diagnosis when above threshold."""
    expected = np.asarray(expected, dtype=np.float64)
    arr = as_array(name, got, expected, case, scalar)
    if not np.all(np.isfinite(arr)):
        index = _index(np.argwhere(~np.isfinite(arr)))
        value = arr[index] if arr.shape else arr
        code = "softmax-overflow" if nan_hint and "overflow" in nan_hint else "nan"
        raise fail(
            f"{name}: got {fmt(value)} at index {index} where {fmt(expected[index] if expected.shape else expected)} was expected"
            f"{nan_hint} [{case}]",
            code=code,
            case=case,
        )
    error = rel_error(arr, expected)
    if error <= threshold:
        return error
    worst = _worst(name, expected, arr)
    where = f"worst at {name}{list(worst['index'])}: expected {fmt(worst['expected'])}, got {fmt(worst['got'])}"
    for code, variant, text in variants:
        variant = np.asarray(variant, dtype=np.float64)
        if variant.shape == arr.shape and rel_error(arr, variant) <= VARIANT_TOL:
            raise fail(f"{name}: {text}; {where} [{case}]", code=code, error=error, threshold=threshold, worst=worst, case=case)
    code, text = _factor(arr, expected, batch)
    if code:
        raise fail(f"{name}: {text}; {where} [{case}]", code=code, error=error, threshold=threshold, worst=worst, case=case)
    if zero_mask is not None and arr.shape == zero_mask.shape:
        wrong = np.abs(arr - expected) > 1e-9 * (1 + np.abs(expected))
        if wrong.any() and not (wrong & ~zero_mask).any():
            raise fail(
                f"{name}: wrong only where the input is exactly 0 — the ReLU kink: its derivative at 0 is taken as 0 (PyTorch's convention); {where} [{case}]",
                code="relu-kink",
                error=error,
                threshold=threshold,
                worst=worst,
                case=case,
            )
    raise fail(f"{name}: relative error {error:.2e} (threshold {threshold:.0e}); {where} [{case}]", code="values", error=error, threshold=threshold, worst=worst, case=case)


def _index(positions) -> tuple:
    if len(positions) == 0:
        return ()
    return tuple(int(i) for i in positions[0])


def _worst(name: str, expected: np.ndarray, got: np.ndarray) -> dict:
    diff = np.abs(got - expected)
    index = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.shape else ()
    index = tuple(int(i) for i in index)
    return {"tensor": name, "index": index, "expected": float(expected[index]), "got": float(got[index])}


def _factor(got: np.ndarray, expected: np.ndarray, batch: int | None) -> tuple[str | None, str]:
    denominator = float(np.sum(expected * expected))
    if denominator == 0.0:
        return None, ""
    c = float(np.sum(got * expected)) / denominator
    if rel_error(got, c * expected) > 1e-6 or abs(c - 1) < 1e-9:
        return None, ""
    if abs(c) < 1e-12:
        return "zero", "came back as zeros"
    if batch and batch > 1 and (abs(c - batch) < 1e-6 * batch or abs(c * batch - 1) < 1e-6):
        which = f"×{batch}" if c > 1 else f"×1/{batch}"
        return "batch-mean", f"off by a factor {which} (N = {batch}): the batch mean is taken twice or not at all"
    if abs(c + 1) < 1e-6:
        return "sign", "off by a factor ×−1: the sign is flipped"
    return "factor", f"off by a constant factor ×{c:.6g}"


def compare_numeric(name: str, analytic, coords, numeric, *, case: str, forward: str, shape: tuple, threshold: float = NUMERIC_TOL) -> float:
    """Your backward at sampled coordinates against centred differences of your own forward."""
    if not isinstance(analytic, np.ndarray) or analytic.dtype.kind != "f":
        raise fail(f"{name}: your backward returned {describe(analytic)}, which cannot be compared with finite differences [{case}]", code="not-array", case=case)
    if analytic.shape != tuple(shape):
        transposed = analytic.ndim == 2 and analytic.shape == tuple(shape)[::-1]
        raise fail(
            f"{name}: expected shape {tuple(shape)}, got {analytic.shape}{' — transposed' if transposed else ''}: cannot compare with finite differences [{case}]",
            code="transposed" if transposed else "shape",
            case=case,
        )
    flat = analytic.reshape(-1)
    coords = np.asarray(coords, dtype=np.int64)
    if coords.size and coords.max() >= flat.size:
        raise fail(f"{name}: your backward returned shape {analytic.shape}, too small for the input [{case}]", code="shape", case=case)
    numeric = np.asarray(numeric, dtype=np.float64)
    keep = np.isfinite(numeric)
    a = flat[coords][keep]
    b = numeric[keep]
    if a.size == 0:
        return 0.0
    if not np.all(np.isfinite(a)):
        raise fail(f"{name}: your backward returned non-finite values [{case}]", code="nan", case=case)
    error = rel_error(a, b)
    # Near-zero gradients: finite differences cannot resolve a relative error
    # there, so an absolute difference below ABS_FLOOR per point also passes.
    if error <= threshold or float(np.max(np.abs(a - b))) <= NUMERIC_ABS_FLOOR:
        return error
    j = int(np.argmax(np.abs(a - b)))
    index = tuple(int(i) for i in np.unravel_index(int(coords[keep][j]), analytic.shape))
    worst = {"tensor": name, "index": index, "expected": float(b[j]), "got": float(a[j])}
    raise fail(
        f"{name} does not match the centred-difference gradient of your own {forward}: at {name}{list(index)} "
        f"your backward gives {fmt(a[j])}, finite differences give {fmt(b[j])} (relative error {error:.2e}) [{case}]",
        code="backward-vs-forward",
        error=error,
        threshold=threshold,
        worst=worst,
        case=case,
    )
