"""Planted bugs in the dropout solution."""

from __future__ import annotations

import pytest

from test_grading_helpers import assert_diagnosis, grade, planted

pytestmark = pytest.mark.slow  # each test grades a file in a child process (about 2 s)

BUGS = [
    ("mask not rescaled", [("    scale = keep / (1.0 - p)  # same shape as x", "    scale = keep * 1.0")], "dropout_forward.train", "mask-not-rescaled", ["not rescaled"]),
    ("p used as keep probability", [("keep = rng.random(x.shape) >= p", "keep = rng.random(x.shape) < p")], "dropout_forward.train", "keep-prob", ["dropped"]),
    ("test mode scaled", [("        return x.copy(), None", "        return x * (1 - p), None")], "dropout_forward.eval", "eval-scaled", ["unchanged"]),
    ("L2 without the 1/2", [("loss += 0.5 * lam * np.sum(value * value)", "loss += lam * np.sum(value * value)")], "l2_penalty.values", "l2-convention", ["lam/2"]),
    ("biases penalised", [('        if key.startswith("W"):', "        if True:")], "l2_penalty.values", "bias-penalised", ["biases"]),
    ("global RNG", [("keep = rng.random(x.shape) >= p", "keep = np.random.random(x.shape) >= p")], "dropout_forward.rng", "rng-ignored", ["rng"]),
]


@pytest.mark.parametrize("name, replacements, check, code, fragments", BUGS, ids=[b[0] for b in BUGS])
def test_planted_bug_is_diagnosed(tmp_path, name, replacements, check, code, fragments):
    report = grade("dropout", planted(tmp_path, "dropout", *replacements), seed=7)
    assert_diagnosis(report, check, code, *fragments)


def test_backward_not_rescaled(tmp_path):
    path = planted(tmp_path, "dropout", ("    dx = dout * scale", "    dx = dout * (scale != 0)"))
    report = grade("dropout", path, seed=7)
    assert_diagnosis(report, "dropout_backward.reference", "mask-not-rescaled", "not rescaled")
    assert {c.id: c for c in report.checks}["dropout_forward.train"].passed
