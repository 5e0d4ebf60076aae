"""Checks for exercises/conv.py: 2-D convolution and max-pooling, forward and backward."""

from __future__ import annotations

from typing import Any

import numpy as np

from tutor.grading.compare import TOL, VARIANT_TOL, rel_error
from tutor.grading.diagnoses import Diagnosis as D
from tutor.grading.engine import Plan
from tutor.grading.specs._common import LayerCase, label, layer_checks


def plan(rng: np.random.Generator) -> Plan:
    p = Plan()
    _conv(p, rng)
    _pool(p, rng)
    return p


def _conv_ref(x: Any, w: Any, b: Any, stride: Any = 1, pad: Any = 0) -> Any:
    import torch

    return torch.nn.functional.conv2d(x, w, b, stride=stride, padding=pad)


def _conv(p: Plan, rng: Any) -> None:
    cases = []
    for (n, c, h, wd), (f, kh, kw), stride, pad in [
        ((1, 1, 5, 5), (2, 3, 3), 1, 0),
        ((2, 3, 7, 6), (4, 3, 3), 2, 1),
        ((2, 2, 6, 5), (3, 2, 3), 1, 2),
        ((3, 2, 8, 8), (2, 3, 3), 2, 0),
    ]:
        x = rng.normal(size=(n, c, h, wd))
        w = rng.normal(size=(f, c, kh, kw))
        b = rng.normal(size=f)
        ho = (h + 2 * pad - kh) // stride + 1
        wo = (wd + 2 * pad - kw) // stride + 1
        cases.append(
            LayerCase(
                label(x=(n, c, h, wd), w=(f, c, kh, kw), stride=stride, pad=pad),
                [x, w, b],
                rng.normal(size=(n, f, ho, wo)),
                kwargs={"stride": stride, "pad": pad},
                batch=n,
            )
        )

    def forward_variants(case: Any, outs: Any) -> Any:
        import torch

        x, w, b = (torch.tensor(a) for a in case.args)
        flipped = _conv_ref(x, torch.flip(w, dims=(2, 3)), b, **case.kwargs).numpy()
        return {"out": [(D.KERNEL_FLIPPED, flipped, "the kernel is flipped: deep-learning 'convolution' slides the kernel as it is (cross-correlation)")]}

    def variants(case: Any, outs: Any, grads: Any) -> Any:
        dx, dw, db = grads
        n = case.batch
        positions = case.dout.shape[2] * case.dout.shape[3]
        text = "the bias gradient is averaged; sum it over the batch and all output positions"
        found = {"db": [(D.BIAS_AVERAGED, db / (n * positions), text), (D.BIAS_AVERAGED, db / positions, text)], "dx": [], "dw": []}
        if n > 1:
            found["db"].append((D.BIAS_AVERAGED, db / n, text))
            found["dw"].append((D.BATCH_MEAN, dw / n, "dw is divided by N: every example adds to the weight gradient, sum them"))
        found["dw"].append((D.CONV_DW_OVERWRITTEN, _dw_of_last_position(case),
                            "dw holds only the last output position's share: `dw = ...` inside the loop overwrites what "
                            "the earlier positions added; every position uses the same kernel, so accumulate with +="))
        for (dx_off, dw_off), text in _offset_slips(case):
            if dx_off.shape == dx.shape:
                found["dx"].append((D.CONV_PAD_OFFSET, dx_off, text))
            found["dw"].append((D.CONV_PAD_OFFSET, dw_off, text))
        if case.kwargs["stride"] > 1:
            sdx, sdw = _backward_ignoring_stride(case)
            text = "matches a backward that ignores the stride: the forward's windows start at i·stride, j·stride, and the backward must visit the same ones"
            found["dx"].append((D.CONV_STRIDE_BACKWARD, sdx, text))
            found["dw"].append((D.CONV_STRIDE_BACKWARD, sdw, text))
        return found

    def reshaped(case: Any) -> Any:
        x = case.args[0]
        h, wd = x.shape[2], x.shape[3]
        pad = case.kwargs["pad"]

        def still_padded(got: Any, expected: Any) -> Any:
            if pad == 0 or got.shape != (x.shape[0], x.shape[1], h + 2 * pad, wd + 2 * pad):
                return False
            return rel_error(got[:, :, pad:pad + h, pad:pad + wd], expected) <= TOL

        def cropped_empty(got: Any, expected: Any) -> Any:
            return pad == 0 and got.ndim == 4 and got.shape[:2] == x.shape[:2] and 0 in got.shape[2:]

        def offset(want: Any) -> Any:
            return lambda got, expected: got.shape == want.shape and rel_error(got, want) <= VARIANT_TOL

        cut_off = [(D.CONV_PAD_OFFSET, offset(dx_off), text) for (dx_off, _), text in _offset_slips(case)
                   if dx_off.shape != x.shape and dx_off.size]  # cut one off, dx lost a row and a column (an empty one is [pad:-pad])
        return {"dx": [
            (D.CONV_DX_PADDED, still_padded, f"dx still carries the padding (pad={pad} on each side): cut it off, keeping rows pad..pad+H and columns pad..pad+W"),
            (D.CONV_DX_CROP, cropped_empty, "dx is empty when pad = 0: [pad:-pad] becomes [0:0]; slice with [pad:pad + H, pad:pad + W] instead"),
            *cut_off,
        ]}

    layer_checks(
        p, rng, forward="conv2d_forward", backward="conv2d_backward", cases=cases, reference=_conv_ref,
        grad_names=("dx", "dw", "db"), grad_of=[0, 1, 2], variants=variants, forward_variants=forward_variants, reshaped=reshaped,
    )


def _dw_of_last_position(case: Any) -> Any:
    """dw of a backward that assigns instead of adding: only the last window's contribution is left."""
    x, w, _b = case.args
    stride, pad = case.kwargs["stride"], case.kwargs["pad"]
    kh, kw = w.shape[2], w.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))  # (N, C, H + 2p, W + 2p)
    i, j = case.dout.shape[2] - 1, case.dout.shape[3] - 1
    patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]  # (N, C, KH, KW)
    return np.tensordot(case.dout[:, :, i, j], patch, axes=([0], [0]))  # (F, C, KH, KW)


def _offset_backward(case: Any, padding: int, start: int) -> Any:
    """dx and dw of a backward that pads x with ``padding`` and cuts dx out of the padded gradient from row and column ``start``
    (numpy's slicing, so a cut past the end loses rows): the forward's windows are where they are for padding = start = pad."""
    x, w, _b = case.args
    dout, stride = case.dout, case.kwargs["stride"]
    kh, kw = w.shape[2], w.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))  # (N, C, H + 2p, W + 2p)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw)
            g = dout[:, :, i, j]  # (N, F)
            dw += np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))
            dxp[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))
    return dxp[:, :, start:start + x.shape[2], start:start + x.shape[3]], dw


def _offset_slips(case: Any) -> list[Any]:
    """((dx, dw), text) of backwards whose padding or crop is one off the forward's pad."""
    pad = case.kwargs["pad"]
    right = f"pad by pad = {pad} as the forward does and cut dx with [pad:pad + H, pad:pad + W] (row pad of the padded gradient is row 0 of x)"
    slips = [(_offset_backward(case, pad, pad + 1), f"matches dx cut out of the padded gradient one row and one column late ([pad + 1:pad + 1 + H]): {right}")]
    if pad > 0:
        slips.append((_offset_backward(case, pad, pad - 1), f"matches dx cut out of the padded gradient one row and one column early ([pad − 1:pad − 1 + H]): {right}"))
    slips.append((_offset_backward(case, pad + 1, pad),
                  f"matches a backward that pads x with pad + 1 = {pad + 1}: its windows sit one row and column off the forward's, so dw reads the wrong pixels; {right}"))
    slips.append((_offset_backward(case, pad + 1, pad + 1),
                  f"matches a backward that pads x with pad + 1 = {pad + 1} and cuts dx at pad + 1: its windows sit one row and column off the forward's; {right}"))
    return slips


def _backward_ignoring_stride(case: Any) -> Any:
    """dx and dw of a backward whose windows start at (i, j) instead of (i·stride, j·stride)."""
    x, w, _b = case.args
    dout = case.dout
    pad = case.kwargs["pad"]
    kh, kw = w.shape[2], w.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            g = dout[:, :, i, j]  # (N, F)
            dw += np.tensordot(g, xp[:, :, i:i + kh, j:j + kw], axes=([0], [0]))
            dxp[:, :, i:i + kh, j:j + kw] += np.tensordot(g, w, axes=([1], [0]))
    return dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]], dw


def _pool_ref(x: Any, size: Any = 2, stride: Any = 2) -> Any:
    import torch

    return torch.nn.functional.max_pool2d(x, size, stride)


def _pool(p: Plan, rng: Any) -> None:
    cases = []
    for shape, size, stride in [((1, 1, 4, 4), 2, 2), ((2, 3, 6, 7), 2, 2), ((2, 2, 7, 7), 3, 2), ((1, 2, 5, 6), 3, 1)]:
        x = rng.normal(size=shape)
        ho = (shape[2] - size) // stride + 1
        wo = (shape[3] - size) // stride + 1
        cases.append(LayerCase(label(x=shape, size=size, stride=stride), [x], rng.normal(size=(shape[0], shape[1], ho, wo)), kwargs={"size": size, "stride": stride}))

    def variants(case: Any, outs: Any, grads: Any) -> Any:
        import torch

        x = torch.tensor(case.args[0], requires_grad=True)
        out = torch.nn.functional.avg_pool2d(x, case.kwargs["size"], case.kwargs["stride"])
        (out * torch.tensor(case.dout)).sum().backward()
        assert x.grad is not None
        averaged = x.grad.numpy()
        spread = averaged * case.kwargs["size"] ** 2
        found = [(D.POOL_AVERAGE, averaged, "the gradient is spread over the whole window; it belongs to the maximum only"),
                 (D.POOL_AVERAGE, spread, "the gradient is copied to every element of the window; it belongs to the maximum only")]
        if case.kwargs["stride"] < case.kwargs["size"]:
            overwrite = ("matches a backward that assigns (=) each window's gradient: where windows overlap, a later window "
                         "overwrites an earlier one's; add with +=")
            found.append((D.POOL_OVERWRITE, _pool_assigning(case), overwrite))
            found.append((D.POOL_OVERWRITE, _pool_assigning(case, whole_window=False), overwrite))
        return {"dx": found}

    layer_checks(
        p, rng, forward="maxpool2d_forward", backward="maxpool2d_backward", cases=cases, reference=_pool_ref,
        grad_names=("dx",), grad_of=[0], variants=variants,
    )


def _pool_assigning(case: Any, whole_window: bool = True) -> Any:
    """Max-pool dx when each window's gradient is assigned (=) rather than added, windows in row-major order:
    to the whole window (``dx[window] = mask * g``) or to its maximum only (``dx[argmax] = g``)."""
    x = case.args[0]
    size, stride = case.kwargs["size"], case.kwargs["stride"]
    dout = case.dout
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows = slice(i * stride, i * stride + size)
            cols = slice(j * stride, j * stride + size)
            window = x[:, :, rows, cols]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            given = mask * dout[:, :, i, j][:, :, None, None]
            dx[:, :, rows, cols] = given if whole_window else np.where(mask, given, dx[:, :, rows, cols])
    return dx
