"""Checks for exercises/batchnorm.py: batch normalisation with running statistics.

Convention graded here (stated in the starter): running = momentum * running +
(1 - momentum) * batch statistic, with the same biased variance (divide by N)
that normalises the batch; a missing running mean starts at 0, a missing
running variance at 1; test mode reads state and leaves it unchanged.
"""

from __future__ import annotations

from functools import partial

from typing import Any

import numpy as np

from tutor.grading.compare import (TOL, VARIANT_TOL, Mismatch, at, compare, describe, fail, fmt_pair, is_narrow, judge_cases, narrow_code,
                                   narrow_digits, narrow_rounding, rel_error, unpack)
from tutor.grading.diagnoses import Diagnosis as D
from tutor.grading.engine import Plan, call, var
from tutor.grading.specs._common import LayerCase, check, label, layer_checks

EPS = 1e-5


def _train(x: Any, gamma: Any, beta: Any, eps: Any = EPS, unbiased: Any = False) -> Any:
    mean = x.mean(dim=0)
    v = x.var(dim=0, unbiased=unbiased)
    return gamma * (x - mean) / (v + eps).sqrt() + beta


def plan(rng: np.random.Generator) -> Plan:
    p = Plan()
    cases = []
    for n, d in [(4, 3), (8, 5), (16, 4)]:  # N = 1 is degenerate for batch norm (PyTorch refuses it)
        x = rng.normal(loc=rng.normal(size=d) * 3, scale=rng.uniform(0.5, 3, size=d), size=(n, d))
        gamma, beta = rng.normal(size=d), rng.normal(size=d)
        cases.append(LayerCase(label(N=n, D=d), [x, gamma, beta, {}], rng.normal(size=(n, d)), batch=n))

    def forward_variants(case: Any, outs: Any) -> Any:
        from tutor.grading.specs._common import torch_reference

        other, _ = torch_reference(lambda x, g, b, s: _train(x, g, b, unbiased=True), case.args, [], [None])
        x, gamma, beta, _ = case.args
        mean, v = x.mean(axis=0), x.var(axis=0)
        return {"out": [
            (D.BIASED_VAR, other[0], "normalised with the unbiased variance (divide by N − 1); normalise with the biased one (divide by N)"),
            (D.BN_RUNNING_IN_TRAIN, gamma * x / np.sqrt(1.0 + EPS) + beta,
             "training mode normalised with the running statistics (still 0 and 1 on the first call); in training use this batch's mean and variance"),
            (D.BN_EPS_OUTSIDE, gamma * (x - mean) / (np.sqrt(v) + EPS) + beta, "eps is added outside the square root; divide by sqrt(var + eps)"),
        ]}

    def variants(case: Any, outs: Any, grads: Any) -> Any:
        dx, dgamma, dbeta = grads
        x, gamma, beta, _ = case.args
        v = x.var(axis=0)
        inv_std = 1.0 / np.sqrt(v + EPS)
        x_hat = (x - x.mean(axis=0)) * inv_std
        dx_hat = case.dout * gamma
        n = case.batch
        partial = dx_hat * inv_std
        no_var = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0))
        no_mean = inv_std / n * (n * dx_hat - x_hat * (dx_hat * x_hat).sum(axis=0))
        found = {"dx": [
            (D.BN_DX_PARTIAL, partial, "treats the batch mean and variance as constants; they depend on x too, which adds two more terms"),
            (D.BN_DX_NO_VAR, no_var, "has the path through the mean but not the one through the variance: subtract x_hat times the batch mean of dx_hat·x_hat"),
            (D.BN_DX_NO_MEAN, no_mean, "has the path through the variance but not the one through the mean: subtract the batch mean of dx_hat"),
        ]}
        found["dbeta"] = [(D.BIAS_AVERAGED, dbeta / n, "dbeta is averaged over the batch; sum it")]
        found["dgamma"] = [(D.BIAS_AVERAGED, dgamma / n, "dgamma is averaged over the batch; sum it")]
        return found

    def unbiased_variants(case: Any, outs: Any, grads: Any, learner_outs: Any) -> Any:
        """dx (and dgamma) of a backward that uses the unbiased variance (N − 1): named after the learner's forward."""
        from tutor.grading.specs._common import torch_reference

        x, gamma, beta, _ = case.args
        n, dx_hat = case.batch, case.dout * gamma
        centred = x - x.mean(axis=0)
        biased_hat = centred / np.sqrt(x.var(axis=0) + EPS)
        inv_std = 1.0 / np.sqrt(x.var(axis=0, ddof=1) + EPS)
        unbiased_hat = centred * inv_std

        def compact(x_hat: Any) -> Any:
            return inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))

        (unbiased_out,), (exact_dx, exact_dgamma, _) = torch_reference(lambda x, g, b, s: _train(x, g, b, unbiased=True), case.args, [0, 1, 2], [case.dout])
        out = learner_outs[0] if learner_outs else None
        forward_unbiased = (isinstance(out, np.ndarray) and out.shape == unbiased_out.shape and out.dtype.kind == "f"
                            and rel_error(out, unbiased_out) <= VARIANT_TOL)
        if forward_unbiased:  # one slip, already named by the forward's check: name it the same here
            code, said = D.BIASED_VAR, ("matches the backward of a forward that normalises with the unbiased variance (N − 1), as yours does; "
                                        "normalise with the biased one (divide by N), x.var(axis=0), and the backward follows")
        else:
            code, said = D.BN_DX_UNBIASED_VAR, ("matches a backward that uses the unbiased variance (N − 1) where your forward normalised with the "
                                                "biased one (N): use the forward's own 1/sqrt(var + eps), from the cache, with var = x.var(axis=0)")
        return {
            "dx": [(D.BN_DX_UNBIASED_VAR, compact(biased_hat),
                    "matches a backward whose 1/sqrt(var + eps) uses the unbiased variance (N − 1) while x_hat uses the biased one (N): "
                    "use the forward's own 1/sqrt(var + eps), from the cache, with var = x.var(axis=0)"),
                   (code, compact(unbiased_hat), said), (code, exact_dx, said)],
            "dgamma": [(code, (case.dout * unbiased_hat).sum(axis=0), said), (code, exact_dgamma, said)],
        }

    layer_checks(
        p, rng, forward="batchnorm_forward", backward="batchnorm_backward", cases=cases,
        reference=lambda x, g, b, s: _train(x, g, b), grad_names=("dx", "dgamma", "dbeta"), grad_of=[0, 1, 2],
        variants=variants, forward_variants=forward_variants, forward_title="out vs PyTorch (train mode)",
        forward_aware_variants=unbiased_variants,
    )
    _running(p, rng)
    return p


def _running(p: Plan, rng: Any) -> None:
    runs: list[Any] = []
    for n, d, momentum in [(4, 3, 0.9), (10, 5, 0.8)]:
        batches = [rng.normal(loc=2.0, scale=1.5, size=(n, d)) for _ in range(3)]
        gamma, beta = rng.normal(size=d), rng.normal(size=d)
        test_x = rng.normal(loc=2.0, scale=1.5, size=(n + 1, d))
        steps = [call("batchnorm_forward", xb, gamma, beta, var("state"), train=True, momentum=momentum, save=f"train{i}") for i, xb in enumerate(batches)]
        steps.append({"op": "get", "var": "state", "save": "state"})
        steps.append(call("batchnorm_forward", test_x, gamma, beta, var("state"), train=False, momentum=momentum, save="test"))
        steps.append({"op": "get", "var": "state", "save": "after_test"})
        name = p.job(f"batchnorm_forward#running{len(runs)}", *steps, variables={"state": {}})
        runs.append((name, label(N=n, D=d, momentum=momentum), batches, gamma, beta, test_x, momentum))

    def expected(batches: Any, momentum: Any, unbiased: Any = False, swapped: Any = False) -> Any:
        d = batches[0].shape[1]
        mean, v = np.zeros(d), np.ones(d)
        for xb in batches:
            keep = (1 - momentum) if swapped else momentum
            mean = keep * mean + (1 - keep) * xb.mean(axis=0)
            v = keep * v + (1 - keep) * xb.var(axis=0, ddof=1 if unbiased else 0)
        return mean, v

    @check(p, "batchnorm_forward.running", "batchnorm_forward", "running mean/var after 3 batches", TOL)
    def _state(results: Any) -> Any:
        return judge_cases(partial(_one_state, results, *r) for r in runs)

    def _one_state(results: Any, name: Any, case: Any, batches: Any, gamma: Any, beta: Any, test_x: Any, momentum: Any) -> Any:
        worst = 0.0
        for i in range(len(batches)):
            results.get(name, f"train{i}", case)  # a failing training call explains itself first
        state = results.get(name, "state", case)
        if not isinstance(state, dict) or "running_mean" not in state or "running_var" not in state:
            keys = sorted(state) if isinstance(state, dict) else state
            raise fail(f"state: expected the keys 'running_mean' and 'running_var' after training calls, found {keys} [{case}]", code=D.RUNNING_STATS, case=case)
        mean, v = expected(batches, momentum)
        un_mean, un_v = expected(batches, momentum, unbiased=True)
        sw_mean, sw_v = expected(batches, momentum, swapped=True)
        worst = max(worst, compare("state['running_mean']", mean, state["running_mean"], case=case,
                                   variants=[(D.MOMENTUM_SWAPPED, sw_mean, "momentum weighs the new batch instead of the old running value (running = momentum·running + (1 − momentum)·batch)")]))
        worst = max(worst, compare("state['running_var']", v, state["running_var"], case=case,
                                   variants=[(D.BIASED_VAR, un_v, "the running variance uses the unbiased variance (N − 1); this exercise keeps the biased one (N)"),
                                             (D.MOMENTUM_SWAPPED, sw_v, "momentum weighs the new batch instead of the old running value")]))
        return worst

    @check(p, "batchnorm_forward.eval", "batchnorm_forward", "test mode uses the running statistics", TOL)
    def _eval(results: Any) -> Any:
        return judge_cases(partial(_one_eval, results, *r) for r in runs)

    def _one_eval(results: Any, name: Any, case: Any, batches: Any, gamma: Any, beta: Any, test_x: Any, momentum: Any) -> Any:
        worst = 0.0
        out, _ = unpack(results.get(name, "test", case), ("out", "cache"), "batchnorm_forward", case)
        mean, v = expected(batches, momentum)
        want = gamma * (test_x - mean) / np.sqrt(v + EPS) + beta
        batch_stats = gamma * (test_x - test_x.mean(axis=0)) / np.sqrt(test_x.var(axis=0) + EPS) + beta
        un_mean, un_v = expected(batches, momentum, unbiased=True)
        unbiased = gamma * (test_x - un_mean) / np.sqrt(un_v + EPS) + beta
        try:
            worst = max(worst, compare("out (train=False)", want, out, case=case,
                                       variants=[(D.EVAL_BATCH_STATS, batch_stats, "test mode normalised with the batch's own statistics; use state's running mean and variance"),
                                                 (D.BIASED_VAR, unbiased, "test mode normalised with a running variance fed the unbiased variance (N − 1); "
                                                                          "this exercise keeps the biased one (N) in state['running_var']")]))
        except Mismatch as mismatch:
            narrowed = _narrow_state(results, name, case, {"running_mean": mean, "running_var": v})
            if narrowed is None or mismatch.outcome.code != D.VALUES.value:
                raise
            key, dtype = narrowed
            o = mismatch.outcome
            error = f" (relative error {o.error:.1e})" if o.error is not None else ""
            raise fail(f"out (train=False): off by the rounding of state[{key!r}], which went through {dtype} (about {narrow_digits(dtype)} "
                       f"significant digits): test mode normalises with the running statistics, so their rounding shows in every output"
                       f"{error}; keep them float64 — np.zeros(d) and np.ones(d) are float64, and an update "
                       f"in place (+=, *=) keeps an array's dtype [{case}]",
                       code=narrow_code(dtype), error=o.error, threshold=o.threshold, worst=o.worst, case=case) from None
        return worst

    def _narrow_state(results: Any, name: str, case: str, expected: dict) -> Any:
        """(key, dtype) of the first running statistic in state held in float16/float32, or carrying its rounding; None."""
        try:
            state = results.get(name, "state", case)
        except Mismatch:
            return None
        if not isinstance(state, dict):
            return None
        for key, want in expected.items():
            value = state.get(key)
            if not isinstance(value, np.ndarray) or value.dtype.kind != "f" or value.shape != want.shape:
                continue
            if is_narrow(value.dtype):
                return key, value.dtype
            narrow = narrow_rounding(value, want) if value.dtype == np.float64 else None
            if narrow is not None:
                return key, narrow
        return None

    @check(p, "batchnorm_forward.eval_state", "batchnorm_forward", "test mode leaves state unchanged", None)
    def _eval_state(results: Any) -> Any:
        return judge_cases(partial(_one_frozen, results, *r) for r in runs)

    def _one_frozen(results: Any, name: Any, case: Any, batches: Any, *_: Any) -> None:
        for i in range(len(batches)):
            results.get(name, f"train{i}", case)
        results.get(name, "test", case)  # a failing test-mode call explains itself first
        before, after = results.get(name, "state", case), results.get(name, "after_test", case)
        if not isinstance(before, dict) or not isinstance(after, dict):
            return None
        for key in sorted(set(before) | set(after), key=str):
            if key not in after:
                said = f"removed state[{key!r}]"
            elif key not in before:
                said = f"added state[{key!r}] ({describe(after[key])})"
            elif _same(before[key], after[key]):
                continue
            else:
                said = f"changed {_change(f'state[{key!r}]', before[key], after[key])}"
            raise fail(f"state: the test-mode call (train=False) {said}; test mode must normalise with the running statistics and leave them "
                       f"as they are — is the update of state outside `if train:`? [{case}]", code=D.BN_EVAL_UPDATES_STATE, case=case)
        return None


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(np.array_equal(a, b, equal_nan=True))
    except (TypeError, ValueError):  # values that are not arrays of numbers
        return repr(a) == repr(b)


def _change(name: str, before: Any, after: Any) -> str:
    """What changed: the entry that moved most, before and after the call."""
    if not (isinstance(before, np.ndarray) and isinstance(after, np.ndarray) and before.shape == after.shape and before.dtype.kind == after.dtype.kind == "f"):
        return f"{name} from {describe(before)} to {describe(after)}"
    with np.errstate(all="ignore"):
        diff = np.nan_to_num(np.abs(after - before), nan=np.inf)
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape)) if diff.shape else ()
    was, now = fmt_pair(before[index], after[index])
    return f"{at(name, index)} from {was} to {now}"
