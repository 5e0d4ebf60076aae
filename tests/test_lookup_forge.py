"""A file with no implementation, only a table of answers for the inputs one seed draws: it must fail.

A learner who knows the seed can compute the answers elsewhere and hand in a lookup table that returns
them for those inputs (and zeros anywhere else). Its forward then matches PyTorch exactly at the inputs,
and its backward returns PyTorch's gradient, but its own finite differences are 0: it is not the
function it claims to be around the inputs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import pickle

import numpy as np
import pytest

from bugs.harness import SOLUTIONS

SEED = 4242


def _key(fn: str, array) -> str:
    return fn + ":" + hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _forged_backprop(seed: int) -> str:
    """A backprop.py that looks up the reference solution's answers for the inputs ``seed`` draws."""
    from tutor.grading.engine import build_plan

    spec = importlib.util.spec_from_file_location("reference_backprop", SOLUTIONS / "backprop.py")
    solution = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(solution)
    table = {}
    for job in build_plan("backprop", seed).jobs:
        saved = {}
        for step in job["steps"]:
            if step["op"] != "call":
                continue
            args = []
            for a in step["args"]:
                if isinstance(a, dict) and "$ref" in a:
                    a = saved[a["$ref"]] if "$item" not in a else saved[a["$ref"]][a["$item"]]
                args.append(a)
            out = getattr(solution, step["fn"])(*args)
            saved[step["save"]] = out
            first = args[1] if step["fn"] == "mlp_forward_backward" else args[0]
            table[_key(step["fn"], first)] = (out[0], None) if step["fn"].endswith("_forward") else out
    return f'''import hashlib, pickle
import numpy as np
_T = pickle.loads({pickle.dumps(table)!r})
def _k(fn, a):
    return fn + ":" + hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
def dense_forward(x, W, b):
    return _T.get(_k("dense_forward", x), (np.zeros((x.shape[0], W.shape[1])), None))
def dense_backward(dout, cache):
    return _T[_k("dense_backward", dout)]
def relu_forward(x):
    return _T.get(_k("relu_forward", x), (np.zeros_like(x), None))
def relu_backward(dout, cache):
    return _T[_k("relu_backward", dout)]
def sigmoid_forward(x):
    return _T.get(_k("sigmoid_forward", x), (np.zeros_like(x), None))
def sigmoid_backward(dout, cache):
    return _T[_k("sigmoid_backward", dout)]
def softmax_cross_entropy(logits, y):
    return _T.get(_k("softmax_cross_entropy", logits), (0.0, np.zeros_like(logits)))
def mlp_forward_backward(params, X, y):
    return _T.get(_k("mlp_forward_backward", X), (0.0, {{}}))
'''


@pytest.mark.slow
def test_a_table_of_answers_for_a_known_seed_fails_the_finite_difference_checks(tmp_path):
    from tutor.grading.engine import grade_file

    forged = tmp_path / "backprop.py"
    forged.write_text(_forged_backprop(SEED))
    report = grade_file("backprop", forged, seed=SEED)
    failed = [c for c in report.checks if not c.passed]
    assert failed, "a lookup table passed every check"
    said = " ".join(c.message for c in failed)
    assert "matches PyTorch exactly at the inputs, yet its finite differences around them disagree" in said
    assert {c.code for c in failed} >= {"backward-vs-forward"}
    honest = grade_file("backprop", SOLUTIONS / "backprop.py", seed=SEED)
    assert all(c.passed for c in honest.checks)  # the same seed, a real implementation: every check passes


def test_differences_of_a_forward_a_hair_off_pytorch_are_checked_too():
    """A forward off by 1e-9 (still a right answer) skipped the check and let the child's own, rewritable
    differences stand alone; now any float64 forward within 1e-6 of PyTorch's is held to its gradient."""
    from tutor.grading.compare import Mismatch, _checked_differences

    rng = np.random.default_rng(0)
    ref_out = rng.normal(size=(4, 3))  # (N, D) PyTorch's forward
    ref_grad = rng.normal(size=(4, 3))  # (N, D) PyTorch's gradient
    coords = np.array([0, 5, 11])
    near = ref_out * (1 + 1e-9)
    honest = ref_grad.reshape(-1)[coords] * (1 + 1e-7)  # differences of a correct forward
    kept = _checked_differences(honest, coords, ref_grad, near, [ref_out], name="f_backward dx", forward="f_forward", case="c")
    assert np.array_equal(kept, honest)  # not exact: its own differences stand, once they agree
    rewritten = honest * 1.3  # numbers rewritten to agree with a wrong backward
    with pytest.raises(Mismatch, match=r"matches PyTorch to \de-1\d at the inputs, yet its finite differences"):
        _checked_differences(rewritten, coords, ref_grad, near, [ref_out], name="f_backward dx", forward="f_forward", case="c")
    narrow = ref_out.astype(np.float32).astype(np.float64)  # float32 inside: rounding, named by the other judges
    assert _checked_differences(rewritten, coords, ref_grad, narrow, [ref_out], name="f", forward="g", case="c") is rewritten
