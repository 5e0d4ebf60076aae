"""Exercise: a vanilla RNN and backpropagation through time (lesson 6).

The hidden state is h_t = tanh(x_t Wx + h_{t-1} Wh + b). numpy, float64.

Shapes: x_t (N, D), h (N, H), Wx (D, H), Wh (H, H), b (H,); a whole sequence
x is (N, T, D) and its hidden states h are (N, T, H).

Check your work with ``dnn-tutor check exercises/rnn.py``.
"""

import numpy as np


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """One time step. Returns h (N, H) and a cache."""
    # x (N, D), h_prev (N, H), Wx (D, H), Wh (H, H), b (H,)  ->  h (N, H)
    # TODO: compute the new hidden state and keep what the backward needs.
    raise NotImplementedError("rnn_step_forward")


def rnn_step_backward(dh, cache):
    """dh: (N, H) gradient of the loss w.r.t. this step's h.

    Returns dx (N, D), dh_prev (N, H), dWx (D, H), dWh (H, H), db (H,).
    """
    # TODO: go back through tanh, then through the two matrix products and the bias.
    raise NotImplementedError("rnn_step_backward")


def rnn_forward(x, h0, Wx, Wh, b):
    """Run the RNN over a sequence x (N, T, D) from h0 (N, H).

    Returns h (N, T, H), every hidden state, and a cache.
    """
    # x (N, T, D), h0 (N, H)  ->  h (N, T, H)
    # TODO: loop over time with rnn_step_forward, storing each h and cache.
    raise NotImplementedError("rnn_forward")


def rnn_backward(dh, cache):
    """Backpropagation through time.

    dh: (N, T, H) upstream gradients of ALL hidden states (the loss may read every h_t).
    Returns dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,).
    h_t also feeds h_{t+1}: the gradient flowing back from step t + 1 adds to dh[:, t].
    """
    # dh (N, T, H)  ->  dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,)
    # TODO: walk backwards in time, carrying the gradient into the previous step,
    # and add up the weight gradients of every step.
    raise NotImplementedError("rnn_backward")
