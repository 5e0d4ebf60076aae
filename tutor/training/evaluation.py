"""Tensors in, numbers out: moving data to the device, the task's loss and accuracy, and running a
trained model (:func:`evaluate`, :func:`predict`, :func:`predict_grid`) in eval mode.

Torch is imported inside the functions. ``precision`` (``"fp32"`` or ``"bf16"``) runs the forward
passes under the same autocast as the fit (see :mod:`tutor.training.precision`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from tutor.training.protocol import Boundary


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



def task_loss(task: str):
    import torch.nn.functional as F

    if task == "classification":
        return F.cross_entropy
    if task == "binary":
        return F.binary_cross_entropy_with_logits
    return F.mse_loss


def fit_shape(out, y, task: str):
    """Binary logits (N, 1) meet labels (N,): squeeze the trailing 1; regression (N,1) vs (N,) too."""
    if task != "classification" and out.dim() == y.dim() + 1 and out.shape[-1] == 1:
        return out.squeeze(-1)
    return out


def correct_count(out, y, task: str):
    if task == "classification":
        return (out.argmax(dim=-1) == y).sum()
    return ((out > 0) == (y > 0.5)).sum()


def evaluate(model, x, y, task: str = "classification", loss_fn: Callable | None = None,
             batch_size: int = 4096, device=None, precision: str = "fp32") -> dict:
    """Mean loss and accuracy of ``model`` on ``(x, y)`` in eval mode under ``inference_mode``.

    ``x``/``y`` may be numpy arrays or tensors (moved to ``device``, default the model's device).
    ``precision``: ``"fp32"`` or ``"bf16"`` (autocast, as during a bf16 fit).
    Returns ``{"loss": float, "acc": float | None, "n": int}`` (acc is None for regression).
    """
    import torch

    from tutor.training.precision import Precision

    if device is None:
        device = model_device(model)
    x = to_tensor(x, device)
    y = to_tensor(y, device, labels=True, task=task)
    loss_fn = loss_fn or task_loss(task)
    model.eval()
    n = len(x)
    autocast = Precision(precision, torch.device(device).type, "").autocast()
    with torch.inference_mode(), autocast:
        total = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for start in range(0, n, batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            out = fit_shape(model(xb), yb, task)
            total += loss_fn(out.float(), yb).float() * len(yb)
            if task != "regression":
                correct += correct_count(out, yb, task)
        loss_sum, n_correct = torch.stack([total, correct.to(total.dtype)]).tolist()
    return {"loss": loss_sum / max(n, 1), "acc": (n_correct / max(n, 1)) if task != "regression" else None, "n": n}


def predict(model, x, batch_size: int = 4096, device=None):
    """Model outputs for ``x`` (numpy or tensor) in eval mode, as a CPU tensor."""
    import torch

    if device is None:
        device = model_device(model)
    x = to_tensor(x, device)
    model.eval()
    with torch.inference_mode():
        outs = [model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    return torch.cat(outs).cpu()


def predict_grid(model, boundary: Boundary, width: int, height: int, task: str, device=None) -> np.ndarray:
    """Class probabilities over a grid covering ``boundary.extent``: (height, width, C), row 0 at the top."""
    import torch

    if device is None:
        device = model_device(model)
    assert boundary.extent is not None  # Boundary fills it in __post_init__
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


def model_device(model):
    import torch

    for p in model.parameters():
        return p.device
    return torch.device("cpu")

