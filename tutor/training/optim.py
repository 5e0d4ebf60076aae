"""Optimisers and learning-rate schedulers by name, built fused where PyTorch has a fused kernel.

Torch is imported inside the functions.
"""

from __future__ import annotations

from typing import Any

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULERS = ("cosine", "step", "plateau", "onecycle")


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
    cls: Any
    kwargs: dict[str, Any]
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


def optimizer_label(opt, impl: str) -> str:
    return f"{type(opt).__name__.lower()} ({impl})"


def make_scheduler(spec, optimizer, epochs: int, steps_per_epoch: int, lr: float):
    """A scheduler from a name, a factory ``f(optimizer, epochs, steps_per_epoch)`` or an object.

    Returns ``(scheduler or None, per_batch: bool)``.
    """
    import torch

    if spec is None:
        return None, False
    sched_mod = torch.optim.lr_scheduler
    sched: Any
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

