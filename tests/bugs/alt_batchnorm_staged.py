"""A correct batchnorm solution written differently: a staged backward through every intermediate, a dict cache."""

import numpy as np


def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.9, eps=1e-5):
    if not train:
        out = gamma * (x - state.get("running_mean", 0.0)) / np.sqrt(state.get("running_var", 1.0) + eps) + beta
        return out, None
    mu = x.mean(axis=0)  # (D,)
    xc = x - mu  # (N, D)
    var = (xc**2).mean(axis=0)  # (D,)
    std = np.sqrt(var + eps)  # (D,)
    xn = xc / std  # (N, D)
    d = x.shape[1]
    state["running_mean"] = momentum * state.get("running_mean", np.zeros(d)) + (1 - momentum) * mu
    state["running_var"] = momentum * state.get("running_var", np.ones(d)) + (1 - momentum) * var
    return gamma * xn + beta, {"xc": xc, "std": std, "xn": xn, "gamma": gamma}


def batchnorm_backward(dout, cache):
    xc, std, xn, gamma = cache["xc"], cache["std"], cache["xn"], cache["gamma"]
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xn).sum(axis=0)
    dxn = dout * gamma
    dxc = dxn / std
    dstd = -(dxn * xc).sum(axis=0) / std**2
    dvar = 0.5 * dstd / std
    dxc += 2.0 * xc * dvar / n
    dmu = -dxc.sum(axis=0)
    dx = dxc + dmu / n
    return dx, dgamma, dbeta
