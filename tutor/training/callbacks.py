"""Hooks into a fit: the :class:`Reporter` a display implements, :class:`Callback` for per-step and
per-epoch extras, and the lazy :class:`EpochView` a reporter may look at. This module never prints.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from tutor.training.protocol import Boundary, EpochRecord, FitInfo, FitResult, Trainee


class Reporter:
    """Receives progress; every method is a no-op here. Displays override what they need.

    The engine calls ``fit_start`` once per fit, ``batch_end`` a few times per epoch (cheap; for a
    progress bar inside long epochs), ``epoch_end`` after every epoch of every model, ``fit_end``
    with the results, and ``note`` for one-line messages from a demo.
    """

    def fit_start(self, info: FitInfo) -> None:
        pass

    def batch_end(self, name: str, epoch: int, batch: int, n_batches: int) -> None:
        pass

    def epoch_end(self, record: EpochRecord, view: "EpochView") -> None:
        pass

    def fit_end(self, results: list[FitResult]) -> None:
        pass

    def note(self, text: str) -> None:
        pass


class Callback:
    """Hooks into the loop; override what you need.

    - ``on_fit_start(trainee)``: before the first epoch.
    - ``after_backward(trainee, step)``: after each ``loss.backward()``, before the optimiser step;
      gradients are in ``p.grad``. Runs per batch: accumulate into device tensors, never ``.item()``.
    - ``on_epoch_end(trainee, record) -> dict | None``: extra metrics merged into ``record.extra``
      (shown in JSON, kept in the history, plotted by demos that want them).

    A plain function ``f(trainee, record) -> dict | None`` passed as a callback is ``on_epoch_end``.
    """

    def on_fit_start(self, trainee: Trainee) -> None:
        pass

    def after_backward(self, trainee: Trainee, step: int) -> None:
        pass

    def on_epoch_end(self, trainee: Trainee, record: EpochRecord) -> dict | None:
        return None


class FunctionCallback(Callback):
    """A plain function ``f(trainee, record) -> dict | None`` used as ``on_epoch_end``."""

    def __init__(self, fn: Callable):
        self.fn = fn

    def on_epoch_end(self, trainee, record):
        return self.fn(trainee, record)


class EpochView:
    """What a reporter may look at after an epoch, computed only when asked (cheap when unused)."""

    def __init__(self, trainee: Trainee, task: str, device, boundary: Boundary | None):
        self.trainee = trainee
        self.task = task
        self.device = device
        self.boundary = boundary

    @property
    def model(self):
        return self.trainee.model

    def boundary_grid(self, width: int, height: int) -> np.ndarray | None:
        """Class probabilities on a (height, width) grid over the boundary's extent: (height, width, C)."""
        if self.boundary is None:
            return None
        from tutor.training.evaluation import predict_grid

        return predict_grid(self.model, self.boundary, width, height, self.task, self.device)



def as_callbacks(callbacks) -> list[Callback]:
    """Callbacks as :class:`Callback` objects (plain functions become ``on_epoch_end`` hooks)."""
    return [c if isinstance(c, Callback) else FunctionCallback(c) for c in callbacks]
