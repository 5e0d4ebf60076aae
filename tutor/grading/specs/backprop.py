"""Checks for exercises/backprop.py: dense, ReLU, sigmoid, softmax cross-entropy, a small MLP."""

from __future__ import annotations

from functools import partial

from typing import Any

import numpy as np

from tutor.grading.compare import NUMERIC_TOL, TOL, compare, compare_numeric, describe, fail, judge_cases, unpack
from tutor.grading.diagnoses import Diagnosis as D
from tutor.grading.engine import Plan, call, numgrad
from tutor.grading.specs._common import LayerCase, check, coords_for, label, layer_checks, stable_call, torch_reference

LOG_EPSILONS = (1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12, 1e-15)  # constants learners add inside log()


def plan(rng: np.random.Generator) -> Plan:
    p = Plan()
    _dense(p, rng)
    _relu(p, rng)
    _sigmoid(p, rng)
    _softmax(p, rng)
    _mlp(p, rng)
    return p


def _dense(p: Plan, rng: Any) -> None:
    cases = []
    for n, d, m in [(1, 3, 2), (4, 5, 3), (6, 4, 4), (3, 7, 5)]:
        x, w, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
        cases.append(LayerCase(label(N=n, D=d, M=m), [x, w, b], rng.normal(size=(n, m)), batch=n))

    def variants(case: Any, outs: Any, grads: Any) -> Any:
        dx, dw, db = grads
        n = case.batch
        found = {"db": [(D.BIAS_AVERAGED, db / n, "the bias gradient is averaged over the batch; sum it instead (the upstream gradient already carries any 1/N)")]}
        if dw.shape[0] == dw.shape[1]:
            found["dW"] = [(D.TRANSPOSED, dw.T, "looks transposed: dW should have W's shape (D, M), built from x.T and dout")]
        return found

    layer_checks(
        p, rng, forward="dense_forward", backward="dense_backward", cases=cases,
        reference=lambda x, w, b: x @ w + b, grad_names=("dx", "dW", "db"), grad_of=[0, 1, 2], variants=variants,
    )


def _relu(p: Plan, rng: Any) -> None:
    cases = []
    for shape in [(1, 5), (4, 6), (3, 2, 5)]:
        x = rng.normal(size=shape)
        cases.append(LayerCase(label(shape=shape), [x], rng.normal(size=shape)))
    x = rng.normal(size=(5, 8))
    x[rng.random(size=x.shape) < 0.25] = 0.0  # exact zeros: the kink
    cases.append(LayerCase("shape=(5, 8) with exact zeros", [x], rng.normal(size=x.shape), zero_mask=(x == 0), numeric=False))

    def variants(case: Any, outs: Any, grads: Any) -> Any:
        x = case.args[0]
        return {"dx": [(D.RELU_MASK, case.dout * (x < 0), "the mask is inverted: the gradient passes where the input is negative")]}

    layer_checks(p, rng, forward="relu_forward", backward="relu_backward", cases=cases, reference=lambda x: x.clamp(min=0), grad_names=("dx",), grad_of=[0], variants=variants)


def _sigmoid(p: Plan, rng: Any) -> None:
    cases = []
    for shape in [(1, 4), (5, 3), (2, 3, 4)]:
        x = rng.normal(scale=3.0, size=shape)
        cases.append(LayerCase(label(shape=shape), [x], rng.normal(size=shape)))
    x = rng.normal(size=(3, 4))
    x[0, :2] = [-800.0, 800.0]  # exp overflows in the naive formula
    cases.append(LayerCase("shape=(3, 4) with inputs ±800", [x], rng.normal(size=x.shape), numeric=False, stable=True))

    def variants(case: Any, outs: Any, grads: Any) -> Any:
        s = outs[0]
        return {"dx": [(D.SIGMOID_DERIVATIVE, case.dout * s, "the derivative is σ(x)(1 − σ(x)); the (1 − σ(x)) factor is missing")]}

    layer_checks(p, rng, forward="sigmoid_forward", backward="sigmoid_backward", cases=cases, reference=lambda x: x.sigmoid(), grad_names=("dx",), grad_of=[0], variants=variants)


def _xent(logits: Any, y: Any) -> Any:
    import torch

    return torch.nn.functional.cross_entropy(logits, y)


def _log_epsilon_losses(logits: Any, y: Any) -> Any:
    """Mean cross-entropy with a constant added inside the log, one per eps in LOG_EPSILONS."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    picked = probs[np.arange(len(y)), y]
    return [(eps, float(-np.log(picked + eps).mean())) for eps in LOG_EPSILONS]


def _softmax(p: Plan, rng: Any) -> None:
    plain = []
    for n, c in [(1, 3), (5, 4), (8, 10)]:
        plain.append((label(N=n, C=c), rng.normal(scale=2.0, size=(n, c)), rng.integers(0, c, size=n)))
    big_logits = rng.normal(size=(4, 5)) * 1000.0
    big_logits[0] = [1000.0, -1000.0, 999.0, 0.0, -999.0]
    big_y = rng.integers(0, 5, size=4)
    big_y[0] = 1  # the label of the -1000 logit: its probability underflows to 0
    large = [("N=4, C=5, logits up to ±1000", big_logits, big_y)]
    jobs: dict[str, list[Any]] = {}
    for group, cases in (("plain", plain), ("large", large)):
        for i, (case, logits, y) in enumerate(cases):
            coords = coords_for(rng, logits)
            first = (stable_call if group == "large" else call)("softmax_cross_entropy", logits, y, save="out")
            name = p.job(
                f"softmax_cross_entropy#{group}{i}",
                first,
                numgrad("softmax_cross_entropy", [logits, y], wrt=[[0]], coords=[coords], loss=[(0, None)], save="num"),
            )
            expected = p.lazy(partial(torch_reference, _xent, [logits, y], [0], [1.0]))
            jobs.setdefault(group, []).append((name, case, logits, y, coords, expected))

    def judge(results: Any, group: Any) -> Any:
        def one(name: Any, case: Any, logits: Any, y: Any, expected: Any) -> Any:
            loss, dlogits = unpack(results.get(name, "out", case), ("loss", "dlogits"), "softmax_cross_entropy", case)
            (ref_loss,), (ref_dlogits,) = expected()
            n = logits.shape[0]
            loss_variants = [(D.BATCH_MEAN, ref_loss * n, "the loss is summed over the batch, not averaged")]
            loss_variants += [(D.LOG_EPSILON, value, f"matches the loss with {eps:g} added inside the log (log(p + {eps:g})): that constant shifts the loss")
                              for eps, value in _log_epsilon_losses(logits, y)]
            worst = compare("loss", ref_loss, loss, case=case, scalar=True, batch=n, variants=loss_variants)
            return max(worst, compare("dlogits", ref_dlogits, dlogits, case=case, batch=n,
                                      variants=[(D.BATCH_MEAN, ref_dlogits * n, "missing the 1/N of the batch mean: the loss is a mean, so each row's gradient is divided by N")]))

        return judge_cases(partial(one, a[0], a[1], a[2], a[3], a[5]) for a in jobs[group])

    check(p, "softmax_cross_entropy.values", "softmax_cross_entropy", "loss, dlogits vs PyTorch", TOL, overflow=D.SOFTMAX_OVERFLOW)(lambda r: judge(r, "plain"))
    check(p, "softmax_cross_entropy.stable", "softmax_cross_entropy", "logits of ±1000 (stability)", TOL, overflow=D.SOFTMAX_OVERFLOW)(lambda r: judge(r, "large"))

    @check(p, "softmax_cross_entropy.numeric", "softmax_cross_entropy", "vs finite differences of your loss", NUMERIC_TOL, overflow=D.SOFTMAX_OVERFLOW)
    def _numeric(results: Any) -> Any:
        worst = 0.0
        for name, case, logits, y, coords, expected in jobs["plain"]:
            loss, dlogits = unpack(results.get(name, "out", case), ("loss", "dlogits"), "softmax_cross_entropy", case)
            numeric = results.get(name, "num", case)["grads"][0]
            (ref_loss,), (ref_dlogits,) = expected()
            worst = max(worst, compare_numeric("dlogits", dlogits, coords, numeric, case=case, forward="loss", shape=logits.shape,
                                               reference=ref_dlogits, outputs=([loss], [ref_loss])))
        return worst


def _mlp_torch(*tensors: Any, layers: Any, relu_last: Any = False) -> Any:
    import torch

    X, y = tensors[-2], tensors[-1]
    h = X
    for i in range(layers):
        h = h @ tensors[2 * i] + tensors[2 * i + 1]
        if i < layers - 1 or relu_last:
            h = torch.relu(h)
    return _xent(h, y)


def _mlp(p: Plan, rng: Any) -> None:
    cases: list[Any] = []
    for n, sizes in [(1, [4, 5, 3]), (6, [5, 7, 6, 4]), (10, [3, 8, 2])]:
        params = {}
        for i in range(1, len(sizes)):
            params[f"W{i}"] = rng.normal(scale=1 / np.sqrt(sizes[i - 1]), size=(sizes[i - 1], sizes[i]))
            params[f"b{i}"] = rng.normal(scale=0.1, size=sizes[i])
        X = rng.normal(size=(n, sizes[0]))
        y = rng.integers(0, sizes[-1], size=n)
        keys = list(params)
        coords = {k: coords_for(rng, params[k], 6) for k in keys}
        name = p.job(
            f"mlp_forward_backward#{len(cases)}",
            call("mlp_forward_backward", params, X, y, save="out"),
            numgrad("mlp_forward_backward", [params, X, y], wrt=[[0, k] for k in keys], coords=[coords[k] for k in keys], loss=[(0, None)], save="num"),
        )
        layers = len(sizes) - 1
        flat = [params[k] for k in keys] + [X, y]
        expected = p.lazy(
            partial(torch_reference, partial(_mlp_torch, layers=layers), flat, list(range(2 * layers)), [1.0])
        )
        relu_last = p.lazy(
            partial(torch_reference, partial(_mlp_torch, layers=layers, relu_last=True), flat, list(range(2 * layers)), [1.0])
        )
        cases.append((name, label(N=n, sizes=tuple(sizes)), keys, coords, n, expected, {k: v.shape for k, v in params.items()}, relu_last))

    def grads_of(value: Any, keys: Any, case: Any) -> Any:
        if isinstance(value, dict) and "$object" not in value:
            missing = [k for k in keys if k not in value]
            if missing:
                raise fail(f"grads: expected the keys {keys}, missing {missing} [{case}]", code=D.KEYS, case=case)
            return value
        raise fail(f"grads: expected a dict with the keys {keys}, got {describe(value)} [{case}]", code=D.NOT_ARRAY, case=case)

    relu_text = "matches an MLP that applies ReLU to the output layer too: the last layer's logits go to the softmax as they are"

    @check(p, "mlp_forward_backward.loss", "mlp_forward_backward", "loss vs PyTorch", TOL, overflow=D.SOFTMAX_OVERFLOW)
    def _loss(results: Any) -> Any:
        def one(name: Any, case: Any, n: Any, expected: Any, relu_last: Any) -> Any:
            loss, _grads = unpack(results.get(name, "out", case), ("loss", "grads"), "mlp_forward_backward", case)
            return compare("loss", expected()[0][0], loss, case=case, scalar=True, batch=n, variants=[(D.RELU_ON_LOGITS, relu_last()[0][0], relu_text)])

        return judge_cases(partial(one, c[0], c[1], c[4], c[5], c[7]) for c in cases)

    @check(p, "mlp_forward_backward.grads", "mlp_forward_backward", "grads vs PyTorch autograd", TOL, overflow=D.SOFTMAX_OVERFLOW)
    def _grads(results: Any) -> Any:
        def one(name: Any, case: Any, keys: Any, n: Any, expected: Any, relu_last: Any) -> Any:
            _loss, grads = unpack(results.get(name, "out", case), ("loss", "grads"), "mlp_forward_backward", case)
            grads = grads_of(grads, keys, case)
            worst = 0.0
            for key, want, other in zip(keys, expected()[1], relu_last()[1]):
                extra = [(D.RELU_ON_LOGITS, other, relu_text)]
                if key.startswith("b") and n > 1:
                    extra.append((D.BIAS_AVERAGED, want / n, "the bias gradient is averaged over the batch"))
                worst = max(worst, compare(f"grads[{key!r}]", want, grads[key], case=case, batch=n, variants=extra))
            return worst

        return judge_cases(partial(one, c[0], c[1], c[2], c[4], c[5], c[7]) for c in cases)

    @check(p, "mlp_forward_backward.numeric", "mlp_forward_backward", "vs finite differences of your loss", NUMERIC_TOL, overflow=D.SOFTMAX_OVERFLOW)
    def _numeric(results: Any) -> Any:
        worst = 0.0
        for name, case, keys, coords, n, expected, shapes, _relu_last in cases:
            loss, grads = unpack(results.get(name, "out", case), ("loss", "grads"), "mlp_forward_backward", case)
            grads = grads_of(grads, keys, case)
            numeric = results.get(name, "num", case)["grads"]
            for key, values, want in zip(keys, numeric, expected()[1]):
                worst = max(worst, compare_numeric(f"grads[{key!r}]", grads[key], coords[key], values, case=case, forward="loss", shape=shapes[key],
                                                   reference=want, outputs=([loss], [expected()[0][0]])))
        return worst
