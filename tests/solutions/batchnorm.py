"""Reference solution for exercises/batchnorm.py (used by the tests; never shipped as a starter)."""

import numpy as np


def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.9, eps=1e-5):
    d = x.shape[1]
    running_mean = state.get("running_mean", np.zeros(d))  # (D,)
    running_var = state.get("running_var", np.ones(d))  # (D,)
    if train:
        mean = x.mean(axis=0)  # (D,)
        var = x.var(axis=0)  # (D,) biased: divides by N
        inv_std = 1.0 / np.sqrt(var + eps)  # (D,)
        x_hat = (x - mean) * inv_std  # (N, D)
        out = gamma * x_hat + beta  # (N, D)
        state["running_mean"] = momentum * running_mean + (1.0 - momentum) * mean
        state["running_var"] = momentum * running_var + (1.0 - momentum) * var
        cache = (x_hat, gamma, inv_std)
    else:
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)  # (N, D)
        out = gamma * x_hat + beta
        cache = None
    return out, cache


def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)  # (D,)
    dgamma = (dout * x_hat).sum(axis=0)  # (D,)
    dx_hat = dout * gamma  # (N, D)
    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))  # (N, D)
    return dx, dgamma, dbeta
