"""Checks for exercises/dropout.py: inverted dropout and an L2 penalty.

Conventions graded here (stated in the starter): p is the probability of
DROPPING a unit; kept units are scaled by 1/(1 - p) during training and the
layer is the identity at test time; the L2 loss is lam/2 · Σ w² over the
weight arrays (keys starting with "W") only, and the gradient of every other
key is zero.
"""

from __future__ import annotations

from functools import partial

from typing import Any

import numpy as np

from tutor.grading.compare import NUMERIC_TOL, TOL, compare, compare_numeric, describe, fail, unpack
from tutor.grading.diagnoses import Diagnosis as D
from tutor.grading.engine import Plan, call, numgrad, ref
from tutor.grading.specs._common import check, coords_for, torch_reference


def plan(rng: np.random.Generator) -> Plan:
    p = Plan()
    _dropout(p, rng)
    _l2(p, rng)
    return p


def _masked(x: Any, keep: Any, p: Any) -> Any:
    return x * keep / (1.0 - p)


def _judge_train(out: Any, x: Any, prob: Any, case: str) -> float:
    """A training-mode output: kept units scaled by 1/(1 - p), about p of them dropped (1,000 units or more)."""
    if out.shape != x.shape:
        raise fail(f"out: expected shape {x.shape}, got {out.shape} [{case}]", code=D.SHAPE, case=case)
    keep = out != 0
    worst = compare("out", _masked(x, keep, prob), out, case=case, variants=[
        (D.MASK_NOT_RESCALED, x * keep, "the kept units are not rescaled: inverted dropout divides them by (1 − p) so the expected output equals x"),
        (D.KEEP_PROB, x * keep / prob, "kept units are divided by p; p is the drop probability, so divide by (1 − p)"),
    ])
    if x.size >= 1000:
        dropped = 1.0 - keep.mean()
        sigma = np.sqrt(prob * (1 - prob) / x.size)
        if abs(dropped - prob) > 6 * sigma:
            code = D.KEEP_PROB if abs(dropped - (1 - prob)) <= 6 * sigma else D.DROP_RATE
            raise fail(f"out: {dropped:.1%} of the units were dropped, expected about {prob:.0%} (p is the probability of dropping) [{case}]", code=code, case=case)
    return worst


def _dropout(p: Plan, rng: Any) -> None:
    cases: list[Any] = []
    for shape, prob in [((1, 7), 0.5), ((40, 50), 0.2), ((30, 60), 0.7), ((4, 3, 5), 0.5)]:
        x = rng.normal(size=shape)
        x[x == 0] = 1.0  # zero outputs then mean "dropped"
        seed = int(rng.integers(2**31))
        g = np.random.default_rng(seed)
        other = np.random.default_rng(seed + 1)  # a generator in another state: another mask
        dout = rng.normal(size=shape)
        coords = coords_for(rng, x)
        name = p.job(
            f"dropout_forward#{len(cases)}",
            call("dropout_forward", x, prob, train=True, rng=g, save="fwd"),
            call("dropout_forward", x, prob, train=True, rng=g, save="again"),
            call("dropout_forward", x, prob, train=True, rng=other, save="other"),
            call("dropout_backward", dout, ref("fwd", 1), save="bwd"),
            call("dropout_forward", x, prob, train=False, rng=g, save="eval"),
            call("dropout_backward", dout, ref("eval", 1), save="eval_bwd"),
            numgrad("dropout_forward", [x, prob], wrt=[[0]], coords=[coords], loss=[(0, dout)], save="num", train=True, rng=g),
            call("dropout_forward", x, prob, train=True, save="no_rng"),  # the starter's promise: rng=None draws its own
        )
        cases.append((name, f"x{shape}, p={prob}", x, prob, dout, coords))

    def forward_out(results: Any, name: Any, case: Any, key: Any = "fwd") -> Any:
        out, _cache = unpack(results.get(name, key, case), ("out", "cache"), "dropout_forward", case)
        if not isinstance(out, np.ndarray):
            raise fail(f"out: expected an array, got {describe(out)} [{case}]", code=D.NOT_ARRAY, case=case)
        return out

    @check(p, "dropout_forward.train", "dropout_forward", "train: kept units scaled by 1/(1 − p)", TOL)
    def _train(results: Any) -> Any:
        worst = 0.0
        for name, case, x, prob, dout, _ in cases:
            worst = max(worst, _judge_train(forward_out(results, name, case), x, prob, case))
        for name, case, x, prob, dout, _ in cases:  # without rng (None): a generator of its own, the same rules
            worst = max(worst, _judge_train(forward_out(results, name, f"{case}, rng=None", "no_rng"), x, prob, f"{case}, rng=None"))
        return worst

    @check(p, "dropout_forward.rng", "dropout_forward", "the mask comes from rng", None)
    def _rng(results: Any) -> Any:
        for name, case, x, prob, dout, _ in cases:
            first = forward_out(results, name, case)
            second = forward_out(results, name, case, "again")
            if first.shape != second.shape or not np.array_equal(first, second):
                raise fail(f"two calls with generators in the same state gave different masks: draw the mask from the rng argument (rng.random(x.shape)), not np.random [{case}]", code=D.RNG_IGNORED, case=case)
            third = forward_out(results, name, case, "other")
            # 1,000 units or more: two independent masks agree by chance with probability below 2**-200
            if x.size >= 1000 and third.shape == first.shape and np.array_equal(third != 0, first != 0):
                raise fail(f"generators in different states gave the same mask: the mask must be drawn from the rng argument "
                           f"(rng.random(x.shape)), not computed from x or fixed in the code [{case}]", code=D.RNG_IGNORED, case=case)
        return None

    @check(p, "dropout_forward.eval", "dropout_forward", "test mode: identity forward and backward", TOL)
    def _eval(results: Any) -> Any:
        worst = 0.0
        for name, case, x, prob, dout, _ in cases:
            out = forward_out(results, name, case, "eval")
            if out.shape == x.shape and np.any((out == 0) & (x != 0)) and np.all((out == 0) | np.isclose(out, x) | np.isclose(out, x / (1 - prob))):
                raise fail(f"out (train=False): {np.mean((out == 0) & (x != 0)):.0%} of the units are zero in test mode — dropout must return x unchanged when train is False [{case}]",
                           code=D.EVAL_DROPPED, case=case)
            worst = max(worst, compare("out (train=False)", x, out, case=case, variants=[
                (D.EVAL_SCALED, x * (1 - prob), "test mode scales by (1 − p); inverted dropout already scaled during training, so test mode returns x unchanged")]))
            dx = results.get(name, "eval_bwd", case)
            worst = max(worst, compare("dx (train=False)", dout, dx, case=case))
        return worst

    @check(p, "dropout_backward.reference", "dropout_backward", "dx vs PyTorch autograd (your mask)", TOL)
    def _backward(results: Any) -> Any:
        worst = 0.0
        for name, case, x, prob, dout, _ in cases:
            out = forward_out(results, name, case)
            _judgeable_mask(out, x, prob, case)
            keep = (out != 0) if out.shape == x.shape else np.ones(x.shape, bool)
            _, (want,) = torch_reference(lambda t, k, prob=prob: t * k / (1.0 - prob), [x, keep.astype(np.float64)], [0], [dout])
            dx = results.get(name, "bwd", case)
            worst = max(worst, compare("dx", want, dx, case=case, variants=[
                (D.MASK_NOT_RESCALED, dout * keep, "the gradient is masked but not rescaled: the forward multiplied by mask/(1 − p), so the backward must too"),
                (D.KEEP_PROB, dout * keep / prob, "the gradient is divided by p; p is the drop probability, so divide by (1 − p) as the forward does")]))
        return worst

    @check(p, "dropout_backward.numeric", "dropout_backward", "vs finite differences of your forward", NUMERIC_TOL)
    def _numeric(results: Any) -> Any:
        worst = 0.0
        for name, case, x, prob, dout, coords in cases:
            _judgeable_mask(forward_out(results, name, case), x, prob, case)
            dx = results.get(name, "bwd", case)
            numeric = results.get(name, "num", case)["grads"][0]
            worst = max(worst, compare_numeric("dx", dx, coords, numeric, case=case, forward="dropout_forward", shape=x.shape))
        return worst


def _judgeable_mask(out: Any, x: Any, prob: float, case: str) -> None:
    """A forward that drops every unit (a placeholder of zeros) makes any backward of zeros agree with it."""
    if out.shape == x.shape and prob < 1.0 and prob ** out.size < 1e-12 and not np.any(out):  # by chance: never
        raise fail(f"dx: your dropout_forward dropped every unit, so its backward cannot be judged against it "
                   f"(with p = {prob:g}, about {100 * (1 - prob):.0f}% of units are kept) [{case}]",
                   code=D.CONSTANT_FORWARD, case=case)


def _l2_torch(*tensors: Any, keys: Any, lam: Any) -> Any:
    total = 0.0
    for key, t in zip(keys, tensors):
        if key.startswith("W"):
            total = total + 0.5 * lam * (t * t).sum()
    return total


def _l2(p: Plan, rng: Any) -> None:
    cases: list[Any] = []
    for sizes, lam in [([3, 4], 0.1), ([5, 6, 2], 1e-3), ([2, 2, 2, 3], 0.5)]:
        params = {}
        for i in range(1, len(sizes)):
            params[f"W{i}"] = rng.normal(size=(sizes[i - 1], sizes[i]))
            params[f"b{i}"] = rng.normal(size=sizes[i])
        keys = list(params)
        coords = {k: coords_for(rng, params[k], 4) for k in keys}
        name = p.job(
            f"l2_penalty#{len(cases)}",
            call("l2_penalty", params, lam, save="out"),
            numgrad("l2_penalty", [params, lam], wrt=[[0, k] for k in keys], coords=[coords[k] for k in keys], loss=[(0, None)], save="num"),
        )
        arrays = [params[k] for k in keys]
        expected = p.lazy(partial(torch_reference, partial(_l2_torch, keys=keys, lam=lam), arrays, list(range(len(arrays))), [1.0]))
        cases.append((name, f"layers={len(sizes) - 1}, lam={lam}", params, keys, lam, coords, expected))

    def grads_of(value: Any, keys: Any, case: Any) -> Any:
        if not isinstance(value, dict) or "$object" in value:
            raise fail(f"grads: expected a dict with the keys {keys}, got {describe(value)} [{case}]", code=D.NOT_ARRAY, case=case)
        missing = [k for k in keys if k not in value]
        if missing:
            raise fail(f"grads: expected the keys {keys} (zeros for the biases), missing {missing} [{case}]", code=D.KEYS, case=case)
        return value

    @check(p, "l2_penalty.values", "l2_penalty", "loss, grads vs PyTorch (lam/2·Σw², weights only)", TOL)
    def _values(results: Any) -> Any:
        worst = 0.0
        for name, case, params, keys, lam, coords, expected in cases:
            loss, grads = unpack(results.get(name, "out", case), ("loss", "grads"), "l2_penalty", case)
            (want_loss,), want_grads = expected()
            with_bias = want_loss + 0.5 * lam * sum(float(np.sum(v * v)) for k, v in params.items() if not k.startswith("W"))
            worst = max(worst, compare("loss", want_loss, loss, case=case, scalar=True, variants=[
                (D.L2_CONVENTION, 2 * want_loss, "this is lam·Σw²; the exercise uses lam/2·Σw² (so that the gradient is lam·w)"),
                (D.BIAS_PENALISED, with_bias, "the biases are penalised too; only the weights (keys starting with 'W') are"),
                (D.BIAS_PENALISED, 2 * with_bias, "the biases are penalised too, and the factor 1/2 is missing"),
            ]))
            grads = grads_of(grads, keys, case)
            for key, want in zip(keys, want_grads):
                extra = [(D.BIAS_PENALISED, lam * params[key], "the bias gets a penalty gradient; only the weights are penalised, a bias's gradient is 0")] if not key.startswith("W") else [
                    (D.L2_CONVENTION, 2 * want, "this is the gradient of lam·Σw²; the exercise uses lam/2·Σw², whose gradient is lam·w"),
                    (D.L2_GRAD_NO_LAM, params[key], "the gradient is w itself: the factor lam is missing (the gradient of lam/2·Σw² is lam·w)")]
                worst = max(worst, compare(f"grads[{key!r}]", want, grads[key], case=case, variants=extra))
        return worst

    @check(p, "l2_penalty.numeric", "l2_penalty", "vs finite differences of your loss", NUMERIC_TOL)
    def _numeric(results: Any) -> Any:
        worst = 0.0
        for name, case, params, keys, lam, coords, expected in cases:
            loss, grads = unpack(results.get(name, "out", case), ("loss", "grads"), "l2_penalty", case)
            grads = grads_of(grads, keys, case)
            numeric = results.get(name, "num", case)["grads"]
            (want_loss,), want_grads = expected()
            for key, values, want in zip(keys, numeric, want_grads):
                worst = max(worst, compare_numeric(f"grads[{key!r}]", grads[key], coords[key], values, case=case, forward="loss", shape=params[key].shape,
                                                   reference=want, outputs=([loss], [want_loss])))
        return worst
