"""A convolutional net against the mnist-mlp net on the same digits: who wins, with how many weights?

The question after the lesson: "Why use convolutions for images when an MLP already reads digits?"

The CNN is the lesson's Conv-Pool-Conv-Pool-Dense net (32 then 64 filters of 3x3, each block
followed by 2x2 max pooling, then a 128-unit dense layer). Like the MLP it gets batch norm and
dropout, so the only difference left is the architecture. Both nets train side by side on the
same batches (Adam, cosine schedule) and are scored on the same held-out images.

Data: MNIST from ``--data-dir`` (the test set alone is split 8,000 / 2,000) or from the cache; with
neither and no network, scikit-learn's 8x8 digits at their own size: the CNN pads its convolutions
(8 -> 4 -> 2 after the poolings) and the MLP takes 64 inputs instead of 784.

At the end: accuracy and weight count of both nets, the 32 first-layer 3x3 filters and what eight
of them see in one test digit (feature maps), as small heat maps (and in ``--save-plot``'s PNG).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tutor.training.data import load_digits_data, load_sklearn_digits
from tutor.training.models import count_parameters, mnist_mlp
from tutor.training.session import seed_setting, setting


@dataclass
class Config:
    channels: tuple[int, int] = setting((32, 64), min=1, max=512, count=(2, 2))  # filters of the two conv layers
    dense: int = setting(128, min=1, max=8192)  # units of the dense layer after flattening
    dropout: float = setting(0.25, min=0, max=0.9)  # dropout before the dense layer (the MLP uses 0.3 after each block)
    epochs: int | None = setting(None, min=1, max=10_000, auto="20 on the small 8x8 digits, 8 on MNIST")  # passes
    batch_size: int = setting(64, min=1, max=65_536)  # images per gradient step
    lr: float = setting(2e-3, above=0, max=10)  # Adam's starting rate, decayed along a cosine (both nets)
    limit: int = setting(0, min=0, max=10_000_000)  # use only the first N training images (0 = all); quick runs, tests
    n_maps: int = setting(8, min=1, max=32)  # feature maps shown for the example digit
    threads: int = setting(1, min=0, max=256)  # CPU threads: 1 stays fast on a busy 2-core machine (0 = engine's choice)
    data_dir: str | None = None  # folder with MNIST IDX files; None: cache, download or the 8x8 digits
    seed: int = seed_setting()  # one seed for the split, the initial weights and the shuffles


QUICK = dict(epochs=8, limit=2000)  # --quick: a few seconds (the 8x8 digits; 2,000 MNIST images)


def seed_cnn(channels=(32, 64), dense: int = 128, dropout: float = 0.25, size: int = 28):
    """Conv-Pool-Conv-Pool-Dense for (N, 1, size, size) images; returns logits (N, 10).

    28x28 (MNIST): unpadded 3x3 convolutions, 28 -> 26 -> pool 13 -> 11 -> pool 5.
    8x8 (the offline digits): padded ones so the image survives two poolings, 8 -> 8 -> 4 -> 4 -> 2.
    """
    from torch import nn

    c1, c2 = channels
    pad = 0 if size >= 16 else 1
    side = ((size - 2 + 2 * pad) // 2 - 2 + 2 * pad) // 2
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=pad), nn.BatchNorm2d(c1), nn.ReLU(),  # (N, 1, 28, 28) -> (N, 32, 26, 26)
        nn.MaxPool2d(2),  # -> (N, 32, 13, 13)
        nn.Conv2d(c1, c2, 3, padding=pad), nn.BatchNorm2d(c2), nn.ReLU(),  # -> (N, 64, 11, 11)
        nn.MaxPool2d(2),  # -> (N, 64, 5, 5)
        nn.Flatten(),  # -> (N, 1600)
        nn.Dropout(dropout),
        nn.Linear(c2 * side * side, dense), nn.ReLU(),  # -> (N, 128)
        nn.Linear(dense, 10),  # -> (N, 10) logits
    )


def first_layer_maps(cnn, image: np.ndarray) -> np.ndarray:
    """What the first conv block (conv, batch norm, ReLU) makes of one image: (C, 26, 26) for MNIST."""
    import torch

    cnn.eval()
    device = next(cnn.parameters()).device
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(image[None])).float().to(device)  # (1, 1, H, W)
        maps = cnn[2](cnn[1](cnn[0](x)))  # (1, C, H', W')
    return maps[0].cpu().numpy()


def run(cfg: Config, session) -> dict:
    import torch

    from tutor.training.engine import Trainee

    data = load_digits_data(cfg.data_dir, seed=cfg.seed)
    if data.source == "digits":  # offline fallback: keep the 8x8 pixels and size both nets for them
        data = load_sklearn_digits(cfg.seed, size=8)
        session.note("MNIST is not here (no --data-dir, nothing cached, no network): using scikit-learn's 8x8 "
                     "digits at their own size; the CNN pads its convolutions and the MLP takes 64 inputs")
    elif data.notice:
        session.note(data.notice)
    x_train, y_train = data.x_train, data.y_train  # (N, 1, 28, 28), (N,)
    if cfg.limit:
        x_train, y_train = x_train[:cfg.limit], y_train[:cfg.limit]
    x_test, y_test = data.x_test, data.y_test  # (M, 1, 28, 28), (M,)
    size = data.image_size
    session.note(f"data: {data.description}; training on {len(x_train):,} images, testing on {len(x_test):,}")

    torch.manual_seed(cfg.seed)
    cnn = seed_cnn(cfg.channels, cfg.dense, cfg.dropout, size)
    mlp = mnist_mlp(in_features=size * size)
    n_cnn, n_mlp = count_parameters(cnn), count_parameters(mlp)
    session.note(f"cnn: {n_cnn:,} weights; mlp (512-256-128): {n_mlp:,} weights")

    epochs = cfg.epochs or (20 if size < 16 else 8)
    session.resolve(epochs=epochs)
    cnn_result, mlp_result = session.fit(
        [Trainee(cnn, "cnn"), Trainee(mlp, "mlp")], (x_train, y_train), (x_test, y_test),
        epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer="adam", scheduler="cosine",
        title="Conv-Pool-Conv-Pool-Dense vs the 512-256-128 MLP, same batches",
        threads=cfg.threads or None,
    )
    cnn_acc, mlp_acc = cnn_result.final["val_acc"], mlp_result.final["val_acc"]
    session.table(
        "the same digits, the same batches: architecture against weight count",
        [("net", "text"), ("weights", "int"), ("test acc", "pct"), ("test loss", "loss")],
        [["cnn", n_cnn, cnn_acc, cnn_result.final["val_loss"]], ["mlp", n_mlp, mlp_acc, mlp_result.final["val_loss"]]],
        caption=f"the cnn is {100 * (cnn_acc - mlp_acc):+.2f} points with {n_mlp / n_cnn:.1f}x fewer weights "
                f"(test images scored in eval mode)",
    )

    # What the first layer learned: its filters, and its feature maps for the first test digit.
    filters = cnn[0].weight.detach().cpu().numpy()[:, 0]  # (32, 3, 3)
    digit = x_test[0]  # (1, 28, 28)
    maps = first_layer_maps(cnn, digit)  # (32, 26, 26) for MNIST, (32, 8, 8) for the 8x8 digits
    strongest = np.argsort(-maps.reshape(len(maps), -1).mean(axis=1))[:cfg.n_maps]  # the most active channels
    session.figure("heatmaps", [
        {"title": f"the {len(filters)} first-layer 3x3 filters", "low": "most negative", "high": "most positive",
         "width": 6, "panels": [{"title": str(i + 1), "values": np.round(f, 3).tolist()} for i, f in enumerate(filters)]},
        {"title": "what the first layer sees in one test digit (its most active feature maps)", "low": "weak",
         "high": "strong", "width": 13 if size >= 16 else 16,
         "panels": [{"title": f"digit {int(y_test[0])}", "values": np.round(digit[0], 2).tolist()}]
         + [{"title": f"map {int(c) + 1}", "values": np.round(maps[c], 2).tolist()} for c in strongest]},
    ])
    return {
        "cnn_acc": cnn_acc, "mlp_acc": mlp_acc, "cnn_params": n_cnn, "mlp_params": n_mlp,
        "cnn_wins": bool(cnn_acc > mlp_acc and n_cnn < n_mlp), "data": data.source,
        "train_images": int(len(x_train)), "test_images": int(len(x_test)),
    }


def save_plot(outcome, path):
    """The ``--save-plot`` PNG of this demo: curves, the two nets' scores, the filters and feature maps."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    m = outcome.metrics
    fig = plt.figure(figsize=(13, 8.2), dpi=100)
    grid = fig.add_gridspec(3, 10, height_ratios=[1.25, 1, 1], hspace=0.55, wspace=0.35)
    loss_ax, acc_ax = fig.add_subplot(grid[0, 0:4]), fig.add_subplot(grid[0, 4:8])
    colors = {"cnn": "#1f77b4", "mlp": "#d62728"}
    for r in outcome.results:
        epochs = [h.epoch for h in r.history]
        c = colors.get(r.name, "gray")
        loss_ax.plot(epochs, r.curve("train_loss"), "--", color=c, alpha=0.6, label=f"{r.name} train")
        loss_ax.plot(epochs, r.curve("val_loss"), color=c, label=f"{r.name} test")
        acc_ax.plot(epochs, [100 * v for v in r.curve("val_acc")], color=c, label=f"{r.name} test")
    loss_ax.set(title="loss (train: running, train mode; test: eval mode)", xlabel="epoch", yscale="log")
    acc_ax.set(title="test accuracy (%), eval mode", xlabel="epoch")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    bar_ax = fig.add_subplot(grid[0, 8:10])
    names = ["cnn", "mlp"]
    bars = bar_ax.bar(names, [m["cnn_params"] / 1000, m["mlp_params"] / 1000], color=[colors[n] for n in names])
    for bar, acc in zip(bars, [m["cnn_acc"], m["mlp_acc"]]):
        bar_ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{100 * acc:.2f}%", ha="center", va="bottom", fontsize=9)
    bar_ax.set(title="thousands of weights\n(label: test accuracy)")
    bar_ax.margins(y=0.18)

    filter_group, map_group = outcome.figures["heatmaps"]
    filters = np.array([p["values"] for p in filter_group["panels"]])  # (32, 3, 3)
    inner = grid[1, :].subgridspec(2, 16, wspace=0.08, hspace=0.15)
    for i, f in enumerate(filters[:32]):
        ax = fig.add_subplot(inner[i // 16, i % 16])
        limit = float(np.abs(f).max()) or 1.0
        ax.imshow(f, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_xticks([])
        ax.set_yticks([])
        if i == 0:
            ax.set_title("first-layer 3x3 filters (red +, blue -)", loc="left", fontsize=9)
    digit_panel, map_panels = map_group["panels"][0], map_group["panels"][1:]
    row = grid[2, :].subgridspec(1, 1 + len(map_panels), wspace=0.1)
    ax = fig.add_subplot(row[0, 0])
    ax.imshow(np.array(digit_panel["values"]), cmap="gray_r")
    ax.set_title(digit_panel["title"], fontsize=9)
    ax.axis("off")
    for j, panel in enumerate(map_panels):
        ax = fig.add_subplot(row[0, j + 1])
        ax.imshow(np.array(panel["values"]), cmap="magma")
        ax.set_title(panel["title"], fontsize=9)
        if j == 0:
            ax.text(0, -0.35, "feature maps of the digit (bright = strong)", transform=ax.transAxes, fontsize=9)
        ax.axis("off")
    fig.suptitle(f"cnn: {outcome.title}\ncnn {100 * m['cnn_acc']:.2f}% with {m['cnn_params']:,} weights vs mlp "
                 f"{100 * m['mlp_acc']:.2f}% with {m['mlp_params']:,} · {outcome.device_label} · {outcome.seconds:.1f} s",
                 fontsize=10)
    from tutor.render.figures import write_figure

    return write_figure(fig, path, tight=False)
