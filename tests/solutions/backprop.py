"""Reference solution for exercises/backprop.py (used by the tests; never shipped as a starter)."""

import numpy as np


def dense_forward(x, W, b):
    out = x @ W + b  # (N, M)
    cache = (x, W)
    return out, cache


def dense_backward(dout, cache):
    x, W = cache  # (N, D), (D, M)
    dx = dout @ W.T  # (N, D)
    dW = x.T @ dout  # (D, M)
    db = dout.sum(axis=0)  # (M,)
    return dx, dW, db


def relu_forward(x):
    out = np.maximum(x, 0.0)  # same shape as x
    return out, x


def relu_backward(dout, cache):
    x = cache
    dx = dout * (x > 0)  # same shape as x
    return dx


def sigmoid_forward(x):
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    z = np.exp(x[~positive])
    out[~positive] = z / (1.0 + z)
    return out, out


def sigmoid_backward(dout, cache):
    s = cache
    dx = dout * s * (1.0 - s)
    return dx


def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)  # (N, C)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, C)
    loss = -log_probs[np.arange(n), y].mean()
    dlogits = np.exp(log_probs)  # (N, C)
    dlogits[np.arange(n), y] -= 1.0
    dlogits /= n
    return loss, dlogits


def mlp_forward_backward(params, X, y):
    layers = len([k for k in params if k.startswith("W")])
    caches = []
    h = X  # (N, D)
    for i in range(1, layers + 1):
        h, dense_cache = dense_forward(h, params[f"W{i}"], params[f"b{i}"])
        relu_cache = None
        if i < layers:
            h, relu_cache = relu_forward(h)
        caches.append((dense_cache, relu_cache))
    loss, dh = softmax_cross_entropy(h, y)
    grads = {}
    for i in range(layers, 0, -1):
        dense_cache, relu_cache = caches[i - 1]
        if relu_cache is not None:
            dh = relu_backward(dh, relu_cache)
        dh, grads[f"W{i}"], grads[f"b{i}"] = dense_backward(dh, dense_cache)
    return loss, grads
