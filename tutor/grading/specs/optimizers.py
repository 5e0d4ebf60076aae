"""Checks for exercises/optimizers.py: SGD with momentum, RMSprop and Adam against torch.optim.

The child applies the learner's update step by step to a fixed sequence of
random gradients; the parent replays the same gradients through torch.optim
and compares the weights after every step, naming the first step that differs.
"""

from __future__ import annotations

from functools import partial

from typing import Any

import numpy as np

from tutor.grading.compare import TOL, VARIANT_TOL, Mismatch, at, compare, fail, fmt, rel_error
from tutor.grading.diagnoses import Diagnosis as D
from tutor.grading.engine import Plan
from tutor.grading.specs._common import check

STEPS = 25


def _torch_trajectory(name: str, w0: np.ndarray, grads: list, hyper: dict) -> list[np.ndarray]:
    """The weights after every step, computed with float64 torch tensors by torch.optim's own rules.

    The update rules are written out (as ``torch.optim``'s documentation states them for these
    settings: no weight decay, no dampening, not centred, not AMSGrad) instead of calling
    ``torch.optim``: a first optimizer step in a process imports PyTorch's compiler stack, which
    would double the time of every ``check``. ``tests/test_exercise_optimizers.py`` asserts that
    these trajectories equal ``torch.optim.SGD``/``RMSprop``/``Adam`` for random settings.
    """
    import torch

    w = torch.tensor(w0, dtype=torch.float64)  # (D,)
    lr = float(hyper["lr"])
    state: dict[str, torch.Tensor] = {}
    out = []
    for t, g_np in enumerate(grads, start=1):
        g = torch.tensor(g_np, dtype=torch.float64)  # (D,)
        if name == "sgd_momentum":
            # torch.optim.SGD: the buffer starts as the first gradient, then buf = momentum * buf + g.
            buf = g.clone() if t == 1 else hyper["momentum"] * state["buf"] + g
            state["buf"] = buf
            w = w - lr * buf
        elif name == "rmsprop":
            # torch.optim.RMSprop: square_avg = alpha * square_avg + (1 - alpha) * g^2; eps outside the root.
            sq = (1 - hyper["alpha"]) * g * g + hyper["alpha"] * state.get("sq", torch.zeros_like(w))
            state["sq"] = sq
            w = w - lr * g / (sq.sqrt() + hyper["eps"])
        else:
            # torch.optim.Adam: both moments bias-corrected; eps added to sqrt(v_hat).
            b1, b2 = hyper["beta1"], hyper["beta2"]
            m = b1 * state.get("m", torch.zeros_like(w)) + (1 - b1) * g
            v = b2 * state.get("v", torch.zeros_like(w)) + (1 - b2) * g * g
            state["m"], state["v"] = m, v
            denom = v.sqrt() / (1 - b2**t) ** 0.5 + hyper["eps"]
            w = w - (lr / (1 - b1**t)) * m / denom
        out.append(w.numpy().copy())
    return out


def torch_optim_trajectory(name: str, w0: np.ndarray, grads: list, hyper: dict) -> list[np.ndarray]:
    """The same trajectory through ``torch.optim`` itself (for the tests that pin the rules above)."""
    import torch

    w = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    if name == "sgd_momentum":
        opt: torch.optim.Optimizer = torch.optim.SGD([w], lr=hyper["lr"], momentum=hyper["momentum"])
    elif name == "rmsprop":
        opt = torch.optim.RMSprop([w], lr=hyper["lr"], alpha=hyper["alpha"], eps=hyper["eps"])
    else:
        opt = torch.optim.Adam([w], lr=hyper["lr"], betas=(hyper["beta1"], hyper["beta2"]), eps=hyper["eps"])
    out = []
    for g in grads:
        w.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(w.detach().numpy().copy())
    return out


def _variants(name: str, w0: Any, grads: Any, hyper: Any) -> list[tuple[Any, list[Any], str]]:
    """Trajectories of common mistakes, computed in numpy."""
    found: list[tuple[Any, list[Any], str]] = []

    def run(update: Any) -> Any:
        w, out = w0.copy(), []
        state: dict[str, Any] = {}
        for g in grads:
            w = update(w, g, state)
            out.append(w)
        return out

    lr = hyper["lr"]
    if name == "sgd_momentum":
        m = hyper["momentum"]

        def dampened(w: Any, g: Any, s: Any) -> Any:
            s["v"] = m * s.get("v", np.zeros_like(w)) + (1 - m) * g
            return w - lr * s["v"]

        def forgetful(w: Any, g: Any, s: Any) -> Any:
            return w - lr * g

        def dampened_later(w: Any, g: Any, s: Any) -> Any:
            s["v"] = g.copy() if "v" not in s else m * s["v"] + (1 - m) * g
            return w - lr * s["v"]

        def uphill(w: Any, g: Any, s: Any) -> Any:
            s["v"] = g.copy() if "v" not in s else m * s["v"] + g
            return w + lr * s["v"]

        def uphill_velocity(w: Any, g: Any, s: Any) -> Any:  # v = momentum * v - lr * dw, then w - v
            s["v"] = m * s.get("v", np.zeros_like(w)) - lr * g
            return w - s["v"]

        found.append((D.MOMENTUM_DAMPENED, run(dampened_later), "the velocity mixes in (1 − momentum)·dw; torch's SGD adds dw itself: v = momentum·v + dw"))
        found.append((D.MOMENTUM_DAMPENED, run(dampened), "the velocity mixes in (1 − momentum)·dw; torch's SGD adds dw itself: v = momentum·v + dw"))
        found.append((D.STATE_NOT_KEPT, run(forgetful), "every step acts like the first: keep the velocity in state between calls"))
        found.append((D.MOMENTUM_SIGN, run(uphill), "the step goes uphill: w + lr·v where torch takes w − lr·v"))
        found.append((D.MOMENTUM_SIGN, run(uphill_velocity), "the velocity already holds −lr·dw, and then it is subtracted again: the step goes uphill"))
    elif name == "rmsprop":
        a, eps = hyper["alpha"], hyper["eps"]

        def inside(w: Any, g: Any, s: Any) -> Any:
            s["s"] = a * s.get("s", np.zeros_like(w)) + (1 - a) * g * g
            return w - lr * g / np.sqrt(s["s"] + eps)

        def forgetful(w: Any, g: Any, s: Any) -> Any:
            return w - lr * g / (np.sqrt((1 - a) * g * g) + eps)

        def no_sqrt(w: Any, g: Any, s: Any) -> Any:
            s["s"] = a * s.get("s", np.zeros_like(w)) + (1 - a) * g * g
            return w - lr * g / (s["s"] + eps)

        found.append((D.EPS_PLACEMENT, run(inside), "eps is inside the square root; torch adds it after: sqrt(s) + eps"))
        found.append((D.STATE_NOT_KEPT, run(forgetful), "every step acts like the first: keep the running average in state between calls"))
        found.append((D.RMSPROP_NO_SQRT, run(no_sqrt), "the step divides by the running mean of dw² itself; divide by its square root: sqrt(s) + eps"))
    else:
        b1, b2, eps = hyper["beta1"], hyper["beta2"], hyper["eps"]

        def adam(correct: Any = True, inside: Any = False) -> Any:
            def update(w: Any, g: Any, s: Any) -> Any:
                s["t"] = s.get("t", 0) + 1
                s["m"] = b1 * s.get("m", np.zeros_like(w)) + (1 - b1) * g
                s["v"] = b2 * s.get("v", np.zeros_like(w)) + (1 - b2) * g * g
                m_hat = s["m"] / (1 - b1 ** s["t"]) if correct else s["m"]
                v_hat = s["v"] / (1 - b2 ** s["t"]) if correct else s["v"]
                return w - lr * m_hat / (np.sqrt(v_hat + eps) if inside else (np.sqrt(v_hat) + eps))

            return update

        def frozen_t(w: Any, g: Any, s: Any) -> Any:
            s["m"] = b1 * s.get("m", np.zeros_like(w)) + (1 - b1) * g
            s["v"] = b2 * s.get("v", np.zeros_like(w)) + (1 - b2) * g * g
            return w - lr * (s["m"] / (1 - b1)) / (np.sqrt(s["v"] / (1 - b2)) + eps)

        def tf_form(w: Any, g: Any, s: Any) -> Any:
            s["t"] = s.get("t", 0) + 1
            s["m"] = b1 * s.get("m", np.zeros_like(w)) + (1 - b1) * g
            s["v"] = b2 * s.get("v", np.zeros_like(w)) + (1 - b2) * g * g
            step = lr * np.sqrt(1 - b2 ** s["t"]) / (1 - b1 ** s["t"])
            return w - step * s["m"] / (np.sqrt(s["v"]) + eps)

        found.append((D.BIAS_CORRECTION, run(adam(correct=False)), "no bias correction: divide m by (1 − beta1^t) and v by (1 − beta2^t), with t the step count"))
        found.append((D.STEP_COUNT, run(frozen_t), "the bias correction always uses t = 1: count the steps in state"))
        found.append((D.EPS_PLACEMENT, run(adam(inside=True)), "eps is inside the square root; torch adds it after: sqrt(v_hat) + eps"))
        found.append((D.ADAM_TF_FORM, run(tf_form), "this is the form that folds the bias correction into the learning rate "
                      "(lr·sqrt(1 − beta2^t)/(1 − beta1^t)·m/(sqrt(v) + eps)); torch corrects m and v themselves, so its eps is not rescaled"))
    return found


def _adam_slips(w0: Any, grads: Any, hyper: Any) -> list[tuple[Any, list[Any], str]]:
    """Adam trajectories of slips in the bias correction that are named only where they match every step the learner returned.

    A step count one behind divides by 1 − beta**0 = 0 on the first call, which gives inf or nan; a
    moment corrected with t − 1 alone leaves w where it was on the first step. Neither is evidence on
    one step alone (a w that is never updated stays put too), so :func:`_judge` asks the whole trajectory.
    """
    lr, b1, b2, eps = hyper["lr"], hyper["beta1"], hyper["beta2"], hyper["eps"]

    def run(m_beta: float, v_beta: float, m_shift: int = 0, v_shift: int = 0, guarded: bool = False) -> list[Any]:
        w, out = w0.copy(), []
        m, v = np.zeros_like(w0), np.zeros_like(w0)
        with np.errstate(all="ignore"):
            for t, g in enumerate(grads, start=1):
                m = b1 * m + (1 - b1) * g
                v = b2 * v + (1 - b2) * g * g
                tm, tv = t + m_shift, t + v_shift
                m_hat = m if guarded and tm == 0 else m / (1 - m_beta**tm)
                v_hat = v if guarded and tv == 0 else v / (1 - v_beta**tv)
                w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
                out.append(w)
        return out

    found: list[tuple[Any, list[Any], str]] = [
        (D.BIAS_CORRECTION_BETA, run(b1, b1), "v is bias-corrected with beta1: divide v by (1 − beta2^t), its own beta, and m by (1 − beta1^t)"),
        (D.BIAS_CORRECTION_BETA, run(b2, b2), "m is bias-corrected with beta2: divide m by (1 − beta1^t), its own beta, and v by (1 − beta2^t)"),
        (D.BIAS_CORRECTION_BETA, run(b2, b1), "the betas of the two corrections are swapped: m is divided by (1 − beta1^t), v by (1 − beta2^t)"),
    ]
    before = "the count read before this call's increment (0 on the first call, where 1 − beta^0 = 0)"
    late = {(-1, -1): f"both corrections use t − 1, {before}",
            (-1, 0): f"m is corrected with t − 1, {before}, while v uses t",
            (0, -1): f"v is corrected with t − 1, {before}, while m uses t",
            (1, 1): "both corrections use t + 1, one past the step count",
            (1, 0): "m is corrected with t + 1, one past the step count, while v uses t",
            (0, 1): "v is corrected with t + 1, one past the step count, while m uses t"}
    fix = ": add 1 to the stored count first and correct with the result, so the first call uses t = 1"
    for (m_shift, v_shift), said in late.items():
        found.append((D.STEP_COUNT_OFF_BY_ONE, run(b1, b2, m_shift, v_shift), f"the bias correction is one step off: {said}{fix}"))
    found.append((D.STEP_COUNT_OFF_BY_ONE, run(b1, b2, -1, -1, guarded=True),
                  f"the bias correction is one step off: it is skipped on the first call (t = 0) and uses t − 1 after that{fix}"))
    return found


def _follows(trace: Any, trajectory: list[Any]) -> bool:
    """Whether the learner's w after every step it returned is this trajectory's, inf and nan included, to VARIANT_TOL."""
    if not trace or len(trace) > len(trajectory):
        return False
    for got, want in zip(trace, trajectory):
        if not isinstance(got, np.ndarray) or got.dtype != np.float64 or got.shape != want.shape:
            return False
        bad = ~np.isfinite(want)
        if not np.array_equal(~np.isfinite(got), bad) or not np.array_equal(got[bad], want[bad], equal_nan=True):
            return False
        if (~bad).any() and rel_error(got[~bad], want[~bad]) > VARIANT_TOL:
            return False
    return True


def _informative(trajectory: list[Any]) -> bool:
    """False for a trajectory that is nan everywhere from the first step: many slips end there, so matching it proves nothing."""
    return not np.all(np.isnan(trajectory[0]))


def plan(rng: np.random.Generator) -> Plan:
    p = Plan()
    settings = {
        "sgd_momentum": [{"lr": 0.1, "momentum": 0.9}, {"lr": 0.03, "momentum": 0.5}],
        "rmsprop": [{"lr": 0.01, "alpha": 0.99, "eps": 1e-8}, {"lr": 0.05, "alpha": 0.9, "eps": 1e-6}],
        "adam": [{"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, {"lr": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}],
    }
    for name, hypers in settings.items():
        runs = []
        for k, (hyper, shape) in enumerate(zip(hypers, [(5,), (3, 4)])):
            w0 = rng.normal(size=shape)
            grads = [rng.normal(size=shape) for _ in range(STEPS)]
            job = p.job(f"{name}#{k}", {"op": "fold", "fn": name, "w0": w0, "grads": grads, "kwargs": hyper, "save": "trace"})
            expected = p.lazy(partial(_torch_trajectory, name, w0, grads, hyper))
            case = f"w{shape}, " + ", ".join(f"{k}={v}" for k, v in hyper.items())
            runs.append((job, case, w0, grads, hyper, expected))
        probe = None
        if name == "adam":  # zero gradients: a correct Adam stays put (0 / (0 + eps)); one dividing by 1 − beta^0 = 0 gives 0/0
            probe = p.job("adam#zero-grads", {"op": "fold", "fn": name, "w0": np.array([0.5, -1.5]), "grads": [np.zeros(2)] * 2,
                                               "kwargs": hypers[0], "save": "trace"})
        check(p, f"{name}.first", name, "first step vs torch.optim", TOL)(_judge(name, runs, steps=1, probe=probe))
        check(p, f"{name}.steps", name, f"{STEPS} steps vs torch.optim", TOL)(_judge(name, runs, probe=probe))
    return p


def _divides_by_zero(results: Any, probe: str | None) -> bool:
    """Whether the learner's optimiser turns zero gradients into inf or nan on the first step (the probe job)."""
    if probe is None:
        return False
    try:
        trace = results.get(probe, "trace", "zero gradients")
    except Mismatch:
        return False
    first = trace[0] if isinstance(trace, list) and trace else None
    return isinstance(first, np.ndarray) and first.dtype.kind == "f" and first.size > 0 and not np.any(np.isfinite(first))


def _judge(name: Any, runs: Any, steps: Any = None, probe: str | None = None) -> Any:
    def judge(results: Any) -> Any:
        worst = 0.0
        for job, case, w0, grads, hyper, expected in runs:
            trace = results.get(job, "trace", case)
            want = expected()[:steps]
            variants = _variants(name, w0, grads, hyper)
            if name == "adam":  # matched on every step, so they come first; a w that is nan throughout says little alone
                slips = [s for s in _adam_slips(w0, grads, hyper) if _follows(trace, s[1]) and (_informative(s[1]) or _divides_by_zero(results, probe))]
                variants = slips + variants
            for t, target in enumerate(want):
                if t >= len(trace):
                    raise fail(f"{name} stopped returning arrays after step {len(trace)}: it should return the updated w every time [{case}]", code=D.NONE, case=case)
                _refuse_non_finite_slip(trace[t], target, t, variants, case)
                try:
                    worst = max(worst, compare(f"w after step {t + 1}", target, trace[t], case=case,
                                               variants=[(code, traj[t], text) for code, traj, text in variants]))
                except Mismatch as mismatch:
                    if t > 0 and mismatch.outcome.code == D.VALUES.value:
                        mismatch.outcome.message = mismatch.outcome.message.replace(
                            f"w after step {t + 1}:", f"w after step {t + 1} (steps 1–{t} matched; look at how state carries over):", 1)
                    raise
        return worst

    return judge


def _refuse_non_finite_slip(got: Any, target: Any, t: int, variants: Any, case: str) -> None:
    """Name a known slip whose w after step t + 1 is inf or nan just as the learner's (compare stops at any non-finite value)."""
    if not isinstance(got, np.ndarray) or got.dtype != np.float64 or np.all(np.isfinite(got)):
        return
    for code, trajectory, text in variants:
        want = trajectory[t]
        if np.all(np.isfinite(want)) or not _follows([got], [want]):
            continue
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
        name = f"w after step {t + 1}"
        raise fail(f"{name}: got {fmt(got[index])} at {at(name, index)} where {fmt(target[index])} was expected — {text} [{case}]",
                   code=code, case=case)
