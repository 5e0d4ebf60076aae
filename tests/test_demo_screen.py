"""What a learner sees of a demo on a real terminal (pexpect + the pyte terminal emulator), and the tables
at 60 and 80 columns: one live view, numbers never cut, times that agree, a compact journal."""

from __future__ import annotations

import json
import os
import re
import sys

import pytest

from terminal_helpers import exit_code, screen_lines, thirty_epochs
from tutor.cli import app

pytest.importorskip("torch")


def screen_of(args: list[str], cols: int, rows: int, env: dict | None = None, timeout: int = 240) -> list[str]:
    """Run ``dnn-tutor ARGS`` in a ``cols`` x ``rows`` terminal; return every line it left on screen.

    The emulated screen is much taller than the terminal the program is told about, so nothing
    scrolls away: the lines are what the learner can scroll back through.
    """
    pexpect = pytest.importorskip("pexpect")
    pytest.importorskip("pyte")  # before a run whose screen could not be read
    environment = {**os.environ, "COLUMNS": str(cols), "LINES": str(rows), "TERM": "xterm-256color", **(env or {})}
    environment.pop("NO_COLOR", None)
    child = pexpect.spawn(sys.executable, ["-m", "tutor", *args], env=environment, dimensions=(rows, cols),
                          encoding="utf-8", timeout=timeout)
    chunks = []
    while True:
        try:
            chunks.append(child.read_nonblocking(65536, timeout=timeout))
        except pexpect.EOF:
            break
    code = exit_code(child)
    output = "".join(chunks)
    assert code == 0, output[-3000:]
    return screen_lines(output, cols)


@pytest.mark.slow
def test_transfer_prints_one_view_and_one_table_at_80x24(tmp_path):
    lines = screen_of(["demo", "transfer", "--quick", "--device", "cpu", "--set", "labels=5,10", "--set", "repeats=1",
                       "--set", "steps=10"], 80, 24, {"DNN_TUTOR_HOME": str(tmp_path)})
    text = "\n".join(lines)
    assert len([line for line in lines if line.strip()]) <= 45, text
    assert sum("━" in line and "%" in line for line in lines) == 1
    assert text.count("test accuracy on digits 5-9 by label budget and method") == 1
    rows = [line.split() for line in lines if re.match(r"\s*(5|10)\s+\d+\.\d%", line)]
    assert [r[0] for r in rows] == ["5", "10"] and all(len(r) == 6 and r[-1] == "pts" for r in rows)
    assert "—" not in text  # no column that is always empty


@pytest.mark.slow
def test_transfer_plain_output_is_short(runner):
    result = runner.invoke(app, ["demo", "transfer", "--quick", "--device", "cpu", "--set", "labels=5,10,20",
                                 "--set", "repeats=3", "--set", "steps=10"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) <= 30, result.stdout  # 9 trainings: one line each, then one table
    assert sum(line.startswith("fit ") for line in lines) == 9
    assert "labels per class" in result.stdout


def test_result_table_keeps_numbers_whole_at_60_columns():
    from rich.console import Console

    from tutor.render.training import render_result_table

    spec = {"title": "the train-validation gap", "caption": "eval mode",
            "columns": [["cure", "text"], ["train acc", "pct"], ["val acc", "pct"], ["gap", "points"],
                        ["train loss", "loss"], ["val loss", "loss"], ["epochs", "int"]],
            "rows": [["early-stop", 1.0, 0.8123, 18.77, 0.00123, 1.2345, 200], ["batchnorm", 0.99, 0.85, 14.0, 0.1, 0.9, 80]]}
    for width in (60, 80):
        console = Console(width=width, record=True, file=open(os.devnull, "w"))
        console.print(render_result_table(spec, width))
        out = console.export_text()
        assert "…" not in out
        for number in ("100.0%", "81.2%", "+18.8 pts", "0.0012", "1.2345", "200"):
            assert number in out, (width, out)
        assert max(len(line) for line in out.splitlines()) <= width


def test_result_table_keeps_row_names_whole_at_60_columns():
    """The overfitting table at 60 columns once folded its names into 'dropo' / 'ut', 'early' / '-stop'."""
    from rich.console import Console

    from tutor.render.training import render_result_table

    spec = {"title": "the gap", "caption": "",
            "columns": [["cure", "text"], ["train acc", "pct"], ["val acc", "pct"], ["gap", "points"],
                        ["train loss", "loss"], ["val loss", "loss"], ["epochs", "int"]],
            "rows": [[name, 0.94, 0.822, 11.8, 0.1323, 0.579, 80] for name in ("none", "dropout", "early-stop", "batchnorm")]}
    console = Console(width=60, record=True, file=open(os.devnull, "w"))
    console.print(render_result_table(spec, 60))
    lines = console.export_text().splitlines()
    for name in ("dropout", "early-stop", "batchnorm"):
        assert any(line.startswith(name + " ") and "+11.8 pts" in line for line in lines), (name, lines)
    assert max(len(line.rstrip()) for line in lines) <= 60


def test_history_is_one_line_per_run_within_80_columns(runner, monkeypatch):
    from tutor.store import Store

    with Store() as store:
        for i in range(3):
            store.record_demo_run("playground", {"dataset": "moons", "layers": [32, 32, 16], "epochs": 150 + i,
                                                 "lr": 0.03, "noise": 0.3, "activation": "relu", "seed": 0},
                                  {"test_acc": 0.9 + i / 100, "test_loss": 0.2}, "cpu", 12.5)
        store.record_demo_run("rnn", {"task": "sine"}, {"simple_rnn_loss": 0.01}, "cpu", 3.0)
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, ["demo", "--history"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    runs = [line for line in lines if re.match(r"\d\d-\d\d \d\d:\d\d", line)]
    assert len(runs) == 4
    assert "92.0%" in runs[1] or "92.0%" in runs[0]
    assert any("dataset=moons" in line for line in runs)  # what differs from the defaults is shown, in Config order
    rows = json.loads(runner.invoke(app, ["demo", "--history", "--json", "--limit", "2"]).stdout)
    assert len(rows) == 2


def test_optimizer_table_says_not_reached_in_words():
    from tutor.render.training import fmt_cell

    assert fmt_cell("not in 30", "text") == "not in 30"
    assert fmt_cell(None, "pct") == "—" and fmt_cell(float("nan"), "loss") == "—"
    assert fmt_cell(0.5, "pct") == "50.0%" and fmt_cell(-3.25, "points") == "-3.2 pts"


def test_heat_map_legend_is_a_drawn_scale():
    from tutor.render.rasters import SHADES, render_heatmaps

    group = {"title": "maps", "low": "weak", "high": "strong", "width": 4,
             "panels": [{"title": "a", "values": [[0, 1], [2, 3]]}]}
    text = render_heatmaps(group, 60).plain
    assert "weak [ ][░][▒][▓][█] strong" in text  # the glyphs themselves, whatever the background
    assert all(glyph in SHADES for glyph in "".join(text.splitlines()[-2:]))


@pytest.mark.slow
def test_ctrl_z_then_sigterm_during_the_live_view_restore_the_cursor_and_journal_nothing(tutor_home):
    """Run from a shell with job control, as a learner runs it: Ctrl-Z stops the view with the cursor
    shown for the shell's prompt, `fg` draws it again and training goes on; SIGTERM then ends it cleanly."""
    pexpect = pytest.importorskip("pexpect")
    import signal

    env = {**os.environ, "TERM": "xterm-256color", "PS1": "shell$ "}
    # codec_errors: Ctrl-Z can stop the view in the middle of a character's bytes, as a terminal shows with a box
    shell = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env=env, dimensions=(30, 80), encoding="utf-8",
                          codec_errors="replace", timeout=180)
    try:
        shell.expect_exact("shell$ ")
        shell.sendline(f"{sys.executable} -m tutor demo spiral --device cpu")
        shell.expect(r"epoch \d+/2000")
        shell.send("\x1a")
        shell.expect("Stopped")
        shown = shell.before
        assert shown.rfind("\x1b[?25h") > shown.rfind("\x1b[?25l"), "stopped with the cursor hidden"
        shell.expect_exact("shell$ ")
        shell.sendline("fg")
        shell.expect_exact("\x1b[?25l")  # the view is drawn again (below the shell's lines) and goes on
        shell.expect(r"epoch \d+/2000")
        demo = int(open(f"/proc/{shell.pid}/task/{shell.pid}/children").read().split()[0])
        os.kill(demo, signal.SIGTERM)
        shell.expect_exact("shell$ ")
        out = shell.before
        assert out.rfind("\x1b[?25h") > out.rfind("\x1b[?25l")  # the cursor is shown again
        assert "Traceback" not in out
        assert "stopped by SIGTERM" in out  # the same one line as every other command
        shell.sendline("echo demo-ended-$?")
        shell.expect("demo-ended-143")
    finally:
        shell.sendline("exit")
        shell.close(force=True)
    from tutor.store import Store

    with Store() as store:
        assert store.demo_runs() == []


def test_pictures_are_ascii_when_the_output_cannot_take_unicode(monkeypatch):
    """PYTHONIOENCODING=ascii once turned the boundary and the curves into walls of '?'."""
    import numpy as np

    from tutor import console
    from tutor.render import rasters
    from tutor.training.protocol import Boundary

    grid = np.zeros((8, 16, 2))  # (rows, cols, classes)
    grid[:, :8, 0], grid[:, 8:, 1] = 0.9, 0.9
    grid[:, :8, 1], grid[:, 8:, 0] = 0.1, 0.1
    board = Boundary(x=np.array([[-0.5, 0.0], [0.5, 0.0]]), y=np.array([0, 1]), extent=(-1, 1, -1, 1))
    monkeypatch.setattr(console, "encodes_unicode", lambda stream=None: False)
    pictures = [rasters.render_boundary(grid, board, color=True).plain,
                rasters.render_chart([("train", [1.0, 0.5, 0.2]), ("val", [1.1, 0.7, 0.4])], 20, 5, title="loss",
                                     color=True, log=True).plain,
                rasters.sparkline([1.0, 0.1, 0.01], 0.01, 1.0, 10)]
    for picture in pictures:  # what an ASCII stream receives (axes and rules have stand-ins of their own)
        assert "?" not in console.to_ascii(picture), picture
    assert "." in pictures[0] and "+" in pictures[0] and "o" in pictures[0] and "x" in pictures[0]
    assert "**" in pictures[1] and "oo" in pictures[1]
    monkeypatch.setattr(console, "encodes_unicode", lambda stream=None: True)
    assert "▀" in rasters.render_boundary(grid, board, color=True).plain  # UTF-8 keeps the half blocks


def _xor_view_lines(cols: int, rows: int) -> tuple[list[str], list[str]]:
    """A one-model fit with a decision boundary (xor's view) after its last epoch in a ``cols`` x ``rows``
    terminal: the lines of the live frame and of the final frame that stays on screen."""
    import io

    import numpy as np
    from rich.console import Console

    from tutor.render.live import LiveReporter
    from tutor.training.protocol import Boundary, FitInfo

    rng = np.random.default_rng(0)
    boundary = Boundary(rng.normal(size=(50, 2)), rng.integers(0, 2, 50), extent=(-1.3, 1.3, -1.3, 1.3))
    reporter = LiveReporter()
    console = Console(file=io.StringIO(), force_terminal=True, width=cols, height=rows, color_system="truecolor")
    reporter.console = console
    reporter.fit_start(FitInfo("", ["model"], "binary", 30, 32, 450, 150, True, boundary, {"model": "adam"}))

    thirty_epochs(reporter, rng)
    reporter.live = None  # only the frames are looked at here

    def lines(final: bool) -> list[str]:
        rendered = console.render_lines(reporter._view(final), console.options, pad=False)
        return ["".join(s.text for s in line).rstrip() for line in rendered]

    return lines(False), lines(True)


@pytest.mark.parametrize("cols", [60, 80])
def test_xor_view_names_its_map_and_keeps_the_accuracy_chart_in_the_last_frame(cols):
    """At 60x24 the map was headed `model` (the title did not fit 16 columns) and the last frame had no accuracy chart."""
    live, final = _xor_view_lines(cols, 24)
    assert len(live) <= 24  # while training the view fits the terminal
    for frame in (live, final):
        assert any(line.startswith(("decision boundary", "boundary")) for line in frame), frame
        assert not any(line.strip() == "model" for line in frame)
    assert any("accuracy" in line for line in final), "\n".join(final)
    assert all(len(line) <= cols for line in final)


@pytest.mark.slow
@pytest.mark.parametrize("cols", [60, 80])
def test_xor_in_a_dumb_terminal_prints_each_epoch_on_one_line(tmp_path, cols):
    """With TERM=dumb at 80 columns every epoch line was 83 characters: the speed wrapped alone onto the next line."""
    lines = screen_of(["demo", "xor", "--quick", "--epochs", "5", "--device", "cpu"], cols, 24,
                      {"DNN_TUTOR_HOME": str(tmp_path), "TERM": "dumb"})
    epochs = [i for i, line in enumerate(lines) if line.startswith("epoch ")]
    assert len(epochs) == 5, "\n".join(lines)
    for i in epochs:
        assert "train loss" in lines[i] and "test loss" in lines[i] and lines[i + 1].startswith(("epoch ", "done ")), lines[i:i + 2]
    assert "(running, train mode)" not in "\n".join(lines)
