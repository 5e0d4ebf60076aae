"""Reference solution for exercises/dropout.py (used by the tests; never shipped as a starter)."""

import numpy as np


def dropout_forward(x, p, train=True, rng=None):
    if not train or p == 0.0:
        return x.copy(), None
    if rng is None:
        rng = np.random.default_rng()
    keep = rng.random(x.shape) >= p  # same shape as x
    scale = keep / (1.0 - p)  # same shape as x
    out = x * scale
    return out, scale


def dropout_backward(dout, cache):
    scale = cache
    if scale is None:
        return dout.copy()
    dx = dout * scale
    return dx


def l2_penalty(params, lam):
    loss = 0.0
    grads = {}
    for key, value in params.items():
        if key.startswith("W"):
            loss += 0.5 * lam * np.sum(value * value)
            grads[key] = lam * value
        else:
            grads[key] = np.zeros_like(value)
    return loss, grads
