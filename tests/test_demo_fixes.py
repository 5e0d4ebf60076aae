"""A new learner's walkthrough of the demos: the held-out set named as the course names it, precision
said in words, a line while PyTorch loads, an honest clock, pictures that survive a small or dumb
terminal, a journal whose settings are never cut unseen, and lessons named by number."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

import pytest

from terminal_helpers import exit_code, screen_lines, thirty_epochs
from tutor.cli import app

pytest.importorskip("torch")

QUICK_XOR = ["demo", "xor", "--quick", "--epochs", "2", "--device", "cpu"]


def _words(text: str) -> str:
    return " ".join(text.split())


# -- 1. validation or test: the course's words --------------------------------------------------


def test_a_held_out_set_that_chooses_nothing_is_a_test_set():
    from tutor.training.protocol import EarlyStopping, Trainee
    from tutor.training.session import held_out_name

    assert held_out_name(object(), {}) == "test"
    assert held_out_name([Trainee(object(), "a"), Trainee(object(), "b")], {}) == "test"
    assert held_out_name(object(), {"early_stopping": EarlyStopping(5, "val_loss")}) == "val"
    assert held_out_name([Trainee(object(), "a"), Trainee(object(), "b", early_stopping=EarlyStopping(3))], {}) == "val"
    # stopping on the training loss, or switched off for the only model, chooses nothing with the held-out set
    assert held_out_name(object(), {"early_stopping": EarlyStopping(5, "train_loss")}) == "test"
    assert held_out_name([Trainee(object(), early_stopping=False)], {"early_stopping": EarlyStopping()}) == "test"


def test_xor_names_its_held_out_set_test_in_every_line(runner):
    """`epoch 30/30 … val loss 0.0182` then `result: test acc 100.0%  test loss 0.0182`: one set, two names."""
    result = runner.invoke(app, QUICK_XOR)
    assert result.exit_code == 0, result.output
    epochs = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 2 and all("test loss" in line for line in epochs), epochs
    assert "val " not in result.stdout
    assert "result: test acc" in result.stdout and "150 test points" in result.stdout


def test_overfitting_keeps_validation_for_the_set_its_early_stopping_watches(runner):
    result = runner.invoke(app, ["demo", "overfitting", "--quick", "--device", "cpu", "--epochs", "2", "--set", "n_val=40",
                                 "--set", "hidden=8"])
    assert result.exit_code == 0, result.output
    epochs = [line for line in result.stdout.splitlines() if re.match(r"\S+: epoch ", line)]
    assert epochs and all("val loss" in line and "test" not in line for line in epochs), epochs
    assert "test" not in result.stdout.split("epoch", 1)[1]  # nowhere after the header: it is the validation set


@pytest.mark.parametrize("demo, sets, header", [
    ("optimizers", ["epochs=1", "hidden=8"], "test acc (eval)"),
    ("rnn", ["length=4", "n_train=40", "n_val=20", "epochs=1", "hidden=4"], "test acc"),
])
def test_demos_that_only_score_their_held_out_set_call_it_test(runner, demo, sets, header):
    args = ["demo", demo, "--quick", "--device", "cpu"] + [arg for item in sets for arg in ("--set", item)]
    result = runner.invoke(app, args + ["--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.splitlines()[-1])
    assert header in [column for column, _ in summary["table"]["columns"]]
    assert not any(column.startswith("val") for column, _ in summary["table"]["columns"])
    if demo == "optimizers":  # the JSON keys stay what they were
        assert all("final_val_acc" in row for row in summary["metrics"]["optimizers"].values())
        assert "test images" in " ".join(summary["notes"]) and "validation" not in " ".join(summary["notes"])


def _view_lines(reporter, cols: int, rows: int) -> list[str]:
    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, width=cols, height=rows, color_system="truecolor")
    reporter.console = console
    rendered = console.render_lines(reporter.final_view(), console.options, pad=False)
    return ["".join(s.text for s in line).rstrip() for line in rendered]


def _xor_reporter(cols: int = 60, rows: int = 24, held: str | None = "test", printed: int = 0):
    """A LiveReporter after a one-model fit with a boundary (xor's view), as the session drives it."""
    import numpy as np
    from rich.console import Console

    from tutor.render.live import LiveReporter
    from tutor.training.protocol import Boundary, FitInfo

    rng = np.random.default_rng(0)
    boundary = Boundary(rng.normal(size=(50, 2)), rng.integers(0, 2, 50), extent=(-1.3, 1.3, -1.3, 1.3))
    reporter = LiveReporter()
    reporter.console = Console(file=io.StringIO(), force_terminal=True, width=cols, height=rows, color_system="truecolor")
    reporter.header = {"demo": "xor", "title": "XOR with a 2-6-4-1 network"}
    reporter.printed = printed
    if held:
        reporter.held_out(held)
    reporter.fit_start(FitInfo("", ["model"], "binary", 30, 32, 450, 150, True, boundary, {"model": "adam"}))

    thirty_epochs(reporter, rng)
    reporter.fit_end([])
    reporter.live = None  # only the frames are looked at here
    return reporter


def test_the_live_table_and_charts_use_the_sessions_word():
    lines = _view_lines(_xor_reporter(80, 30), 80, 30)
    text = "\n".join(lines)
    assert "test loss" in text and "test acc" in text and "── test" in text
    assert "val" not in text
    default = "\n".join(_view_lines(_xor_reporter(80, 30, held=None), 80, 30))
    assert "val loss" in default  # a reporter told nothing keeps the engine's word


# -- 2. precision in words -----------------------------------------------------------------------


@pytest.fixture
def no_native_bf16(monkeypatch):
    from tutor.training import precision

    monkeypatch.setattr(precision, "native_bf16", lambda device: False)


def test_bf16_without_hardware_says_it_is_emulated_and_slower(runner, no_native_bf16):
    result = runner.invoke(app, QUICK_XOR + ["--precision", "bf16"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if line.startswith("precision:"))
    assert "bf16" in line and "emulated" in line and "slower" in line, line
    json_run = runner.invoke(app, QUICK_XOR + ["--precision", "bf16", "--json"])
    assert json_run.exit_code == 0 and "emulated" in json_run.stderr and "emulated" not in json_run.stdout


def test_auto_precision_says_what_it_picked(runner, no_native_bf16):
    result = runner.invoke(app, QUICK_XOR + ["--precision", "auto"])
    assert result.exit_code == 0, result.output
    assert "precision: auto → fp32 (cpu has no bf16 in hardware)" in result.stdout


def test_auto_on_bf16_hardware_says_when_a_net_is_too_small_for_it(runner, monkeypatch):
    from tutor.training import precision

    monkeypatch.setattr(precision, "native_bf16", lambda device: True)
    result = runner.invoke(app, QUICK_XOR + ["--precision", "auto", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["precision"] == "fp32"  # xor's net is far too small for bf16 to pay
    assert any(note.startswith("precision auto → fp32 for this net") for note in summary["notes"]), summary["notes"]


@pytest.mark.parametrize("command", ["demo", "playground"])
def test_help_says_the_default_precision_and_it_is_true(runner, command):
    from tutor.training.session import DEFAULT_PRECISION

    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert f"(default: {DEFAULT_PRECISION})" in _words(result.stdout)
    if command == "demo":
        run = runner.invoke(app, QUICK_XOR + ["--json"])
        assert json.loads(run.stdout.splitlines()[-1])["precision"] == DEFAULT_PRECISION


def test_history_lists_a_precision_only_where_it_differs_from_the_default(runner):
    from tutor.store import Store

    with Store() as store:
        for precision in ("fp32", "auto", "bf16"):
            store.record_demo_run("mnist-mlp", {"epochs": 3, "limit": 2000, "precision": precision}, {"test_acc": 0.96},
                                  "cpu", 2.0)
    result = runner.invoke(app, ["demo", "--history"])
    assert result.exit_code == 0, result.output
    assert "precision=auto" in result.stdout and "precision=bf16" in result.stdout
    assert "precision=fp32" not in result.stdout


# -- 3. a line while PyTorch loads; an honest clock ------------------------------------------------


@pytest.mark.slow
def test_the_guard_tells_its_notice_when_pytorch_starts_and_ends_loading(tmp_path):
    # torchvision after torch: quick, and no notice (a display may be up by then). A stand-in module of that name
    # goes through the same guard without the second of start-up a real one costs.
    (tmp_path / "torchvision.py").write_text("import torch\nLOADED = True\n")
    probe = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from tutor import import_guard\n"
        "calls = []\n"
        "import_guard.install(notice=lambda name: (calls.append(['start', name]), lambda: calls.append(['end']))[1])\n"
        "import torch\n"
        "import torchvision\n"
        "assert torchvision.LOADED\n"
        "print(json.dumps(calls))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [["start", "torch"], ["end"]]


def _spawn(args: list[str], cols: int = 60, rows: int = 24, env: dict | None = None) -> tuple[str, int]:
    pexpect = pytest.importorskip("pexpect")
    environment = {**os.environ, "COLUMNS": str(cols), "LINES": str(rows), "TERM": "xterm-256color", **(env or {})}
    environment.pop("NO_COLOR", None)
    child = pexpect.spawn(sys.executable, ["-m", "tutor", *args], env=environment, dimensions=(rows, cols),
                          encoding="utf-8", timeout=240)
    chunks = []
    while True:
        try:
            chunks.append(child.read_nonblocking(65536, timeout=240))
        except pexpect.EOF:
            break
    return "".join(chunks), exit_code(child)


@pytest.mark.slow
def test_a_terminal_sees_loading_pytorch_until_it_has_loaded(tutor_home):
    output, code = _spawn(["demo", "xor", "--quick", "--device", "cpu"], 60, 24)
    assert code == 0, output[-2000:]
    notice = output.index("loading PyTorch…")
    erased = output.index("\r" + " " * (len("loading PyTorch…") + 4) + "\r", notice)  # and room for an echoed ^C or two
    assert erased < output.index("XOR with a 2-6-4-1 network")  # gone before the header comes
    # the same run (a PyTorch start-up spared each): the last screen at 60x24 ...
    _assert_last_screen_shows_the_title_and_boundary(output, 60)
    # ... and all it left to scroll back through: one live view, whole numbers, and one clock
    lines = screen_lines(output, 60)
    text = "\n".join(lines)
    assert sum("━" in line and "%" in line for line in lines) == 1  # one progress bar: one live view
    assert "decision boundary" in text and "▀" in text
    assert "…" not in text  # no number cut short (and the loading line is gone)
    table = next(i for i, line in enumerate(lines) if line.lstrip().startswith("epoch") and "train" in line)
    assert "30/30" in "\n".join(lines[table:table + 5])
    progress = next(line for line in lines if "━" in line)
    shown = _seconds(re.search(r"100%\s+(\S+ \S+)", progress).group(1))
    done = _seconds(re.search(r"done in (\S+ \S+)", text).group(1))
    assert abs(shown - done) <= 0.15 + 0.05 * done, (progress, done)  # the same clock
    assert all(len(line) <= 60 for line in lines)
    lessons, code = _spawn(["lessons"])
    assert code == 0 and "loading" not in lessons  # a command that never imports torch says nothing


def test_the_footer_counts_the_start_up_too(runner):
    from tutor.render.training import render_footer
    from tutor.training.flow import DemoRequest, run_demo_flow
    from tutor.training.session import DemoOutcome

    outcome = DemoOutcome("xor", "XOR", {}, {"test_acc": 1.0}, "cpu", "cpu", "asked", 5.3, 450, 1e4)
    outcome.wall_seconds = 11.6
    assert render_footer(outcome).plain.startswith("done in 5.3 s (11.6 s with start-up) on cpu")
    outcome.wall_seconds = None  # where the process's start cannot be read: the run's own time only
    assert render_footer(outcome).plain.startswith("done in 5.3 s on cpu")
    if sys.platform.startswith("linux"):
        ran = run_demo_flow(DemoRequest("xor", {"--epochs": "1"}, quick=True, device="cpu", record=False))
        assert ran.wall_seconds is not None and ran.wall_seconds >= ran.seconds


# -- 4. pictures in a small or a dumb terminal ----------------------------------------------------


@pytest.mark.slow
def test_plain_output_says_how_to_see_the_pictures(runner, tmp_path):
    result = runner.invoke(app, QUICK_XOR)
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().splitlines()[-1] == "see the curves and the boundary: add --save-plot FILE.png"
    saved = runner.invoke(app, QUICK_XOR + ["--save-plot", str(tmp_path / "xor.png")])
    assert saved.exit_code == 0 and "--save-plot FILE.png" not in saved.stdout  # the picture is saved already
    as_json = runner.invoke(app, QUICK_XOR + ["--json"])
    assert "--save-plot" not in as_json.stdout


@pytest.mark.parametrize("cols", [60, 80])
def test_the_last_frame_leaves_the_footer_room_and_repeats_the_title(cols):
    """At 60x24 the last screen of `demo xor` began mid-legend: the title and the boundary had scrolled away."""
    from tutor.render.live import FOOTER_ROOM

    frame = _view_lines(_xor_reporter(cols, 24, printed=6), cols, 24)
    assert len(frame) + FOOTER_ROOM <= 24, "\n".join(frame)
    assert frame[0] == "xor  XOR with a 2-6-4-1 network"
    assert any("boundary" in line for line in frame) and any("pale: unsure" in line for line in frame)
    assert any(line.lstrip().startswith("loss") or " loss " in line for line in frame)
    assert any("accuracy" in line for line in frame)
    assert all(len(line) <= cols for line in frame)
    tall = _view_lines(_xor_reporter(cols, 60, printed=6), cols, 60)
    assert tall[0] != "xor  XOR with a 2-6-4-1 network"  # the header is still on screen: said once


@pytest.mark.slow
def test_the_last_screen_of_xor_shows_its_title_and_boundary(tutor_home):
    """At 80x24 here; at 60x24 in test_a_terminal_sees_loading_pytorch_until_it_has_loaded."""
    output, code = _spawn(["demo", "xor", "--quick", "--device", "cpu"], 80, 24)
    assert code == 0, output[-2000:]
    _assert_last_screen_shows_the_title_and_boundary(output, 80)


def _seconds(text: str) -> float:
    value, unit = re.match(r"([\d.]+) (ms|s|min)", text).groups()
    return float(value) * {"ms": 1e-3, "s": 1.0, "min": 60.0}[unit]


def _assert_last_screen_shows_the_title_and_boundary(output: str, cols: int) -> None:
    lines = screen_lines(output, cols, 24)  # the learner's terminal: what scrolled away is gone
    text = "\n".join(lines)
    assert "xor  XOR with a 2-6-4-1 network" in text, text
    assert "boundary" in text and "▀" in text and "accuracy" in text and "done in" in text, text


# -- 5 and 6. the journal at 60 columns; lessons by number ---------------------------------------


def test_history_at_60_columns_cuts_no_setting_unseen(runner, monkeypatch):
    from tutor.store import Store

    with Store() as store:
        for precision in ("auto", "bf16"):
            store.record_demo_run("mnist-mlp", {"epochs": 3, "limit": 2000, "precision": precision}, {"test_acc": 0.96},
                                  "cpu", 2.0)
    monkeypatch.setenv("COLUMNS", "60")
    result = runner.invoke(app, ["demo", "--history"])
    assert result.exit_code == 0, result.output
    assert all(len(line) <= 60 for line in result.stdout.splitlines())
    for setting in ("epochs=3", "limit=2000", "precision=auto", "precision=bf16"):
        assert setting in result.stdout, result.stdout
    with Store() as store:  # the overfitting demo's settings: "hidden=256\n,256" and "patience=1\n5" were folded
        store.record_demo_run("overfitting", {"n_val": 500, "hidden": [256, 256], "epochs": 80, "patience": 15},
                              {"best_val_acc": 0.866}, "cpu", 2.7)
    words = runner.invoke(app, ["demo", "--history"]).stdout.split()
    assert {"hidden=256,256", "patience=15", "n_val=500"} <= set(words), words


@pytest.mark.parametrize("cols", [60, 80])
def test_demos_names_each_lesson_by_its_number(runner, monkeypatch, cols):
    from tutor.lessons import load_course

    monkeypatch.setenv("COLUMNS", str(cols))
    result = runner.invoke(app, ["demos"])
    assert result.exit_code == 0, result.output
    first = load_course().find("deep-networks")
    assert re.search(rf"^xor  lesson {first.number}\b", result.stdout, re.M), result.stdout
    assert "lesson deep-networks" not in result.stdout
    assert all(len(line) <= cols for line in result.stdout.splitlines())
    if cols == 80:
        assert f"lesson {first.number} ({first.title})" in result.stdout
