"""Planted bugs in the lstm solution."""

from __future__ import annotations

import pytest

from test_grading_helpers import assert_diagnosis, grade, planted

pytestmark = pytest.mark.slow  # each test grades a file in a child process (about 2 s)

BUGS = [
    ("gate order i, f, o, g", [("    g = np.tanh(a[:, 2 * hidden:3 * hidden])\n    o = _sigmoid(a[:, 3 * hidden:])", "    o = _sigmoid(a[:, 2 * hidden:3 * hidden])\n    g = np.tanh(a[:, 3 * hidden:])")], "lstm_step_forward.values", "gate-order", ["i, f, g, o"]),
    ("bias averaged", [("    db = da.sum(axis=0)  # (4H,)", "    db = da.mean(axis=0)")], "lstm_step_backward.reference", "bias-averaged", ["averaged"]),
    ("tanh derivative on the c path missing", [("    dc_total = dc + dh * o * (1.0 - tc * tc)  # (N, H)", "    dc_total = dc + dh * o")], "lstm_step_backward.reference", "tanh-derivative", ["dh·o·(1 − tanh(c)²)"]),
    ("c path through h missing", [("    dc_total = dc + dh * o * (1.0 - tc * tc)  # (N, H)", "    dc_total = dc")], "lstm_step_backward.numeric", "backward-vs-forward", ["lstm_step_forward"]),
    ("dc_prev from dc only", [("    dc_prev = dc_total * f  # (N, H)", "    dc_prev = dc * f")], "lstm_step_backward.reference", "lstm-dc-through-h", ["dc_prev", "through h"]),
]


@pytest.mark.parametrize("name, replacements, check, code, fragments", BUGS, ids=[b[0] for b in BUGS])
def test_planted_bug_is_diagnosed(tmp_path, name, replacements, check, code, fragments):
    report = grade("lstm", planted(tmp_path, "lstm", *replacements), seed=7)
    assert_diagnosis(report, check, code, *fragments)
