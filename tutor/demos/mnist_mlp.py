"""Handwritten digits with a deep MLP: 784 -> 512 -> 256 -> 128 -> 10, batch norm, dropout, Adam.

Each 28x28 image is flattened into 784 numbers. Two Linear-BatchNorm-ReLU-Dropout blocks and a
third hidden layer turn them into ten scores, one per digit; cross-entropy compares the scores
with the label. Batch norm keeps each layer's inputs well scaled, dropout (30%) stops the net from
leaning on any single unit, and small random shifts of the training images (up to 2 pixels) show
it the same digit in slightly different places. Watch the gap between train and test accuracy.

Data, best first: --data-dir (MNIST IDX files), the cache, a download when online; offline with
nothing cached, scikit-learn's 8x8 digits upsampled to 28x28.
"""

from __future__ import annotations

from dataclasses import dataclass

from tutor.training.data import load_digits_data
from tutor.training.models import count_parameters, mnist_mlp
from tutor.training.session import seed_setting, setting


@dataclass
class Config:
    data_dir: str | None = None  # folder with MNIST IDX files (default: cache, download, or the 8x8 digits)
    epochs: int | None = setting(None, min=1, max=10_000, auto="20 for up to 10,000 images, 10 for full MNIST")  # passes
    batch_size: int = setting(128, min=1, max=65_536)  # images per gradient step
    lr: float = setting(2e-3, above=0, max=10)  # Adam's peak rate; a cosine schedule lowers it to 0 by the last epoch
    dropout: float = setting(0.3, min=0, max=0.9)  # dropout rate in the two wide blocks
    shift: int = setting(2, min=0, max=8)  # augmentation: shift each training image by up to this many pixels (0 = off)
    limit: int = setting(0, min=0, max=10_000_000)  # use only the first N training images (0 = all)
    seed: int = seed_setting()  # one seed for the split, the initial weights and the shuffles


QUICK = dict(epochs=3, limit=2000)  # --quick: a few seconds


def random_shift(images, pixels: int, fill: float):
    """Move each image (a tensor) by its own random (dy, dx) in [-pixels, pixels], filling with ``fill``."""
    import torch

    n, c, h, w = images.shape  # (N, 1, 28, 28)
    padded = torch.nn.functional.pad(images, (pixels,) * 4, value=fill)  # (N, 1, 28+2p, 28+2p)
    dy = torch.randint(0, 2 * pixels + 1, (n, 1), device=images.device)  # (N, 1)
    dx = torch.randint(0, 2 * pixels + 1, (n, 1), device=images.device)  # (N, 1)
    rows = (torch.arange(h, device=images.device) + dy)[:, :, None]  # (N, 28, 1)
    cols = (torch.arange(w, device=images.device) + dx)[:, None, :]  # (N, 1, 28)
    batch = torch.arange(n, device=images.device)[:, None, None]  # (N, 1, 1)
    return padded[batch, 0, rows, cols].unsqueeze(1)  # (N, 1, 28, 28)


def run(cfg: Config, session) -> dict:
    import torch

    data = load_digits_data(cfg.data_dir, seed=cfg.seed)
    if data.notice:
        session.note(data.notice)
    x_train, y_train = data.x_train, data.y_train  # (N, 1, 28, 28) in [0, 1], (N,)
    if cfg.limit:
        x_train, y_train = x_train[:cfg.limit], y_train[:cfg.limit]
    session.note(f"data: {data.description}" + (f"; using the first {len(x_train):,} training images" if cfg.limit else ""))

    mean, std = float(x_train.mean()), float(x_train.std())
    x_train = (x_train - mean) / std  # (N, 1, 28, 28) zero mean, unit variance
    x_test = (data.x_test - mean) / std  # (M, 1, 28, 28) with the training set's statistics
    background = (0.0 - mean) / std  # the value of an empty pixel after normalising

    torch.manual_seed(cfg.seed)
    model = mnist_mlp(in_features=x_train.shape[-1] * x_train.shape[-2], dropout=cfg.dropout)  # (N, 1, 28, 28) -> (N, 10)
    session.note(f"model: 784-512-256-128-10 MLP, {count_parameters(model):,} parameters")

    epochs = cfg.epochs or (20 if len(x_train) <= 10_000 else 10)
    session.resolve(epochs=epochs)
    augment = (lambda xb: random_shift(xb, cfg.shift, background)) if cfg.shift else None
    result = session.fit(
        model, (x_train, y_train), (x_test, data.y_test), task="classification",
        epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer="adam", scheduler="cosine",
        augment=augment,
    )
    return {"test_acc": result.final["val_acc"], "test_loss": result.final["val_loss"],
            "train_acc": result.final["train_acc"], "data": data.source}
