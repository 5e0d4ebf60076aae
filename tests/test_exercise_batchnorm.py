"""Planted bugs in the batchnorm solution."""

from __future__ import annotations

import pytest

from test_grading_helpers import assert_diagnosis, grade, planted

pytestmark = pytest.mark.slow  # each test grades a file in a child process (about 2 s)

BUGS = [
    ("unbiased variance", [("        var = x.var(axis=0)  # (D,) biased: divides by N", "        var = x.var(axis=0, ddof=1)")], "batchnorm_forward.values", "biased-var", ["N − 1"]),
    ("running var unbiased", [('state["running_var"] = momentum * running_var + (1.0 - momentum) * var', 'state["running_var"] = momentum * running_var + (1.0 - momentum) * x.var(axis=0, ddof=1)')], "batchnorm_forward.running", "biased-var", ["running_var"]),
    ("momentum swapped", [('state["running_mean"] = momentum * running_mean + (1.0 - momentum) * mean', 'state["running_mean"] = (1.0 - momentum) * running_mean + momentum * mean')], "batchnorm_forward.running", "momentum-swapped", ["momentum"]),
    ("dx ignores mean and var", [("    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))  # (N, D)", "    dx = dx_hat * inv_std")], "batchnorm_backward.reference", "bn-dx-partial", ["constants"]),
    ("test mode uses batch stats", [("        x_hat = (x - running_mean) / np.sqrt(running_var + eps)  # (N, D)", "        x_hat = (x - x.mean(0)) / np.sqrt(x.var(0) + eps)")], "batchnorm_forward.eval", "eval-batch-stats", ["running"]),
    ("test mode updates state too", [("        cache = None", '        cache = None\n        state["running_mean"] = momentum * running_mean + (1.0 - momentum) * x.mean(axis=0)\n'
                                                            '        state["running_var"] = momentum * running_var + (1.0 - momentum) * x.var(axis=0)')],
     "batchnorm_forward.eval_state", "bn-eval-updates-state", ["train=False", "running_mean", "if train:"]),
    ("dbeta averaged", [("    dbeta = dout.sum(axis=0)  # (D,)", "    dbeta = dout.mean(axis=0)")], "batchnorm_backward.reference", "bias-averaged", ["dbeta"]),
]


@pytest.mark.parametrize("name, replacements, check, code, fragments", BUGS, ids=[b[0] for b in BUGS])
def test_planted_bug_is_diagnosed(tmp_path, name, replacements, check, code, fragments):
    report = grade("batchnorm", planted(tmp_path, "batchnorm", *replacements), seed=7)
    assert_diagnosis(report, check, code, *fragments)
