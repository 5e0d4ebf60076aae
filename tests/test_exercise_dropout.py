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


def test_a_done_forward_whose_check_needs_the_unstarted_backward_is_waiting_not_not_started(tmp_path, runner):
    """dropout_forward written, dropout_backward still raising: the test-mode check (forward and backward)
    waits for the backward, and the summary does not list the finished forward as not started."""
    import json

    from tutor.cli import app

    path = planted(tmp_path, "dropout", ("    scale = cache\n", "    raise NotImplementedError('dropout_backward')\n"))
    report = grade("dropout", path, seed=7)
    by_id = {c.id: c for c in report.checks}
    assert by_id["dropout_forward.train"].passed
    assert by_id["dropout_forward.eval"].not_started and by_id["dropout_forward.eval"].waits_for == "dropout_backward"
    assert by_id["dropout_backward.reference"].waits_for == "dropout_backward"
    result = runner.invoke(app, ["check", str(path), "--seed", "7"], env={"COLUMNS": "100"})
    assert result.exit_code == 1
    said = " ".join(result.stdout.split())
    assert "raise NotImplementedError): dropout_backward; a check marked waiting" in said
    eval_row = next(line for line in result.stdout.splitlines() if "test mode" in line)
    assert eval_row.rstrip().endswith("waiting")
    data = json.loads(runner.invoke(app, ["check", str(path), "--seed", "7", "--json"]).stdout)
    assert {c["id"]: c["waits_for"] for c in data["checks"]}["dropout_forward.eval"] == "dropout_backward"


def test_a_check_of_a_stub_that_first_meets_another_stub_is_not_started_not_waiting():
    """sigmoid_backward still raising, its check stopped first by sigmoid_forward (also a stub): both are
    listed as not started, neither hidden behind 'waiting'."""
    from tutor.grading.engine import raising_stubs

    source = b'''
def done(x):
    return x

def stub(x):
    """doc"""
    # TODO
    raise NotImplementedError("stub")

def bare(x):
    raise NotImplementedError

def later(x):
    y = x + 1
    raise NotImplementedError()

class C:
    def method(self):
        raise NotImplementedError
'''
    assert raising_stubs(source) == {"stub", "bare"}  # "later" has real code above its old raise: written
    assert raising_stubs(b"def broken(:\n") == frozenset()


PLACEHOLDERS = {
    "backprop": '''import numpy as np
def dense_forward(x, W, b):
    return np.zeros((x.shape[0], W.shape[1])), (x, W, b)
def dense_backward(dout, cache):
    x, W, b = cache
    return np.zeros_like(x), np.zeros_like(W), np.zeros_like(b)
def relu_forward(x): return np.zeros_like(x), x
def relu_backward(dout, x): return np.zeros_like(x)
def sigmoid_forward(x): return np.full_like(x, 0.5), x
def sigmoid_backward(dout, x): return np.zeros_like(x)
def softmax_cross_entropy(logits, y): return 0.0, np.zeros_like(logits)
def mlp_forward_backward(params, X, y):
    return 1.0, {k: np.zeros_like(v) for k, v in params.items()}
''',
    "dropout": '''import numpy as np
def dropout_forward(x, p, train=True, rng=None):
    return (np.zeros_like(x) if train else x), train
def dropout_backward(dout, train):
    return np.zeros_like(dout) if train else dout
def l2_penalty(params, lam):
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
''',
}


@pytest.mark.parametrize("exercise", sorted(PLACEHOLDERS))
def test_placeholders_that_return_zeros_earn_no_backward_check(tmp_path, exercise):
    """A forward of zeros and a backward of zeros agree with each other's finite differences: those checks
    passed (5/15 for backprop, 4/7 for dropout) for files that do nothing."""
    path = tmp_path / f"{exercise}.py"
    path.write_text(PLACEHOLDERS[exercise])
    report = grade(exercise, path, seed=3)
    earned = [c.id for c in report.checks if c.passed]
    assert earned == (["dropout_forward.eval"] if exercise == "dropout" else []), earned  # eval mode returns x: right
    codes = {c.code for c in report.checks if c.id.endswith((".numeric", "backward.reference")) and c.id != "dense_backward.reference"}
    assert "constant-forward" in codes
