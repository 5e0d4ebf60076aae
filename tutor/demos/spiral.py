"""Two spirals: a deeper 2-16-8-4-1 ReLU cousin of lesson 2's numpy network, trained by plain gradient descent.

Two arms wind around the origin, one inside the other; no straight line (or any single bend)
separates them. Every epoch is ONE full-batch gradient step with a fixed learning rate, as in
lesson 2's from-scratch numpy network (2-32-32-2, softmax cross-entropy); here He initialisation,
ReLU hidden layers, one sigmoid output and binary cross-entropy. Watch the boundary start as a straight cut and curl into the spiral.
Try --set turns=1.5 (a harder spiral) or --set optimizer=adam --lr 0.02.
"""

from __future__ import annotations

from dataclasses import dataclass

from tutor.training.data import make_2d, train_test_split
from tutor.training.engine import OPTIMIZERS
from tutor.training.session import seed_setting, setting


@dataclass
class Config:
    n_points: int = setting(400, min=8, max=1_000_000)  # points on the two arms; a quarter are held out for testing
    noise: float = setting(0.03, min=0, max=2)  # Gaussian jitter of each point
    turns: float = setting(1.0, min=0.1, max=10)  # how far each arm winds around the centre
    hidden: tuple[int, ...] = setting((16, 8, 4), min=1, max=4096, count=(1, 8))  # hidden sizes: 2 -> 16 -> 8 -> 4 -> 1
    optimizer: str = setting("sgd", choices=OPTIMIZERS)  # plain gradient descent, as in the numpy network
    epochs: int = setting(2000, min=1, max=100_000)  # full-batch steps (one per epoch)
    lr: float = setting(0.5, above=0, max=10)  # learning rate of the gradient step
    batch_size: int = setting(0, min=0, max=1_000_000)  # 0 = the whole training set in every step (full batch)
    seed: int = seed_setting()  # one seed for the data, the initial weights and the shuffles


QUICK = dict(epochs=400, n_points=200)  # --quick: a few seconds


def run(cfg: Config, session) -> dict:
    import torch
    from torch import nn

    from tutor.training.engine import Boundary

    x, y = make_2d("spiral", cfg.n_points, cfg.noise, cfg.seed, turns=cfg.turns)  # (N, 2), (N,)
    x_train, y_train, x_test, y_test = train_test_split(x, y, 0.25, cfg.seed)
    session.note(f"data: two spiral arms, {len(x_train)} training and {len(x_test)} test points")

    torch.manual_seed(cfg.seed)
    sizes = (2, *cfg.hidden)
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        linear = nn.Linear(fan_in, fan_out)  # (N, fan_in) -> (N, fan_out)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")  # He: variance 2 / fan_in
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(sizes[-1], 1))  # (N, 2) -> (N, 1) logit

    result = session.fit(
        model, (x_train, y_train), (x_test, y_test), task="binary",
        epochs=cfg.epochs, batch_size=cfg.batch_size or None, lr=cfg.lr, optimizer=cfg.optimizer,
        boundary=Boundary(x_train, y_train),
    )
    return {"test_acc": result.final["val_acc"], "test_loss": result.final["val_loss"],
            "train_acc": result.final["train_acc"]}
