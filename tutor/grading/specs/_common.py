"""Shared pieces of the exercise specs: torch references and the forward/backward check triple."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tutor.grading.compare import NUMERIC_TOL, TOL, compare, compare_numeric, unpack
from tutor.grading.engine import Plan, call, numgrad, ref

NUMERIC_POINTS = 8  # coordinates per tensor checked with finite differences


def torch_reference(fn: Callable, inputs: list, grad_of: list[int], douts: list) -> tuple[list, list]:
    """Run ``fn`` on float64 tensors; return its outputs and d(sum(out_k * dout_k))/d(inputs[i]).

    ``fn`` returns a tuple of tensors; ``douts[k]`` weighs output k (None: output is not in the loss).
    """
    import torch

    tensors = []
    for i, value in enumerate(inputs):
        if isinstance(value, np.ndarray) and value.dtype == np.float64:
            t = torch.tensor(value, dtype=torch.float64, requires_grad=i in grad_of)
        elif isinstance(value, np.ndarray):
            t = torch.tensor(value)
        else:
            t = value
        tensors.append(t)
    outputs = fn(*tensors)
    if not isinstance(outputs, tuple):
        outputs = (outputs,)
    total = 0
    for out, dout in zip(outputs, douts):
        if dout is None:
            continue
        total = total + (out * torch.as_tensor(dout)).sum() if not np.isscalar(dout) else total + out.sum() * dout
    if not grad_of:
        return [o.detach().numpy().copy() for o in outputs], []
    grads = torch.autograd.grad(total, [tensors[i] for i in grad_of], allow_unused=True)
    as_numpy = [g.detach().numpy().copy() if g is not None else np.zeros_like(inputs[i]) for g, i in zip(grads, grad_of)]
    return [o.detach().numpy().copy() for o in outputs], as_numpy


def coords_for(rng: np.random.Generator, array: np.ndarray, k: int = NUMERIC_POINTS) -> list[int]:
    return sorted(int(i) for i in rng.choice(array.size, size=min(k, array.size), replace=False))


def label(**dims) -> str:
    return ", ".join(f"{k}={v}" for k, v in dims.items())


@dataclass
class LayerCase:
    label: str
    args: list  # forward's positional inputs
    dout: object  # upstream gradient; a list of them when the forward has several outputs
    kwargs: dict = field(default_factory=dict)
    batch: int | None = None
    zero_mask: np.ndarray | None = None  # where the input is exactly 0 (ReLU kink)
    numeric: bool = True
    nan_hint: str = ""


def layer_checks(
    plan: Plan,
    rng: np.random.Generator,
    *,
    forward: str,
    backward: str,
    cases: list[LayerCase],
    reference: Callable,  # torch function of the forward's args (tensors) -> output tensor(s)
    grad_names: tuple[str, ...],  # names of backward's returns, in input order
    grad_of: list[int],  # which forward args those are
    outputs: tuple[str, ...] = ("out",),
    variants: Callable[[LayerCase, list, list], dict] | None = None,  # grad name -> [(code, array, text)]
    forward_variants: Callable[[LayerCase, list], dict] | None = None,  # output name -> [(code, array, text)]
    forward_title: str | None = None,
    backward_title: str | None = None,
) -> None:
    """Three checks for a forward/backward pair: forward values, backward vs PyTorch, backward vs your forward."""
    k = len(outputs)
    jobs = []
    for i, case in enumerate(cases):
        douts = list(case.dout) if k > 1 else [case.dout]
        steps = [call(forward, *case.args, save="fwd", **case.kwargs), call(backward, *douts, ref("fwd", k), save="bwd")]
        coords = [coords_for(rng, case.args[j]) for j in grad_of]
        if case.numeric:
            loss = [(o, d) for o, d in enumerate(douts)]
            steps.append(numgrad(forward, case.args, wrt=[[j] for j in grad_of], coords=coords, loss=loss, save="num", **case.kwargs))
        name = plan.job(f"{forward}#{i}", *steps)
        expected = plan.lazy(lambda case=case, douts=douts: torch_reference(lambda *t: reference(*t, **case.kwargs), case.args, grad_of, douts))
        jobs.append((name, case, expected, coords))

    @plan.check(f"{forward}.values", forward, forward_title or f"{', '.join(outputs)} vs PyTorch", TOL)
    def _forward(results):
        worst = 0.0
        for name, case, expected, _ in jobs:
            got = unpack(results.get(name, "fwd", case.label), (*outputs, "cache"), forward, case.label)
            extra = forward_variants(case, expected()[0]) if forward_variants else {}
            for oname, out, want in zip(outputs, got, expected()[0]):
                worst = max(worst, compare(oname, want, out, case=case.label, batch=case.batch, nan_hint=case.nan_hint, variants=extra.get(oname, ())))
        return worst

    @plan.check(f"{backward}.reference", backward, backward_title or f"{', '.join(grad_names)} vs PyTorch autograd", TOL)
    def _backward(results):
        worst = 0.0
        for name, case, expected, _ in jobs:
            grads = _grads(results.get(name, "bwd", case.label), grad_names, backward, case.label)
            ref_grads = expected()[1]
            extra = variants(case, expected()[0], ref_grads) if variants else {}
            for gname, got, want in zip(grad_names, grads, ref_grads):
                worst = max(
                    worst,
                    compare(gname, want, got, case=case.label, batch=case.batch, variants=extra.get(gname, ()), zero_mask=case.zero_mask),
                )
        return worst

    @plan.check(f"{backward}.numeric", backward, "vs finite differences of your forward", NUMERIC_TOL)
    def _numeric(results):
        worst = 0.0
        for name, case, expected, coords in jobs:
            if not case.numeric:
                continue
            grads = _grads(results.get(name, "bwd", case.label), grad_names, backward, case.label)
            numeric = results.get(name, "num", case.label)["grads"]
            for gname, got, pts, values, j in zip(grad_names, grads, coords, numeric, grad_of):
                worst = max(worst, compare_numeric(gname, got, pts, values, case=case.label, forward=forward, shape=case.args[j].shape))
        return worst


def _grads(value, names, function, case):
    if len(names) == 1:
        return (value,)
    return unpack(value, names, function, case)
