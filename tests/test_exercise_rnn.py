"""Planted bugs in the rnn solution."""

from __future__ import annotations

import pytest

from test_grading_helpers import assert_diagnosis, grade, planted

pytestmark = pytest.mark.slow  # each test grades a file in a child process (about 2 s)

BUGS = [
    ("BPTT drops the carried gradient", [("rnn_step_backward(dh[:, step] + dnext, caches[step])", "rnn_step_backward(dh[:, step], caches[step])")], "rnn_backward.reference", "bptt-carry", ["next time step"]),
    ("dWh transposed", [("    dWh = h_prev.T @ da  # (H, H)", "    dWh = da.T @ h_prev")], "rnn_step_backward.reference", "transposed", ["dWh"]),
    ("bias averaged", [("    db = da.sum(axis=0)  # (H,)", "    db = da.mean(axis=0)")], "rnn_step_backward.reference", "bias-averaged", ["averaged"]),
    ("wrong tanh derivative", [("    da = dh * (1.0 - h * h)  # (N, H)", "    da = dh * (1.0 - h)")], "rnn_step_backward.numeric", "backward-vs-forward", ["rnn_step_forward"]),
]


@pytest.mark.parametrize("name, replacements, check, code, fragments", BUGS, ids=[b[0] for b in BUGS])
def test_planted_bug_is_diagnosed(tmp_path, name, replacements, check, code, fragments):
    report = grade("rnn", planted(tmp_path, "rnn", *replacements), seed=7)
    assert_diagnosis(report, check, code, *fragments)
