"""Exercise: batch normalisation (lesson 3).

Normalise each feature over the batch, then scale and shift it with learned
gamma and beta. numpy, float64 throughout.

Conventions this exercise is graded against:
- Training mode normalises with the batch mean and the BIASED batch variance
  (divide by N, ``x.var(axis=0)``), plus ``eps`` inside the square root.
- The running statistics live in the dict ``state`` under "running_mean" and
  "running_var" (shape (D,)). When a key is missing, start from zeros for the
  mean and ones for the variance. Each training call updates them as
      running = momentum * running + (1 - momentum) * batch_statistic
  using the same biased variance that normalised the batch.
- Test mode (``train=False``) normalises with the running statistics and does
  not change ``state``.

Check your work with ``dnn-tutor check exercises/batchnorm.py``.
"""

import numpy as np


def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.9, eps=1e-5):
    """Batch normalisation of x (N, D) with gamma (D,) and beta (D,).

    Returns out (N, D) and a cache for batchnorm_backward (training mode).
    """
    # x (N, D), gamma (D,), beta (D,); running_mean (D,), running_var (D,)
    # TODO: read the running statistics from state (or their starting values).
    # TODO: training mode: normalise with the batch statistics and update state.
    # TODO: test mode: normalise with the running statistics.
    raise NotImplementedError("batchnorm_forward")


def batchnorm_backward(dout, cache):
    """Gradients of training-mode batch normalisation.

    dout: (N, D). Returns dx (N, D), dgamma (D,), dbeta (D,).
    The batch mean and variance depend on every row of x: their gradients
    flow back into dx too.
    """
    # dout (N, D)  ->  dx (N, D), dgamma (D,), dbeta (D,)
    # TODO: compute dbeta and dgamma, then dx through the normalisation.
    raise NotImplementedError("batchnorm_backward")
