"""SimpleRNN vs LSTM vs GRU on a task that needs memory, and the gradient that explains the winner.

The question after the lesson: "Why do LSTM and GRU remember over long sequences when a plain RNN
cannot?"

The task (default): each sequence shows one of 4 symbols at step 1 (with a start flag), then
T-1 steps of noise; the answer is that first symbol. Guessing gives 25%. Three nets with 32 hidden
units read the same sequences and batches: SimpleRNN (tanh), LSTM and GRU. The gates of the LSTM
(forget gate) and GRU (update gate) start slightly open towards "keep what you hold" (bias +3,
the long-range version of Keras' unit_forget_bias) - try ``--set gate_bias=0`` to see why.

Then the reason: for one batch, the gradient of the loss with respect to each hidden state,
||dloss/dh_t|| for t = 1..T, measured on the unrolled cells (same weights, retain_grad on every h_t).
For SimpleRNN it shrinks by orders of magnitude towards t = 1 (vanishing gradient: the first
symbol gets no learning signal); the gated nets carry it back almost intact.

``--task sine``: forecast the next value of noisy sine waves from a window of T steps
(regression), and compare the predicted curve with the true one. ``--length T``: sequence length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tutor.demos import tasks
from tutor.errors import TutorError
from tutor.training.engine import Trainee

KINDS = {"simple-rnn": (nn.RNN, nn.RNNCell), "lstm": (nn.LSTM, nn.LSTMCell), "gru": (nn.GRU, nn.GRUCell)}


@dataclass
class Config:
    task: str = "recall"  # "recall" (remember the first symbol) or "sine" (forecast the next value)
    length: int = 80  # T: steps per sequence (recall: the symbol is T-1 steps back; sine: the window)
    n_symbols: int = 4  # recall: how many symbols (chance = 1 / n_symbols)
    hidden: int = 32  # hidden units of each recurrent layer
    n_train: int = 3000  # training sequences
    n_val: int = 500  # validation sequences
    epochs: int = 12  # passes over the training sequences
    batch_size: int = 64  # sequences per gradient step
    lr: float = 2e-3  # Adam's learning rate (all three)
    gate_bias: float = 3.0  # starting bias of the LSTM forget gate and the GRU update gate (0 = PyTorch's default)
    clip: float = 1.0  # gradient-norm clipping, a standard guard for recurrent nets
    seed: int = 0  # one seed for the data, the initial weights and the shuffles


QUICK = dict(length=30, n_train=2000, n_val=300, epochs=6)  # --quick: a few seconds


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


def sparkline(values: list[float], lo: float, hi: float, width: int = 40) -> str:
    """The values as block glyphs on a log scale from ``lo`` to ``hi`` (t = 1 on the left), at most ``width``."""
    v = np.log10(np.maximum(np.asarray(values, dtype=np.float64), 1e-30))  # (T,)
    if len(v) > width:  # average neighbouring steps
        v = np.array([chunk.mean() for chunk in np.array_split(v, width)])
    lo, hi = np.log10(max(lo, 1e-30)), np.log10(max(hi, 1e-30))
    glyphs = "▁▂▃▄▅▆▇█"
    scaled = np.zeros_like(v) if hi - lo < 1e-12 else np.clip((v - lo) / (hi - lo), 0.0, 1.0)
    return "".join(glyphs[int(round(s * (len(glyphs) - 1)))] for s in scaled)


def _cpu_copy(module: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(module).cpu()


def run(cfg: Config, session) -> dict:
    if cfg.task not in ("recall", "sine"):
        raise TutorError(f"--task {cfg.task}: choose recall or sine")
    if cfg.length < 2:
        raise TutorError("--length must be at least 2 steps")
    if cfg.task == "recall":
        x_train, y_train = tasks.recall_first(cfg.n_train, cfg.length, cfg.n_symbols, cfg.seed)  # (N, T, K+1), (N,)
        x_val, y_val = tasks.recall_first(cfg.n_val, cfg.length, cfg.n_symbols, cfg.seed + 1)
        n_in, n_out, task = cfg.n_symbols + 1, cfg.n_symbols, "classification"
        session.note(f"task: remember the first of {cfg.length} steps (one of {cfg.n_symbols} symbols, then noise); "
                     f"chance is {1 / cfg.n_symbols:.0%}")
    else:
        x_train, y_train = tasks.sine_windows(cfg.n_train, cfg.length, seed=cfg.seed)  # (N, T, 1), (N,)
        x_val, y_val = tasks.sine_windows(cfg.n_val, cfg.length, seed=cfg.seed + 1)
        n_in, n_out, task = 1, 1, "regression"
        session.note(f"task: predict the next value of a noisy sine wave from the last {cfg.length} values")

    torch.manual_seed(cfg.seed)
    models = {kind: Recurrent(kind, n_in, cfg.hidden, n_out, cfg.gate_bias) for kind in KINDS}
    probe = slice(0, min(256, cfg.n_val))  # the batch the gradients are measured on
    at_start = {k: hidden_state_gradients(m, x_val[probe], y_val[probe], cfg.task) for k, m in models.items()}
    results = session.fit(
        [Trainee(m, kind) for kind, m in models.items()], (x_train, y_train), (x_val, y_val), task=task,
        epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer="adam", clip_grad=cfg.clip,
        title=f"SimpleRNN vs LSTM vs GRU, T = {cfg.length}",
    )
    trained = {r.name: hidden_state_gradients(r.model, x_val[probe], y_val[probe], cfg.task) for r in results}

    metrics: dict = {"task": cfg.task, "length": cfg.length}
    for r in results:
        key = r.name.replace("-", "_")
        if task == "classification":
            metrics[f"{key}_acc"] = r.final["val_acc"]
        else:
            metrics[f"{key}_loss"] = r.final["val_loss"]
    # How much of the learning signal at the last step reaches the first: ||g_1|| / ||g_T||, measured
    # before training (what decides whether the first symbol can be learned at all) and after it.
    ratio = {k: (g[0] / g[-1] if g[-1] else 0.0) for k, g in at_start.items()}
    metrics["grad_ratio_first_last"] = ratio
    metrics["grad_ratio_first_last_trained"] = {k: (g[0] / g[-1] if g[-1] else 0.0) for k, g in trained.items()}
    metrics["grad_norms"] = {k: [float(f"{v:.4g}") for v in g] for k, g in at_start.items()}
    metrics["grad_norms_trained"] = {k: [float(f"{v:.4g}") for v in g] for k, g in trained.items()}
    hi = max(max(g) for g in at_start.values())
    lo = max(min(v for g in at_start.values() for v in g), hi * 1e-12)  # 0 (underflow) shows as the floor
    first = "the first symbol" if cfg.task == "recall" else "the oldest value"
    session.note(f"||dloss/dh_t|| at the start of training from t = 1 ({first}) to t = {cfg.length} (last step), "
                 f"log scale {lo:.0e} .. {hi:.0e}:")
    for kind, g in at_start.items():
        session.note(f"{kind:>10} {sparkline(g, lo, hi)}  t=1: {g[0]:.1e}, t={cfg.length}: {g[-1]:.1e}, "
                     f"ratio {ratio[kind]:.1e}")
    if task == "classification":
        session.note("accuracy: " + ", ".join(f"{r.name} {r.final['val_acc']:.1%}" for r in results)
                     + f" (chance {1 / cfg.n_symbols:.0%})")
    else:
        metrics["forecast"] = _forecast(results, cfg)
        session.note("validation MSE: " + ", ".join(f"{r.name} {r.final['val_loss']:.4f}" for r in results))
    return metrics


def _forecast(results, cfg: Config) -> dict:
    """One-step-ahead predictions along one long wave: the true curve and each model's curve."""
    from tutor.training.engine import predict

    total = cfg.length + 100
    observed, true = tasks.sine_curve(total, seed=cfg.seed + 7)  # (L,), (L,)
    windows = np.stack([observed[i:i + cfg.length] for i in range(total - cfg.length)])[:, :, None]  # (100, T, 1)
    curves = {"true": [round(float(v), 4) for v in true[cfg.length:]]}
    for r in results:
        pred = predict(r.model, windows).reshape(-1).numpy()  # (100,)
        curves[r.name] = [round(float(v), 4) for v in pred]
    return curves


def save_plot(outcome, path):
    """The ``--save-plot`` PNG of this demo: curves, and ||dloss/dh_t|| per time step as bars."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    m = outcome.metrics
    colors = {"simple-rnn": "#1f77b4", "lstm": "#d62728", "gru": "#2ca02c"}
    sine = m.get("task") == "sine"
    fig = plt.figure(figsize=(13, 8), dpi=100)
    grid = fig.add_gridspec(2, 3, height_ratios=[1, 1], hspace=0.45, wspace=0.28)
    curve_ax = fig.add_subplot(grid[0, 0:2] if sine else grid[0, :])
    for r in outcome.results:
        epochs = [h.epoch for h in r.history]
        values = r.curve("val_loss") if sine else [100 * v for v in r.curve("val_acc")]
        curve_ax.plot(epochs, values, marker="o", ms=3, color=colors.get(r.name), label=r.name)
    if sine:
        curve_ax.set(title="validation MSE", xlabel="epoch", yscale="log")
        fc = m["forecast"]
        fc_ax = fig.add_subplot(grid[0, 2])
        fc_ax.plot(fc["true"], color="black", lw=2, label="true")
        for name in colors:
            fc_ax.plot(fc[name], color=colors[name], lw=1.2, label=name)
        fc_ax.set(title="one-step forecast on a new wave", xlabel="step")
        fc_ax.legend(fontsize=8)
    else:
        curve_ax.axhline(100 / outcome.config.get("n_symbols", 4), color="gray", ls=":", label="chance")
        curve_ax.set(title=f"validation accuracy (%), T = {m['length']}", xlabel="epoch")
    curve_ax.grid(alpha=0.3)
    curve_ax.legend(fontsize=8)
    norms = m["grad_norms"]
    floor = max(max(max(g) for g in norms.values()) * 1e-12, 1e-30)
    for i, (name, g) in enumerate(norms.items()):
        ax = fig.add_subplot(grid[1, i])
        t = np.arange(1, len(g) + 1)
        ax.bar(t, np.maximum(np.asarray(g), floor), color=colors.get(name), width=1.0)
        ax.set_yscale("log")
        ax.set_ylim(floor, max(max(v for g2 in norms.values() for v in g2) * 3, floor * 10))
        ratio = m["grad_ratio_first_last"][name]
        ax.set_title(f"{name}: ||dloss/dh_t|| before training\nt=1 gets {ratio:.1e} of t=T", fontsize=9)
        ax.set_xlabel("time step t")
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(f"rnn: {outcome.title} · {outcome.device_label} · {outcome.seconds:.1f} s", fontsize=10)
    from tutor.training.plots import write_figure

    return write_figure(fig, path, tight=False)
