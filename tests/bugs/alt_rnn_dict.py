"""A correct rnn solution written differently: dict caches, einsum, gradients accumulated in a dict."""

import numpy as np


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    h = np.tanh(np.einsum("nd,dh->nh", x, Wx) + h_prev @ Wh + b)
    return h, {"x": x, "h_prev": h_prev, "Wx": Wx, "Wh": Wh, "h": h}


def rnn_step_backward(dh, cache):
    da = dh * (1 - cache["h"] ** 2)
    return da @ cache["Wx"].T, da @ cache["Wh"].T, cache["x"].T @ da, cache["h_prev"].T @ da, da.sum(0)


def rnn_forward(x, h0, Wx, Wh, b):
    hs, caches, h = [], [], h0
    for t in range(x.shape[1]):
        h, c = rnn_step_forward(x[:, t, :], h, Wx, Wh, b)
        hs.append(h)
        caches.append(c)
    return np.stack(hs, axis=1), caches


def rnn_backward(dh, cache):
    grads = {"Wx": 0.0, "Wh": 0.0, "b": 0.0}
    dxs = [None] * len(cache)
    carry = np.zeros_like(dh[:, 0, :])
    for t in range(len(cache) - 1, -1, -1):
        dxs[t], carry, dwx, dwh, db = rnn_step_backward(dh[:, t, :] + carry, cache[t])
        grads["Wx"] = grads["Wx"] + dwx
        grads["Wh"] = grads["Wh"] + dwh
        grads["b"] = grads["b"] + db
    return np.stack(dxs, axis=1), carry, grads["Wx"], grads["Wh"], grads["b"]
