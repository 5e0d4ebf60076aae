"""A correct batchnorm solution written differently: state.setdefault in both modes, the running statistics updated in place."""

import numpy as np


def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.9, eps=1e-5):
    running_mean = state.setdefault("running_mean", np.zeros(x.shape[1]))  # (D,) test mode writes back what is there
    running_var = state.setdefault("running_var", np.ones(x.shape[1]))  # (D,)
    if not train:
        return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta, None
    mean, var = x.mean(axis=0), x.var(axis=0)  # (D,)
    running_mean *= momentum
    running_mean += (1.0 - momentum) * mean
    running_var *= momentum
    running_var += (1.0 - momentum) * var
    x_hat = (x - mean) / np.sqrt(var + eps)  # (N, D)
    return gamma * x_hat + beta, (x_hat, gamma, 1.0 / np.sqrt(var + eps))


def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    dx_hat = dout * gamma  # (N, D)
    dx = inv_std * (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0))  # (N, D)
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
