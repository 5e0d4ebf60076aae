"""Exercise: backpropagation by hand (lesson 2).

Write the forward and backward pass of the pieces of a small classifier in
numpy, then chain them into a whole network. Every forward returns
``(out, cache)``: ``cache`` is whatever your backward needs later (you choose
what goes in it). Every backward receives the upstream gradient ``dout`` (the
gradient of the loss with respect to the forward's output, same shape as
``out``) and returns the gradients with respect to the forward's inputs, in
the same order as the inputs.

All arrays are float64. Check your work with:

    dnn-tutor check exercises/backprop.py

and ask for a nudge with ``dnn-tutor hint backprop``.
"""

import numpy as np


def dense_forward(x, W, b):
    """Affine layer: out = x W + b.

    x: (N, D) a batch of N inputs with D features
    W: (D, M) weights
    b: (M,) bias, added to every row
    Returns out (N, M) and a cache for dense_backward.
    """
    # x (N, D), W (D, M), b (M,)  ->  out (N, M)
    # TODO: compute out and choose what to keep in the cache.
    raise NotImplementedError("dense_forward")


def dense_backward(dout, cache):
    """Gradients of the affine layer.

    dout: (N, M) upstream gradient
    Returns dx (N, D), dW (D, M), db (M,) — each with the shape of its input.
    Every row of the batch contributed to W and b, so their gradients add up
    over the batch.
    """
    # dout (N, M)  ->  dx (N, D), dW (D, M), db (M,)
    # TODO: unpack the cache and compute dx, dW and db.
    raise NotImplementedError("dense_backward")


def relu_forward(x):
    """ReLU: out = max(x, 0), element by element. x: any shape."""
    # TODO: compute out and keep what the backward needs.
    raise NotImplementedError("relu_forward")


def relu_backward(dout, cache):
    """Gradient of ReLU: dout where the input was positive, 0 elsewhere.

    At exactly 0 the derivative is taken as 0 (the convention PyTorch uses).
    dout: same shape as x. Returns dx, same shape as x.
    """
    # TODO: let the gradient through only where the input was > 0.
    raise NotImplementedError("relu_backward")


def sigmoid_forward(x):
    """Logistic sigmoid: out = 1 / (1 + exp(-x)). x: any shape.

    It must stay finite for inputs like ±800: exp of a large positive number
    overflows to inf, so only ever exponentiate numbers that are <= 0.
    """
    # TODO: compute a numerically stable sigmoid and keep what the backward needs.
    raise NotImplementedError("sigmoid_forward")


def sigmoid_backward(dout, cache):
    """Gradient of the sigmoid. Returns dx with the shape of x.

    Hint: the derivative can be written with the sigmoid's own output.
    """
    # TODO: multiply dout by the local derivative.
    raise NotImplementedError("sigmoid_backward")


def softmax_cross_entropy(logits, y):
    """Softmax followed by cross-entropy, averaged over the batch.

    logits: (N, C) unnormalised class scores
    y: (N,) integer labels in [0, C)
    Returns loss (a float: the MEAN over the N examples) and dlogits (N, C),
    the gradient of that mean loss with respect to the logits.
    Must stay finite and exact for logits as large as ±1000.
    """
    # logits (N, C), y (N,)  ->  loss (a float), dlogits (N, C)
    # TODO: compute stable log-probabilities, the mean loss, and dlogits.
    raise NotImplementedError("softmax_cross_entropy")


def mlp_forward_backward(params, X, y):
    """Loss and gradients of a fully connected network.

    params: {"W1": (D, H1), "b1": (H1,), ..., "WL": (H_{L-1}, C), "bL": (C,)}
    X: (N, D) inputs; y: (N,) integer labels.
    Layers 1..L-1 are dense followed by ReLU; layer L is dense and feeds
    softmax_cross_entropy. Returns (loss, grads) where grads has exactly the
    keys of params and each gradient has the shape of its parameter.
    Reuse the functions above.
    """
    # TODO: run the forward pass layer by layer, keeping every cache.
    # TODO: run the backward pass in reverse order, filling grads.
    raise NotImplementedError("mlp_forward_backward")
