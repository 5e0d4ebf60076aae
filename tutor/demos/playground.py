"""Playground: pick a 2-D dataset and a small network, and watch the decision boundary form.

In the spirit of the TensorFlow playground: change one thing at a time and compare runs with
`dnn-tutor demo --history`. Things to try:
  --layers 0              no hidden layer: only a straight boundary (fails on circle, xor, spiral)
  --layers 8,8 --activation linear   stacked linear layers are still one linear map
  --dataset spiral --layers 16,16,8 --activation relu --epochs 400
  --noise 0.3 --layers 32,32 --l2 0 vs --l2 1e-2 / --dropout 0.2   (overfitting and its cures)
"""

from __future__ import annotations

from dataclasses import dataclass

from tutor.training.data import DATASETS_2D, make_2d, train_test_split
from tutor.training.engine import OPTIMIZERS
from tutor.training.models import ACTIVATIONS
from tutor.training.session import seed_setting, setting


@dataclass
class Config:
    dataset: str = setting("circle", choices=DATASETS_2D)  # xor, spiral, circle, moons or gaussian
    n_points: int = setting(600, min=8, max=1_000_000)  # points in the dataset; a quarter are held out for testing
    noise: float = setting(0.1, min=0, max=2)  # Gaussian jitter of each point
    layers: tuple[int, ...] = setting((8, 8), min=0, max=1024, count=(1, 8))  # hidden layer sizes; 0 for none (linear)
    activation: str = setting("tanh", choices=ACTIVATIONS)  # relu, tanh, sigmoid, leaky_relu, gelu or linear
    l2: float = setting(0.0, min=0, max=10)  # L2 penalty on the parameters (weight decay)
    dropout: float = setting(0.0, min=0, max=0.9)  # dropout rate after each hidden layer
    optimizer: str = setting("adam", choices=OPTIMIZERS)  # sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad
    epochs: int = setting(150, min=1, max=100_000)  # passes over the training set
    batch_size: int = setting(32, min=1, max=1_000_000)  # points per gradient step
    lr: float = setting(0.03, above=0, max=10)  # learning rate
    seed: int = seed_setting()  # one seed for the data, the initial weights and the shuffles


QUICK = dict(epochs=40)  # --quick: a few seconds


def check_config(cfg: Config) -> None:
    """0 means "no hidden layer" only on its own: ``--layers 0,8`` was run as 8 without a word."""
    if 0 in cfg.layers and len(cfg.layers) > 1:
        from tutor.errors import TutorError

        given = ",".join(str(h) for h in cfg.layers)
        raise TutorError(f"--layers {given}: 0 means no hidden layer and stands alone; give sizes of 1 or more "
                         f"(e.g. {','.join(str(h) for h in cfg.layers if h) or '8,8'}), or 0 by itself")


def run(cfg: Config, session) -> dict:
    import torch
    from torch import nn

    from tutor.training.engine import Boundary
    from tutor.training.models import mlp

    x, y = make_2d(cfg.dataset, cfg.n_points, cfg.noise, cfg.seed)  # (N, 2), (N,)
    x_train, y_train, x_test, y_test = train_test_split(x, y, 0.25, cfg.seed)
    hidden = [h for h in cfg.layers if h > 0]
    shape = " -> ".join(str(s) for s in (2, *hidden, 1))
    session.note(f"{cfg.dataset}: {len(x_train)} training / {len(x_test)} test points, noise {cfg.noise}; "
                 f"network {shape} ({cfg.activation if hidden else 'no hidden layer, so no activation'}), "
                 f"L2 {cfg.l2:g}, dropout {cfg.dropout:g}")

    torch.manual_seed(cfg.seed)
    model: nn.Module = mlp((2, *hidden, 1), act=cfg.activation, dropout=cfg.dropout)  # (N, 2) -> (N, 1) logit

    result = session.fit(
        model, (x_train, y_train), (x_test, y_test), task="binary",
        epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer=cfg.optimizer, weight_decay=cfg.l2,
        boundary=Boundary(x_train, y_train),
    )
    final = result.final
    return {"test_acc": final["val_acc"], "test_loss": final["val_loss"], "train_acc": final["train_acc"],
            "train_loss": final["train_loss"]}
