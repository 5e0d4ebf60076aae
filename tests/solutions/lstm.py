"""Reference solution for exercises/lstm.py (used by the tests; never shipped as a starter)."""

import numpy as np


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    hidden = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b  # (N, 4H)
    i = _sigmoid(a[:, :hidden])
    f = _sigmoid(a[:, hidden:2 * hidden])
    g = np.tanh(a[:, 2 * hidden:3 * hidden])
    o = _sigmoid(a[:, 3 * hidden:])
    c = f * c_prev + i * g  # (N, H)
    tc = np.tanh(c)
    h = o * tc  # (N, H)
    return h, c, (x, h_prev, c_prev, Wx, Wh, i, f, g, o, tc)


def lstm_step_backward(dh, dc, cache):
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, tc = cache
    dc_total = dc + dh * o * (1.0 - tc * tc)  # (N, H)
    di = dc_total * g * i * (1.0 - i)
    df = dc_total * c_prev * f * (1.0 - f)
    dg = dc_total * i * (1.0 - g * g)
    do = dh * tc * o * (1.0 - o)
    da = np.concatenate([di, df, dg, do], axis=1)  # (N, 4H)
    dx = da @ Wx.T  # (N, D)
    dh_prev = da @ Wh.T  # (N, H)
    dc_prev = dc_total * f  # (N, H)
    dWx = x.T @ da  # (D, 4H)
    dWh = h_prev.T @ da  # (H, 4H)
    db = da.sum(axis=0)  # (4H,)
    return dx, dh_prev, dc_prev, dWx, dWh, db
