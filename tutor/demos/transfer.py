"""Transfer learning: reuse what a network learned on digits 0-4 to learn digits 5-9 from a few labels.

The question after the lesson: "I only have a handful of labelled images - does a pretrained
network really help, and should I freeze it or fine-tune it?"

The data: scikit-learn's 8x8 digits, each placed at a random spot of a 12x12 canvas with noisy
"paper" (fixed seed), so position and noise must be ignored. A small CNN (two conv-pool blocks,
576 features) was pretrained by this project on digits 0-4 and ships in ``data/weights/``.
For the new task (digits 5-9) we draw 5, 10 and 50 labelled images per class and train:

- frozen:   the pretrained conv layers kept fixed, only a new linear head learns;
- finetune: the same start, but every layer learns (the conv layers with a 10x lower rate);
- scratch:  the same architecture from random weights.

Every model trains through the shared engine on the same batches and is scored on the same
held-out images of 5-9. ``--backbone resnet18`` swaps in torchvision's ImageNet ResNet-18
(when its weights are cached or can be downloaded; offline it says so in one line and stops).

Re-create the shipped weights (about a minute on 2 CPU cores; writes the .pt and its .json):

    python -m tutor.demos.transfer --pretrain [--out DIR]
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tutor.errors import TutorError
from tutor.training import data
from tutor.training.session import seed_setting, setting

WEIGHTS_FILE = "transfer_digits04_cnn.pt"  # in data/weights/
META_FILE = "transfer_digits04_cnn.json"
PRETRAIN_COMMAND = "python -m tutor.demos.transfer --pretrain"
CANVAS, NOISE, DATA_SEED = 12, 0.15, 0  # the task's images never change, so the shipped weights stay valid
OLD_CLASSES, NEW_CLASSES = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)
RESNET_HOST = ("download.pytorch.org", 443)
PROBE_TIMEOUT_S = 2.0


@dataclass
class Config:
    labels: tuple[int, ...] = setting((5, 10, 50), min=1, max=100, count=(1, 6))  # labelled images per class (digits 5-9)
    repeats: int = setting(5, min=1, max=50)  # draws of those labelled images per size; the table shows the mean accuracy
    steps: int = setting(160, min=1, max=100_000)  # gradient steps per model and draw (the same budget for all)
    batch_size: int = setting(16, min=1, max=4096)  # images per gradient step
    lr: float = setting(2e-3, above=0, max=10)  # Adam's rate for the scratch net
    head_lr: float = setting(1e-2, above=0, max=10)  # rate of the new linear head (frozen and fine-tuned models)
    finetune_lr: float = setting(1e-3, above=0, max=10)  # rate of the pretrained layers when fine-tuning: 10x lower
    backbone: str = setting("small", choices=("small", "resnet18"))  # shipped small CNN, or torchvision's ImageNet net
    seed: int = seed_setting()  # seeds the draws of labelled images, the heads and the shuffles


QUICK = dict(labels=(10,), repeats=1, steps=60)  # --quick: a few seconds


@dataclass
class PretrainConfig:
    channels: tuple[int, int] = (32, 64)  # filters of the two conv layers
    epochs: int = 60  # passes over the 80% of digits 0-4 used for training
    batch_size: int = 32
    lr: float = 2e-3  # Adam
    holdout: float = 0.2  # share of each class of 0-4 kept aside to measure the backbone
    seed: int = 0


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def _digits_on_canvas():
    x, y = data.digits_8x8()  # (1797, 1, 8, 8), (1797,)
    placed = data.place_on_canvas(x, CANVAS, NOISE, DATA_SEED)  # (1797, 1, 12, 12) random spot + noise
    return x, placed, y


def pretrain_data(holdout: float = 0.2, seed: int = 0):
    """Digits 0-4: clean centred training images (augmented on the fly) and fixed held-out ones."""
    x, placed, y = _digits_on_canvas()
    keep = np.isin(y, OLD_CLASSES)
    idx = np.flatnonzero(keep)
    train_idx, _, hold_idx, _ = data.holdout_split(idx, y[idx], holdout, seed)
    centred = data.place_on_canvas(x[train_idx], CANVAS, 0.0, seed, centred=True)  # (N, 1, 12, 12)
    return centred, y[train_idx], placed[hold_idx], y[hold_idx]


def new_task_data():
    """Digits 5-9 relabelled 0-4: a pool to draw labelled images from, and a fixed test set."""
    _, placed, y = _digits_on_canvas()
    x_new, y_new = data.split_by_class(placed, y, NEW_CLASSES)
    pool_x, pool_y, test_x, test_y = data.holdout_split(x_new, y_new, 0.4, DATA_SEED + 1)
    return pool_x, pool_y, test_x, test_y


def shift_and_noise(xb):
    """Augmentation for pretraining: move each centred digit up to 2 pixels and add fresh noise."""
    import torch
    from torch import nn

    n, _, size, _ = xb.shape  # (B, 1, 12, 12)
    padded = nn.functional.pad(xb, (2, 2, 2, 2))  # (B, 1, 16, 16)
    top = torch.randint(0, 5, (n,), device=xb.device)  # (B,)
    left = torch.randint(0, 5, (n,), device=xb.device)  # (B,)
    ar = torch.arange(size, device=xb.device)  # (12,)
    rows = (top[:, None] + ar)[:, :, None]  # (B, 12, 1)
    cols = (left[:, None] + ar)[:, None, :]  # (B, 1, 12)
    moved = padded[torch.arange(n, device=xb.device)[:, None, None], 0, rows, cols]  # (B, 12, 12)
    return moved[:, None] + NOISE * torch.randn_like(xb)  # (B, 1, 12, 12)


# --------------------------------------------------------------------------------------------
# The shipped weights
# --------------------------------------------------------------------------------------------


def weights_dir() -> Path:
    from tutor import paths

    return paths.data_dir() / "weights"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_meta(directory: Path | None = None) -> dict:
    path = (directory or weights_dir()) / META_FILE
    try:
        return json.loads(path.read_text())
    except RecursionError:
        raise TutorError(f"cannot read the pretrained weights' record {path}: not a record this tool writes; "
                         f"re-create it with `{PRETRAIN_COMMAND}`", exit_code=1) from None
    except (OSError, ValueError) as exc:
        raise TutorError(f"cannot read the pretrained weights' record {path}: {exc}; re-create it with `{PRETRAIN_COMMAND}`",
                         exit_code=1) from None


def load_pretrained(directory: Path | None = None) -> tuple:
    """The shipped digits-0-4 network (a Classifier: backbone + its 5-way head) and its record; checks the hash."""
    import torch

    from tutor.demos.transfer_nets import Classifier, small_backbone

    directory = directory or weights_dir()
    meta = load_meta(directory)
    path = directory / WEIGHTS_FILE
    if not path.is_file():
        raise TutorError(f"pretrained weights {path} are missing; re-create them with `{PRETRAIN_COMMAND}`", exit_code=1)
    digest = sha256_file(path)
    if digest != meta.get("sha256"):
        raise TutorError(f"{path} has sha256 {digest[:12]}... but its record says {str(meta.get('sha256'))[:12]}...; "
                         f"the file changed - re-create it with `{PRETRAIN_COMMAND}`", exit_code=1)
    channels = tuple(meta["channels"])
    net = Classifier(small_backbone(channels), 9 * channels[1])
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    net.eval()
    return net, meta


def pretrain(out_dir: Path | None = None, cfg: PretrainConfig | None = None, reporter=None) -> dict:
    """Train the small CNN on digits 0-4 with the shared engine, save it and its record; return the record."""
    import torch

    from tutor.demos.transfer_nets import Classifier, small_backbone
    from tutor.training.engine import evaluate, fit, seed_everything

    cfg = cfg or PretrainConfig()
    out_dir = Path(out_dir) if out_dir else weights_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    x_train, y_train, x_hold, y_hold = pretrain_data(cfg.holdout, cfg.seed)
    seed_everything(cfg.seed)
    net = Classifier(small_backbone(cfg.channels), 9 * cfg.channels[1])
    fit(net, (x_train, y_train), (x_hold, y_hold), epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
        optimizer="adam", scheduler="cosine", augment=shift_and_noise, seed=cfg.seed, device="cpu",
        reporter=reporter, title="pretraining on digits 0-4")
    held = evaluate(net, x_hold, y_hold, device="cpu")
    path = out_dir / WEIGHTS_FILE
    torch.save({k: v.detach().cpu().clone() for k, v in net.state_dict().items()}, path)
    meta = {
        "file": WEIGHTS_FILE, "sha256": sha256_file(path), "bytes": path.stat().st_size,
        "command": PRETRAIN_COMMAND, "seed": cfg.seed, "torch": torch.__version__,
        "architecture": "Conv(1->32,3x3,pad 1)-ReLU-MaxPool2 - Conv(32->64,3x3,pad 1)-ReLU-MaxPool2 - Flatten(576) - Linear(576->5)",
        "channels": list(cfg.channels),
        "data": (f"scikit-learn 8x8 digits, classes 0-4, each placed on a {CANVAS}x{CANVAS} canvas with Gaussian noise "
                 f"{NOISE} (placement seed {DATA_SEED}); {100 - int(100 * cfg.holdout)}% of each class trained "
                 f"(centred, moved up to 2 px and re-noised every batch), {int(100 * cfg.holdout)}% held out"),
        "epochs": cfg.epochs, "batch_size": cfg.batch_size, "lr": cfg.lr, "optimizer": "adam + cosine schedule",
        "holdout_fraction": cfg.holdout, "holdout_n": int(held["n"]), "holdout_acc": round(float(held["acc"]), 4),
        "train_n": int(len(x_train)),
    }
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return meta


# --------------------------------------------------------------------------------------------
# ResNet-18 (optional): torchvision's ImageNet weights, never a hang when offline
# --------------------------------------------------------------------------------------------


def network_available(host=RESNET_HOST, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """A short TCP probe (tests patch this to simulate being offline or online)."""
    from tutor.training.data import network_available as probe

    return probe(host, timeout)


def resnet18_backbone() -> tuple:
    """ResNet-18's ImageNet layers as a feature extractor for our 12x12 digits: (module, 512)."""
    import socket

    import torch
    from torch import nn

    from tutor.demos.transfer_nets import _ImageNetInput

    from torchvision.models import ResNet18_Weights, resnet18

    weights = ResNet18_Weights.IMAGENET1K_V1
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not cached.is_file():
        if not network_available():
            raise TutorError(f"--backbone resnet18 needs torchvision's ImageNet weights: not cached in {cached.parent} "
                             f"and {RESNET_HOST[0]} is unreachable (offline?); use the default small backbone", exit_code=1)
        socket.setdefaulttimeout(30)
        try:
            state = weights.get_state_dict(progress=False)
        except Exception as exc:  # noqa: BLE001 - any failure becomes one line
            raise TutorError(f"downloading the ResNet-18 weights failed: {type(exc).__name__}: {exc}", exit_code=1) from None
        finally:
            socket.setdefaulttimeout(None)
    else:
        try:
            state = torch.load(cached, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - a cut-short download, another file under that name
            raise TutorError(f"the cached ResNet-18 weights {cached} cannot be read ({type(exc).__name__}); "
                             "delete the file, and it is downloaded again on the next run when online", exit_code=1) from None
    net = resnet18()
    try:
        net.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise TutorError(f"{cached} does not hold ResNet-18's weights ({' '.join(str(exc).split())[:100]}); "
                         "delete it, and it is downloaded again on the next run when online", exit_code=1) from None
    net.fc = nn.Identity()  # (N, 512) features after global average pooling
    return _ImageNetInput(net), 512


# --------------------------------------------------------------------------------------------
# The demo
# --------------------------------------------------------------------------------------------


def run(cfg: Config, session) -> dict:
    import copy

    import torch

    from tutor.demos.transfer_nets import Classifier, Frozen, small_backbone
    from tutor.training.engine import Trainee
    from tutor.training.optim import light

    pool_x, pool_y, test_x, test_y = new_task_data()  # (N, 1, 12, 12), (N,) labels 0..4 for digits 5..9
    if max(cfg.labels) > np.bincount(pool_y).min():
        raise TutorError(f"--set labels: at most {np.bincount(pool_y).min()} labelled images per class are available")
    if cfg.backbone == "small":
        pretrained, meta = load_pretrained()
        backbone, n_features = pretrained.backbone, pretrained.head.in_features
        session.note(f"backbone: the shipped small CNN pretrained on digits 0-4 ({meta['holdout_acc']:.1%} on its "
                     f"{meta['holdout_n']} held-out images; {sum(p.numel() for p in backbone.parameters()):,} weights)")
    else:
        backbone, n_features = resnet18_backbone()
        session.note("backbone: torchvision's ResNet-18 with ImageNet weights (digits upsampled to 32x32, 3 channels)")
    session.note(f"new task: digits 5-9 from {', '.join(map(str, cfg.labels))} labels per class, {cfg.repeats} "
                 f"draw(s) each; {len(test_x)} held-out images score every model (eval mode)")
    session.plan(len(cfg.labels) * cfg.repeats)

    methods = ("frozen", "finetune", "scratch")
    table: dict[str, dict[str, float]] = {}
    for k in cfg.labels:
        scores: dict[str, list[float]] = {name: [] for name in methods}
        for rep in range(cfg.repeats):
            x_k, y_k = data.labels_per_class(pool_x, pool_y, k, seed=1000 * cfg.seed + 17 * k + rep)  # (5k, 1, 12, 12)
            torch.manual_seed(cfg.seed + rep)
            frozen = Classifier(Frozen(copy.deepcopy(backbone)), n_features)
            finetune = Classifier(copy.deepcopy(backbone), n_features)
            scratch = Classifier(small_backbone(), 576)
            tuned = light(torch.optim.Adam)([  # torch's Adam, without importing its compiler (see optim.light)
                {"params": finetune.backbone.parameters(), "lr": cfg.finetune_lr},
                {"params": finetune.head.parameters(), "lr": cfg.head_lr},
            ])
            epochs = max(1, round(cfg.steps / -(-len(x_k) // cfg.batch_size)))  # steps / batches per epoch
            results = session.fit(
                [Trainee(frozen, "frozen", lr=cfg.head_lr), Trainee(finetune, "finetune", optimizer=tuned),
                 Trainee(scratch, "scratch", lr=cfg.lr)],
                (x_k, y_k), None, epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                optimizer="adam", seed=cfg.seed + rep,
                title=f"{k} labels per class" + (f", draw {rep + 1} of {cfg.repeats}" if cfg.repeats > 1 else ""),
            )
            for name, result in zip(methods, results):  # scored once at the end: the few labels train, 359 images judge
                scores[name].append(session.evaluate(result.model, test_x, test_y)["acc"])
        table[str(k)] = {name: float(np.mean(v)) for name, v in scores.items()}
        session.table(*_table(table, cfg))

    key = "10" if "10" in table else str(cfg.labels[0])
    row = table[key]
    return {
        "frozen_acc": row["frozen"], "finetune_acc": row["finetune"], "scratch_acc": row["scratch"],
        "labels_per_class": int(key), "frozen_minus_scratch": round(100 * (row["frozen"] - row["scratch"]), 1),
        "table": table, "backbone": cfg.backbone,
    }


def _table(table: dict, cfg: Config):
    """The lesson in numbers: test accuracy per label budget (rows) and method (columns)."""
    rows = [[k, row["frozen"], row["finetune"], row["scratch"], 100 * (row["frozen"] - row["scratch"])]
            for k, row in table.items()]
    draws = f"mean of {cfg.repeats} draws" if cfg.repeats > 1 else "one draw"
    return ("test accuracy on digits 5-9 by label budget and method",
            [("labels per class", "text"), ("frozen", "pct"), ("finetune", "pct"), ("scratch", "pct"), ("frozen-scratch", "points")],
            rows, f"{draws} of the labelled images per budget; chance is 20%; scored in eval mode")


def main(argv: list[str] | None = None) -> int:
    """``python -m tutor.demos.transfer --pretrain [--out DIR]``: re-create the shipped weights."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tutor.demos.transfer",
                                     description="Re-create the pretrained digits-0-4 CNN shipped in data/weights/.")
    parser.add_argument("--pretrain", action="store_true", help="train the backbone and write the .pt and .json files")
    parser.add_argument("--out", type=Path, default=None, help="folder to write to (default: the shipped data/weights/)")
    parser.add_argument("--epochs", type=int, default=PretrainConfig.epochs, help="passes over the training images")
    args = parser.parse_args(argv)
    if not args.pretrain:
        parser.print_help()
        return 2
    meta = pretrain(args.out, PretrainConfig(epochs=args.epochs))
    print(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def save_plot(outcome, path):
    """The ``--save-plot`` PNG: test accuracy of frozen, fine-tuned and scratch nets per labels per class."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    table = outcome.metrics["table"]
    sizes = list(table)
    kinds = [("frozen", "#1f77b4"), ("finetune", "#2ca02c"), ("scratch", "#7f7f7f")]
    fig, ax = plt.subplots(figsize=(8, 4.6), dpi=100)
    x = np.arange(len(sizes))
    for i, (kind, color) in enumerate(kinds):
        values = [100 * table[s][kind] for s in sizes]
        bars = ax.bar(x + (i - 1) * 0.27, values, width=0.27, color=color, label=kind)
        for bar, v in zip(bars, values):
            ax.text(bar.get_x() + bar.get_width() / 2, v, f"{v:.0f}", ha="center", va="bottom", fontsize=8)
    ax.axhline(20, color="black", ls=":", lw=1, label="chance (5 classes)")
    ax.set_xticks(x, [f"{s} labels/class" for s in sizes])
    ax.set(ylabel="test accuracy on digits 5-9 (%)", ylim=(0, 105),
           title=f"backbone: {outcome.metrics['backbone']} (pretrained on digits 0-4)")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3, axis="y")
    fig.suptitle(f"transfer: {outcome.title} · {outcome.device_label} · {outcome.seconds:.1f} s", fontsize=9)
    from tutor.render.figures import write_figure

    return write_figure(fig, path)
