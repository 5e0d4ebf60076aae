"""A correct lstm solution written differently: df from the new cell (f·c_prev = c − i·g), an einsum for the
weight gradients, a tuple cache keeping c instead of c_prev."""

import numpy as np


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    hidden = h_prev.shape[1]
    a = np.einsum("nd,dk->nk", x, Wx) + np.einsum("nh,hk->nk", h_prev, Wh) + b
    s = 1.0 / (1.0 + np.exp(-a))  # the inputs are small
    i, f, o = s[:, :hidden], s[:, hidden:2 * hidden], s[:, 3 * hidden:]
    g = np.tanh(a[:, 2 * hidden:3 * hidden])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, Wx, Wh, i, f, g, o, c)


def lstm_step_backward(dh, dc, cache):
    x, h_prev, Wx, Wh, i, f, g, o, c = cache
    tc = np.tanh(c)
    total = dc + dh * o * (1.0 - tc**2)
    # f·c_prev is what the forget gate kept: c − i·g, so df = total · c_prev · f(1 − f) = total · (c − i·g) · (1 − f)
    df = total * (c - i * g) * (1.0 - f)
    da = np.concatenate([total * g * i * (1.0 - i), df, total * i * (1.0 - g * g), dh * tc * o * (1.0 - o)], axis=1)
    return (np.einsum("nk,dk->nd", da, Wx), np.einsum("nk,hk->nh", da, Wh), total * f,
            np.einsum("nd,nk->dk", x, da), np.einsum("nh,nk->hk", h_prev, da), np.einsum("nk->k", da))
