"""Planted bugs in the optimizers solution (graded against torch.optim)."""

from __future__ import annotations

import pytest

from test_grading_helpers import assert_diagnosis, grade, planted

pytestmark = pytest.mark.slow  # each test grades a file in a child process (about 2 s)

BUGS = [
    ("dampened momentum", [("momentum * velocity + dw", "momentum * velocity + (1 - momentum) * dw")], "sgd_momentum.steps", "momentum-dampened", ["step 2"]),
    ("velocity not kept", [('    state["velocity"] = velocity\n', "")], "sgd_momentum.steps", "state-not-kept", ["state"]),
    ("eps inside the root", [("    return w - lr * dw / (np.sqrt(square) + eps)", "    return w - lr * dw / np.sqrt(square + eps)")], "rmsprop.steps", "eps-placement", ["sqrt"]),
    ("no bias correction", [("    m_hat = m / (1.0 - beta1**t)\n    v_hat = v / (1.0 - beta2**t)", "    m_hat = m\n    v_hat = v")], "adam.steps", "bias-correction", ["step 1"]),
    ("step count frozen", [('    t = state.get("t", 0) + 1', "    t = 1")], "adam.steps", "step-count", ["step 2"]),
]


@pytest.mark.parametrize("name, replacements, check, code, fragments", BUGS, ids=[b[0] for b in BUGS])
def test_planted_bug_is_diagnosed(tmp_path, name, replacements, check, code, fragments):
    report = grade("optimizers", planted(tmp_path, "optimizers", *replacements), seed=7)
    assert_diagnosis(report, check, code, *fragments)


def test_first_step_right_but_state_lost(tmp_path):
    report = grade("optimizers", planted(tmp_path, "optimizers", ('    state["velocity"] = velocity\n', "")), seed=3)
    by_id = {c.id: c for c in report.checks}
    assert by_id["sgd_momentum.first"].passed
    assert not by_id["sgd_momentum.steps"].passed
    assert by_id["adam.first"].passed and by_id["adam.steps"].passed
