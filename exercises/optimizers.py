"""Exercise: optimisers (lesson 4).

Each function performs ONE update and returns the new weights. ``state`` is a
dict the function owns: the same dict comes back on every step, so keep your
buffers (velocity, averages, step count) in it. It starts empty.

The updates are graded against ``torch.optim`` (SGD with momentum, RMSprop,
Adam with default options) over many steps:
- SGD momentum: v = momentum * v + dw (v starts as dw), w = w - lr * v.
- RMSprop: s = alpha * s + (1 - alpha) * dw**2, w = w - lr * dw / (sqrt(s) + eps).
- Adam: first and second moment averages with bias correction; eps is added
  after the square root.

numpy, float64. Check your work with ``dnn-tutor check exercises/optimizers.py``.
"""

import numpy as np


def sgd_momentum(w, dw, state, lr, momentum):
    """w, dw: arrays of the same shape. Returns the updated w."""
    # w, dw (same shape); state["..."] buffers have that shape too
    # TODO: update the velocity kept in state, then step.
    raise NotImplementedError("sgd_momentum")


def rmsprop(w, dw, state, lr, alpha, eps):
    """Returns the updated w, dividing the step by a running RMS of the gradient."""
    # TODO: update the running average of squared gradients in state, then step.
    raise NotImplementedError("rmsprop")


def adam(w, dw, state, lr, beta1, beta2, eps):
    """Returns the updated w (Adam, with bias correction)."""
    # TODO: count the step and update both moment averages in state.
    # TODO: correct their bias and step.
    raise NotImplementedError("adam")
