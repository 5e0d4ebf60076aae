"""The words and lines of a demo's plain output: epoch lines that fit the terminal, a results line
without jargon, and settings that say what they mean."""

from __future__ import annotations

import io

import pytest

from tutor.render.training import epoch_line, fmt_loss, render_footer, render_header
from tutor.training.protocol import EpochRecord
from tutor.training.session import DemoOutcome


def record(model="model", epoch=22, epochs=30, acc=1.0, val_acc=1.0, val_loss=0.0245, stopped=False):
    return EpochRecord(model, epoch, epochs, 0.0124, acc, val_loss, val_acc, 1e-2, 0.025, 18300.0, stopped=stopped)


RECORDS = [  # (record, named): xor, spiral's default 2000 epochs, optimizers' longest name, an early stop, transfer
    (record(), False), (record(epoch=1999, epochs=2000, acc=0.5), False), (record("adam-hi+cos", 10, 10), True),
    (record("early-stop", 34, 80, 0.89, 0.864, stopped=True), True), (record("finetune", 15, 15, 1.0, None, None), True),
]


@pytest.mark.parametrize("width", [60, 80])
def test_an_epoch_line_fits_the_terminal_and_keeps_its_losses(width):
    """With TERM=dumb at 80 columns xor's 83-character lines put the speed alone on the next line."""
    for r, named in RECORDS:
        line = epoch_line(r, named, width)
        assert len(line) <= width, (width, line)
        assert fmt_loss(r.train_loss) in line and (r.val_loss is None or fmt_loss(r.val_loss) in line), line
        assert not r.stopped or "stop" in line
    assert epoch_line(record(), False, 80) == "epoch 22/30  train loss 0.0124 acc 100.0%  val loss 0.0245 acc 100.0%  25 ms"
    assert epoch_line(record(), False) == epoch_line(record(), False, 200)  # piped: the whole line
    assert "18.3k/s" in epoch_line(record(), False)
    # Fields are measured at their widest: 50.0% and 100.0% lines of one run lose the same ones.
    assert epoch_line(record(acc=0.5, val_acc=0.5), False, 60).count("acc") == epoch_line(record(), False, 60).count("acc")


def test_a_dumb_terminal_gets_epoch_lines_that_fit_it(monkeypatch):
    from rich.console import Console

    from tutor import console
    from tutor.render.live import PlainReporter
    from tutor.training.protocol import FitInfo

    screen = Console(file=io.StringIO(), force_terminal=True, width=60, color_system=None)
    monkeypatch.setattr(console, "stdout_console", lambda: screen)
    reporter = PlainReporter()
    reporter.fit_start(FitInfo("", ["model"], "binary", 30, 32, 450, 150, True, None, {"model": "adam"}))
    for epoch in (1, 2, 30):
        reporter.epoch_end(record(epoch=epoch), None)
    lines = screen.file.getvalue().splitlines()
    assert len(lines) == 3 and all(line.startswith("epoch") and "val loss" in line for line in lines), lines


def _outcome(metrics: dict) -> DemoOutcome:
    return DemoOutcome("playground", "Your own 2-D dataset and network", {}, metrics, "cpu", "cpu", "asked", 1.0, 450, 1e4)


def test_the_result_says_once_in_words_how_the_train_figures_were_measured():
    """`train acc 98.0% (running, train mode)  train loss 0.0551 (running, train mode)`: jargon, twice on one line."""
    text = render_footer(_outcome({"test_acc": 0.94, "test_loss": 0.13, "train_acc": 0.98, "train_loss": 0.0551})).plain
    assert "running" not in text and "train mode" not in text
    assert "result: test acc 94.0%  test loss 0.1300  train acc 98.0%  train loss 0.0551" in text
    assert text.count("train figures: averaged over the last epoch while training") == 1
    assert "train figures" not in render_footer(_outcome({"test_acc": 0.94})).plain  # nothing to explain


def test_a_full_batch_is_shown_as_full_batch_not_batch_size_0(runner):
    """spiral's settings line read `batch_size=0`, which looks like a bug."""
    from tutor.cli import app
    from tutor.render.figures import _settings_line
    from tutor.render.training import setting_item
    from tutor.store import Store

    header = {"demo": "spiral", "title": "Two spirals", "device_label": "cpu", "device_reason": "asked",
              "config": {"lr": 0.5, "batch_size": 0, "seed": 0}}
    shown = render_header(header).plain
    assert "lr=0.5  full batch  seed=0" in shown and "batch_size=0" not in shown
    assert setting_item("batch_size", 32) == "batch_size=32"
    assert "full batch" in _settings_line({"batch_size": 0}) and "batch_size=0" not in _settings_line({"batch_size": 0})
    with Store() as store:
        for batch_size in (0, 32):
            store.record_demo_run("spiral", {"lr": 0.5, "batch_size": batch_size}, {"test_acc": 0.9}, "cpu", 1.0)
    result = runner.invoke(app, ["demo", "--history"])
    assert result.exit_code == 0, result.output
    # spiral's own full batch is its default: not listed (only settings that differ from the defaults are)
    assert "(defaults)" in result.stdout and "batch_size=32" in result.stdout and "batch_size=0" not in result.stdout


def test_the_summary_and_the_footer_say_what_auto_precision_chose():
    """`--precision auto` was journaled as "auto": nobody could tell whether the run took bf16 or fp32."""
    from types import SimpleNamespace

    outcome = _outcome({"test_acc": 0.94})
    outcome.train_seconds = 0.5
    assert outcome.summary()["precision"] is None  # no fit, nothing to say
    outcome.results = [SimpleNamespace(precision="fp32")]
    assert outcome.summary()["precision"] == "fp32"
    assert " in fp32" not in render_footer(outcome).plain  # the usual case goes unsaid
    outcome.results = [SimpleNamespace(precision="bf16"), SimpleNamespace(precision="fp32")]
    assert outcome.summary()["precision"] == "bf16, fp32"
    assert "samples/s in bf16, fp32)" in render_footer(outcome).plain


def test_a_demo_summary_names_the_precision_it_ran_in(runner):
    import json

    from tutor.cli import app

    result = runner.invoke(app, ["demo", "xor", "--quick", "--device", "cpu", "--precision", "fp32", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads([line for line in result.output.splitlines() if '"summary"' in line][-1])
    assert summary["precision"] == "fp32" and summary["config"]["precision"] == "fp32"


def _bench_result(default: str, engine_label: str = "engine, adam fused, fp32") -> dict:
    def figures(label, seconds, precision):
        return {"label": label, "precision": precision, "seconds_per_epoch": seconds, "samples_per_s": 8000 / seconds,
                "x_floor": seconds / 0.25, "test_acc": 0.943}

    result = {"model": "mnist-mlp", "data": "MNIST", "device": "cpu", "batch_size": 128, "epochs": 2, "repeats": 3,
              "threads": 1, "engine": figures(engine_label, 0.336, "fp32"),
              "dataloader": figures("DataLoader loop, adam default, fp32", 0.463, "fp32"), "engine_default": None,
              "speedup": 1.40, "speedup_default": 1.40,
              "precision": {"default": default, "reason": f"auto: cpu {'computes bf16 in hardware' if default == 'bf16' else 'has no bf16 in hardware'}"},
              "floor": {"flops_per_epoch": 27.19e9, "matmul_gflops": 107.7, "seconds_per_epoch": 0.252}}
    if default == "bf16":
        result["engine_default"] = figures("engine, adam fused, bf16", 0.264, "bf16")
        result["speedup_default"] = 1.75
    return result


def test_bench_shows_the_default_precision_beside_the_fp32_comparison():
    """On a CPU with native bf16 the JSON had the bf16 row and its speed-up; the table showed neither."""
    from rich.console import Console

    def shown(result):
        screen = Console(file=io.StringIO(), width=100, color_system=None)
        from tutor.render.training import render_bench

        screen.print(render_bench(result))
        return " ".join(screen.file.getvalue().split())  # words, whatever the wrapping

    text = shown(_bench_result("bf16"))
    assert "engine, adam fused, bf16" in text and "0.264" in text
    assert "engine in bf16 / DataLoader in fp32: 1.75x faster (auto: cpu computes bf16 in hardware)" in text
    plain = shown(_bench_result("fp32"))
    assert "bf16" not in plain.replace("has no bf16 in hardware", "") and "engine / DataLoader: 1.40x faster" in plain
    assert "CUDA graph" not in plain
    assert "each step one replayed CUDA graph" in shown(_bench_result("fp32", "engine, adam fused, CUDA graph, fp32"))
    assert "written out" not in plain
    written = shown(dict(_bench_result("bf16"), written_out_backward=True))
    assert "in fp32 the backward is written out layer by layer instead of autograd's graph (the bf16 row uses autograd)" in written
    assert "x floor: the row's time over the arithmetic floor of its precision" in written


def test_bench_table_keeps_each_loop_on_one_line_at_80_columns():
    """At 80 columns "DataLoader loop, adam default, fp32" wrapped onto two lines (the accuracy column's
    header was 15 characters wide), and "threads" was parted from its number."""
    from rich.console import Console

    from tutor.render.training import render_bench

    screen = Console(file=io.StringIO(), width=80, color_system=None)
    screen.print(render_bench(_bench_result("bf16")))
    lines = screen.file.getvalue().splitlines()
    for label in ("engine, adam fused, fp32", "DataLoader loop, adam default, fp32", "engine, adam fused, bf16"):
        row = next(line for line in lines if label in line)
        assert row.rstrip().endswith("94.3%"), row  # the whole row on one line
    assert any(line.rstrip().endswith("threads 1") for line in lines), lines[:3]
    assert any(line.startswith("test acc: the mean over the repeats") for line in lines)


def test_the_journal_shows_each_demos_headline_result():
    """The optimizers run showed "constant val 91.1%" (the losing run's accuracy, first in the
    stored metrics) as its result; the schedule's is the point of the demo."""
    from types import SimpleNamespace

    from rich.console import Console

    from tutor.render.training import render_history

    def run(i, demo, metrics):
        return SimpleNamespace(id=i, at="2026-12-01T00:00:00", demo_id=demo, metrics=metrics, seconds=2.0,
                               settings={}, config={})

    runs = [run(1, "optimizers", {"constant_val_acc": 0.911, "schedule_val_acc": 0.967, "fastest": "momentum"}),
            run(2, "rnn", {"simple_rnn_acc": 0.28, "lstm_acc": 1.0, "gru_acc": 0.91}),
            run(3, "xor", {"test_acc": 1.0})]
    screen = Console(file=io.StringIO(), width=100, color_system=None)
    screen.print(render_history(runs))
    text = screen.file.getvalue()
    assert "schedule val 96.7%" in text and "constant" not in text
    assert "lstm 100.0%" in text and "simple rnn" not in text
    assert "test 100.0%" in text
