"""Optimisers: SGD, momentum, RMSprop and Adam on one task with the same budget, plus a schedule.

The question after the lesson: "Why does everyone use Adam - and what does momentum or a
learning-rate schedule buy me?"

The task: scikit-learn's 8x8 handwritten digits (64 pixels in, 10 classes) with a 64-128-64-10
ReLU net. Six copies start from the SAME initial weights, see the SAME batches for the same
number of epochs; only the update rule differs:

- sgd:          w -= lr * g                       (lr 0.05)
- momentum:     v = 0.9 v + g;  w -= lr * v       (lr 0.05)
- rmsprop:      divides each step by a running RMS of that weight's gradients (lr 0.001)
- adam:         momentum + RMSprop + bias correction (lr 0.001)

and, for the schedule, Adam at a rate 50x higher (0.05) twice: once constant ("adam-hi"), once
decayed along a half cosine to 0 by the last epoch ("adam-hi+cos"). A high rate moves fast but
cannot settle; the schedule reaches the target about as soon (an epoch later at worst, in seeds
0-5) and still lands. (At 0.03 the constant rate sometimes settled by luck, ending below the
schedule in 1 to 3 of 6 seeds depending on rounding; at 0.05 the schedule ended about 30x to 800x
lower in all 6 with the engine's written-out step, 115x to 420x with autograd's.) The table's
caption says how it went in this run.

Watch the training-loss curves, then the table: the epoch each optimiser first reaches the target
loss, and the final losses.
"""

from __future__ import annotations

from dataclasses import dataclass

from tutor.training import data
from tutor.training.session import seed_setting, setting

SCHEDULES = ("cosine", "step", "onecycle")


@dataclass
class Config:
    hidden: tuple[int, ...] = setting((128, 64), min=1, max=4096, count=(1, 6))  # hidden layers: 64 -> 128 -> 64 -> 10
    epochs: int = setting(30, min=1, max=10_000)  # the budget: the same passes (and batches) for every optimiser
    batch_size: int = setting(64, min=1, max=65_536)  # images per gradient step
    sgd_lr: float = setting(0.05, above=0, max=10)  # learning rate of sgd and momentum
    adaptive_lr: float = setting(1e-3, above=0, max=10)  # learning rate of rmsprop and adam
    high_lr: float = setting(0.05, above=0, max=10)  # the high Adam rate of the schedule pair (adam-hi and adam-hi+cos)
    schedule: str = setting("cosine", choices=SCHEDULES)  # adam-hi+cos: cosine, step (x0.1 every third) or onecycle
    momentum: float = setting(0.9, min=0, max=0.999)  # the velocity's decay for momentum
    target_loss: float = setting(0.05, above=0, max=10)  # the training loss we time each optimiser to
    seed: int = seed_setting()  # one seed for the split, the shared initial weights and the shuffles


QUICK = dict(epochs=10, target_loss=0.2)  # --quick: a few seconds

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam", "adam-hi", "adam-hi+cos")


def run(cfg: Config, session) -> dict:
    import torch

    from tutor.training.engine import Trainee
    from tutor.training.models import mlp

    x, y = data.digits_8x8()  # (1797, 1, 8, 8), (1797,)
    x = x.reshape(len(x), -1)  # (1797, 64) flattened pixels
    x_train, y_train, x_test, y_test = data.holdout_split(x, y, 0.25, cfg.seed)  # the test set only ever scores
    session.note(f"data: scikit-learn digits, {len(x_train)} training / {len(x_test)} test images of 8x8 pixels")

    sizes = (64, *cfg.hidden, 10)
    torch.manual_seed(cfg.seed)
    start = mlp(sizes, init="he").state_dict()  # the one starting point every optimiser gets

    def net():
        model = mlp(sizes, init="he")
        model.load_state_dict(start)
        return model

    models = [
        Trainee(net(), "sgd", optimizer_name="sgd", lr=cfg.sgd_lr),
        Trainee(net(), "momentum", optimizer_name="momentum", lr=cfg.sgd_lr),
        Trainee(net(), "rmsprop", optimizer_name="rmsprop", lr=cfg.adaptive_lr),
        Trainee(net(), "adam", optimizer_name="adam", lr=cfg.adaptive_lr),
        Trainee(net(), "adam-hi", optimizer_name="adam", lr=cfg.high_lr),
        Trainee(net(), "adam-hi+cos", optimizer_name="adam", lr=cfg.high_lr, scheduler=cfg.schedule),
    ]
    session.note(f"net: {'-'.join(map(str, sizes))}; same initial weights and batches for all six; target loss {cfg.target_loss:g}")
    results = session.fit(models, (x_train, y_train), (x_test, y_test), epochs=cfg.epochs, batch_size=cfg.batch_size,
                          momentum=cfg.momentum, title="four optimisers and a schedule, one budget")

    table, curves = {}, {}
    for r in results:
        losses = r.curve("train_loss")
        reached = next((i + 1 for i, v in enumerate(losses) if v <= cfg.target_loss), None)
        table[r.name] = {
            "epoch_to_target": reached, "final_train_loss": losses[-1], "final_val_loss": r.final["val_loss"],
            "final_val_acc": r.final["val_acc"],
        }
        curves[r.name] = [round(v, 5) for v in losses]
    session.figure("train_loss_curves", curves)
    rates = {"sgd": cfg.sgd_lr, "momentum": cfg.sgd_lr, "rmsprop": cfg.adaptive_lr, "adam": cfg.adaptive_lr,
             "adam-hi": cfg.high_lr, "adam-hi+cos": cfg.high_lr}
    plain, scheduled = table["adam-hi"], table["adam-hi+cos"]
    session.table(
        f"training loss {cfg.target_loss:g} reached (budget {cfg.epochs} epochs, same start and batches)",
        [("optimizer", "text"), ("lr", "float"), (f"first epoch at loss ≤ {cfg.target_loss:g}", "text"),
         ("final train loss", "loss"), ("test acc (eval)", "pct")],
        [[name, rates[name], f"epoch {row['epoch_to_target']}" if row["epoch_to_target"] else f"not in {cfg.epochs}",
          row["final_train_loss"], row["final_val_acc"]] for name, row in table.items()],
        caption=f"adam-hi+cos: the high rate {cfg.high_lr:g} with a {cfg.schedule} schedule. "
                + schedule_verdict(plain, scheduled, cfg.target_loss),
    )

    hits = {n: row["epoch_to_target"] for n, row in table.items() if row["epoch_to_target"]}
    fastest = min(hits, key=lambda name: hits[name]) if hits else None
    return {
        "target_loss": cfg.target_loss, "fastest": fastest,
        "epochs_to_target": {n: row["epoch_to_target"] for n, row in table.items()},
        "schedule_final_loss": scheduled["final_train_loss"], "constant_final_loss": plain["final_train_loss"],
        "schedule_val_acc": scheduled["final_val_acc"], "constant_val_acc": plain["final_val_acc"],
        "optimizers": table,
    }


def schedule_verdict(plain: dict, scheduled: dict, target: float) -> str:
    """What the schedule did in this run, in one sentence that the numbers bear out: "settled" only
    where the scheduled run reached the target loss (a rate too high to train ends near chance
    either way, a little lower with the schedule, and that is no settling)."""
    def shown(loss: float) -> str:  # 0.0728, or 3.1e-06 where four decimals would say 0.0000
        return f"{loss:.4f}" if not 0 < abs(loss) < 1e-3 else f"{loss:.1e}"

    ends, constant = scheduled["final_train_loss"], plain["final_train_loss"]
    said = f"It ended at training loss {shown(ends)}, the same rate held constant at {shown(constant)}: "
    if not scheduled["epoch_to_target"]:
        if plain["epoch_to_target"]:
            return said + f"the constant rate reached the target {target:g} and the schedule did not."
        return said + f"neither reached the target {target:g}; this rate is too high to train, schedule or not."
    if ends < constant:
        return said + "the decaying rate let it settle."
    return said + "this time the constant rate settled as well."


def save_plot(outcome, path):
    """The ``--save-plot`` PNG: the training-loss curves on one chart, and the epoch each hit the target."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    m = outcome.metrics
    colors = dict(zip(OPTIMIZERS, ["#7f7f7f", "#1f77b4", "#9467bd", "#d62728", "#ff7f0e", "#2ca02c"]))
    fig, (loss_ax, bar_ax) = plt.subplots(1, 2, figsize=(13, 4.6), dpi=100, gridspec_kw={"width_ratios": [2, 1]})
    for r in outcome.results:
        epochs = [h.epoch for h in r.history]
        loss_ax.plot(epochs, r.curve("train_loss"), color=colors.get(r.name), lw=1.6,
                     ls="--" if r.name == "adam-hi" else "-", label=r.name)
    loss_ax.axhline(m["target_loss"], color="black", ls=":", lw=1, label=f"target {m['target_loss']}")
    loss_ax.set(title="training loss (same start, same batches)", xlabel="epoch", yscale="log")
    loss_ax.grid(alpha=0.3)
    loss_ax.legend(fontsize=8)
    names = list(m["epochs_to_target"])
    budget = max(len(r.history) for r in outcome.results)
    hits = [m["epochs_to_target"][n] or budget for n in names]
    bars = bar_ax.barh(names, hits, color=[colors.get(n) for n in names])
    for bar, n in zip(bars, names):
        hit = m["epochs_to_target"][n]
        bar_ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {hit}" if hit else " never",
                    va="center", fontsize=8)
        if not hit:
            bar.set_alpha(0.3)
    bar_ax.invert_yaxis()
    bar_ax.set(title=f"epoch the loss first reached {m['target_loss']}", xlim=(0, budget * 1.18))
    fig.suptitle(f"optimizers: {outcome.title} · {outcome.device_label} · {outcome.seconds:.1f} s", fontsize=10)
    from tutor.render.figures import write_figure

    return write_figure(fig, path)
