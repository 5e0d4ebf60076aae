"""Planted bugs in the conv solution."""

from __future__ import annotations

import pytest

from test_grading_helpers import assert_diagnosis, grade, planted

pytestmark = pytest.mark.slow  # each test grades a file in a child process (about 2 s)

BUGS = [
    ("flipped kernel", [("out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b", "out[:, :, i, j] = np.tensordot(patch, w[:, :, ::-1, ::-1], axes=([1, 2, 3], [1, 2, 3])) + b")], "conv2d_forward.values", "kernel-flipped", ["flipped"]),
    ("bias averaged", [("    db = dout.sum(axis=(0, 2, 3))  # (F,)", "    db = dout.sum(axis=(2, 3)).mean(axis=0)")], "conv2d_backward.reference", "bias-averaged", ["averaged"]),
    ("padding ignored in the output size", [("    ho = (h + 2 * pad - kh) // stride + 1\n", "    ho = (h - kh) // stride + 1\n")], "conv2d_forward.values", "shape", ["expected shape (2, 4, 4, 3)"]),
    ("pool window assigned", [("            dx[:, :, rows, cols] += mask * dout[:, :, i, j][:, :, None, None]", "            dx[:, :, rows, cols] = mask * dout[:, :, i, j][:, :, None, None]")], "maxpool2d_backward.reference", "pool-overwrite", ["+="]),
    # the maximum alone assigned (dx[n, c, argmax] = g), as loops over n, c and argmax write it
    ("pool maximum assigned", [("            dx[:, :, rows, cols] += mask * dout[:, :, i, j][:, :, None, None]", "            dx[:, :, rows, cols] = np.where(mask, mask * dout[:, :, i, j][:, :, None, None], dx[:, :, rows, cols])")], "maxpool2d_backward.reference", "pool-overwrite", ["+="]),
    ("pool gradient spread", [("            dx[:, :, rows, cols] += mask * dout[:, :, i, j][:, :, None, None]", "            dx[:, :, rows, cols] += dout[:, :, i, j][:, :, None, None] / size**2")], "maxpool2d_backward.reference", "pool-average", ["maximum only"]),
]


@pytest.mark.parametrize("name, replacements, check, code, fragments", BUGS, ids=[b[0] for b in BUGS])
def test_planted_bug_is_diagnosed(tmp_path, name, replacements, check, code, fragments):
    report = grade("conv", planted(tmp_path, "conv", *replacements), seed=7)
    assert_diagnosis(report, check, code, *fragments)


def test_overlapping_windows_overwritten(tmp_path):
    path = planted(tmp_path, "conv", ("            dx[:, :, rows, cols] += mask * dout[:, :, i, j][:, :, None, None]", "            dx[:, :, rows, cols] = mask * dout[:, :, i, j][:, :, None, None]"))
    report = grade("conv", path, seed=7)
    by_id = {c.id: c for c in report.checks}
    assert not by_id["maxpool2d_backward.reference"].passed
    assert "size=3, stride=2" in by_id["maxpool2d_backward.reference"].message
    assert_diagnosis(report, "maxpool2d_backward.numeric", "backward-vs-forward", "finite differences")


def test_stride_ignored_in_the_backward_through_the_child(tmp_path):
    path = planted(tmp_path, "conv", ("            rows = slice(i * stride, i * stride + kh)\n            cols = slice(j * stride, j * stride + kw)",
                                      "            rows = slice(i, i + kh)\n            cols = slice(j, j + kw)"))
    report = grade("conv", path, seed=7)
    assert_diagnosis(report, "conv2d_backward.reference", "conv-stride-backward", "stride")
    assert {c.id: c for c in report.checks}["conv2d_forward.values"].passed
