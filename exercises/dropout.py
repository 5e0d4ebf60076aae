"""Exercise: dropout and an L2 penalty (lesson 3).

Two regularisers in numpy, float64 throughout.

Conventions this exercise is graded against:
- ``p`` is the probability of DROPPING a unit. During training each unit is
  kept with probability 1 - p and kept units are divided by (1 - p)
  ("inverted dropout"), so the expected output equals the input. At test time
  (``train=False``) the layer is the identity: out is x and dx is dout.
- Draw the mask from the ``rng`` argument (a ``numpy.random.Generator``), e.g.
  ``rng.random(x.shape)``; use ``np.random.default_rng()`` only when rng is None.
  The grader passes generators in the same state and expects the same mask.
- The L2 loss is ``lam / 2 * sum(w ** 2)`` summed over the WEIGHT arrays only
  (the keys that start with "W"); biases are not penalised, and their
  gradient is an array of zeros.

Check your work with ``dnn-tutor check exercises/dropout.py``.
"""

import numpy as np


def dropout_forward(x, p, train=True, rng=None):
    """Inverted dropout.

    x: any shape; p: probability of dropping a unit (0 <= p < 1).
    Returns out (same shape as x) and a cache for dropout_backward.
    """
    # x (any shape)  ->  out (same shape); the mask has x's shape too
    # TODO: in test mode return x unchanged; in training draw a keep-mask from rng,
    # zero the dropped units and rescale the kept ones.
    raise NotImplementedError("dropout_forward")


def dropout_backward(dout, cache):
    """Gradient of dropout: dout (same shape as x). Returns dx, same shape as x."""
    # TODO: apply exactly what the forward applied to x.
    raise NotImplementedError("dropout_backward")


def l2_penalty(params, lam):
    """L2 weight penalty.

    params: {"W1": (D, H), "b1": (H,), ...}; lam: the penalty strength.
    Returns (loss, grads): loss = lam/2 * sum of squares of every "W*" array (a float);
    grads has the same keys as params (zeros for the biases).
    """
    # TODO: add up the penalty over the weights and build the gradient dict.
    raise NotImplementedError("l2_penalty")
