"""Optimisers and learning-rate schedulers by name, built fused where PyTorch has a fused kernel.

The optimisers are ``torch.optim``'s own classes with three methods unwrapped (:func:`light`):
their first use would otherwise import ``torch._dynamo``, PyTorch's compiler, which takes about
as long as importing torch itself (2-3 s on a 2-core machine) and adds nothing to a run that
never calls ``torch.compile``. The arithmetic is torch's, kernel for kernel.

Torch is imported inside the functions.
"""

from __future__ import annotations

import functools
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
    cls = light(cls)
    for impl in ("fused", "foreach"):
        try:
            return cls(params, **kwargs, **{impl: True}), impl
        except (RuntimeError, TypeError, ValueError):
            continue
    return cls(params, **kwargs), "default"


@functools.lru_cache(maxsize=None)
def light(cls: Any) -> Any:
    """``cls`` (a ``torch.optim`` optimiser class) whose first step does not import PyTorch's compiler.

    ``torch.optim`` wraps ``step`` in a helper that imports ``torch._dynamo`` on every call (to
    mark a graph break for ``torch.compile``) and marks ``zero_grad`` and ``add_param_group``
    "not for the compiler", which imports it on first use. The subclass calls the undecorated
    methods (``inspect.unwrap``), ``step`` under ``torch.no_grad()`` as the wrapper does for a
    non-differentiable optimiser, so updates are the same kernels and the same numbers
    (a test pins them to the plain classes). Still a ``torch.optim.Optimizer``, so the
    learning-rate schedulers and step hooks work as usual. Where torch's methods are not
    wrapped the unwrapped method is simply the method.
    """
    import inspect

    import torch

    step = inspect.unwrap(cls.step)
    zero_grad = inspect.unwrap(cls.zero_grad)
    add_param_group = inspect.unwrap(cls.add_param_group)

    fast = _fused_adam_step if issubclass(cls, torch.optim.Adam) else None

    def light_step(self: Any, closure: Any = None) -> Any:
        if closure is None and fast is not None and fast(self):
            return None
        with torch.no_grad():
            return step(self, closure)

    def light_zero_grad(self: Any, set_to_none: bool = True) -> None:
        zero_grad(self, set_to_none)

    def light_add_param_group(self: Any, param_group: dict) -> None:
        add_param_group(self, param_group)

    namespace = {"step": light_step, "zero_grad": light_zero_grad, "add_param_group": light_add_param_group,
                 "__doc__": cls.__doc__, "__module__": __name__, "__qualname__": cls.__name__}
    made = type(cls.__name__, (cls,), namespace)
    if globals().setdefault(cls.__name__, made) is not made:  # a name already taken here: no pickling by name
        made.__qualname__ = f"light.<locals>.{cls.__name__}"
    return made


def _fused_adam_step(opt: Any) -> bool:
    """One step of a fused ``Adam``/``AdamW`` straight into torch's kernel; False (nothing done) where
    anything is unusual, and torch's own ``step`` runs instead.

    torch's ``step`` spends about 0.2-0.3 ms of Python per call on a dozen tensors (gathering state,
    checks for features this run does not use, grouping by device), more than the kernel itself on
    a small net. This gathers the same lists and calls the same two kernels (``_foreach_add_`` on
    the step counts, then ``_fused_adam_`` or ``_fused_adamw_``) with the same arguments, so the
    numbers are torch's. It steps aside for: the first step (torch creates the state), a closure,
    amsgrad, maximize, capturable or differentiable, a tensor learning rate or betas, sparse or
    complex parameters, a group that mixes devices or dtypes, and a GradScaler's step (its scale
    and inf flag go to torch's kernel).
    """
    import torch

    if getattr(opt, "grad_scale", None) is not None or getattr(opt, "found_inf", None) is not None:
        return False  # a GradScaler hands these to torch's step, which unscales and skips inf steps
    work = []
    for group in opt.param_groups:
        if (not group.get("fused") or group.get("amsgrad") or group.get("maximize") or group.get("capturable")
                or group.get("differentiable")):
            return False
        lr, (beta1, beta2) = group["lr"], group["betas"]
        if not all(isinstance(v, float) for v in (lr, beta1, beta2)):
            return False
        params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
        kind = None
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue  # torch skips a parameter without a gradient too
            state = opt.state.get(p)
            if not state or "exp_avg" not in state or grad.is_sparse or p.is_complex():
                return False
            if kind is None:
                kind = (p.device, p.dtype)
            elif (p.device, p.dtype) != kind:
                return False
            params.append(p)
            grads.append(grad)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            steps.append(state["step"])
        work.append((group, params, grads, exp_avgs, exp_avg_sqs, steps))
    with torch.no_grad():
        for group, params, grads, exp_avgs, exp_avg_sqs, steps in work:
            if not params:
                continue
            torch._foreach_add_(steps, 1)
            kernel = torch._fused_adamw_ if group.get("decoupled_weight_decay") else torch._fused_adam_
            kernel(params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False, lr=group["lr"],
                   beta1=group["betas"][0], beta2=group["betas"][1], weight_decay=group["weight_decay"],
                   eps=group["eps"], maximize=False, grad_scale=None, found_inf=None)
    return True


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

