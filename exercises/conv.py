"""Exercise: convolution and max-pooling (lesson 5).

Naive (loop-based) numpy implementations are fine: clarity first.
float64 throughout; arrays are laid out (N, C, H, W) like PyTorch.

Conventions this exercise is graded against:
- "Convolution" is what deep-learning libraries compute: slide the kernel as
  it is over the input (cross-correlation; no flipping).
- Zero padding of ``pad`` pixels on every side; output size
  H' = (H + 2 * pad - KH) // stride + 1 (and likewise W'): positions that do
  not fit are dropped.
- Max-pooling uses windows of size x size moved by stride, no padding, with
  the same floor rule; its gradient goes to the maximum of each window
  (windows may overlap when stride < size: add the contributions up).

Check your work with ``dnn-tutor check exercises/conv.py``.
"""

import numpy as np


def conv2d_forward(x, w, b, stride=1, pad=0):
    """x: (N, C, H, W); w: (F, C, KH, KW); b: (F,).

    Returns out (N, F, H', W') and a cache for conv2d_backward.
    """
    # x (N, C, H, W), w (F, C, KH, KW), b (F,)  ->  out (N, F, H', W')
    # TODO: pad x, then for every output position take the dot product of the
    # input patch with each filter, and add the bias.
    raise NotImplementedError("conv2d_forward")


def conv2d_backward(dout, cache):
    """dout: (N, F, H', W'). Returns dx (N, C, H, W), dw (F, C, KH, KW), db (F,)."""
    # dout (N, F, H', W')  ->  dx (N, C, H, W), dw (F, C, KH, KW), db (F,)
    # TODO: send each output gradient back to the patch (dx) and filter (dw) that made it;
    # db sums dout over the batch and every position.
    raise NotImplementedError("conv2d_backward")


def maxpool2d_forward(x, size=2, stride=2):
    """x: (N, C, H, W). Returns out (N, C, H', W') and a cache."""
    # x (N, C, H, W)  ->  out (N, C, H', W')
    # TODO: take the maximum of every size x size window.
    raise NotImplementedError("maxpool2d_forward")


def maxpool2d_backward(dout, cache):
    """dout: (N, C, H', W'). Returns dx (N, C, H, W)."""
    # dout (N, C, H', W')  ->  dx (N, C, H, W)
    # TODO: route each window's gradient to the position of its maximum.
    raise NotImplementedError("maxpool2d_backward")
