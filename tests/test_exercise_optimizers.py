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


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", ["sgd_momentum", "rmsprop", "adam"])
def test_reference_trajectory_equals_torch_optim(name, seed):
    """The grader's reference writes torch.optim's update rules out (to keep the compiler stack out
    of every check); pin them to torch.optim itself for random settings and shapes."""
    import numpy as np

    from tutor.grading.specs.optimizers import _torch_trajectory, torch_optim_trajectory

    rng = np.random.default_rng(seed)
    hyper = {
        "lr": float(rng.uniform(1e-3, 0.2)),
        "momentum": float(rng.uniform(0.1, 0.99)),
        "alpha": float(rng.uniform(0.8, 0.999)),
        "eps": float(10 ** rng.uniform(-8, -4)),
        "beta1": float(rng.uniform(0.5, 0.95)),
        "beta2": float(rng.uniform(0.9, 0.9999)),
    }
    shape = (3, 4) if seed % 2 else (6,)
    w0 = rng.normal(size=shape)
    grads = [rng.normal(size=shape) for _ in range(30)]
    ours = _torch_trajectory(name, w0, grads, hyper)
    theirs = torch_optim_trajectory(name, w0, grads, hyper)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"{name} step {step + 1}")
