"""The demo commands end to end: every demo in --quick mode, JSON, plain output, PNG, journal, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tutor.cli import app
from tutor.demos import registry

pytest.importorskip("torch")

FLOORS = {"xor": 0.9, "spiral": 0.8, "mnist-mlp": 0.8, "playground": 0.85}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Never touch the network: MNIST falls back to the bundled digits."""
    from tutor.training import data

    monkeypatch.setattr(data, "network_available", lambda *a, **k: False)


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.mark.slow
@pytest.mark.parametrize("demo_id", ["xor", "spiral", "mnist-mlp", "playground"])
def test_each_demo_quick_json(runner, demo_id):
    result = runner.invoke(app, ["demo", demo_id, "--quick", "--json", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    objects = json_lines(result.stdout)
    epochs = [o for o in objects if o["type"] == "epoch"]
    summary = objects[-1]
    assert summary["type"] == "summary" and summary["demo"] == demo_id
    assert len(epochs) == summary["config"]["epochs"] or demo_id == "mnist-mlp"
    for key in ("epoch", "epochs", "train_loss", "train_acc", "val_loss", "val_acc", "seconds", "samples_per_s"):
        assert key in epochs[-1]
    assert epochs[-1]["last"] is True
    assert summary["device"] == "cpu" and summary["device_reason"] == "requested by --device"
    assert summary["metrics"]["test_acc"] >= FLOORS[demo_id]
    assert summary["seconds"] > 0 and summary["samples_per_s"] > 0
    assert summary["journal_id"] >= 1


@pytest.mark.slow
def test_mnist_quick_on_shared_split(runner, mnist_dir):
    result = runner.invoke(app, ["demo", "mnist-mlp", "--quick", "--json", "--data-dir", str(mnist_dir)])
    assert result.exit_code == 0, result.output
    summary = json_lines(result.stdout)[-1]
    assert summary["metrics"]["data"] == "mnist-split"
    assert summary["metrics"]["test_acc"] >= 0.85
    assert any("8,000 train / 2,000 test" in n for n in summary["notes"])


@pytest.mark.slow
def test_mnist_offline_fallback_says_so(runner):
    result = runner.invoke(app, ["demo", "mnist-mlp", "--quick"])
    assert result.exit_code == 0, result.output
    assert "8x8 digits" in result.output and "upsampled" in result.output


@pytest.mark.slow
def test_plain_output_one_line_per_epoch_no_escapes(runner):
    result = runner.invoke(app, ["demo", "xor", "--quick", "--epochs", "12"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    lines = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == [f"{i:>2}/12".strip() for i in range(1, 13)]
    from tutor.device import pick_device

    assert f"device: {pick_device().label} (" in result.stdout  # the automatic choice: cpu here, cuda on a GPU
    assert "samples/s" in result.stdout and "done in" in result.stdout


@pytest.mark.slow
def test_plain_output_is_throttled_for_long_runs(runner):
    result = runner.invoke(app, ["demo", "spiral", "--quick", "--epochs", "500"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert 10 <= len(lines) <= 52
    assert lines[-1].startswith("epoch 500/500")


@pytest.mark.slow
def test_save_plot_writes_a_png(runner, tmp_path):
    target = tmp_path / "xor.png"
    result = runner.invoke(app, ["demo", "xor", "--quick", "--save-plot", str(target), "--json"])
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert target.stat().st_size > 20_000
    assert json_lines(result.stdout)[-1]["plot"] == str(target)


def test_save_plot_bad_suffix(runner, tmp_path):
    result = runner.invoke(app, ["demo", "xor", "--quick", "--save-plot", str(tmp_path / "x.jpg")])
    assert result.exit_code == 2
    assert "must end in .png" in result.output


@pytest.mark.slow
def test_history_shows_journal_rows(runner):
    assert runner.invoke(app, ["demo", "xor", "--quick", "--device", "cpu"]).exit_code == 0
    assert runner.invoke(app, ["playground", "--quick", "--dataset", "moons", "--layers", "4"]).exit_code == 0
    result = runner.invoke(app, ["demo", "--history"])
    assert result.exit_code == 0
    assert "xor" in result.output and "playground" in result.output and "moons" in result.output
    rows = json.loads(runner.invoke(app, ["demo", "--history", "--json"]).stdout)
    assert [r["demo_id"] for r in rows] == ["playground", "xor"]
    assert rows[1]["device"] == "cpu" and rows[1]["config"]["epochs"] == 30
    assert rows[1]["metrics"]["test_acc"] > 0.5
    only = json.loads(runner.invoke(app, ["demo", "xor", "--history", "--json"]).stdout)
    assert [r["demo_id"] for r in only] == ["xor"]


def test_unknown_demo_suggests(runner):
    result = runner.invoke(app, ["demo", "spirl"])
    assert result.exit_code == 2
    assert "did you mean 'spiral'" in result.output
    assert "xor, mnist-mlp, playground, spiral" in result.output


@pytest.mark.slow
def test_cuda_without_gpu_is_exit_2(runner):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = runner.invoke(app, ["demo", "xor", "--quick", "--device", "cuda"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "cuda" in result.output


@pytest.mark.slow
def test_set_overrides_and_validation(runner):
    result = runner.invoke(app, ["demo", "xor", "--quick", "--json", "--set", "hidden=8", "--set", "noise=0"])
    assert result.exit_code == 0, result.output
    config = json_lines(result.stdout)[-1]["config"]
    assert config["hidden"] == [8] and config["noise"] == 0.0
    bad = runner.invoke(app, ["demo", "xor", "--set", "hiden=3"])
    assert bad.exit_code == 2 and "did you mean hidden" in bad.output
    bad = runner.invoke(app, ["demo", "xor", "--data-dir", "."])
    assert bad.exit_code == 2 and "--data-dir does not apply to the xor demo" in bad.output
    bad = runner.invoke(app, ["playground", "--dataset", "donut", "--quick"])
    assert bad.exit_code == 2 and "--dataset: expected one of xor, spiral, circle, moons or gaussian" in bad.output


def test_demos_list_and_registry(runner):
    result = runner.invoke(app, ["demos"])
    assert result.exit_code == 0
    for info in registry.all_demos():
        assert info.id in result.output
        assert registry.load(info).Config  # every registered module exists and has a Config
    listed = json.loads(runner.invoke(app, ["demos", "--json"]).stdout)
    assert {d["id"] for d in listed} >= {"xor", "spiral", "mnist-mlp", "playground"}


@pytest.mark.slow
@pytest.mark.parametrize("args", [["demos"], ["--help"], ["demo", "--help"]])
def test_listing_and_help_do_not_import_torch(args):
    code = (
        "import sys\n"
        "from tutor.cli import app\n"
        f"try:\n    app({args!r})\nexcept SystemExit:\n    pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "NO-TORCH", out.stdout + out.stderr


def test_boundary_renders_monochrome_without_color(monkeypatch):
    import numpy as np

    from tutor.render.rasters import render_boundary, render_chart
    from tutor.training.engine import Boundary

    monkeypatch.setenv("NO_COLOR", "1")
    grid = np.zeros((6, 10, 2), np.float32)
    grid[:, :5, 0] = 1.0  # left half class 0
    grid[:, 5:, 1] = 1.0  # right half class 1
    boundary = Boundary(np.array([[-0.9, 0.0], [0.9, 0.0]], np.float32), np.array([0, 1]), extent=(-1, 1, -1, 1))
    text = render_boundary(grid, boundary).plain
    lines = text.splitlines()
    assert len(lines) == 6
    assert lines[0].startswith("·····") and lines[0].endswith("▒▒▒▒▒")
    assert "o" in text and "x" in text
    chart = render_chart([("train", [1.0, 0.5, 0.25]), ("val", [1.2, 0.7, 0.5])], 20, 4, title="loss").plain
    assert "╌╌ val" in chart and any("\u2800" < ch <= "\u28ff" for ch in chart)


@pytest.mark.slow
def test_live_view_renders_in_a_terminal():
    import io

    from rich.console import Console

    from tutor.demos import registry as reg
    from tutor.device import pick_device
    from tutor.render.live import LiveReporter
    from tutor.training.session import build_config, run_demo

    buffer = io.StringIO()
    reporter = LiveReporter()
    reporter.console = Console(file=buffer, force_terminal=True, width=120, color_system="truecolor")
    module = reg.load(reg.get("xor"))
    outcome = run_demo("xor", "XOR", module, build_config(module, quick=True), pick_device("cpu"), reporter)
    out = buffer.getvalue()
    import re

    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    assert outcome.metrics["test_acc"] > 0.8
    assert "device: cpu" in plain and "decision boundary" in plain and "▀" in plain
    assert "epoch 30/30" in plain and "train loss" in plain and "accuracy" in plain
    assert "\x1b[" in out  # colours and cursor movement: this is the terminal path
    assert reporter.live is None  # the Live display was stopped


@pytest.mark.slow
def test_the_demo_flow_is_one_function_without_the_cli(tmp_path):
    """configure -> run -> plot -> journal, called directly (what the command does after parsing)."""
    from tutor.store import Store
    from tutor.training.flow import DemoRequest, run_demo_flow

    outcome = run_demo_flow(DemoRequest("xor", {"--epochs": "3", "--seed": "7"}, ["hidden=4"], quick=True,
                                        device="cpu", save_plot=tmp_path / "x.png"))
    assert outcome.config["epochs"] == 3 and outcome.config["seed"] == 7 and outcome.config["hidden"] == [4]
    assert len(outcome.results[0].history) == 3
    assert outcome.plot_path.read_bytes()[:4] == b"\x89PNG"
    with Store() as store:
        runs = store.demo_runs()
    assert [r.id for r in runs] == [outcome.journal_id]
    unrecorded = run_demo_flow(DemoRequest("xor", {"--epochs": "1"}, quick=True, device="cpu", record=False))
    assert unrecorded.journal_id is None


@pytest.mark.slow
def test_auto_epochs_are_shown_as_auto_and_journaled_as_run(runner):
    result = runner.invoke(app, ["demo", "mnist-mlp", "--set", "limit=200", "--set", "epochs=auto", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "epochs=auto" in result.stdout and "epochs=0" not in result.stdout
    assert "epoch 20/20" in result.stdout
    rows = json.loads(runner.invoke(app, ["demo", "--history", "--json"]).stdout)
    assert rows[0]["config"]["epochs"] == 20


@pytest.mark.slow
def test_precision_reaches_the_engine_and_the_journal(runner, monkeypatch):
    import functools

    from tutor.training import engine

    seen = []
    original = engine.fit

    @functools.wraps(original)
    def spy(*args, **kwargs):
        seen.append(kwargs.get("precision"))
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, "fit", spy)
    result = runner.invoke(app, ["demo", "xor", "--quick", "--epochs", "1", "--precision", "bf16", "--json", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert seen == ["bf16"]
    assert json_lines(result.stdout)[-1]["config"]["precision"] == "bf16"
    result = runner.invoke(app, ["demo", "xor", "--quick", "--epochs", "1", "--json", "--device", "cpu"])
    assert seen == ["bf16", None]  # not given: the engine's own default


@pytest.mark.parametrize("cols, rows", [(80, 24), (76, 24), (100, 30), (120, 40)])
def test_live_view_with_five_models_and_boundaries_fits_the_terminal(cols, rows):
    """The overfitting demo's view (five models, two boundaries beside the charts): every line fits, and no
    chart row wraps off its axis (the boundaries' key line is wider than the pictures and was not counted)."""
    import io
    import math

    import numpy as np
    from rich.cells import cell_len
    from rich.console import Console

    from tutor.render.live import LiveReporter
    from tutor.training.protocol import Boundary, EpochRecord, FitInfo

    names = ["none", "dropout", "l2", "early-stop", "batchnorm"]
    rng = np.random.default_rng(0)
    boundary = Boundary(rng.normal(size=(100, 2)), rng.integers(0, 2, 100), extent=(-3.0, 3.0, -3.0, 3.0))
    reporter = LiveReporter()
    reporter.console = Console(file=io.StringIO(), force_terminal=True, width=cols, height=rows, color_system="truecolor")
    reporter.plan(5)
    reporter.fit_start(FitInfo("five copies of one net, one cure each", names, "classify", 200, 32, 100, 500, True,
                               boundary, {n: "adam" for n in names}))

    class View:
        def boundary_grid(self, w, h):
            probs = rng.random((h, w, 1))  # (rows, cols, 1)
            return np.concatenate([probs, 1 - probs], axis=-1)  # (rows, cols, 2)

    for epoch in range(1, 26):
        for i, name in enumerate(names):
            loss = 0.7 * math.exp(-epoch / (20 + 5 * i)) + 0.01 * epoch * (i == 0) + 1e-4
            reporter.epoch_end(EpochRecord(name, epoch, 200, loss, 0.9, loss * 1.3, 0.85, 1e-3, 0.03, 8000.0), View())
    reporter.close()
    console = Console(file=io.StringIO(), force_terminal=True, width=cols, height=rows, color_system="truecolor")
    reporter.console = console
    lines = ["".join(s.text for s in line) for line in console.render_lines(reporter._view(), console.options, pad=False)]
    assert any("boundary · none" in line for line in lines) and any("loss (val)" in line for line in lines)
    assert all(cell_len(line) <= cols for line in lines)
    assert not any("…" in line for line in lines)  # no axis cut short
    for line in lines:
        if any("\u2801" <= ch <= "\u28ff" for ch in line):  # a row of a chart: it sits on its axis
            assert "┤" in line or "│" in line, f"a chart row wrapped off its axis at {cols} columns:\n" + "\n".join(lines)
