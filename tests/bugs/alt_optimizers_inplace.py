"""A correct optimizers solution written differently: in-place updates of w and of the state's arrays."""

import numpy as np


def sgd_momentum(w, dw, state, lr, momentum):
    if "v" not in state:
        state["v"] = dw.copy()
    else:
        state["v"] *= momentum
        state["v"] += dw
    w -= lr * state["v"]
    return w


def rmsprop(w, dw, state, lr, alpha, eps):
    s = state.setdefault("s", np.zeros_like(w))
    s *= alpha
    s += (1 - alpha) * dw**2
    w -= lr * dw / (np.sqrt(s) + eps)
    return w


def adam(w, dw, state, lr, beta1, beta2, eps):
    state["t"] = state.get("t", 0) + 1
    m = state.setdefault("m", np.zeros_like(w))
    v = state.setdefault("v", np.zeros_like(w))
    m *= beta1
    m += (1 - beta1) * dw
    v *= beta2
    v += (1 - beta2) * dw * dw
    t = state["t"]
    w -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return w
