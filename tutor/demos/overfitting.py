"""Overfitting and its cures: one big net, 100 noisy points, five ways to train it.

The question after the lesson: "My net is perfect on the training set and worse on new data -
which cure actually closes that gap?"

The data: two interleaved half-moons with heavy noise (some points sit on the wrong side), only
100 of them to train on and 2,000 fresh ones to validate. The net: 2-256-256-256-2, about 133,000
weights for 100 points - plenty to memorise every one of them. Five copies start from the same
weights and see the same batches:

- none:        nothing; it learns the noise (train ~100%, validation far lower).
- dropout:     half of the hidden units switched off at random at every step.
- l2:          weight decay, a pull of every weight towards zero.
- early-stop:  stop when the validation loss has not improved for ``patience`` epochs and go back
               to the best epoch's weights.
- batchnorm:   batch normalisation after each hidden layer (a mild regulariser as a side effect).

Read the table at the end: the train-validation gap of each, in accuracy points and in loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tutor.training.data import make_2d
from tutor.training.session import seed_setting, setting


@dataclass
class Config:
    n_train: int = setting(100, min=4, max=100_000)  # training points: few, so memorising them is easy
    n_val: int = setting(2000, min=4, max=1_000_000)  # fresh validation points from the same distribution
    noise: float = setting(0.3, min=0, max=2)  # Gaussian jitter: the moons overlap, so some labels look "wrong"
    hidden: tuple[int, ...] = setting((256, 256, 256), min=1, max=4096, count=(1, 6))  # a large net for 100 points
    epochs: int = setting(200, min=1, max=100_000)  # long enough for the unregularised net to memorise
    batch_size: int = setting(50, min=1, max=1_000_000)  # points per gradient step
    lr: float = setting(3e-3, above=0, max=10)  # Adam's learning rate (the same for all five)
    dropout: float = setting(0.5, min=0, max=0.9)  # share of hidden units dropped at each step (dropout model)
    l2: float = setting(1e-2, min=0, max=10)  # weight decay (l2 model)
    patience: int = setting(25, min=1, max=100_000)  # epochs without a better validation loss before stopping
    threads: int = setting(1, min=0, max=256)  # CPU threads: 1 stays fast on a busy 2-core machine (0 = the engine's choice)
    seed: int = seed_setting()  # one seed for the data, the shared initial weights and the shuffles


QUICK = dict(epochs=80, hidden=(256, 256), patience=15, n_val=500)  # --quick: a few seconds

CURES = ("none", "dropout", "l2", "early-stop", "batchnorm")


def run(cfg: Config, session) -> dict:
    import torch

    from tutor.training.engine import Boundary, EarlyStopping, Trainee
    from tutor.training.models import mlp

    x_train, y_train = make_2d("moons", cfg.n_train, cfg.noise, cfg.seed)  # (100, 2), (100,)
    x_val, y_val = make_2d("moons", cfg.n_val, cfg.noise, cfg.seed + 1000)  # (2000, 2), (2000,)
    session.note(f"data: {len(x_train)} training and {len(x_val)} validation points of two noisy moons (noise {cfg.noise})")

    sizes = (2, *cfg.hidden, 2)  # 2 inputs -> hidden layers -> 2 logits
    torch.manual_seed(cfg.seed)
    base = mlp(sizes)  # one set of initial weights for all five

    def same_start(net):
        """Copy ``base``'s Linear layers into ``net`` in order (dropout/batch-norm layers have none to copy)."""
        linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
        with torch.no_grad():
            for mine, theirs in zip(linears, [m for m in base.modules() if isinstance(m, torch.nn.Linear)]):
                mine.weight.copy_(theirs.weight)  # (fan_out, fan_in)
                mine.bias.copy_(theirs.bias)  # (fan_out,)
        return net

    models = [
        Trainee(same_start(mlp(sizes)), "none"),
        Trainee(same_start(mlp(sizes, dropout=cfg.dropout)), "dropout"),
        Trainee(same_start(mlp(sizes)), "l2", weight_decay=cfg.l2),
        Trainee(same_start(mlp(sizes)), "early-stop", early_stopping=EarlyStopping(cfg.patience, "val_loss")),
        Trainee(same_start(mlp(sizes, batch_norm=True)), "batchnorm"),
    ]
    n_weights = sum(p.numel() for p in base.parameters())
    session.note(f"net: {'-'.join(map(str, sizes))} ({n_weights:,} weights for {len(x_train)} points)")

    results = session.fit(
        models, (x_train, y_train), (x_val, y_val), task="classification", epochs=cfg.epochs,
        batch_size=cfg.batch_size, lr=cfg.lr, optimizer="adam",
        boundary=Boundary(x_train, y_train), title="five copies of one net, one cure each",
        threads=cfg.threads or None,
    )

    table = {}
    for r in results:
        # Score the weights each model ends with (the best epoch's for early stopping) in eval mode,
        # on the training points too: the running training figures of an epoch include dropout's noise.
        train = session.evaluate(r.model, x_train, y_train)
        val = session.evaluate(r.model, x_val, y_val)
        table[r.name] = {
            "train_acc": train["acc"], "val_acc": val["acc"],
            # accuracy points, from the percentages as the table shows them (one decimal): 100.0% and 79.0%
            # read as +21.0 pts, not the +21.1 of the unrounded difference
            "gap_points": round(round(100 * train["acc"], 1) - round(100 * val["acc"], 1), 1),
            "train_loss": train["loss"], "val_loss": val["loss"],
            "loss_gap": val["loss"] - train["loss"],
            "epochs_run": r.epochs_run,
        }
    stopper = next(r for r in results if r.name == "early-stop")
    table["early-stop"]["stopped_epoch"] = stopper.stopped_epoch
    table["early-stop"]["best_epoch"] = stopper.best_epoch
    if stopper.stopped_epoch:
        session.note(f"early stopping stopped at epoch {stopper.stopped_epoch} and restored the weights of epoch "
                     f"{stopper.best_epoch} (best validation loss)")
    else:
        session.note(f"early stopping never fired; it kept the weights of epoch {stopper.best_epoch} (best validation loss)")

    cures = [name for name in CURES if name != "none"]
    closest = min(cures, key=lambda n: table[n]["gap_points"])
    best_val = max(table, key=lambda n: table[n]["val_acc"])
    session.table(
        "the train-validation gap of each cure (all scored in eval mode at the end)",
        [("cure", "text"), ("train acc", "pct"), ("val acc", "pct"), ("gap", "points"),
         ("train loss", "loss"), ("val loss", "loss"), ("epochs", "int")],
        [[name, table[name]["train_acc"], table[name]["val_acc"], table[name]["gap_points"], table[name]["train_loss"],
          table[name]["val_loss"], table[name]["epochs_run"]] for name in CURES],
        caption=(f"eval mode: dropout off, batch norm on its running statistics, the weights each model ends with. "
                 f"The live view's train figures are running averages in train mode (dropout on), so they differ. "
                 f"No cure: a gap of {table['none']['gap_points']:.1f} points; {closest} closed it most "
                 f"({table[closest]['gap_points']:.1f}); best validation accuracy: {best_val}."),
    )
    return {
        "gap_none": table["none"]["gap_points"], "closed_most": closest,
        "closed_most_gap": table[closest]["gap_points"], "best_val": best_val,
        "best_val_acc": table[best_val]["val_acc"], "stopped_epoch": stopper.stopped_epoch,
        "best_epoch": stopper.best_epoch, "cures": table,
    }


def save_plot(outcome, path):
    """The ``--save-plot`` PNG: train and validation loss of each cure side by side, and the gaps."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    m = outcome.metrics
    results = {r.name: r for r in outcome.results}
    fig, axes = plt.subplots(1, len(CURES) + 1, figsize=(20, 3.9), dpi=100,
                             gridspec_kw={"width_ratios": [1] * len(CURES) + [1.2]})
    losses = [v for r in results.values() for key in ("train_loss", "val_loss") for v in r.curve(key)
              if v is not None and math.isfinite(v) and v > 0]
    low, top = min(losses, default=1e-3), max(losses, default=1.0)  # one log range for every panel, from the data
    for ax, name in zip(axes, CURES):
        r = results[name]
        epochs = [h.epoch for h in r.history]
        ax.plot(epochs, r.curve("train_loss"), color="#1f77b4", label="train (train mode, running)")
        ax.plot(epochs, r.curve("val_loss"), color="#d62728", label="validation")
        row = m["cures"][name]
        if name == "early-stop" and m.get("best_epoch"):
            ax.axvline(m["best_epoch"], color="gray", ls=":", label=f"best epoch {m['best_epoch']}")
        ax.set(title=f"{name}: gap {row['gap_points']:+.1f} points\ntrain {100 * row['train_acc']:.0f}% / val "
                     f"{100 * row['val_acc']:.1f}% (eval mode)", xlabel="epoch", yscale="log", ylim=(low / 1.5, top * 1.5))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    axes[0].set_ylabel("loss")
    bar_ax = axes[-1]
    gaps = [m["cures"][n]["gap_points"] for n in CURES]
    colors = ["#7f7f7f" if n == "none" else ("#2ca02c" if n == m["closed_most"] else "#1f77b4") for n in CURES]
    bar_ax.bar(CURES, gaps, color=colors)
    for i, g in enumerate(gaps):
        bar_ax.text(i, g, f"{g:.1f}", ha="center", va="bottom", fontsize=8)
    bar_ax.set(title="train - validation accuracy (points)\nscored in eval mode after training")
    bar_ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    bar_ax.margins(y=0.15)
    fig.suptitle(f"overfitting: {outcome.title} · {outcome.device_label} · {outcome.seconds:.1f} s", fontsize=10)
    from tutor.render.figures import write_figure

    return write_figure(fig, path)
