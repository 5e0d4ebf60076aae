"""A correct conv solution written differently: a loop over kernel offsets with strided slices and einsum,
the padding cut off from both ends ([pad:size - pad]), and a max-pool backward through argmax indices."""

import numpy as np


def conv2d_forward(x, w, b, stride=1, pad=0):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho = (h + 2 * pad - kh) // stride + 1
    wo = (wd + 2 * pad - kw) // stride + 1
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad))
    xp[:, :, pad:pad + h, pad:pad + wd] = x
    out = np.broadcast_to(b[None, :, None, None], (n, f, ho, wo)).copy()
    for p in range(kh):
        for q in range(kw):
            block = xp[:, :, p:p + stride * (ho - 1) + 1:stride, q:q + stride * (wo - 1) + 1:stride]  # (N, C, H', W')
            out += np.einsum("ncij,fc->nfij", block, w[:, :, p, q])
    return out, (x, w, stride, pad)


def conv2d_backward(dout, cache):
    x, w, stride, pad = cache
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    _, _, ho, wo = dout.shape
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad))
    xp[:, :, pad:pad + h, pad:pad + wd] = x
    dxp = np.zeros_like(xp)
    dw = np.empty_like(w)
    for p in range(kh):
        for q in range(kw):
            rows = slice(p, p + stride * (ho - 1) + 1, stride)
            cols = slice(q, q + stride * (wo - 1) + 1, stride)
            dw[:, :, p, q] = np.einsum("nfij,ncij->fc", dout, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("nfij,fc->ncij", dout, w[:, :, p, q])
    dx = dxp[:, :, pad:dxp.shape[2] - pad, pad:dxp.shape[3] - pad]
    return dx, dw, np.einsum("nfij->f", dout)


def maxpool2d_forward(x, size=2, stride=2):
    n, c, h, wd = x.shape
    ho = (h - size) // stride + 1
    wo = (wd - size) // stride + 1
    out = np.empty((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size].max(axis=(2, 3))
    return out, (x, size, stride)


def maxpool2d_backward(dout, cache):
    x, size, stride = cache
    n, c, _, _ = x.shape
    dx = np.zeros_like(x)
    _, _, ho, wo = dout.shape
    nn, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    for i in range(ho):
        for j in range(wo):
            window = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size].reshape(n, c, -1)
            k = window.argmax(axis=2)  # (N, C): the first maximum, as PyTorch routes ties
            np.add.at(dx, (nn, cc, i * stride + k // size, j * stride + k % size), dout[:, :, i, j])
    return dx
