"""XOR: the smallest problem a straight line cannot solve, learned by a 2-6-4-1 network.

Points in the four quadrants of the plane; class 1 where x and y have opposite signs (as in lesson 1,
XOR is 1 where the bits differ). No single line separates the classes, so a network without a hidden layer stays near 50%. Two small ReLU
layers (6 then 4 units) fold the plane and the boundary bends around the quadrants.
Watch the heat map: it starts as one straight cut and turns into a cross.
A net this small sometimes gets stuck (units that never switch on): try another --seed and compare.
"""

from __future__ import annotations

from dataclasses import dataclass

from tutor.training.data import make_2d, train_test_split
from tutor.training.session import seed_setting, setting


@dataclass
class Config:
    n_points: int = setting(1000, min=8, max=1_000_000)  # points in the data set; a quarter are held out for testing
    noise: float = setting(0.05, min=0, max=2)  # Gaussian jitter of each point (the quadrants are 0.1 apart at the axes)
    hidden: tuple[int, ...] = setting((6, 4), min=1, max=4096, count=(1, 8))  # hidden layer sizes: 2 -> 6 -> 4 -> 1
    epochs: int = setting(100, min=1, max=100_000)  # passes over the training set
    batch_size: int = setting(32, min=1, max=1_000_000)  # points per gradient step
    lr: float = setting(0.01, above=0, max=10)  # Adam's learning rate
    seed: int = seed_setting()  # one seed for the data, the initial weights and the shuffles


QUICK = dict(epochs=30, n_points=600)  # --quick: a few seconds


def run(cfg: Config, session) -> dict:
    import torch
    from torch import nn

    from tutor.training.engine import Boundary

    x, y = make_2d("xor", cfg.n_points, cfg.noise, cfg.seed)  # (N, 2) float32, (N,) int64
    x_train, y_train, x_test, y_test = train_test_split(x, y, 0.25, cfg.seed)
    session.note(f"data: {len(x_train)} training and {len(x_test)} test points in four quadrants (noise {cfg.noise})")

    torch.manual_seed(cfg.seed)
    sizes = (2, *cfg.hidden)
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        linear = nn.Linear(fan_in, fan_out)  # (N, fan_in) -> (N, fan_out)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")  # He initialisation suits ReLU
        nn.init.constant_(linear.bias, 0.1)  # a small positive bias: fewer units start "dead"
        layers += [linear, nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(sizes[-1], 1))  # (N, 2) -> (N, 1) logit; sigmoid lives in the loss

    result = session.fit(
        model, (x_train, y_train), (x_test, y_test), task="binary",  # BCEWithLogits
        epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer="adam",
        boundary=Boundary(x_test, y_test, extent=(-1.3, 1.3, -1.3, 1.3)),
    )
    return {"test_acc": result.final["val_acc"], "test_loss": result.final["val_loss"],
            "train_acc": result.final["train_acc"]}
