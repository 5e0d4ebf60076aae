"""Checks for exercises/rnn.py: a tanh RNN step and backpropagation through time."""

from __future__ import annotations

import numpy as np

from tutor.grading.engine import Plan
from tutor.grading.specs._common import LayerCase, label, layer_checks


def _step(x, h_prev, Wx, Wh, b):
    return (x @ Wx + h_prev @ Wh + b).tanh()


def _sequence(x, h0, Wx, Wh, b, carry=True):
    import torch

    h, states = h0, []
    for t in range(x.shape[1]):
        prev = h if (carry or t == 0) else h.detach()
        h = _step(x[:, t], prev, Wx, Wh, b)
        states.append(h)
    return torch.stack(states, dim=1)


def _weights(rng, d, h):
    return rng.normal(scale=0.5, size=(d, h)), rng.normal(scale=0.5, size=(h, h)), rng.normal(scale=0.1, size=h)


def plan(rng: np.random.Generator) -> Plan:
    p = Plan()
    cases = []
    for n, d, h in [(1, 3, 4), (5, 4, 3), (3, 6, 6)]:
        wx, wh, b = _weights(rng, d, h)
        cases.append(LayerCase(label(N=n, D=d, H=h), [rng.normal(size=(n, d)), rng.normal(size=(n, h)), wx, wh, b], rng.normal(size=(n, h)), batch=n))

    def step_variants(case, outs, grads):
        dx, dh_prev, dwx, dwh, db = grads
        found = {"dWh": [("transposed", dwh.T, "looks transposed: dWh is h_prev.T times the pre-activation gradient")]}
        if case.batch > 1:
            found["db"] = [("bias-averaged", db / case.batch, "the bias gradient is averaged over the batch; sum it")]
        return found

    layer_checks(
        p, rng, forward="rnn_step_forward", backward="rnn_step_backward", cases=cases, reference=_step,
        grad_names=("dx", "dh_prev", "dWx", "dWh", "db"), grad_of=[0, 1, 2, 3, 4], outputs=("h",), variants=step_variants,
    )

    seqs = []
    for n, t, d, h in [(1, 4, 3, 4), (4, 6, 3, 5), (2, 3, 5, 2)]:
        wx, wh, b = _weights(rng, d, h)
        seqs.append(LayerCase(label(N=n, T=t, D=d, H=h), [rng.normal(size=(n, t, d)), rng.normal(size=(n, h)), wx, wh, b], rng.normal(size=(n, t, h)), batch=n))

    def bptt_variants(case, outs, grads):
        from tutor.grading.specs._common import torch_reference

        _outs, cut = torch_reference(lambda *a: _sequence(*a, carry=False), case.args, [0, 1, 2, 3, 4], [case.dout])
        text = "matches BPTT that drops the gradient arriving from the next time step: add it to dh[:, t] before each step's backward"
        return {name: [("bptt-carry", g, text)] for name, g in zip(("dx", "dh0", "dWx", "dWh", "db"), cut)}

    layer_checks(
        p, rng, forward="rnn_forward", backward="rnn_backward", cases=seqs, reference=_sequence,
        grad_names=("dx", "dh0", "dWx", "dWh", "db"), grad_of=[0, 1, 2, 3, 4], outputs=("h",), variants=bptt_variants,
    )
    return p
