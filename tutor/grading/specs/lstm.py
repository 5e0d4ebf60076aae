"""Checks for exercises/lstm.py: one LSTM step, gates in PyTorch's order i, f, g, o."""

from __future__ import annotations

import numpy as np

from tutor.grading.engine import Plan
from tutor.grading.specs._common import LayerCase, label, layer_checks


def _step(x, h_prev, c_prev, Wx, Wh, b, order="ifgo"):
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

    def forward_variants(case, outs):
        from tutor.grading.specs._common import torch_reference

        text = "matches the gate order i, f, o, g; this exercise (like PyTorch) stacks the gates as i, f, g, o"
        found = {}
        for order in ("ifog", "figo"):
            other, _ = torch_reference(lambda *a, order=order: _step(*a, order=order), case.args, [], [None, None])
            for name, value in zip(("h", "c"), other):
                found.setdefault(name, []).append(("gate-order", value, text.replace("i, f, o, g", ", ".join(order))))
        return found

    def variants(case, outs, grads):
        dx, dh_prev, dc_prev, dwx, dwh, db = grads
        found = {}
        if case.batch > 1:
            found["db"] = [("bias-averaged", db / case.batch, "the bias gradient is averaged over the batch; sum it")]
        return found

    layer_checks(
        p, rng, forward="lstm_step_forward", backward="lstm_step_backward", cases=cases, reference=_step,
        grad_names=("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"), grad_of=[0, 1, 2, 3, 4, 5], outputs=("h", "c"),
        variants=variants, forward_variants=forward_variants,
    )
    return p
