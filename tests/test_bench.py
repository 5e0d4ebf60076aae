"""`dnn-tutor bench --json` on tiny sizes: both loops run, figures are present and sane."""

from __future__ import annotations

import json

import pytest

from tutor.cli import app

pytest.importorskip("torch")


def test_bench_json_tiny(runner):
    result = runner.invoke(app, ["bench", "--json", "--limit", "256", "--hidden", "16", "--epochs", "1",
                                 "--repeats", "2", "--batch-size", "64", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["device"] == "cpu" and data["n_train"] == 256 and data["batch_size"] == 64
    for loop in ("engine", "dataloader"):
        figures = data[loop]
        assert figures["seconds_per_epoch"] > 0 and figures["samples_per_s"] > 0
        assert len(figures["epoch_times"]) == 2
        assert 0.0 <= figures["test_acc"] <= 1.0
        assert figures["x_floor"] > 0
    assert data["speedup"] == pytest.approx(data["dataloader"]["seconds_per_epoch"] / data["engine"]["seconds_per_epoch"])
    assert data["floor"]["flops_per_epoch"] == 3 * 2 * (784 * 16 + 16 * 10) * 256
    assert data["floor"]["matmul_gflops"] > 0
    assert "digits" in data["data"] or "MNIST" in data["data"]


def test_bench_rejects_bad_sizes(runner):
    result = runner.invoke(app, ["bench", "--epochs", "0"])
    assert result.exit_code == 2
    assert "at least 1" in result.output
