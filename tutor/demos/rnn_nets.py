"""The recurrent nets of the rnn demo and the per-step gradient probe (imports torch)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

KINDS = {"simple-rnn": (nn.RNN, nn.RNNCell), "lstm": (nn.LSTM, nn.LSTMCell), "gru": (nn.GRU, nn.GRUCell)}


class Recurrent(nn.Module):
    """One recurrent layer over (N, T, D) inputs, then a Linear head on the last hidden state."""

    def __init__(self, kind: str, n_in: int, hidden: int, n_out: int, gate_bias: float = 0.0):
        super().__init__()
        self.kind = kind
        self.rnn = KINDS[kind][0](n_in, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_out)
        if kind in ("lstm", "gru") and gate_bias:
            # PyTorch packs the gates as (input, forget, cell, output) for LSTM and (reset, update, new)
            # for GRU: the second block of H rows is the forget gate / the update gate.
            with torch.no_grad():
                self.rnn.bias_ih_l0[hidden:2 * hidden].zero_()
                self.rnn.bias_hh_l0[hidden:2 * hidden].fill_(gate_bias)

    def forward(self, x):  # x (N, T, D)
        out, _ = self.rnn(x)  # (N, T, H) every hidden state
        return self.head(out[:, -1])  # (N, n_out) from h_T


def hidden_state_gradients(model: Recurrent, x: np.ndarray, y: np.ndarray, task: str) -> list[float]:
    """||dloss/dh_t|| for t = 1..T (mean over the batch) on the unrolled cell with the model's weights."""
    rnn = model.rnn
    cell = KINDS[model.kind][1](rnn.input_size, rnn.hidden_size)
    with torch.no_grad():  # the fused layer and the cell store the same four tensors
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(rnn, f"{name}_l0").detach().cpu())
    head = _cpu_copy(model.head)  # a copy: these gradients must not touch the model being trained
    xs = torch.from_numpy(np.ascontiguousarray(x)).float()  # (N, T, D)
    n, length, _ = xs.shape
    h = torch.zeros(n, rnn.hidden_size)  # (N, H)
    c = torch.zeros(n, rnn.hidden_size)  # (N, H) LSTM cell state
    states = []
    for t in range(length):
        if model.kind == "lstm":
            h, c = cell(xs[:, t], (h, c))  # (N, H) each
        else:
            h = cell(xs[:, t], h)  # (N, H)
        h.retain_grad()  # keep dloss/dh_t after backward
        states.append(h)
    out = head(h)  # (N, n_out)
    if task == "recall":
        loss = nn.functional.cross_entropy(out, torch.from_numpy(y).long())
    else:
        loss = nn.functional.mse_loss(out.squeeze(-1), torch.from_numpy(y).float())
    loss.backward()
    return [float(s.grad.norm(dim=1).mean()) for s in states]  # T values, t = 1 first


def _cpu_copy(module: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(module).cpu()
