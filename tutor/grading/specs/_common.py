"""Shared pieces of the exercise specs: torch references and the forward/backward check triple."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

import numpy as np

from tutor.grading.compare import (
    NUMERIC_TOL, STABILITY_ERRSTATE, TOL, Mismatch, compare, compare_numeric, fail, find_narrow, judge_cases, narrow_code, narrow_digits,
    refine, rel_error, unpack,
)
from tutor.grading.diagnoses import Diagnosis
from tutor.grading.engine import Plan, Results, call, numgrad, ref

Judge = Callable[[Results], "float | None"]

NUMERIC_POINTS = 8  # coordinates per tensor checked with finite differences


def torch_reference(fn: Callable[..., Any], inputs: list[Any], grad_of: list[int], douts: list[Any]) -> tuple[list[Any], list[Any]]:
    """Run ``fn`` on float64 tensors; return its outputs and d(sum(out_k * dout_k))/d(inputs[i]).

    ``fn`` returns a tuple of tensors; ``douts[k]`` weighs output k (None: output is not in the loss).
    """
    import torch

    tensors: list[Any] = []
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
    total: Any = 0
    for out, dout in zip(outputs, douts):
        if dout is None:
            continue
        total = total + (out * torch.as_tensor(dout)).sum() if not np.isscalar(dout) else total + out.sum() * dout
    if not grad_of:
        return [o.detach().numpy().copy() for o in outputs], []
    grads = torch.autograd.grad(total, [tensors[i] for i in grad_of], allow_unused=True)
    as_numpy = [g.detach().numpy().copy() if g is not None else np.zeros_like(inputs[i]) for g, i in zip(grads, grad_of)]
    return [o.detach().numpy().copy() for o in outputs], as_numpy


def check(
    plan: Plan, id: str, function: str, title: str, threshold: float | None = None, *, overflow: Diagnosis = Diagnosis.OVERFLOW
) -> Callable[[Judge], Judge]:
    """Like ``plan.check``, and numpy's exception messages come out in plain words with their diagnosis."""

    def register(judge: Judge) -> Judge:
        def refined(results: Results) -> float | None:
            try:
                return judge(results)
            except Mismatch as mismatch:
                refine(mismatch.outcome, overflow)
                raise

        plan.check(id, function, title, threshold)(refined)
        return judge

    return register


def stable_call(fn: str, *args: Any, save: str, **kwargs: Any) -> dict[str, Any]:
    """A call step run with numpy raising on overflow (and division by zero): a stability case."""
    step = call(fn, *args, save=save, **kwargs)
    step["errstate"] = dict(STABILITY_ERRSTATE)
    return step


def narrow_in_cache(cache: Any, function: str, case: str) -> None:
    """Fail when the cache keeps float16/float32 arrays holding non-integer values: the layer ran in that type."""
    found = find_narrow(cache, "cache")
    if found is None:
        return
    where, item = found
    with np.errstate(all="ignore"):
        if np.all(np.isfinite(item)) and np.all(item == np.round(item)):
            return  # a 0/1 mask or integer indices are exact in float32 (and float16)
    raise fail(
        f"{function}: {where} is a {item.dtype} array: part of the layer is computed in {item.dtype} (about {narrow_digits(item.dtype)} digits), "
        f"which makes finite differences and the backward disagree — keep every array float64 [{case}]",
        code=narrow_code(item.dtype),
        case=case,
    )


def coords_for(rng: np.random.Generator, array: np.ndarray, k: int = NUMERIC_POINTS) -> list[int]:
    return sorted(int(i) for i in rng.choice(array.size, size=min(k, array.size), replace=False))


def label(**dims: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in dims.items())


@dataclass
class LayerCase:
    label: str
    args: list[Any]  # forward's positional inputs
    dout: Any  # upstream gradient; a list of them when the forward has several outputs
    kwargs: dict[str, Any] = field(default_factory=dict)
    batch: int | None = None
    zero_mask: np.ndarray | None = None  # where the input is exactly 0 (ReLU kink)
    numeric: bool = True
    stable: bool = False  # a stability case: the forward runs with numpy raising on overflow


def layer_checks(
    plan: Plan,
    rng: np.random.Generator,
    *,
    forward: str,
    backward: str,
    cases: list[LayerCase],
    reference: Callable[..., Any],  # torch function of the forward's args (tensors) -> output tensor(s)
    grad_names: tuple[str, ...],  # names of backward's returns, in input order
    grad_of: list[int],  # which forward args those are
    outputs: tuple[str, ...] = ("out",),
    variants: Callable[[LayerCase, list[Any], list[Any]], dict[str, list[Any]]] | None = None,  # grad name -> [(code, array, text)]
    forward_variants: Callable[[LayerCase, list[Any]], dict[str, list[Any]]] | None = None,  # output name -> [(code, array, text)]
    forward_title: str | None = None,
    backward_title: str | None = None,
    reshaped: Callable[[LayerCase], dict[str, list[Any]]] | None = None,  # grad name -> [(code, test(got) -> bool, text)]
    overflow: Diagnosis = Diagnosis.OVERFLOW,
    # like ``variants``, also given the learner's own forward outputs (None where the forward did not return them)
    forward_aware_variants: Callable[[LayerCase, list[Any], list[Any], "list[Any] | None"], dict[str, list[Any]]] | None = None,
) -> None:
    """Three checks for a forward/backward pair: forward values, backward vs PyTorch, backward vs your forward."""
    k = len(outputs)
    jobs: list[tuple[str, LayerCase, Any, list[list[int]]]] = []
    for i, case in enumerate(cases):
        douts = list(case.dout) if k > 1 else [case.dout]
        first = (stable_call if case.stable else call)(forward, *case.args, save="fwd", **case.kwargs)
        steps = [first, call(backward, *douts, ref("fwd", k), save="bwd")]
        coords = [coords_for(rng, case.args[j]) for j in grad_of]
        if case.numeric:
            loss = [(o, d) for o, d in enumerate(douts)]
            steps.append(numgrad(forward, case.args, wrt=[[j] for j in grad_of], coords=coords, loss=loss, save="num", **case.kwargs))
        name = plan.job(f"{forward}#{i}", *steps)
        expected = plan.lazy(partial(_reference, reference, case, grad_of, douts))
        jobs.append((name, case, expected, coords))

    @check(plan, f"{forward}.values", forward, forward_title or f"{', '.join(outputs)} vs PyTorch", TOL, overflow=overflow)
    def _forward(results: Results) -> float:
        def one(name: str, case: LayerCase, expected: Any) -> float:
            got = unpack(results.get(name, "fwd", case.label), (*outputs, "cache"), forward, case.label)
            extra = forward_variants(case, expected()[0]) if forward_variants else {}
            worst = 0.0
            for oname, out, want in zip(outputs, got, expected()[0]):
                worst = max(worst, compare(oname, want, out, case=case.label, batch=case.batch, variants=extra.get(oname, ())))
            narrow_in_cache(got[-1], forward, case.label)
            return worst

        return judge_cases(partial(one, name, case, expected) for name, case, expected, _ in jobs)

    @check(plan, f"{backward}.reference", backward, backward_title or f"{', '.join(grad_names)} vs PyTorch autograd", TOL, overflow=overflow)
    def _backward(results: Results) -> float:
        def one(name: str, case: LayerCase, expected: Any) -> float:
            grads = _grads(results.get(name, "bwd", case.label), grad_names, backward, case.label)
            ref_grads = expected()[1]
            _refuse_order(grads, ref_grads, grad_names, backward, forward, case.label)
            extra = variants(case, expected()[0], ref_grads) if variants else {}
            if forward_aware_variants:
                aware = forward_aware_variants(case, expected()[0], ref_grads, _outputs_or_none(results, name, case.label, k))
                extra = {g: [*extra.get(g, []), *aware.get(g, [])] for g in {*extra, *aware}}
            shapes = reshaped(case) if reshaped else {}
            worst = 0.0
            for gname, got, want in zip(grad_names, grads, ref_grads):
                worst = max(
                    worst,
                    compare(gname, want, got, case=case.label, batch=case.batch, variants=extra.get(gname, ()), zero_mask=case.zero_mask,
                            reshaped=shapes.get(gname, ())),
                )
            return worst

        return judge_cases(partial(one, name, case, expected) for name, case, expected, _ in jobs)

    @check(plan, f"{backward}.numeric", backward, "vs finite differences of your forward", NUMERIC_TOL, overflow=overflow)
    def _numeric(results: Results) -> float:
        worst = 0.0
        for name, case, expected, coords in jobs:
            if not case.numeric:
                continue
            grads = _grads(results.get(name, "bwd", case.label), grad_names, backward, case.label)
            _refuse_order(grads, expected()[1], grad_names, backward, forward, case.label)  # not a knock-on "shape"
            numeric = results.get(name, "num", case.label)["grads"]
            fwd = _outputs_or_none(results, name, case.label, k)
            for gname, got, pts, values, j, want in zip(grad_names, grads, coords, numeric, grad_of, expected()[1]):
                try:
                    worst = max(worst, compare_numeric(gname, got, pts, values, case=case.label, forward=forward, shape=case.args[j].shape,
                                                       reference=want, outputs=None if fwd is None else (fwd, expected()[0])))
                except Mismatch as mismatch:
                    if mismatch.outcome.code == Diagnosis.BACKWARD_VS_FORWARD.value:
                        _precision_evidence(results.get(name, "fwd", case.label), expected()[0], got, want, gname, forward, case.label)
                    raise
        return worst


def _precision_evidence(fwd: Any, ref_outputs: list[Any], grad: Any, ref_grad: Any, gname: str, forward: str, case: str) -> None:
    """A backward that is right while finite differences of a nearly right forward disagree: the forward lost precision."""
    if not isinstance(fwd, (tuple, list)) or not isinstance(grad, np.ndarray) or grad.shape != np.shape(ref_grad):
        return
    if rel_error(grad, ref_grad) > 1e-5:
        return
    errors: list[float] = []
    for out, want in zip(fwd, ref_outputs):
        if not isinstance(out, np.ndarray) or out.shape != np.shape(want) or not np.all(np.isfinite(out)):
            return
        errors.append(rel_error(out, want))
    error = max(errors, default=0.0)
    if not 1e-12 < error <= TOL:  # the forward passed its check, yet carries far more rounding than float64 would
        return
    digits = int(round(-np.log10(error)))
    raise fail(
        f"{gname}: your backward matches PyTorch, but finite differences of your {forward} are noisy: its output agrees with PyTorch to only "
        f"about {digits} significant digits (relative error {error:.1e}; float64 gives about 15) — part of {forward} is computed in float32 "
        f"(look for np.float32 or .astype(np.float32)) [{case}]",
        code=Diagnosis.FLOAT32,
        error=error,
        case=case,
    )


def _outputs_or_none(results: Results, name: str, case: str, k: int) -> list[Any] | None:
    """The forward's outputs (without its cache), or None where the forward did not run or returned something else."""
    try:
        value = results.get(name, "fwd", case)
    except Mismatch:
        return None
    if not isinstance(value, (tuple, list)) or len(value) != k + 1:
        return None
    return list(value[:k])


def _reference(reference: Callable[..., Any], case: LayerCase, grad_of: list[int], douts: list[Any]) -> tuple[list[Any], list[Any]]:
    return torch_reference(lambda *t: reference(*t, **case.kwargs), case.args, grad_of, douts)


def _refuse_order(grads: tuple[Any, ...], refs: list[Any], names: tuple[str, ...], backward: str, forward: str, case: str) -> None:
    order = _returned_order(grads, refs)
    if order is not None:
        said = ", ".join(names[j] for j in order)
        raise fail(f"{backward} returned its gradients in another order: what came back is ({said}), where "
                   f"({', '.join(names)}) is asked, one per input of {forward} in its order [{case}]",
                   code=Diagnosis.RETURN_ORDER, case=case)


def _returned_order(grads: tuple[Any, ...], refs: list[Any]) -> tuple[int, ...] | None:
    """Where every returned gradient is right but in another place (``dW, dx, db``): for each place, the index
    of the gradient that came back there. None when the order is right or the values are wrong anyway."""
    from itertools import permutations

    n = len(grads)
    if n < 2 or len(refs) != n or n > 7:
        return None

    def same(got: Any, want: Any) -> bool:
        want = np.asarray(want, dtype=np.float64)
        return (isinstance(got, np.ndarray) and got.dtype.kind == "f" and got.shape == want.shape
                and bool(np.all(np.isfinite(got))) and rel_error(got, want) <= 1e-6)

    match = [[same(grads[i], refs[j]) for j in range(n)] for i in range(n)]
    if all(match[i][i] for i in range(n)):
        return None
    for order in permutations(range(n)):
        if all(match[i][order[i]] for i in range(n)):
            return order
    return None


def _grads(value: Any, names: tuple[str, ...], function: str, case: str) -> tuple[Any, ...]:
    if len(names) == 1:
        return (value,)
    return unpack(value, names, function, case)
