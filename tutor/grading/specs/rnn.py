"""Checks for exercises/rnn.py: a tanh RNN step and backpropagation through time."""

from __future__ import annotations

from typing import Any

import numpy as np

from tutor.grading.diagnoses import Diagnosis as D
from tutor.grading.engine import Plan
from tutor.grading.specs._common import LayerCase, label, layer_checks

TANH_TEXT = "matches a tanh derivative of (1 − h) instead of (1 − h²), with h the step's own output"


def _numpy_bptt(x: Any, h0: Any, Wx: Any, Wh: Any, b: Any, dh: Any, slip: Any = "") -> Any:
    """The five gradients of backpropagation through time, with one known slip applied."""
    n, t, _ = x.shape
    hs, prev = [], h0
    for step in range(t):
        prev = np.tanh(x[:, step] @ Wx + prev @ Wh + b)
        hs.append(prev)
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dnext = np.zeros_like(h0)
    for step in reversed(range(t)):
        h = hs[step]
        h_prev = hs[step - 1] if step > 0 else h0
        da = (dh[:, step] + dnext) * ((1.0 - h) if slip == "tanh-derivative" else (1.0 - h * h))
        dx[:, step] = da @ Wx.T
        dnext = da @ Wh.T
        if slip == "overwritten":
            dWx, dWh, db = x[:, step].T @ da, h_prev.T @ da, da.sum(axis=0)
        else:
            dWx, dWh, db = dWx + x[:, step].T @ da, dWh + h_prev.T @ da, db + da.sum(axis=0)
    return dx, dnext, dWx, dWh, db


def _step(x: Any, h_prev: Any, Wx: Any, Wh: Any, b: Any) -> Any:
    return (x @ Wx + h_prev @ Wh + b).tanh()


def _sequence(x: Any, h0: Any, Wx: Any, Wh: Any, b: Any, carry: Any = True) -> Any:
    import torch

    h, states = h0, []
    for t in range(x.shape[1]):
        prev = h if (carry or t == 0) else h.detach()
        h = _step(x[:, t], prev, Wx, Wh, b)
        states.append(h)
    return torch.stack(states, dim=1)


def _weights(rng: Any, d: Any, h: Any) -> Any:
    return rng.normal(scale=0.5, size=(d, h)), rng.normal(scale=0.5, size=(h, h)), rng.normal(scale=0.1, size=h)


def plan(rng: np.random.Generator) -> Plan:
    p = Plan()
    cases = []
    for n, d, h in [(1, 3, 4), (5, 4, 3), (3, 6, 6)]:
        wx, wh, b = _weights(rng, d, h)
        cases.append(LayerCase(label(N=n, D=d, H=h), [rng.normal(size=(n, d)), rng.normal(size=(n, h)), wx, wh, b], rng.normal(size=(n, h)), batch=n))

    def step_variants(case: Any, outs: Any, grads: Any) -> Any:
        dx, dh_prev, dwx, dwh, db = grads
        found = {"dWh": [(D.TRANSPOSED, dwh.T, "looks transposed: dWh is h_prev.T times the pre-activation gradient")], "db": []}
        if case.batch > 1:
            found["db"] = [(D.BIAS_AVERAGED, db / case.batch, "the bias gradient is averaged over the batch; sum it")]
        x, h_prev, wx, wh, b = case.args
        slipped = _numpy_bptt(x[:, None], h_prev, wx, wh, b, case.dout[:, None], slip="tanh-derivative")
        for name, value in zip(("dx", "dh_prev", "dWx", "dWh", "db"), slipped):
            found.setdefault(name, []).append((D.TANH_DERIVATIVE, value[:, 0] if name == "dx" else value, TANH_TEXT))
        return found

    layer_checks(
        p, rng, forward="rnn_step_forward", backward="rnn_step_backward", cases=cases, reference=_step,
        grad_names=("dx", "dh_prev", "dWx", "dWh", "db"), grad_of=[0, 1, 2, 3, 4], outputs=("h",), variants=step_variants,
    )

    seqs = []
    for n, t, d, h in [(1, 4, 3, 4), (4, 6, 3, 5), (2, 3, 5, 2)]:
        wx, wh, b = _weights(rng, d, h)
        seqs.append(LayerCase(label(N=n, T=t, D=d, H=h), [rng.normal(size=(n, t, d)), rng.normal(size=(n, h)), wx, wh, b], rng.normal(size=(n, t, h)), batch=n))

    def bptt_variants(case: Any, outs: Any, grads: Any) -> Any:
        from tutor.grading.specs._common import torch_reference

        _outs, cut = torch_reference(lambda *a: _sequence(*a, carry=False), case.args, [0, 1, 2, 3, 4], [case.dout])  # type: ignore[misc,call-arg]
        text = "matches BPTT that drops the gradient arriving from the next time step: add it to dh[:, t] before each step's backward"
        names = ("dx", "dh0", "dWx", "dWh", "db")
        found = {name: [(D.BPTT_CARRY, g, text)] for name, g in zip(names, cut)}
        overwritten = _numpy_bptt(*case.args, case.dout, slip="overwritten")  # type: ignore[misc,call-arg]
        for name, value in zip(names[2:], overwritten[2:]):
            found[name].append((D.GRAD_OVERWRITTEN, value, f"{name} holds only the first time step's share: the weights are shared by every step, so add each step's gradient (+=) instead of assigning it"))
        for name, value in zip(names, _numpy_bptt(*case.args, case.dout, slip="tanh-derivative")):  # type: ignore[misc,call-arg]
            found[name].append((D.TANH_DERIVATIVE, value, TANH_TEXT))
        if case.batch > 1:  # rnn_step_backward's db averaged: every step's share, so the sum over time, is 1/N of it
            found["db"].append((D.BIAS_AVERAGED, grads[4] / case.batch,
                                "the bias gradient is averaged over the batch; sum it over the batch (and add up the time steps)"))
        return found

    layer_checks(
        p, rng, forward="rnn_forward", backward="rnn_backward", cases=seqs, reference=_sequence,
        grad_names=("dx", "dh0", "dWx", "dWh", "db"), grad_of=[0, 1, 2, 3, 4], outputs=("h",), variants=bptt_variants,
    )
    return p
