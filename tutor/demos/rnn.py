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

from tutor.training import data
from tutor.training.session import seed_setting, setting

KINDS = ("simple-rnn", "lstm", "gru")

@dataclass
class Config:
    task: str = setting("recall", choices=("recall", "sine"))  # remember the first symbol, or forecast the next value
    length: int = setting(80, min=2, max=2_000)  # T: steps per sequence (recall: the symbol is T-1 steps back; sine: window)
    n_symbols: int = setting(4, min=2, max=64)  # recall: how many symbols (chance = 1 / n_symbols)
    hidden: int = setting(32, min=1, max=4096)  # hidden units of each recurrent layer
    n_train: int = setting(3000, min=10, max=1_000_000)  # training sequences
    n_val: int = setting(500, min=10, max=1_000_000)  # held-out sequences: a test set, only ever scored
    epochs: int = setting(12, min=1, max=10_000)  # passes over the training sequences
    batch_size: int = setting(64, min=1, max=65_536)  # sequences per gradient step
    lr: float = setting(2e-3, above=0, max=10)  # Adam's learning rate (all three)
    gate_bias: float = setting(3.0, min=-20, max=20)  # start bias of the LSTM forget / GRU update gate (0 = PyTorch's)
    clip: float = setting(1.0, above=0, max=1e6)  # gradient-norm clipping, a standard guard for recurrent nets
    seed: int = seed_setting()  # one seed for the data, the initial weights and the shuffles


QUICK = dict(length=30, n_train=2000, n_val=300, epochs=6)  # --quick: a few seconds


def run(cfg: Config, session) -> dict:
    import torch

    from tutor.demos.rnn_nets import Recurrent, hidden_state_gradients
    from tutor.training.engine import Trainee

    if cfg.task == "recall":
        x_train, y_train = data.recall_first(cfg.n_train, cfg.length, cfg.n_symbols, cfg.seed)  # (N, T, K+1), (N,)
        x_val, y_val = data.recall_first(cfg.n_val, cfg.length, cfg.n_symbols, cfg.seed + 1)
        n_in, n_out, task = cfg.n_symbols + 1, cfg.n_symbols, "classification"
        session.note(f"task: remember the first of {cfg.length} steps (one of {cfg.n_symbols} symbols, then noise); "
                     f"chance is {1 / cfg.n_symbols:.0%}")
    else:
        x_train, y_train = data.sine_windows(cfg.n_train, cfg.length, seed=cfg.seed)  # (N, T, 1), (N,)
        x_val, y_val = data.sine_windows(cfg.n_val, cfg.length, seed=cfg.seed + 1)
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
    session.figure("grad_norms", {k: [float(f"{v:.4g}") for v in g] for k, g in at_start.items()})
    session.figure("grad_norms_trained", {k: [float(f"{v:.4g}") for v in g] for k, g in trained.items()})
    if task == "regression":
        session.figure("forecast", _forecast(results, cfg))
    score = ("test acc", "pct") if task == "classification" else ("test MSE", "loss")
    first = "the first symbol" if cfg.task == "recall" else "the oldest value"
    session.table(
        f"{'remember the first of' if cfg.task == 'recall' else 'forecast from'} {cfg.length} steps: who learns, and why",
        [("cell", "text"), score, ("||dL/dh_t|| t=1..T", "spark"), ("t=1 / t=T", "ratio")],
        [[r.name, r.final["val_acc"] if task == "classification" else r.final["val_loss"], at_start[r.name],
          ratio[r.name]] for r in results],
        caption=(f"the gradient reaching each step before training (log scale, t = 1 is {first} on the left): "
                 f"a ratio far below 1 means that step gets no learning signal"
                 + (f"; chance is {1 / cfg.n_symbols:.0%}" if task == "classification" else "")),
    )
    return metrics


def _forecast(results, cfg: Config) -> dict:
    """One-step-ahead predictions along one long wave: the true curve and each model's curve."""
    from tutor.training.engine import predict

    total = cfg.length + 100
    observed, true = data.sine_curve(total, seed=cfg.seed + 7)  # (L,), (L,)
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
        curve_ax.set(title="test MSE", xlabel="epoch", yscale="log")
        fc = outcome.figures["forecast"]
        fc_ax = fig.add_subplot(grid[0, 2])
        fc_ax.plot(fc["true"], color="black", lw=2, label="true")
        for name in colors:
            fc_ax.plot(fc[name], color=colors[name], lw=1.2, label=name)
        fc_ax.set(title="one-step forecast on a new wave", xlabel="step")
        fc_ax.legend(fontsize=8)
    else:
        curve_ax.axhline(100 / outcome.config.get("n_symbols", 4), color="gray", ls=":", label="chance")
        curve_ax.set(title=f"test accuracy (%), T = {m['length']}", xlabel="epoch")
    curve_ax.grid(alpha=0.3)
    curve_ax.legend(fontsize=8)
    norms = outcome.figures["grad_norms"]
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
    from tutor.render.figures import write_figure

    return write_figure(fig, path, tight=False)
