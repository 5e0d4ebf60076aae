"""The data types a fit takes and returns: what to train, how to stop, what each epoch measured.

No torch at import time: these are plain dataclasses (numpy only for :class:`Boundary`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

TASKS = ("classification", "binary", "regression")

@dataclass
class EarlyStopping:
    """Stop a model when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    ``monitor`` is ``val_loss`` / ``train_loss`` (lower is better) or ``val_acc`` / ``train_acc``
    (higher is better). With ``restore_best`` the best weights are put back at the end and the
    result's ``final`` metrics are those of the best epoch.
    """

    patience: int = 10
    monitor: str = "val_loss"
    min_delta: float = 0.0
    restore_best: bool = True


@dataclass
class Trainee:
    """One model in a fit, with what is specific to it.

    ``optimizer``: a torch optimiser, or None to build one from :func:`fit`'s ``optimizer``/``lr``/
    ``weight_decay``/``momentum`` (or this trainee's own ``optimizer_name``/``lr``/``weight_decay``).
    ``scheduler``: a scheduler object, a name from :data:`SCHEDULERS`, or a factory
    ``f(optimizer, epochs, steps_per_epoch) -> scheduler``. ``loss_fn``: overrides the task's loss.
    ``early_stopping``: overrides fit's (``False`` turns it off for this model).
    """

    model: Any
    name: str = "model"
    optimizer: Any = None
    optimizer_name: str | None = None
    lr: float | None = None
    weight_decay: float | None = None
    scheduler: Any = None
    loss_fn: Callable | None = None
    early_stopping: EarlyStopping | bool | None = None


@dataclass
class EpochRecord:
    """Metrics of one model after one epoch (floats are Python floats, read once per epoch)."""

    model: str
    epoch: int  # 1-based
    epochs: int  # planned epochs of this fit
    train_loss: float
    train_acc: float | None
    val_loss: float | None
    val_acc: float | None
    lr: float
    seconds: float  # wall time of this epoch for this model (train + evaluation)
    samples_per_s: float  # training samples per second of training time
    extra: dict = field(default_factory=dict)  # from callbacks, e.g. {"grad_norm/layer1": 0.01}
    best: bool = False  # this epoch is the best so far on the monitored metric
    stopped: bool = False  # early stopping fired after this epoch
    last: bool = False  # the last epoch this model runs in this fit

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class FitResult:
    """What :func:`fit` returns for each model."""

    name: str
    model: Any
    task: str
    history: list[EpochRecord]
    epochs_run: int
    best_epoch: int | None  # the epoch whose weights the model holds when restore_best applied
    stopped_epoch: int | None  # set when early stopping ended the run early
    seconds: float
    samples: int  # training samples processed (all epochs)
    samples_per_s: float
    final: dict  # train_loss, train_acc, val_loss, val_acc of the weights the model ends with
    optimizer: str = ""  # e.g. "adam (fused)"
    precision: str = "fp32"  # what the fit ran in: "fp32" or "bf16" (after resolving "auto")
    threads: int = 0  # CPU threads of the fit's first epoch (0 off the CPU)
    title: str = ""  # the fit's title (when a demo runs several fits one after another)
    boundary: Any = None  # the fit's Boundary (2-D data), for plots

    def curve(self, key: str) -> list[float | None]:
        """One metric over the epochs, e.g. ``result.curve("val_loss")``."""
        return [getattr(r, key, None) if hasattr(r, key) else r.extra.get(key) for r in self.history]


@dataclass
class Boundary:
    """A 2-D problem whose decision boundary the display and plot draw.

    ``x`` (N, 2) and ``y`` (N,) are the points shown (numpy); ``extent`` (xmin, xmax, ymin, ymax)
    defaults to the points' range plus a margin. ``transform`` maps raw grid points (M, 2) to model
    inputs when the model does not take raw coordinates (e.g. it expects extra features).
    """

    x: np.ndarray
    y: np.ndarray
    extent: tuple[float, float, float, float] | None = None
    transform: Callable | None = None

    def __post_init__(self):
        self.x = np.asarray(self.x, dtype=np.float32)
        self.y = np.asarray(self.y).astype(np.int64).reshape(-1)
        if self.extent is None:
            lo = self.x.min(axis=0)
            hi = self.x.max(axis=0)
            pad = 0.08 * (hi - lo) + 1e-3
            self.extent = (float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1]))

    @property
    def n_classes(self) -> int:
        return int(max(2, self.y.max() + 1 if len(self.y) else 2))


@dataclass
class FitInfo:
    """Told to the reporter when a fit starts."""

    title: str
    names: list[str]
    task: str
    epochs: int
    batch_size: int
    n_train: int
    n_val: int
    has_val: bool
    boundary: Boundary | None
    optimizers: dict[str, str]
    precision: str = "fp32"  # "fp32" or "bf16" ("auto" already resolved)
    threads: int = 0  # CPU threads at the start (0 off the CPU)
