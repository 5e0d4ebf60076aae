"""Exercise: one step of an LSTM (lesson 6).

numpy, float64. Shapes: x (N, D), h_prev and c_prev (N, H), Wx (D, 4H),
Wh (H, 4H), b (4H,).

The pre-activations a = x Wx + h_prev Wh + b (N, 4H) hold the four gates side
by side in PyTorch's order: input i, forget f, cell candidate g, output o —
columns [0:H], [H:2H], [2H:3H], [3H:4H]. Then
    i, f, o = sigmoid(...), g = tanh(...),
    c = f * c_prev + i * g,   h = o * tanh(c).

Check your work with ``dnn-tutor check exercises/lstm.py``.
"""

import numpy as np


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step. Returns h (N, H), c (N, H) and a cache."""
    # a = pre-activations (N, 4H); each gate (N, H)
    # TODO: compute the pre-activations and split them into the four gates.
    # TODO: compute the new cell state c and hidden state h.
    raise NotImplementedError("lstm_step_forward")


def lstm_step_backward(dh, dc, cache):
    """dh, dc: (N, H) upstream gradients of h and c.

    Returns dx (N, D), dh_prev (N, H), dc_prev (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,).
    c reaches the loss twice: directly (dc) and through h = o * tanh(c).
    """
    # dh, dc (N, H)  ->  stacked gate gradient (N, 4H)
    # TODO: gradients of the four gates, stacked back in the order i, f, g, o.
    # TODO: gradients of the inputs and weights from the stacked gate gradient.
    raise NotImplementedError("lstm_step_backward")
