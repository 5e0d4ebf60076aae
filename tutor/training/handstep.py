"""A plain MLP's training step with its backward written out, layer by layer, instead of autograd's.

What the lessons have learners write in numpy, done here in torch for the engine: each layer kind
is a pair, ``*_forward(x, layer) -> (out, cache)`` and ``*_backward(dout, cache) -> grads`` (the
gradient of the layer's input first, then of its parameters in the layer's order), and a step runs
the forwards in order, the loss and its gradient, then the backwards in reverse. Autograd does the
same arithmetic but records a graph of every operation first and walks it back; for a small net on
the CPU that bookkeeping is a large share of a step. Written out, a step also skips what autograd
cannot know is unneeded: the gradient of the data, and copies of activations that an in-place
activation can overwrite. At batch 128 on one CPU thread an epoch takes about 0.96x the time of the
same fit through autograd for the mnist-mlp net (whose matrix products are most of a step), and about
0.90x for a 784-64-10 MLP (``python benchmarks/bench_handstep.py [--hidden 64]`` times both).

The gradients are autograd's up to rounding (tests pin every layer kind and loss to it): the same
kernels where there is one (``addmm``, ``native_batch_norm`` and its backward, the activations'
backward kernels), and dropout draws its masks from the same generator in the same order, so a
seeded run keeps its masks. The parameters get ``.grad`` as after ``loss.backward()``, so the
optimiser, gradient clipping and after-backward callbacks run as usual.

Used by :func:`tutor.training.loop.fit` only where it holds exactly (:func:`plan_hand_step`): the CPU,
fp32, an ``nn.Sequential`` (nested ones too) of ``Flatten`` (first only), ``Linear``, ``BatchNorm1d``,
``ReLU``, ``LeakyReLU``, ``Tanh``, ``Sigmoid``, ``GELU``, ``Identity`` and the engine's own dropout,
with the task's standard loss, float32 parameters, and no hooks on any module or parameter.
Anything else (a conv net, a learner's own module, a custom loss, a hook) trains through autograd
as before, and so does a batch the step cannot take (it then hands back for the rest of the fit).

Torch is imported inside the functions.
"""

from __future__ import annotations

from typing import Any

# ---------------------------------------------------------------------------------------------
# forward/backward pairs, one per layer kind
# ---------------------------------------------------------------------------------------------


def linear_forward(x, layer):
    """``x @ W.T + b``. x (B, in) -> out (B, out)."""
    import torch

    w, b = layer.weight, layer.bias  # (out, in), (out,) or None
    out = torch.addmm(b, x, w.t()) if b is not None else x.mm(w.t())  # (B, out)
    return out, (x, w, b)


def linear_backward(dout, cache, need_dx: bool = True):
    """dout (B, out) -> (dx (B, in) or None, dW (out, in), db (out,) or None)."""
    x, w, b = cache
    dw = dout.t().mm(x)  # (out, in)
    db = dout.sum(0) if b is not None else None  # (out,)
    dx = dout.mm(w) if need_dx else None  # (B, in)
    return dx, dw, db


def batchnorm_forward(x, layer):
    """Batch norm in training mode, as ``nn.BatchNorm1d.forward`` does it: the batch's statistics
    normalise, the running ones are updated (momentum, or a cumulative mean when it is None).
    x (B, F) -> out (B, F)."""
    import torch

    factor = 0.0 if layer.momentum is None else layer.momentum
    if layer.track_running_stats and layer.num_batches_tracked is not None:
        layer.num_batches_tracked.add_(1)
        factor = 1.0 / float(layer.num_batches_tracked) if layer.momentum is None else layer.momentum
    keep = layer.track_running_stats
    mean_run, var_run = (layer.running_mean, layer.running_var) if keep else (None, None)  # (F,) each
    out, mean, invstd = torch.native_batch_norm(x, layer.weight, layer.bias, mean_run, var_run, True, factor,
                                                layer.eps)  # (B, F), (F,), (F,)
    return out, (x, layer, mean_run, var_run, mean, invstd)


def batchnorm_backward(dout, cache, need_dx: bool = True):
    """dout (B, F) -> (dx (B, F) or None, dgamma (F,) or None, dbeta (F,) or None)."""
    import torch

    x, layer, mean_run, var_run, mean, invstd = cache
    mask = [need_dx, layer.weight is not None, layer.bias is not None]
    dx, dgamma, dbeta = torch.ops.aten.native_batch_norm_backward(dout, x, layer.weight, mean_run, var_run, mean,
                                                                  invstd, True, layer.eps, mask)
    return dx, dgamma, dbeta


def activation_forward(x, layer, kind: str, own_input: bool):
    """An activation; in place when ``own_input`` (x is a fresh output nobody else keeps), for the
    kinds whose backward needs only the output. x (B, F) -> out (B, F)."""
    import torch

    if kind == "relu":
        out = x.clamp_min_(0) if own_input else x.clamp_min(0)
    elif kind == "tanh":
        out = x.tanh_() if own_input else x.tanh()
    elif kind == "sigmoid":
        out = x.sigmoid_() if own_input else x.sigmoid()
    elif kind == "leaky_relu":
        out = torch.nn.functional.leaky_relu(x, layer.negative_slope)
        return out, (x, layer)
    elif kind == "gelu":
        out = torch.nn.functional.gelu(x, approximate=layer.approximate)
        return out, (x, layer)
    else:  # identity
        return x, None
    return out, (out, layer)


def activation_backward(dout, cache, kind: str):
    """dout (B, F) -> (dx (B, F),)."""
    import torch

    aten = torch.ops.aten
    if kind == "identity":
        return (dout,)
    saved, layer = cache
    if kind == "relu":
        return (aten.threshold_backward(dout, saved, 0),)
    if kind == "tanh":
        return (aten.tanh_backward(dout, saved),)
    if kind == "sigmoid":
        return (aten.sigmoid_backward(dout, saved),)
    if kind == "leaky_relu":
        return (aten.leaky_relu_backward(dout, saved, layer.negative_slope, False),)
    return (aten.gelu_backward(dout, saved, approximate=layer.approximate),)  # gelu


def dropout_forward(x, layer):
    """Inverted dropout with the engine's mask (:func:`tutor.training.models.dropout_mask`), drawn as
    its layer draws it. x (B, F) -> out (B, F)."""
    from tutor.training.models import dropout_mask

    if layer.p == 0.0:
        return x, None
    mask = dropout_mask(x, layer.p)  # (B, F) 0 or 1/(1-p)
    return x * mask, mask


def dropout_backward(dout, cache):
    """dout (B, F) -> (dx (B, F),): the same mask."""
    return (dout if cache is None else dout.mul_(cache),)  # dout is this step's own fresh tensor


# ---------------------------------------------------------------------------------------------
# the losses: value and gradient with respect to the net's output
# ---------------------------------------------------------------------------------------------


def loss_forward_backward(out, y, task: str):
    """(loss (), dout like out, out as the loss saw it) for the task's standard loss, mean-reduced;
    for the shapes :meth:`HandStep.takes` lets through (no broadcasting)."""
    import torch
    import torch.nn.functional as F

    from tutor.training.evaluation import fit_shape

    if task == "classification":
        n = len(y)
        logp = torch.log_softmax(out, 1)  # (B, C)
        loss = F.nll_loss(logp, y)  # ()
        dout = logp.exp_()  # (B, C) softmax
        dout[torch.arange(n), y] -= 1.0
        return loss, dout.div_(n), out
    shaped = fit_shape(out, y, task)  # (B,) for one output and (B,) targets
    if task == "binary":
        loss = F.binary_cross_entropy_with_logits(shaped, y)  # ()
        dout = (shaped.sigmoid() - y).div_(y.numel())
    else:  # regression: mean squared error
        loss = F.mse_loss(shaped, y)  # ()
        dout = (shaped - y).mul_(2.0 / y.numel())
    return loss, dout.reshape(out.shape), shaped


# ---------------------------------------------------------------------------------------------
# the plan and the step
# ---------------------------------------------------------------------------------------------

def _activations() -> dict:
    from torch import nn

    return {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.LeakyReLU: "leaky_relu", nn.GELU: "gelu",
            nn.Identity: "identity"}


class HandStep:
    """The written-out step for one model (made by :func:`plan_hand_step`)."""

    def __init__(self, flatten: bool, layers: list[tuple[str, Any]], params: list, task: str,
                 widths: tuple[int, int]) -> None:
        self.flatten = flatten  # a leading nn.Flatten: (B, ...) -> (B, features)
        self.layers = layers  # (kind, module) in order
        self.params = params  # [(parameter, layer index, which gradient of that layer's backward)]
        self.task = task
        self.in_features, self.out_features = widths
        self.has_batchnorm = any(kind == "batchnorm" for kind, _ in layers)
        # the backward stops at the first layer with parameters, which gives no input gradient
        self.first = min(i for _, i, _ in params) if params else len(layers)

    def takes(self, a, y) -> bool:
        """Whether the step can take this batch: checked before anything runs, so that a batch it
        hands back to autograd has not moved batch norm's statistics or drawn dropout masks."""
        import torch

        n = len(a)
        if a.dim() != 2 or a.dtype != torch.float32 or a.shape[1] != self.in_features or n < 1:
            return False
        if not all(layer.training for _, layer in self.layers):  # one set to eval mode: autograd follows it
            return False
        if self.has_batchnorm and n < 2:
            return False
        if self.task == "classification":
            return y.dim() == 1 and len(y) == n and y.dtype == torch.int64
        shaped = (n,) if self.out_features == 1 and y.dim() == 1 else (n, self.out_features)
        return y.dtype == torch.float32 and tuple(y.shape) == shaped

    def step(self, x, y):
        """Forward, loss, backward; sets every trainable parameter's ``.grad``. Returns (out, loss)
        as the autograd step has them (out as the loss saw it), or None when this batch is not one
        the step takes (then nothing was changed)."""
        import torch

        a = x.flatten(1) if self.flatten and x.dim() > 2 else x  # (B, features)
        if not self.takes(a, y):
            return None
        with torch.no_grad():
            caches = []
            own = False  # whether `a` is a fresh output of this step (safe to overwrite)
            for kind, layer in self.layers:
                if kind == "linear":
                    a, cache = linear_forward(a, layer)
                    own = True
                elif kind == "batchnorm":
                    a, cache = batchnorm_forward(a, layer)
                    own = True
                elif kind == "dropout":
                    a, cache = dropout_forward(a, layer)
                    own = own or cache is not None
                else:
                    a, cache = activation_forward(a, layer, kind, own)
                    if kind in ("relu", "tanh", "sigmoid"):
                        own = False  # its output is kept for its backward: nothing may overwrite it
                    elif kind != "identity":
                        own = True
                caches.append(cache)
            loss, dout, seen = loss_forward_backward(a, y, self.task)
            grads: dict[int, tuple] = {}
            for i in range(len(self.layers) - 1, self.first - 1, -1):
                kind, layer = self.layers[i]
                need_dx = i > self.first
                if kind == "linear":
                    got = linear_backward(dout, caches[i], need_dx)
                elif kind == "batchnorm":
                    got = batchnorm_backward(dout, caches[i], need_dx)
                elif kind == "dropout":
                    got = dropout_backward(dout, caches[i])
                else:
                    got = activation_backward(dout, caches[i], kind)
                grads[i] = got
                dout = got[0]
        for p, i, k in self.params:  # added to what is there, as backward() does (the loop has zeroed it)
            g = grads[i][k]
            p.grad = g if p.grad is None else p.grad.add_(g)
        return seen, loss


def _leaves(module, out: list) -> bool:
    """The modules of nested ``nn.Sequential`` containers in the order they run (a module listed twice
    is there twice, as ``forward`` runs it: ``children()`` would name it once)."""
    from torch import nn

    for child in module._modules.values():
        if child is None:
            return False
        if type(child) is nn.Sequential:
            if not _hookless(child) or not _leaves(child, out):
                return False
        else:
            out.append(child)
    return True


def _hookless(module) -> bool:
    """No hooks on ``module``, and no ``forward`` of its own set on the object."""
    return "forward" not in vars(module) and not any(getattr(module, name, None) for name in
                                                     ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks",
                                                      "_backward_pre_hooks"))


def _no_global_hooks() -> bool:
    from torch.nn.modules import module as mod

    return not any(getattr(mod, name, None) for name in
                   ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                    "_global_backward_pre_hooks", "_global_forward_hooks_always_called"))


def plan_hand_step(model, loss_fn, task: str, device, precision: str, labels=None) -> HandStep | None:
    """A :class:`HandStep` for ``model`` where every part of the step is one this module writes out
    (see the module's docstring), else None: autograd trains it. ``labels``: the training labels
    (a class label below 0 would be ignored by ``cross_entropy``, and is not written out)."""
    import torch
    from torch import nn

    from tutor.training import models
    from tutor.training.evaluation import task_loss

    if getattr(device, "type", str(device)) != "cpu" or precision != "fp32" or type(model) is not nn.Sequential:
        return None
    if not torch.is_grad_enabled() or torch.is_anomaly_enabled():  # autograd's own ways to run: leave them to it
        return None
    if loss_fn is not task_loss(task) or not _no_global_hooks() or not _hookless(model):
        return None
    if task == "classification" and labels is not None and len(labels) and int(labels.min()) < 0:
        return None
    leaves: list = []
    if not _leaves(model, leaves) or not leaves or len({id(m) for m in leaves}) != len(leaves):
        return None  # a layer used twice: its gradients add up, which this step does not write out
    flatten = False
    if type(leaves[0]) is nn.Flatten:
        if leaves[0].start_dim != 1 or leaves[0].end_dim != -1:
            return None
        flatten, leaves = True, leaves[1:]
    dropout_type, activations = models._DROPOUT, _activations()
    layers: list[tuple[str, Any]] = []
    params: list = []
    width_in: int | None = None  # the features the first layer with a width takes
    width: int | None = None  # the features flowing between layers
    for i, layer in enumerate(leaves):
        if not _hookless(layer):
            return None
        kind = type(layer)
        if kind is nn.Linear:
            if width is not None and width != layer.in_features:
                return None  # autograd will say what is wrong with this net
            width_in = layer.in_features if width_in is None else width_in
            width = layer.out_features
            layers.append(("linear", layer))
            params += [(layer.weight, i, 1)] + ([(layer.bias, i, 2)] if layer.bias is not None else [])
        elif kind is nn.BatchNorm1d:
            if width is not None and width != layer.num_features:
                return None
            width_in = layer.num_features if width_in is None else width_in
            width = layer.num_features
            layers.append(("batchnorm", layer))
            params += ([(layer.weight, i, 1)] if layer.weight is not None else [])
            params += ([(layer.bias, i, 2)] if layer.bias is not None else [])
        elif dropout_type is not None and kind is dropout_type:
            if layer.inplace or not 0.0 <= layer.p < 1.0:
                return None
            layers.append(("dropout", layer))
        elif kind in activations:
            layers.append((activations[kind], layer))
        else:
            return None
    if width_in is None or width is None or not any(k == "linear" for k, _ in layers):
        return None
    for p in model.parameters():
        if p.dtype != torch.float32 or p._backward_hooks or getattr(p, "_post_accumulate_grad_hooks", None):
            return None
        if not p.is_contiguous():  # autograd gives such a weight a gradient of its own layout; this step cannot
            return None
    if len({id(p) for p, _, _ in params}) != len(params):
        return None  # a parameter shared by two layers (tied weights)
    params = [(p, i, k) for p, i, k in params if p.requires_grad]
    return HandStep(flatten, layers, params, task, (width_in, width))
