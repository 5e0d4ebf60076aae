"""Planted bugs in the backprop solution must fail with the diagnosis a learner needs."""

from __future__ import annotations

import pytest

from test_grading_helpers import assert_diagnosis, grade, planted

pytestmark = pytest.mark.slow  # each test grades a file in a child process (about 2 s)

BUGS = [
    ("transposed dW", [("dW = x.T @ dout", "dW = (x.T @ dout).T")], "dense_backward.reference", "transposed", ["expected shape (3, 2), got (2, 3)"]),
    ("bias averaged", [("db = dout.sum(axis=0)", "db = dout.mean(axis=0)")], "dense_backward.reference", "bias-averaged", ["averaged over the batch", "expected", "got"]),
    ("missing 1/N", [("    dlogits /= n\n", "")], "softmax_cross_entropy.values", "batch-mean", ["1/N"]),
    ("no max-subtraction", [("shifted = logits - logits.max(axis=1, keepdims=True)", "shifted = logits")], "softmax_cross_entropy.stable", "softmax-overflow", ["±1000", "maximum"]),
    ("ReLU kink", [("dx = dout * (x > 0)", "dx = dout * (x >= 0)")], "relu_backward.reference", "relu-kink", ["exactly 0"]),
    ("sigmoid derivative", [("dx = dout * s * (1.0 - s)", "dx = dout * s")], "sigmoid_backward.reference", "sigmoid-derivative", ["(1 − σ(x))"]),
    ("sign flipped", [("dx = dout @ W.T", "dx = -(dout @ W.T)")], "dense_backward.reference", "sign", ["×−1"]),
    ("float32", [("out = x @ W + b  # (N, M)", "out = (x @ W + b).astype(np.float32)")], "dense_forward.values", "dtype", ["float64", "float32"]),
    ("no return", [("    return dx, dW, db", "    pass")], "dense_backward.reference", "none", ["returned None"]),
    ("gradients in another order", [("    return dx, dW, db", "    return dW, dx, db")], "dense_backward.reference", "return-order",
     ["(dW, dx, db)", "(dx, dW, db) is asked"]),
]


@pytest.mark.parametrize("name, replacements, check, code, fragments", BUGS, ids=[b[0] for b in BUGS])
def test_planted_bug_is_diagnosed(tmp_path, name, replacements, check, code, fragments):
    report = grade("backprop", planted(tmp_path, "backprop", *replacements), seed=7)
    assert_diagnosis(report, check, code, *fragments)
    assert not report.ok and report.passed < report.total


def test_backward_vs_own_forward_separates_the_blame(tmp_path):
    # A wrong backward with a right forward: the forward check passes, both backward checks fail.
    report = grade("backprop", planted(tmp_path, "backprop", ("dx = dout @ W.T", "dx = 2 * dout @ W.T")), seed=7)
    by_id = {c.id: c for c in report.checks}
    assert by_id["dense_forward.values"].passed
    assert_diagnosis(report, "dense_backward.numeric", "backward-vs-forward", "your own dense_forward", "finite differences give")
    assert_diagnosis(report, "dense_backward.reference", "factor", "×2")


def test_a_sigmoid_that_overflows_on_the_way_still_gets_its_backward_graded(tmp_path):
    """1 / (1 + exp(-x)) overflows at x = -800 yet returns exactly 0: the forward's stability check fails
    and says why (the exercise asks for a form that never overflows), while the backward, which runs on
    what the forward returned, is judged on its own."""
    report = grade("backprop", planted(tmp_path, "backprop", *NAIVE_SIGMOID), seed=7)
    by_id = {c.id: c for c in report.checks}
    assert not by_id["sigmoid_forward.values"].passed
    assert by_id["sigmoid_backward.reference"].passed, by_id["sigmoid_backward.reference"].message
    assert [c.id for c in report.checks if not c.passed] == ["sigmoid_forward.values"]
    ratio = grade("backprop", planted(tmp_path, "backprop", *RATIO_SIGMOID, name="ratio.py"), seed=7)
    assert not {c.id: c for c in ratio.checks}["sigmoid_backward.reference"].passed  # nothing finite to run it on


def test_wrong_forward_with_matching_backward(tmp_path):
    # out = 2xW + b: the forward fails against PyTorch, while the backward agrees with the correct maths.
    report = grade("backprop", planted(tmp_path, "backprop", ("out = x @ W + b  # (N, M)", "out = 2 * (x @ W) + b")), seed=7)
    by_id = {c.id: c for c in report.checks}
    assert not by_id["dense_forward.values"].passed
    assert by_id["dense_backward.reference"].passed
    assert not by_id["dense_backward.numeric"].passed


NAIVE_SIGMOID = [("""    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    z = np.exp(x[~positive])
    out[~positive] = z / (1.0 + z)""", "    out = 1.0 / (1.0 + np.exp(-x))")]
RATIO_SIGMOID = [(NAIVE_SIGMOID[0][0], "    out = np.exp(x) / (1.0 + np.exp(x))")]  # inf / inf = nan at +800
LOG_OF_SOFTMAX = [("    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, C)",
                   "    log_probs = np.log(np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True))")]


@pytest.mark.parametrize(
    "replacements, check, code, fragments",
    [
        (NAIVE_SIGMOID, "sigmoid_forward.values", "overflow", ["overflowed: exp gave inf at line", "rounded the inf away", "Fix: exponentiate only numbers ≤ 0", "±800"]),
        (RATIO_SIGMOID, "sigmoid_forward.values", "overflow", ["overflowed: exp gave inf at line", "a finite value was expected", "±800"]),
        (LOG_OF_SOFTMAX, "softmax_cross_entropy.stable", "log-zero", ["log(0)", "±1000"]),
        ([("out = x @ W + b  # (N, M)", "out = x @ W.T + b")], "dense_forward.values", "matmul-shape", ["inner dimensions", "x @ W.T"]),
    ],
    ids=["naive sigmoid", "exp ratio sigmoid", "log of the softmax", "x @ W.T"],
)
def test_stability_and_numpy_errors_through_the_child(tmp_path, replacements, check, code, fragments):
    # The stability cases run with numpy raising on overflow inside the child; the message is in plain words.
    report = grade("backprop", planted(tmp_path, "backprop", *replacements), seed=7)
    assert_diagnosis(report, check, code, *fragments)
    message = {c.id: c for c in report.checks}[check].message
    assert "gufunc" not in message
    assert message.count(" at line ") == 1 and message.count("Fix: ") == 1 and message.endswith(".")  # said once, the fix last


def test_an_overflow_is_said_once_in_four_lines_at_60_columns(tmp_path):
    """At 60 columns the naive sigmoid's diagnosis ran to 8 lines, saying twice that exp must not overflow and
    running its fix into the quoted line ("only exponentiate numbers ≤ 0 at line 72: s = ...")."""
    from rich.console import Console

    report = grade("backprop", planted(tmp_path, "backprop", *NAIVE_SIGMOID), seed=7)
    message = {c.id: c for c in report.checks}["sigmoid_forward.values"].message
    console = Console(width=60, record=True, color_system=None)
    console.print("✗ sigmoid_forward: " + message, markup=False)
    lines = [line for line in console.export_text().splitlines() if line.strip()]
    assert len(lines) <= 4, lines
    assert "np.exp(-x)" not in message  # the traceback panel under it quotes the line
    assert message.count("overflow") == 1


def test_a_float32_forward_is_called_float32_never_a_placeholder(tmp_path):
    """Finite differences of a float32 loss round to 0 at every point: that was diagnosed as a placeholder forward."""
    path = planted(tmp_path, "backprop", ("    out = x @ W + b  # (N, M)", "    out = (x @ W + b).astype(np.float32)  # (N, M)"))
    codes = set()
    for seed in range(6):
        report = grade("backprop", path, seed=seed)
        codes |= {c.code for c in report.checks if not c.passed}
    assert "constant-forward" not in codes and "float32" in codes, codes



def test_a_float16_forward_is_called_float16_never_a_placeholder(tmp_path):
    path = planted(tmp_path, "backprop", ("    out = x @ W + b  # (N, M)", "    out = (x @ W + b).astype(np.float16)  # (N, M)"))
    checks = {c.id: c for c in grade("backprop", path, seed=3).checks}
    for check_id in ("dense_backward.numeric", "mlp_forward_backward.numeric"):
        assert checks[check_id].code == "float16" and "went through float16" in checks[check_id].message, checks[check_id].message


def test_a_loss_rounded_inside_is_never_called_a_placeholder(tmp_path):
    """A dense_forward that rounds through float16 but returns float64: the network's loss (1.5, close to PyTorch's)
    got "does it still return a placeholder such as zeros?"."""
    path = planted(tmp_path, "backprop", ("    out = x @ W + b  # (N, M)", "    out = (x @ W + b).astype(np.float16).astype(np.float64)  # (N, M)"))
    check = {c.id: c for c in grade("backprop", path, seed=1).checks}["mlp_forward_backward.numeric"]
    assert not check.passed and "placeholder" not in check.message and "rounds" in check.message, check.message


def test_closing_the_result_channel_at_import_is_named(tmp_path):
    path = planted(tmp_path, "backprop", ("import numpy as np\n", "import os\nimport sys\n\nimport numpy as np\n\nos.close(int(sys.argv[2]))\n"))
    report = grade("backprop", path)
    assert report.fatal is not None and report.fatal.kind == "exit", report.fatal
    assert "while importing your file" in report.fatal.message and "file descriptors it does not own" in report.fatal.message


def test_gradients_in_another_order_are_named_so_by_the_finite_difference_check_too(tmp_path):
    path = planted(tmp_path, "backprop", ("    return dx, dW, db", "    return dW, dx, db"))
    checks = {c.id: c for c in grade("backprop", path, seed=1).checks}
    assert checks["dense_backward.numeric"].code == "return-order", checks["dense_backward.numeric"].message
