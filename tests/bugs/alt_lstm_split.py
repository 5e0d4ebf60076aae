"""A correct lstm solution written differently: np.split, a tanh-form sigmoid, a dict cache."""

import numpy as np


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    ai, af, ag, ao = np.split(x @ Wx + h_prev @ Wh + b, 4, axis=1)
    i, f, g, o = _sigmoid(ai), _sigmoid(af), np.tanh(ag), _sigmoid(ao)
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, {"x": x, "h_prev": h_prev, "c_prev": c_prev, "Wx": Wx, "Wh": Wh, "gates": (i, f, g, o), "c": c}


def lstm_step_backward(dh, dc, cache):
    i, f, g, o = cache["gates"]
    tc = np.tanh(cache["c"])
    dc = dc + dh * o * (1 - tc**2)
    da = np.hstack([dc * g * i * (1 - i), dc * cache["c_prev"] * f * (1 - f), dc * i * (1 - g**2), dh * tc * o * (1 - o)])
    return (da @ cache["Wx"].T, da @ cache["Wh"].T, dc * f, cache["x"].T @ da, cache["h_prev"].T @ da, da.sum(axis=0))
