"""`dnn-tutor bench` on tiny sizes: every loop runs, figures are present, paired and sane."""

from __future__ import annotations

import json

import pytest

from tutor.cli import app

pytest.importorskip("torch")


@pytest.mark.slow
def test_bench_json_tiny(runner):
    result = runner.invoke(app, ["bench", "--json", "--limit", "256", "--hidden", "16", "--epochs", "1",
                                 "--repeats", "2", "--batch-size", "64", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["device"] == "cpu" and data["n_train"] == 256 and data["batch_size"] == 64
    for loop in ("engine", "dataloader"):
        figures = data[loop]
        assert figures["seconds_per_epoch"] > 0 and figures["samples_per_s"] > 0
        assert len(figures["epoch_times"]) == 2 and len(figures["repeat_seconds"]) == 2
        assert 0.0 <= figures["test_acc"] <= 1.0
        assert figures["x_floor"] > 0
        assert figures["precision"] == "fp32"
    # the speed-up is the median of the per-repeat (paired) ratios
    pairs = [d / e for d, e in zip(data["dataloader"]["repeat_seconds"], data["engine"]["repeat_seconds"])]
    assert data["paired_speedups"] == pytest.approx(pairs)
    assert data["speedup"] == pytest.approx(sum(pairs) / 2)
    assert data["speedup_of_medians"] == pytest.approx(
        data["dataloader"]["seconds_per_epoch"] / data["engine"]["seconds_per_epoch"])
    assert data["floor"]["flops_per_epoch"] == 3 * 2 * (784 * 16 + 16 * 10) * 256
    assert data["floor"]["matmul_gflops"] > 0 and data["floor"]["samples"] >= 10
    assert "digits" in data["data"] or "MNIST" in data["data"]
    assert set(data["load_average"]) == {"before", "after"}


def test_bench_rejects_bad_sizes(runner):
    result = runner.invoke(app, ["bench", "--epochs", "0"])
    assert result.exit_code == 2
    assert "--epochs" in result.output and "Traceback" not in result.output
    for bad in ("0", "-1", "two", "1.5"):
        result = runner.invoke(app, ["bench", "--threads", bad])
        assert result.exit_code == 2, bad
        assert "--threads" in result.output and "Traceback" not in result.output


def test_bench_threads_flag_reaches_the_loops(runner, monkeypatch):
    import tutor.training.bench as bench_mod

    seen = {}

    def fake_run_bench(device=None, data_dir=None, epochs=2, repeats=3, batch_size=128, limit=None, hidden=None,
                       seed=0, lr=1e-3, note=None, threads=None, precision="auto"):
        seen.update(threads=threads, precision=precision)
        return {"stub": True}

    monkeypatch.setattr(bench_mod, "run_bench", fake_run_bench)
    result = runner.invoke(app, ["bench", "--json", "--threads", "1", "--precision", "fp32", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert seen["threads"] == 1 and seen["precision"] == "fp32"
    runner.invoke(app, ["bench", "--json", "--device", "cpu"])
    assert seen["threads"] is None  # automatic


@pytest.mark.slow
def test_bench_threads_and_default_precision_beside_fp32():
    import torch

    from tutor.training.bench import run_bench

    before = torch.get_num_threads()
    data = run_bench(device="cpu", epochs=1, repeats=2, batch_size=64, limit=128, hidden="8", threads=1,
                     precision="bf16")
    assert data["threads"] == 1 and torch.get_num_threads() == before
    assert data["precision"]["default"] == "bf16"
    default = data["engine_default"]
    assert default["precision"] == "bf16" and "bf16" in default["label"]
    assert len(default["epoch_times"]) == 2 and 0.0 <= default["test_acc"] <= 1.0
    assert data["speedup_default"] == pytest.approx(
        sorted(data["paired_speedups_default"])[0] / 2 + sorted(data["paired_speedups_default"])[1] / 2)
    assert data["engine"]["precision"] == data["dataloader"]["precision"] == "fp32"
    plain = run_bench(device="cpu", epochs=1, repeats=1, batch_size=64, limit=128, hidden="8", threads=1,
                      precision="fp32")
    assert plain["engine_default"] is None and plain["speedup_default"] == plain["speedup"]
    # On the CPU in fp32 the MLP's backward is written out: said once, not in the loops' names
    assert data["written_out_backward"] is True and plain["written_out_backward"] is True
    assert "written" not in data["engine"]["label"] + default["label"]


def test_bench_bad_threads_and_precision():
    from tutor.errors import TutorError
    from tutor.training.bench import run_bench

    with pytest.raises(TutorError, match="at least 1"):
        run_bench(device="cpu", limit=64, hidden="4", threads=-1)
    with pytest.raises(TutorError, match="unknown precision"):
        run_bench(device="cpu", limit=64, hidden="4", precision="fp8")


def test_matmul_floor_uses_the_median():
    import torch

    from tutor.training.bench import MatmulFloor

    floor = MatmulFloor(torch.nn.Linear(32, 16), 8, torch.device("cpu"))
    floor.samples = [1.0, 1.0, 100.0]  # one stall must not move the floor
    assert floor.rate == pytest.approx(floor.flops / 1.0)
    assert floor.flops == 2 * 8 * 32 * 16
    floor.samples = []
    assert floor.rate == 0.0
    floor.sample(3)
    assert len(floor.samples) == 3 and floor.rate > 0


def _bench_script(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """benchmarks/bench_engine.py run as a script in this process (torch is already loaded here)."""
    import runpy
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_engine.py"
    monkeypatch.setattr(sys, "argv", [str(script), *args])
    monkeypatch.setattr(sys, "path", list(sys.path))
    code = 0
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_bench_script_prints_figures(monkeypatch, capsys):
    code, out, err = _bench_script(monkeypatch, capsys, "--limit", "128", "--hidden", "8", "--epochs", "1", "--repeats", "1",
                                   "--batch-size", "64", "--threads", "1", "--device", "cpu", "--precision", "fp32")
    assert code == 0, err
    assert "threads=1" in out and "s/epoch" in out and "load average" in out
    assert "engine/DataLoader fp32" in out
    code, out, err = _bench_script(monkeypatch, capsys, "--threads", "-2")
    assert code == 2 and "error: --threads must be at least 1" in err
