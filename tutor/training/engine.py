"""The one training loop every demo uses: the public names in one place.

    from tutor.training.engine import fit, Trainee, EarlyStopping
    result = fit(model, (x_train, y_train), (x_val, y_val), task="classification",
                 epochs=20, batch_size=128, lr=1e-3, optimizer="adam", device=device, seed=0,
                 precision="auto")
    result.final["val_acc"], result.history[-1].train_loss

Where each part lives (one job per module; this module only gathers their names):

- :mod:`tutor.training.loop`        :func:`fit`, the loop itself.
- :mod:`tutor.training.protocol`    the data types: :class:`Trainee`, :class:`EarlyStopping`,
  :class:`EpochRecord`, :class:`FitResult`, :class:`Boundary`, :class:`FitInfo`.
- :mod:`tutor.training.callbacks`   :class:`Reporter`, :class:`Callback`, :class:`EpochView`.
- :mod:`tutor.training.optim`       :func:`make_optimizer`, :func:`make_scheduler`.
- :mod:`tutor.training.evaluation`  :func:`evaluate`, :func:`predict`, :func:`predict_grid`,
  :func:`to_tensor`, :func:`seed_everything`.
- :mod:`tutor.training.threads`     :func:`auto_threads` and the per-fit :class:`ThreadPlan`.
- :mod:`tutor.training.precision`   fp32 / bf16 / auto, TF32 on CUDA, channels-last for conv nets.
- :mod:`tutor.training.handstep`    on the CPU, a plain MLP's step with its backward written out.
- :mod:`tutor.training.cudagraph`   on CUDA, a step recorded once as a CUDA graph and replayed.

How it runs (and why it is fast without a DataLoader):

- The data lives as tensors on the chosen device (moved once). Each epoch draws ONE permutation
  (seeded generator) for every model; on the CPU each batch is gathered with ``index_select`` as it
  is used (still in the cache for the first layer, and no set-sized copy), elsewhere the shuffled
  copy is gathered once into buffers reused every epoch and batches are contiguous views of it: no
  per-sample Python, no collation, no workers. An epoch's time includes its shuffle.
- Gradients are cleared with ``set_to_none``; optimisers are built ``fused`` where PyTorch has a
  fused kernel for the device, else ``foreach`` (:func:`make_optimizer`).
- Per-batch losses and predictions stay on the device and are reduced and read ONCE per epoch
  (one ``.tolist()``), so there is no host sync per batch.
- ``precision="bf16"`` (or ``"auto"`` on hardware with native bf16) runs the forward pass and the
  loss under bf16 autocast; weights, gradients and the optimiser stay float32.
- On the CPU in fp32, a plain MLP (``nn.Sequential`` of Linear, BatchNorm1d, activations and the
  engine's dropout, with the task's standard loss and no hooks) trains with its backward written
  out layer by layer (:mod:`~tutor.training.handstep`): autograd's gradients without building its
  graph every step. Everything else trains through autograd.
- CPU threads follow what the machine has free now (:func:`auto_threads`), not the load average.
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

Progress goes to a :class:`Reporter` (the live view, plain lines or JSON); nothing here prints.
"""

from __future__ import annotations

from tutor.training.callbacks import Callback, EpochView, FunctionCallback, Reporter, as_callbacks
from tutor.training.evaluation import (correct_count, evaluate, fit_shape, model_device, predict, predict_grid,
                                       seed_everything, task_loss, to_tensor)
from tutor.training.loop import fit
from tutor.training.optim import OPTIMIZERS, SCHEDULERS, make_optimizer, make_scheduler, optimizer_label
from tutor.training.precision import PRECISIONS, Precision, resolve_precision
from tutor.training.protocol import TASKS, Boundary, EarlyStopping, EpochRecord, FitInfo, FitResult, Trainee
from tutor.training.threads import ThreadPlan, auto_threads

__all__ = [
    "TASKS", "OPTIMIZERS", "SCHEDULERS", "PRECISIONS",
    "EarlyStopping", "Trainee", "EpochRecord", "FitResult", "Boundary", "FitInfo",
    "Reporter", "Callback", "FunctionCallback", "EpochView", "as_callbacks",
    "fit", "evaluate", "predict", "predict_grid", "to_tensor", "seed_everything", "model_device",
    "task_loss", "fit_shape", "correct_count",
    "make_optimizer", "make_scheduler", "optimizer_label",
    "Precision", "resolve_precision", "ThreadPlan", "auto_threads",
]
