"""The one training loop every demo uses.

    from tutor.training.engine import fit, Trainee, EarlyStopping
    result = fit(model, (x_train, y_train), (x_val, y_val), task="classification",
                 epochs=20, batch_size=128, lr=1e-3, optimizer="adam", device=device, seed=0)
    result.final["val_acc"], result.history[-1].train_loss

How it runs (and why it is fast without a DataLoader):

- The data lives as tensors on the chosen device (moved once). Each epoch draws ONE permutation
  (seeded generator) and gathers the shuffled copy with ``index_select``; batches are contiguous
  slices of it: no per-sample Python, no collation, no worker processes.
- Gradients are cleared with ``set_to_none``; optimisers are built ``fused`` where PyTorch has a
  fused kernel for the device, else ``foreach`` (:func:`make_optimizer`).
- Loss sums and correct counts accumulate in device tensors and are read ONCE per epoch
  (one ``.tolist()``), so there is no host sync per batch.
- Evaluation runs under ``torch.inference_mode()`` with the model in ``eval()`` (batch norm uses its
  running statistics, dropout is off) in large batches.
- Deterministic for a given ``seed``: the permutation generator and the global torch RNG (dropout,
  augmentation) are seeded at the start of :func:`fit`. Seed the model's initialisation yourself
  (``torch.manual_seed``) before building it; :class:`~tutor.training.session.Session` does.

Several models can train side by side in one loop (:func:`fit` with a list of :class:`Trainee`),
each with its own optimiser, scheduler, loss and early stopping, all seeing the same batches; or a
demo calls :func:`fit` several times one after another. Per-epoch (and per-backward) hooks are
:class:`Callback` objects or plain functions. Tasks: ``classification`` (CrossEntropy on logits
(N, C), labels (N,) int64), ``binary`` (BCEWithLogits on logits (N,) or (N, 1), labels 0/1),
``regression`` (MSE; no accuracy). Inputs can be any shape: (N, D), sequences (N, T, D), token
ids (N, T) int64, images (N, C, H, W).

Progress goes to a :class:`Reporter` (the live view, plain lines or JSON); this module never prints.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

TASKS = ("classification", "binary", "regression")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULERS = ("cosine", "step", "plateau", "onecycle")


# --------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------


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


class _FunctionCallback(Callback):
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
        return predict_grid(self.model, self.boundary, width, height, self.task, self.device)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's generators (model initialisation, dropout, shuffles)."""
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def to_tensor(data, device, *, labels: bool = False, task: str = "classification"):
    """A numpy array or tensor on ``device``: floats as float32, integer inputs kept (token ids).

    Labels become int64 for classification and float32 for binary / regression.
    """
    import torch

    t = data if isinstance(data, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(data))
    if labels:
        t = t.long() if task == "classification" else t.float()
    elif t.is_floating_point():
        t = t.float()
    return t.to(device).contiguous()


def make_optimizer(name: str, params, lr: float, weight_decay: float = 0.0, momentum: float = 0.9):
    """An optimiser by name (see :data:`OPTIMIZERS`), fused where PyTorch supports it, else foreach.

    Returns ``(optimizer, implementation)`` where implementation is ``"fused"``, ``"foreach"`` or
    ``"default"``.
    """
    import torch

    params = [p for p in params if p.requires_grad]
    name = name.lower()
    if name not in OPTIMIZERS:
        from tutor.errors import TutorError

        raise TutorError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")
    if name in ("sgd", "momentum", "nesterov"):
        cls = torch.optim.SGD
        kwargs = dict(lr=lr, weight_decay=weight_decay,
                      momentum=0.0 if name == "sgd" else momentum, nesterov=name == "nesterov")
    elif name == "adam":
        cls, kwargs = torch.optim.Adam, dict(lr=lr, weight_decay=weight_decay)
    elif name == "adamw":
        cls, kwargs = torch.optim.AdamW, dict(lr=lr, weight_decay=weight_decay)
    elif name == "rmsprop":
        cls, kwargs = torch.optim.RMSprop, dict(lr=lr, weight_decay=weight_decay)
    else:
        cls, kwargs = torch.optim.Adagrad, dict(lr=lr, weight_decay=weight_decay)
    for impl in ("fused", "foreach"):
        try:
            return cls(params, **kwargs, **{impl: True}), impl
        except (RuntimeError, TypeError, ValueError):
            continue
    return cls(params, **kwargs), "default"


def _optimizer_label(opt, impl: str) -> str:
    return f"{type(opt).__name__.lower()} ({impl})"


def make_scheduler(spec, optimizer, epochs: int, steps_per_epoch: int, lr: float):
    """A scheduler from a name, a factory ``f(optimizer, epochs, steps_per_epoch)`` or an object.

    Returns ``(scheduler or None, per_batch: bool)``.
    """
    import torch

    if spec is None:
        return None, False
    sched_mod = torch.optim.lr_scheduler
    if isinstance(spec, str):
        if spec == "cosine":
            sched = sched_mod.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
        elif spec == "step":
            sched = sched_mod.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
        elif spec == "plateau":
            sched = sched_mod.ReduceLROnPlateau(optimizer, factor=0.5, patience=3)
        elif spec == "onecycle":
            sched = sched_mod.OneCycleLR(optimizer, max_lr=lr, total_steps=max(1, epochs * steps_per_epoch))
        else:
            from tutor.errors import TutorError

            raise TutorError(f"unknown scheduler {spec!r}: choose one of {', '.join(SCHEDULERS)}")
    elif callable(spec) and not hasattr(spec, "step"):
        sched = spec(optimizer, epochs, steps_per_epoch)
    else:
        sched = spec
    per_batch = isinstance(sched, (sched_mod.OneCycleLR, sched_mod.CyclicLR))
    return sched, per_batch


def _task_loss(task: str):
    import torch.nn.functional as F

    if task == "classification":
        return F.cross_entropy
    if task == "binary":
        return F.binary_cross_entropy_with_logits
    return F.mse_loss


def _fit_shape(out, y, task: str):
    """Binary logits (N, 1) meet labels (N,): squeeze the trailing 1; regression (N,1) vs (N,) too."""
    if task != "classification" and out.dim() == y.dim() + 1 and out.shape[-1] == 1:
        return out.squeeze(-1)
    return out


def _correct(out, y, task: str):
    if task == "classification":
        return (out.argmax(dim=-1) == y).sum()
    return ((out > 0) == (y > 0.5)).sum()


def evaluate(model, x, y, task: str = "classification", loss_fn: Callable | None = None,
             batch_size: int = 4096, device=None) -> dict:
    """Mean loss and accuracy of ``model`` on ``(x, y)`` in eval mode under ``inference_mode``.

    ``x``/``y`` may be numpy arrays or tensors (moved to ``device``, default the model's device).
    Returns ``{"loss": float, "acc": float | None, "n": int}`` (acc is None for regression).
    """
    import torch

    if device is None:
        device = _model_device(model)
    x = to_tensor(x, device)
    y = to_tensor(y, device, labels=True, task=task)
    loss_fn = loss_fn or _task_loss(task)
    model.eval()
    n = len(x)
    with torch.inference_mode():
        total = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for start in range(0, n, batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            out = _fit_shape(model(xb), yb, task)
            total += loss_fn(out, yb).float() * len(yb)
            if task != "regression":
                correct += _correct(out, yb, task)
        loss_sum, n_correct = torch.stack([total, correct.to(total.dtype)]).tolist()
    return {"loss": loss_sum / max(n, 1), "acc": (n_correct / max(n, 1)) if task != "regression" else None, "n": n}


def predict(model, x, batch_size: int = 4096, device=None):
    """Model outputs for ``x`` (numpy or tensor) in eval mode, as a CPU tensor."""
    import torch

    if device is None:
        device = _model_device(model)
    x = to_tensor(x, device)
    model.eval()
    with torch.inference_mode():
        outs = [model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    return torch.cat(outs).cpu()


def predict_grid(model, boundary: Boundary, width: int, height: int, task: str, device=None) -> np.ndarray:
    """Class probabilities over a grid covering ``boundary.extent``: (height, width, C), row 0 at the top."""
    import torch

    if device is None:
        device = _model_device(model)
    x0, x1, y0, y1 = boundary.extent
    xs = np.linspace(x0, x1, width, dtype=np.float32)  # (W,)
    ys = np.linspace(y1, y0, height, dtype=np.float32)  # (H,) top row first
    gx, gy = np.meshgrid(xs, ys)  # (H, W) each
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)  # (H*W, 2)
    if boundary.transform is not None:
        points = boundary.transform(points)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        out = model(to_tensor(points, device)).float()
        if task == "binary" or out.shape[-1] == 1:
            p1 = torch.sigmoid(out.reshape(-1))  # (H*W,)
            probs = torch.stack([1 - p1, p1], dim=1)  # (H*W, 2)
        else:
            probs = torch.softmax(out, dim=-1)  # (H*W, C)
        grid = probs.cpu().numpy().reshape(height, width, -1)
    model.train(was_training)
    return grid


def _model_device(model):
    import torch

    for p in model.parameters():
        return p.device
    return torch.device("cpu")


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------


class _State:
    """Book-keeping for one trainee during a fit."""

    def __init__(self, trainee: Trainee, optimizer, opt_label: str, scheduler, per_batch: bool,
                 loss_fn, stopping: EarlyStopping | None):
        self.t = trainee
        self.opt = optimizer
        self.opt_label = opt_label
        self.sched = scheduler
        self.per_batch = per_batch
        self.loss_fn = loss_fn
        self.stopping = stopping
        self.history: list[EpochRecord] = []
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict | None = None
        self.bad_epochs = 0
        self.stopped_epoch: int | None = None
        self.active = True
        self.train_seconds = 0.0
        self.seconds = 0.0
        self.samples = 0
        self.step = 0


def fit(models, train, val=None, *, task: str = "classification", epochs: int = 10,
        batch_size: int | None = 32, lr: float = 1e-3, optimizer: str = "adam", weight_decay: float = 0.0,
        momentum: float = 0.9, scheduler=None, early_stopping: EarlyStopping | None = None,
        callbacks: Sequence = (), augment: Callable | None = None, clip_grad: float | None = None,
        device=None, seed: int = 0, reporter: Reporter | None = None, boundary: Boundary | None = None,
        title: str = "", eval_batch_size: int = 4096, threads: int | None = None):
    """Train one model (returns a :class:`FitResult`) or several side by side (a list of them).

    ``models``: an ``nn.Module``, a :class:`Trainee`, or a list of either (names default to
    ``model``, ``model2``... when several). ``train``/``val``: ``(x, y)`` numpy arrays or tensors.
    ``batch_size=None`` means full-batch gradient descent. ``augment(xb) -> xb`` transforms each
    training batch on the device. ``boundary`` marks a 2-D problem the display can draw.
    ``threads``: CPU threads for this fit (default :func:`auto_threads`: one thread for small
    models, where thread hand-offs cost more than they save and busy cores stall; else PyTorch's).
    Every model sees the same shuffled batches each epoch. Early stopping is per model.
    """
    import torch

    single = not isinstance(models, (list, tuple))
    first = models if single else models[0]
    first_model = first.model if isinstance(first, Trainee) else first
    dev = torch.device(device) if device is not None else _model_device(first_model)
    previous = torch.get_num_threads()
    wanted = threads if threads else auto_threads(first_model, batch_size or len(train[0]), dev)
    if wanted != previous:
        torch.set_num_threads(wanted)
    try:
        return _fit(models, train, val, task=task, epochs=epochs, batch_size=batch_size, lr=lr,
                    optimizer=optimizer, weight_decay=weight_decay, momentum=momentum, scheduler=scheduler,
                    early_stopping=early_stopping, callbacks=callbacks, augment=augment, clip_grad=clip_grad,
                    device=dev, seed=seed, reporter=reporter, boundary=boundary, title=title,
                    eval_batch_size=eval_batch_size)
    finally:
        if wanted != previous:
            torch.set_num_threads(previous)


def auto_threads(model, batch_size: int, device) -> int:
    """CPU threads for training ``model``: 1 for small work or a busy machine, else PyTorch's default.

    ``DNN_TUTOR_THREADS`` overrides. Small layers run single-threaded inside PyTorch anyway, and
    threads that wait at barriers for a core another process holds stall the whole step: under a
    load of ~3 on 2 cores the mnist-mlp trained at 20k samples/s with 1 thread, 9.8k with 2.
    """
    import os

    import torch

    env = os.environ.get("DNN_TUTOR_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    default = torch.get_num_threads()
    if getattr(device, "type", str(device)) != "cpu" or default <= 1:
        return default
    params = sum(p.numel() for p in model.parameters())
    if params * max(1, int(batch_size)) < 5_000_000:
        return 1
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):
        return default
    cores = os.cpu_count() or default
    # Leave the cores other processes are using: e.g. 2 cores with a load of 1.75 or more -> 1 thread.
    # The 1-minute load also counts our own recent work (a previous run, this run's start-up),
    # so a load near 1 on 2 cores still gets both threads (bench: 0.23 s/epoch with 2, 0.35 with 1).
    return max(1, min(default, int(cores - busy + 1.25)))


def _fit(models, train, val, *, task, epochs, batch_size, lr, optimizer, weight_decay, momentum, scheduler,
         early_stopping, callbacks, augment, clip_grad, device, seed, reporter, boundary, title, eval_batch_size):
    import torch

    single = not isinstance(models, (list, tuple))
    trainees = [_as_trainee(m, i) for i, m in enumerate([models] if single else models)]
    if task not in TASKS:
        from tutor.errors import TutorError

        raise TutorError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
    if device is None:
        device = _model_device(trainees[0].model)
    device = torch.device(device)
    seed_everything(seed)

    x_tr = to_tensor(train[0], device)
    y_tr = to_tensor(train[1], device, labels=True, task=task)
    has_val = val is not None
    if has_val:
        x_va = to_tensor(val[0], device)
        y_va = to_tensor(val[1], device, labels=True, task=task)
    n = len(x_tr)
    bs = n if not batch_size or batch_size >= n else int(batch_size)
    n_batches = math.ceil(n / bs)
    report_every = max(1, n_batches // 20)
    gen = torch.Generator().manual_seed(seed)
    xs = torch.empty_like(x_tr)  # (N, ...) reused for each epoch's shuffled copy
    ys = torch.empty_like(y_tr)  # (N,)
    callbacks = [c if isinstance(c, Callback) else _FunctionCallback(c) for c in callbacks]
    after_backward = [c for c in callbacks if type(c).after_backward is not Callback.after_backward]
    reporter = reporter or Reporter()

    states: list[_State] = []
    for t in trainees:
        t.model.to(device)
        if t.optimizer is None:
            opt, impl = make_optimizer(t.optimizer_name or optimizer, t.model.parameters(),
                                       t.lr if t.lr is not None else lr,
                                       t.weight_decay if t.weight_decay is not None else weight_decay, momentum)
        else:
            opt, impl = t.optimizer, "given"
        sched, per_batch = make_scheduler(t.scheduler if t.scheduler is not None else scheduler, opt, epochs,
                                          n_batches, t.lr if t.lr is not None else lr)
        stopping = early_stopping if t.early_stopping is None else (t.early_stopping or None)
        if stopping is True:
            stopping = EarlyStopping()
        if stopping is not None and stopping.monitor.startswith("val_") and not has_val:
            stopping = EarlyStopping(stopping.patience, "train_loss", stopping.min_delta, stopping.restore_best)
        states.append(_State(t, opt, _optimizer_label(opt, impl), sched, per_batch, t.loss_fn or _task_loss(task), stopping))

    reporter.fit_start(FitInfo(title=title, names=[t.name for t in trainees], task=task, epochs=epochs,
                               batch_size=bs, n_train=n, n_val=len(x_va) if has_val else 0, has_val=has_val,
                               boundary=boundary, optimizers={s.t.name: s.opt_label for s in states}))
    for s in states:
        for c in callbacks:
            c.on_fit_start(s.t)

    for epoch in range(1, epochs + 1):
        if not any(s.active for s in states):
            break
        perm = torch.randperm(n, generator=gen).to(device)  # (N,) one shuffle for every model
        # The shuffled copy goes into the same two buffers every epoch (no fresh allocation, no
        # page faults); batches are contiguous slices of it.
        torch.index_select(x_tr, 0, perm, out=xs)  # (N, ...)
        torch.index_select(y_tr, 0, perm, out=ys)  # (N,)
        for s in states:
            if not s.active:
                continue
            model, opt, loss_fn = s.t.model, s.opt, s.loss_fn
            start = time.perf_counter()
            model.train()
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device, dtype=torch.long)
            for b in range(n_batches):
                xb = xs[b * bs:(b + 1) * bs]  # (B, ...)
                yb = ys[b * bs:(b + 1) * bs]  # (B,)
                if augment is not None:
                    xb = augment(xb)
                out = _fit_shape(model(xb), yb, task)  # (B, C) or (B,)
                loss = loss_fn(out, yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                for c in after_backward:
                    c.after_backward(s.t, s.step)
                if clip_grad:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
                opt.step()
                s.step += 1
                if s.per_batch:
                    s.sched.step()
                with torch.no_grad():
                    loss_sum += loss.detach().float() * len(yb)
                    if task != "regression":
                        correct += _correct(out.detach(), yb, task)
                if (b + 1) % report_every == 0 and b + 1 < n_batches:
                    reporter.batch_end(s.t.name, epoch, b + 1, n_batches)
            train_loss, train_correct = torch.stack([loss_sum, correct.to(loss_sum.dtype)]).tolist()
            train_seconds = time.perf_counter() - start
            lr_now = float(opt.param_groups[0]["lr"])
            if has_val:
                ev = evaluate(model, x_va, y_va, task, loss_fn, eval_batch_size, device)
                val_loss, val_acc = ev["loss"], ev["acc"]
            else:
                val_loss = val_acc = None
            if s.sched is not None and not s.per_batch:
                if isinstance(s.sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    s.sched.step(val_loss if val_loss is not None else train_loss / n)
                else:
                    s.sched.step()
            seconds = time.perf_counter() - start
            s.train_seconds += train_seconds
            s.seconds += seconds
            s.samples += n
            record = EpochRecord(
                model=s.t.name, epoch=epoch, epochs=epochs, train_loss=train_loss / n,
                train_acc=(train_correct / n) if task != "regression" else None,
                val_loss=val_loss, val_acc=val_acc, lr=lr_now, seconds=seconds,
                samples_per_s=n / max(train_seconds, 1e-9),
            )
            for c in callbacks:
                extra = c.on_epoch_end(s.t, record)
                if extra:
                    record.extra.update(extra)
            _track_best(s, record)
            if epoch == epochs:
                record.last = True
            if not s.active:
                record.stopped = record.last = True
            s.history.append(record)
            reporter.epoch_end(record, EpochView(s.t, task, device, boundary))

    results = []
    for s in states:
        if s.stopping is not None and s.stopping.restore_best and s.best_state is not None:
            s.t.model.load_state_dict(s.best_state)
            chosen = next(r for r in s.history if r.epoch == s.best_epoch)
        else:
            chosen = s.history[-1]
        final = {"train_loss": chosen.train_loss, "train_acc": chosen.train_acc,
                 "val_loss": chosen.val_loss, "val_acc": chosen.val_acc, "epoch": chosen.epoch}
        s.t.model.eval()
        results.append(FitResult(
            name=s.t.name, model=s.t.model, task=task, history=s.history, epochs_run=len(s.history),
            best_epoch=s.best_epoch if s.stopping is not None else None, stopped_epoch=s.stopped_epoch,
            seconds=s.seconds, samples=s.samples, samples_per_s=s.samples / max(s.train_seconds, 1e-9),
            final=final, optimizer=s.opt_label, title=title, boundary=boundary,
        ))
    reporter.fit_end(results)
    return results[0] if single else results


def _as_trainee(model, index: int) -> Trainee:
    if isinstance(model, Trainee):
        return model
    return Trainee(model=model, name="model" if index == 0 else f"model{index + 1}")


def _track_best(s: _State, record: EpochRecord) -> None:
    stopping = s.stopping
    if stopping is None:
        return
    value = getattr(record, stopping.monitor, None)
    if value is None:
        value = record.extra.get(stopping.monitor)
    if value is None:
        return
    higher = stopping.monitor.endswith("acc")
    improved = s.best_value is None or (
        value > s.best_value + stopping.min_delta if higher else value < s.best_value - stopping.min_delta
    )
    if improved:
        s.best_value, s.best_epoch, s.bad_epochs = value, record.epoch, 0
        record.best = True
        if stopping.restore_best:
            s.best_state = {k: v.detach().clone() for k, v in s.t.model.state_dict().items()}
    else:
        s.bad_epochs += 1
        if s.bad_epochs >= stopping.patience:
            s.active = False
            s.stopped_epoch = record.epoch
