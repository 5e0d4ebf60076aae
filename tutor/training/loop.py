"""The training loop: :func:`fit` (what it does is described in :mod:`tutor.training.engine`).

Reads top to bottom: set up (data on the device, one optimiser per model, threads, precision),
then for each epoch one shuffle shared by every model, each model's steps, its evaluation and
book-keeping, then the results. Everything that is not the loop lives beside it: the types in
:mod:`~tutor.training.protocol`, hooks in :mod:`~tutor.training.callbacks`, optimisers in
:mod:`~tutor.training.optim`, threads in :mod:`~tutor.training.threads`, number formats in
:mod:`~tutor.training.precision`, evaluation in :mod:`~tutor.training.evaluation`.
"""

from __future__ import annotations

import math
import operator
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from tutor.training.callbacks import Callback, EpochView, Reporter, as_callbacks
from tutor.training.cudagraph import StepGraph, graph_ready
from tutor.training.evaluation import (correct_count, evaluate, fit_shape, model_device, seed_everything,
                                       task_loss, to_tensor)
from tutor.training.handstep import HandStep, plan_hand_step
from tutor.training.optim import make_optimizer, make_scheduler, optimizer_label
from tutor.training.precision import Precision, channels_last_wanted, matmul_scope, resolve_precision
from tutor.training.protocol import TASKS, Boundary, EarlyStopping, EpochRecord, FitInfo, FitResult, Trainee
from tutor.training.threads import ThreadPlan


def fit(models, train, val=None, *, task: str = "classification", epochs: int = 10,
        batch_size: int | None = 32, lr: float = 1e-3, optimizer: str = "adam", weight_decay: float = 0.0,
        momentum: float = 0.9, scheduler=None, early_stopping: EarlyStopping | None = None,
        callbacks: Sequence = (), augment: Callable | None = None, clip_grad: float | None = None,
        device=None, seed: int = 0, reporter: Reporter | None = None, boundary: Boundary | None = None,
        title: str = "", eval_batch_size: int = 4096, threads: int | None = None, precision: str = "fp32",
        channels_last: bool | None = None):
    """Train one model (returns a :class:`FitResult`) or several side by side (a list of them).

    ``models``: an ``nn.Module``, a :class:`Trainee`, or a list of either (names default to
    ``model``, ``model2``... when several). ``train``/``val``: ``(x, y)`` numpy arrays or tensors.
    ``batch_size=None`` means full-batch gradient descent. ``augment(xb) -> xb`` transforms each
    training batch on the device. ``boundary`` marks a 2-D problem the display can draw.
    ``threads``: CPU threads (default: :func:`~tutor.training.threads.auto_threads`, re-checked
    between long epochs). ``precision``: ``"fp32"``, ``"bf16"`` or ``"auto"``
    (:mod:`~tutor.training.precision`). ``channels_last``: None = on for conv nets on images.
    Every model sees the same shuffled batches each epoch. Early stopping is per model.
    """
    import torch

    single = not isinstance(models, (list, tuple))
    trainees = [_as_trainee(m, i) for i, m in enumerate([models] if single else models)]
    _check_arguments(trainees, train, val, task, epochs, batch_size)
    dev = torch.device(device) if device is not None else model_device(trainees[0].model)
    prec = resolve_precision(precision, dev, trainees[0].model, batch_size or len(train[0]))
    seed_everything(seed)
    x_tr, y_tr = to_tensor(train[0], dev), to_tensor(train[1], dev, labels=True, task=task)
    x_va, y_va = (to_tensor(val[0], dev), to_tensor(val[1], dev, labels=True, task=task)) if val is not None else (None, None)
    if channels_last is None:  # conv nets on images; an MLP beside them just flattens a copy
        channels_last = any(channels_last_wanted(t.model, x_tr, dev) for t in trainees)
    if channels_last and x_tr.dim() == 4:
        x_tr = x_tr.contiguous(memory_format=torch.channels_last)  # (N, C, H, W) stored as (N, H, W, C)
        if x_va is not None and x_va.dim() == 4:
            x_va = x_va.contiguous(memory_format=torch.channels_last)
        for t in trainees:
            t.model.to(memory_format=torch.channels_last)
    n = len(x_tr)
    bs = n if not batch_size or batch_size >= n else int(batch_size)
    sizes = [min(bs, n - b * bs) for b in range(math.ceil(n / bs))]  # the batch sizes of every epoch
    if len(sizes) > 1 and sizes[-1] == 1:  # batch norm cannot train on one example: fold it into the batch before
        sizes[-2:] = [sizes[-2] + 1]
    _check_batch_norm(trainees, min(sizes))
    n_batches = len(sizes)
    weights = torch.tensor(sizes, dtype=torch.float32, device=dev)
    gen = torch.Generator().manual_seed(seed)
    # Off the CPU, each epoch's shuffled copy of the set, made by one gather into the same buffers; on
    # the CPU each batch is gathered when a model reaches it (_Gathered): no set-sized copy to fill.
    xs, ys = (torch.empty_like(x_tr), torch.empty_like(y_tr)) if dev.type != "cpu" else (None, None)
    hooks = as_callbacks(callbacks)
    reporter = reporter or Reporter()
    states = [_State(t, task, optimizer, lr, weight_decay, momentum, scheduler, early_stopping, epochs,
                     n_batches, dev, has_val=val is not None) for t in trainees]
    run = _Run(task=task, hooks=hooks, augment=augment, clip_grad=clip_grad, precision=prec, reporter=reporter,
               report_every=max(1, n_batches // 20), weights=weights)
    for s in states:  # on a GPU, each step one replayed CUDA graph where the step is always the same
        if graph_ready(dev, s.opt, s.impl, s.sched, augment, clip_grad, run.after_backward):
            s.graph = StepGraph(s.t.model, s.opt, s.loss_fn, task, prec, bs, dev)

    with ThreadPlan(trainees[0].model, bs, dev, threads) as plan, matmul_scope(dev):
        reporter.fit_start(FitInfo(title=title, names=[t.name for t in trainees], task=task, epochs=epochs,
                                   batch_size=bs, n_train=n, n_val=len(x_va) if x_va is not None else 0,
                                   has_val=x_va is not None, boundary=boundary,
                                   optimizers={s.t.name: s.opt_label for s in states},
                                   precision=prec.name, threads=plan.threads if dev.type == "cpu" else 0))
        for s in states:
            for c in hooks:
                c.on_fit_start(s.t)
        first_threads = plan.threads
        for epoch in range(1, epochs + 1):
            if not any(s.active for s in states):
                break
            epoch_start = time.perf_counter()
            perm = torch.randperm(n, generator=gen).to(dev)  # (N,) one shuffle for every model
            batches: Any
            if xs is None or ys is None:
                batches = _Gathered(x_tr, y_tr, perm.split(sizes))
            else:
                torch.index_select(x_tr, 0, perm, out=xs)  # (N, ...) into the same buffers every epoch
                torch.index_select(y_tr, 0, perm, out=ys)  # (N,)
                batches = list(zip(xs.split(sizes), ys.split(sizes)))  # contiguous views, no copies
            active = [s for s in states if s.active]
            share = (time.perf_counter() - epoch_start) / len(active)  # each model's part of the shuffle
            for s in active:
                start = time.perf_counter() - share  # an epoch's time includes its shuffle, as in any loop
                if s.hand_allowed and s.graph is None:  # on the CPU, a plain MLP's backward written out;
                    # planned each epoch, so that a hook a callback added since sends the steps to autograd
                    s.hand = plan_hand_step(s.t.model, s.loss_fn, task, dev, prec.name, y_tr)
                loss_sum, correct = _train_epoch(s, batches, y_tr, epoch, run)
                train_seconds = time.perf_counter() - start
                ev = evaluate(s.t.model, x_va, y_va, task, s.loss_fn, eval_batch_size, dev, prec.name) if x_va is not None else None
                record = s.end_epoch(epoch, epochs, n, loss_sum, correct, ev, train_seconds, time.perf_counter() - start, hooks)
                reporter.epoch_end(record, EpochView(s.t, task, dev, boundary))
            plan.recheck(time.perf_counter() - epoch_start)

    results = [s.result(task, title, boundary, prec.name, first_threads if dev.type == "cpu" else 0) for s in states]
    reporter.fit_end(results)
    return results[0] if single else results


class _Gathered:
    """An epoch's batches in shuffled order, each gathered from the training set as it is used: the
    same batches as slicing a shuffled copy of the set, without the copy (a set-sized buffer written
    in full every epoch, its memory first faulted in), and each batch is still in the cache when the
    first layer reads it."""

    def __init__(self, x, y, parts) -> None:
        self.x, self.y, self.parts = x, y, parts  # (N, ...) and (N,) the set; parts: (B,) indices per batch
        self.keep_layout = not x.is_contiguous()  # images stored channels last: batches stored the same way

    def __len__(self) -> int:
        return len(self.parts)

    def __iter__(self):
        import torch

        for idx in self.parts:
            if self.keep_layout:
                xb = torch.empty_like(self.x.narrow(0, 0, len(idx)))  # (B, C, H, W) stored as (B, H, W, C)
                torch.index_select(self.x, 0, idx, out=xb)
            else:
                xb = self.x.index_select(0, idx)  # (B, ...)
            yield xb, self.y.index_select(0, idx)  # (B, ...), (B,)


@dataclass
class _Run:
    """What every model's epoch shares within one fit."""

    task: str
    hooks: list[Callback]
    augment: Callable | None
    clip_grad: float | None
    precision: Precision
    reporter: Reporter
    report_every: int
    weights: Any  # (n_batches,) batch sizes, to turn per-batch mean losses into a sum

    def __post_init__(self) -> None:
        self.after_backward = [c for c in self.hooks if type(c).after_backward is not Callback.after_backward]


def _train_epoch(s: "_State", batches, ys, epoch: int, run: _Run):
    """One pass over the batches for one model. Returns (loss sum, correct count) as floats, read
    from the device once at the end: nothing is read back to the host inside the epoch."""
    import torch

    if s.graph is not None:
        return _train_epoch_graphed(s, batches, epoch, run)
    model, opt, loss_fn, task = s.t.model, s.opt, s.loss_fn, run.task
    model.train()
    losses, preds, labels, counts = [], [], [], []
    written_out = 0  # steps whose backward was written out
    for b, (xb, yb) in enumerate(batches):
        if run.augment is not None:
            xb = run.augment(xb)
        done = None
        if s.hand is not None:  # the backward written out, where it applies
            opt.zero_grad(set_to_none=True)
            done = s.hand.step(xb, yb)
        if done is not None:
            out, loss = done  # (B, C) or (B,), (); every trainable parameter has its .grad
            written_out += 1
        else:
            if s.hand is not None:  # a batch it could not take: autograd from here on
                s.hand, s.hand_allowed = None, False
            with run.precision.autocast():
                out = fit_shape(model(xb), yb, task)  # (B, C) or (B,)
                loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
        for c in run.after_backward:
            c.after_backward(s.t, s.step)
        if run.after_backward and s.hand is not None:  # a callback may have added a hook or frozen a layer
            s.hand = plan_hand_step(model, loss_fn, task, ys.device, run.precision.name, ys)
            s.hand_allowed = s.hand is not None
        if run.clip_grad:
            torch.nn.utils.clip_grad_norm_(model.parameters(), run.clip_grad)
        opt.step()
        s.step += 1
        if s.per_batch:
            s.sched.step()
        losses.append(loss.detach())
        if task == "classification" and out.dim() == 2 and yb.dim() == 1:
            preds.append(out.detach().argmax(dim=1))  # (B,) compared with the labels once per epoch
            labels.append(yb)
        elif task != "regression":
            counts.append(correct_count(out.detach(), yb, task))
        if (b + 1) % run.report_every == 0 and b + 1 < len(batches):
            run.reporter.batch_end(s.t.name, epoch, b + 1, len(batches))
    loss_sum = (torch.stack(losses).float() * run.weights).sum()
    correct = torch.zeros((), dtype=torch.long, device=ys.device)
    if preds:
        correct = correct + (torch.cat(preds) == torch.cat(labels)).sum()
    if counts:
        correct = correct + torch.stack(counts).sum()
    loss_total, n_correct = torch.stack([loss_sum, correct.to(loss_sum.dtype)]).tolist()  # the epoch's one sync
    if written_out == len(batches):
        s.label_with("written-out backward")
    return loss_total, n_correct


def _train_epoch_graphed(s: "_State", batches, epoch: int, run: _Run):
    """:func:`_train_epoch` where each step replays a CUDA graph (:mod:`~tutor.training.cudagraph`):
    the same steps, the same (loss sum, correct count), one read back at the end."""
    graph = s.graph
    assert graph is not None
    s.t.model.train()
    graph.reset()
    for b, (xb, yb) in enumerate(batches):
        graph.step(xb, yb)
        s.step += 1
        if (b + 1) % run.report_every == 0 and b + 1 < len(batches):
            run.reporter.batch_end(s.t.name, epoch, b + 1, len(batches))
    totals = graph.totals()
    if graph.captured:
        s.label_with("CUDA graph")
    if graph.failed:  # the usual step from here on
        s.graph = None
    return totals


class _State:
    """One trainee during a fit: its optimiser, scheduler, loss, early stopping and history."""

    def __init__(self, t: Trainee, task, optimizer, lr, weight_decay, momentum, scheduler, early_stopping,
                 epochs, n_batches, device, has_val: bool):
        t.model.to(device)
        own_lr = t.lr if t.lr is not None else lr
        if t.optimizer is None:
            wd = t.weight_decay if t.weight_decay is not None else weight_decay
            self.opt, impl = make_optimizer(t.optimizer_name or optimizer, t.model.parameters(), own_lr, wd, momentum)
        else:
            self.opt, impl = t.optimizer, "given"
        self.impl = impl
        self.graph: StepGraph | None = None  # set by fit() where the steps can replay a CUDA graph
        self.hand: HandStep | None = None  # set each epoch where the step's backward can be written out
        self.hand_allowed = True  # until a batch comes that the written-out step cannot take
        self.opt_label = optimizer_label(self.opt, impl)
        self.sched, self.per_batch = make_scheduler(t.scheduler if t.scheduler is not None else scheduler,
                                                    self.opt, epochs, n_batches, own_lr)
        stopping = early_stopping if t.early_stopping is None else (t.early_stopping or None)
        if stopping is True:
            stopping = EarlyStopping()
        if stopping is not None and stopping.monitor.startswith("val_") and not has_val:
            stopping = EarlyStopping(stopping.patience, "train_loss", stopping.min_delta, stopping.restore_best)
        self.t, self.loss_fn, self.stopping = t, t.loss_fn or task_loss(task), stopping
        self.has_acc = task != "regression"
        self.history: list[EpochRecord] = []
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict | None = None
        self.bad_epochs = 0
        self.stopped_epoch: int | None = None
        self.active = True
        self.train_seconds = self.seconds = 0.0
        self.samples = self.step = 0

    def label_with(self, how: str) -> None:
        """Say in the optimiser's label how its steps ran: "adam (fused)" -> "adam (fused, CUDA graph)"."""
        if how not in self.opt_label:
            self.opt_label = self.opt_label[:-1] + f", {how})" if self.opt_label.endswith(")") else f"{self.opt_label} ({how})"

    def end_epoch(self, epoch: int, epochs: int, n: int, train_loss: float, train_correct: float, ev: dict | None,
                  train_seconds: float, seconds: float, hooks: list[Callback]) -> EpochRecord:
        """Step an epoch scheduler, build the record, run hooks, track the best."""
        import torch

        lr_now = float(self.opt.param_groups[0]["lr"])
        val_loss, val_acc = (ev["loss"], ev["acc"]) if ev is not None else (None, None)
        if self.sched is not None and not self.per_batch:
            if isinstance(self.sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                self.sched.step(val_loss if val_loss is not None else train_loss / n)
            else:
                self.sched.step()
        self.train_seconds += train_seconds
        self.seconds += seconds
        self.samples += n
        record = EpochRecord(
            model=self.t.name, epoch=epoch, epochs=epochs, train_loss=train_loss / n,
            train_acc=(train_correct / n) if self.has_acc else None, val_loss=val_loss, val_acc=val_acc,
            lr=lr_now, seconds=seconds, samples_per_s=n / max(train_seconds, 1e-9),
        )
        for c in hooks:
            extra = c.on_epoch_end(self.t, record)
            if extra:
                record.extra.update(extra)
        self._track_best(record)
        record.last = epoch == epochs or not self.active
        record.stopped = not self.active
        self.history.append(record)
        return record

    def _track_best(self, record: EpochRecord) -> None:
        stopping = self.stopping
        if stopping is None:
            return
        value = getattr(record, stopping.monitor, None)
        if value is None:
            value = record.extra.get(stopping.monitor)
        if value is None:
            return
        higher = stopping.monitor.endswith("acc")
        improved = self.best_value is None or (
            value > self.best_value + stopping.min_delta if higher else value < self.best_value - stopping.min_delta
        )
        if improved:
            self.best_value, self.best_epoch, self.bad_epochs = value, record.epoch, 0
            record.best = True
            if stopping.restore_best:
                self.best_state = {k: v.detach().clone() for k, v in self.t.model.state_dict().items()}
        else:
            self.bad_epochs += 1
            if self.bad_epochs >= stopping.patience:
                self.active = False
                self.stopped_epoch = record.epoch

    def result(self, task, title, boundary, precision: str, threads: int) -> FitResult:
        if self.stopping is not None and self.stopping.restore_best and self.best_state is not None:
            self.t.model.load_state_dict(self.best_state)
            chosen = next(r for r in self.history if r.epoch == self.best_epoch)
        else:
            chosen = self.history[-1]
        final = {"train_loss": chosen.train_loss, "train_acc": chosen.train_acc,
                 "val_loss": chosen.val_loss, "val_acc": chosen.val_acc, "epoch": chosen.epoch}
        self.t.model.eval()
        return FitResult(
            name=self.t.name, model=self.t.model, task=task, history=self.history, epochs_run=len(self.history),
            best_epoch=self.best_epoch if self.stopping is not None else None, stopped_epoch=self.stopped_epoch,
            seconds=self.seconds, samples=self.samples, samples_per_s=self.samples / max(self.train_seconds, 1e-9),
            final=final, optimizer=self.opt_label, title=title, boundary=boundary, precision=precision,
            threads=threads,
        )


def _check_arguments(trainees, train, val, task, epochs, batch_size) -> None:
    from tutor.errors import TutorError

    if task not in TASKS:
        raise TutorError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
    if not trainees:
        raise TutorError("fit needs at least one model")
    def whole(value) -> int | None:
        if isinstance(value, bool):
            return None
        try:
            return operator.index(value)
        except TypeError:
            return None

    if (whole(epochs) or 0) < 1:
        raise TutorError(f"epochs must be a whole number of at least 1, got {epochs!r}")
    if batch_size is not None and (whole(batch_size) or 0) < 1:
        raise TutorError(f"batch_size must be a whole number of at least 1 (or None for full batch), got {batch_size!r}")
    for name, pair in (("train", train), ("val", val)):
        if pair is None and name == "val":
            continue
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TutorError(f"{name} must be a pair (x, y)")
        if len(pair[0]) != len(pair[1]):
            raise TutorError(f"{name}: {len(pair[0])} inputs but {len(pair[1])} labels")
    if len(train[0]) == 0:
        raise TutorError("train has no samples")


def _check_batch_norm(trainees, smallest_batch: int) -> None:
    """Batch norm in train mode needs two or more examples per batch (one example has no spread)."""
    import torch

    from tutor.errors import TutorError

    if smallest_batch >= 2:
        return
    for t in trainees:  # (a 2-D or 3-D batch norm still has the pixels of one image to average over)
        if any(isinstance(m, torch.nn.BatchNorm1d) for m in t.model.modules()):
            raise TutorError(f"batches of 1 example: the {t.name} net uses batch norm, which needs at least 2 "
                             "examples per batch; use a batch size (and a training set) of 2 or more")


def _as_trainee(model, index: int) -> Trainee:
    if isinstance(model, Trainee):
        return model
    return Trainee(model=model, name="model" if index == 0 else f"model{index + 1}")
