"""Reference solution for exercises/rnn.py (used by the tests; never shipped as a starter)."""

import numpy as np


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    h = np.tanh(x @ Wx + h_prev @ Wh + b)  # (N, H)
    return h, (x, h_prev, Wx, Wh, h)


def rnn_step_backward(dh, cache):
    x, h_prev, Wx, Wh, h = cache
    da = dh * (1.0 - h * h)  # (N, H)
    dx = da @ Wx.T  # (N, D)
    dh_prev = da @ Wh.T  # (N, H)
    dWx = x.T @ da  # (D, H)
    dWh = h_prev.T @ da  # (H, H)
    db = da.sum(axis=0)  # (H,)
    return dx, dh_prev, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    n, t, _ = x.shape
    h = np.zeros((n, t, h0.shape[1]))  # (N, T, H)
    caches = []
    prev = h0
    for step in range(t):
        prev, cache = rnn_step_forward(x[:, step], prev, Wx, Wh, b)
        h[:, step] = prev
        caches.append(cache)
    return h, (caches, x.shape)


def rnn_backward(dh, cache):
    caches, (n, t, d) = cache
    dx = np.zeros((n, t, d))  # (N, T, D)
    dWx = np.zeros_like(caches[0][2])
    dWh = np.zeros_like(caches[0][3])
    db = np.zeros(dWh.shape[0])
    dnext = np.zeros((n, dWh.shape[0]))  # gradient arriving from step t+1
    for step in reversed(range(t)):
        dx[:, step], dnext, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, step] + dnext, caches[step])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dnext, dWx, dWh, db
