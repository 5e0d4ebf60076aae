"""A correct batchnorm solution written differently: the variance as E[x²] − E[x]², a backward that recomputes
the statistics from x (with the biased variance, as the forward does)."""

import numpy as np


def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.9, eps=1e-5):
    d = x.shape[1]
    if train:
        mean = np.mean(x, axis=0)
        var = np.mean(x * x, axis=0) - mean * mean  # biased: E[x²] − E[x]²
        state["running_mean"] = momentum * state.get("running_mean", np.zeros(d)) + (1 - momentum) * mean
        state["running_var"] = momentum * state.get("running_var", np.ones(d)) + (1 - momentum) * var
    else:
        mean, var = state.get("running_mean", np.zeros(d)), state.get("running_var", np.ones(d))
    out = gamma * (x - mean) / np.sqrt(var + eps) + beta
    return out, {"x": x, "gamma": gamma, "eps": eps}


def batchnorm_backward(dout, cache):
    x, gamma, eps = cache["x"], cache["gamma"], cache["eps"]
    n = x.shape[0]
    mean = x.sum(axis=0) / n
    var = ((x - mean) ** 2).sum(axis=0) / n
    inv_std = (var + eps) ** -0.5
    x_hat = (x - mean) * inv_std
    dgamma = np.einsum("nd,nd->d", dout, x_hat)
    dbeta = np.einsum("nd->d", dout)
    dx_hat = dout * gamma
    dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) * inv_std
    return dx, dgamma, dbeta
