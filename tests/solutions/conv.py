"""Reference solution for exercises/conv.py (used by the tests; never shipped as a starter)."""

import numpy as np


def conv2d_forward(x, w, b, stride=1, pad=0):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))  # (N, C, H+2p, W+2p)
    ho = (h + 2 * pad - kh) // stride + 1
    wo = (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, f, ho, wo))  # (N, F, H', W')
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]  # (N, C, KH, KW)
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, stride, pad)


def conv2d_backward(dout, cache):
    x, w, stride, pad = cache
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))  # (F,)
    _, _, ho, wo = dout.shape
    for i in range(ho):
        for j in range(wo):
            rows = slice(i * stride, i * stride + kh)
            cols = slice(j * stride, j * stride + kw)
            g = dout[:, :, i, j]  # (N, F)
            dw += np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))
            dxp[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))
    h, wd = x.shape[2], x.shape[3]
    dx = dxp[:, :, pad:pad + h, pad:pad + wd]
    return dx, dw, db


def maxpool2d_forward(x, size=2, stride=2):
    n, c, h, wd = x.shape
    ho = (h - size) // stride + 1
    wo = (wd - size) // stride + 1
    out = np.zeros((n, c, ho, wo))  # (N, C, H', W')
    for i in range(ho):
        for j in range(wo):
            window = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out, (x, size, stride)


def maxpool2d_backward(dout, cache):
    x, size, stride = cache
    dx = np.zeros_like(x)
    _, _, ho, wo = dout.shape
    for i in range(ho):
        for j in range(wo):
            rows = slice(i * stride, i * stride + size)
            cols = slice(j * stride, j * stride + size)
            window = x[:, :, rows, cols]  # (N, C, size, size)
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, rows, cols] += mask * dout[:, :, i, j][:, :, None, None]
    return dx
