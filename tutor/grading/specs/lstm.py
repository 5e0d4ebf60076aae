"""Checks for exercises/lstm.py: one LSTM step, gates in PyTorch's order i, f, g, o."""

from __future__ import annotations

from typing import Any

import numpy as np

from tutor.grading.diagnoses import Diagnosis as D
from tutor.grading.engine import Plan
from tutor.grading.specs._common import LayerCase, label, layer_checks


def _numpy_step(x: Any, h_prev: Any, c_prev: Any, Wx: Any, Wh: Any, b: Any, dh: Any, dc: Any, slip: Any = "") -> Any:
    """(h, c) and the six gradients of one LSTM step, with one known slip applied."""
    hidden = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731 - the grader's inputs are small
    i, o = sig(a[:, :hidden]), sig(a[:, 3 * hidden:])
    f = np.tanh(a[:, hidden:2 * hidden]) if slip == "forget-tanh" else sig(a[:, hidden:2 * hidden])
    g = np.tanh(a[:, 2 * hidden:3 * hidden])
    c = f * c_prev + i * g
    tc = np.tanh(c)
    h = o * tc
    through_h = dh * o if slip == "tanh-c-missing" else dh * o * (1.0 - tc * tc)
    dc_total = {"dc-missing": through_h, "dc-through-h": dc}.get(slip, dc + through_h)
    di = dc_total * g * i * (1.0 - i)
    df = dc_total * c_prev * ((1.0 - f * f) if slip == "forget-tanh" else f * (1.0 - f))
    if slip == "df-zero":
        df = np.zeros_like(f)
    elif slip == "df-no-c-prev":
        df = dc_total * f * (1.0 - f)
    elif slip == "df-new-c":
        df = dc_total * c * f * (1.0 - f)
    local = {"tanh-derivative": 1.0 - g, "tanh-as-sigmoid": g * (1.0 - g)}.get(slip, 1.0 - g * g)
    dg = dc_total * i * local
    do = dh * tc * o * (1.0 - o)
    da = np.concatenate([di, df, dg, do], axis=1)
    dc_prev = dc_total if slip == "dc-prev-forget" else dc_total * f
    return (h, c), (da @ Wx.T, da @ Wh.T, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0))


SLIPS = {
    "dc-missing": (D.LSTM_DC_MISSING, "matches a backward that drops the gradient arriving in dc: the cell's total gradient is dc plus what flows back through h"),
    "dc-through-h": (D.LSTM_DC_THROUGH_H, "matches a backward where c gets no gradient through h = o·tanh(c): add dh·o·(1 − tanh(c)²) to dc"),
    "dc-prev-forget": (D.LSTM_DC_PREV_FORGET, "matches dc_prev without the forget gate: c = f·c_prev + i·g, so dc_prev = (total dc)·f"),
    "tanh-derivative": (D.TANH_DERIVATIVE, "matches the candidate gate g with derivative (1 − g) instead of (1 − g²)"),
    "tanh-as-sigmoid": (D.TANH_DERIVATIVE, "matches the candidate gate g with the sigmoid's derivative g·(1 − g); g is a tanh, whose derivative is 1 − g²"),
    "tanh-c-missing": (D.TANH_DERIVATIVE, "matches a backward where the gradient reaching c through h = o·tanh(c) lacks tanh's derivative: it is dh·o·(1 − tanh(c)²), not dh·o"),
    "forget-tanh": (D.LSTM_FORGET_TANH, "matches a forget gate computed with tanh: f is a sigmoid, like i and o"),
    "df-zero": (D.LSTM_FORGET_GRAD, "matches a backward where the forget gate gets no gradient (df = 0): c = f·c_prev + i·g, "
                "so the forget gate's share of the cell gradient is df = (total dc)·c_prev·f·(1 − f)"),
    "df-no-c-prev": (D.LSTM_FORGET_GRAD, "matches a forget-gate gradient without its c_prev factor: c = f·c_prev + i·g, "
                     "so df = (total dc)·c_prev·f·(1 − f)"),
    "df-new-c": (D.LSTM_FORGET_GRAD, "matches a forget-gate gradient that multiplies by the new cell c instead of c_prev: "
                 "f scales the old cell, so df = (total dc)·c_prev·f·(1 − f)"),
}


def _step(x: Any, h_prev: Any, c_prev: Any, Wx: Any, Wh: Any, b: Any, order: Any = "ifgo") -> Any:
    a = x @ Wx + h_prev @ Wh + b
    gates = dict(zip(order, a.chunk(4, dim=1)))
    i, f, g, o = gates["i"].sigmoid(), gates["f"].sigmoid(), gates["g"].tanh(), gates["o"].sigmoid()
    c = f * c_prev + i * g
    h = o * c.tanh()
    return h, c


def plan(rng: np.random.Generator) -> Plan:
    p = Plan()
    cases = []
    for n, d, h in [(1, 3, 2), (4, 5, 3), (6, 2, 4)]:
        args = [
            rng.normal(size=(n, d)),
            rng.normal(size=(n, h)),
            rng.normal(size=(n, h)),
            rng.normal(scale=0.5, size=(d, 4 * h)),
            rng.normal(scale=0.5, size=(h, 4 * h)),
            rng.normal(scale=0.1, size=4 * h),
        ]
        cases.append(LayerCase(label(N=n, D=d, H=h), args, [rng.normal(size=(n, h)), rng.normal(size=(n, h))], batch=n))

    def forward_variants(case: Any, outs: Any) -> Any:
        from tutor.grading.specs._common import torch_reference

        text = "matches the gate order i, f, o, g; this exercise (like PyTorch) stacks the gates as i, f, g, o"
        found: dict[str, list[Any]] = {}
        for order in ("ifog", "figo"):
            other, _ = torch_reference(lambda *a, order=order: _step(*a, order=order), case.args, [], [None, None])  # type: ignore[misc,call-arg]
            for name, value in zip(("h", "c"), other):
                found.setdefault(name, []).append((D.GATE_ORDER, value, text.replace("i, f, o, g", ", ".join(order))))
        (h, c), _ = _numpy_step(*case.args, *case.dout, slip="forget-tanh")  # type: ignore[misc,call-arg]
        code, text = SLIPS["forget-tanh"]
        found["h"].append((code, h, text))
        found["c"].append((code, c, text))
        return found

    def variants(case: Any, outs: Any, grads: Any) -> Any:
        dx, dh_prev, dc_prev, dwx, dwh, db = grads
        found: dict[str, list[Any]] = {name: [] for name in ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")}
        if case.batch > 1:
            found["db"].append((D.BIAS_AVERAGED, db / case.batch, "the bias gradient is averaged over the batch; sum it"))
        for slip in ("dc-missing", "dc-through-h", "dc-prev-forget", "tanh-derivative", "tanh-as-sigmoid", "tanh-c-missing",
                     "df-zero", "df-no-c-prev", "df-new-c"):
            code, text = SLIPS[slip]
            _, slipped = _numpy_step(*case.args, *case.dout, slip=slip)  # type: ignore[misc,call-arg]
            for name, value in zip(found, slipped):
                found[name].append((code, value, text))
        return found

    layer_checks(
        p, rng, forward="lstm_step_forward", backward="lstm_step_backward", cases=cases, reference=_step,
        grad_names=("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"), grad_of=[0, 1, 2, 3, 4, 5], outputs=("h", "c"),
        variants=variants, forward_variants=forward_variants,
    )
    return p
