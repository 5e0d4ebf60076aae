"""Reference solution for exercises/optimizers.py (used by the tests; never shipped as a starter)."""

import numpy as np


def sgd_momentum(w, dw, state, lr, momentum):
    velocity = state.get("velocity")
    velocity = dw.copy() if velocity is None else momentum * velocity + dw
    state["velocity"] = velocity
    return w - lr * velocity


def rmsprop(w, dw, state, lr, alpha, eps):
    square = state.get("square", np.zeros_like(w))
    square = alpha * square + (1.0 - alpha) * dw * dw
    state["square"] = square
    return w - lr * dw / (np.sqrt(square) + eps)


def adam(w, dw, state, lr, beta1, beta2, eps):
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", np.zeros_like(w)) + (1.0 - beta1) * dw
    v = beta2 * state.get("v", np.zeros_like(w)) + (1.0 - beta2) * dw * dw
    state.update(t=t, m=m, v=v)
    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps)
