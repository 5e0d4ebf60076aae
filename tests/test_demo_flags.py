"""The named demo flags (--task, --length, --backbone) reach the demo's config, and only where they apply."""

from __future__ import annotations

import json
import re

import pytest

from tutor.cli import app


def _summary(output: str) -> dict:
    lines = [json.loads(l) for l in output.splitlines() if l.startswith("{")]
    return lines[-1]


@pytest.mark.slow
def test_length_and_task_reach_the_rnn_demo(runner):
    result = runner.invoke(app, ["demo", "rnn", "--quick", "--json", "--length", "12", "--task", "recall", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    summary = _summary(result.stdout)
    assert summary["config"]["length"] == 12
    assert summary["config"]["task"] == "recall"


def test_a_flag_for_another_demo_is_a_one_line_error(runner):
    result = runner.invoke(app, ["demo", "xor", "--quick", "--task", "sine"])
    assert result.exit_code == 2
    assert "--task does not apply to the xor demo" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = runner.invoke(app, ["demo", "rnn", "--quick", "--backbone", "resnet18"])
    assert result.exit_code == 2
    assert "it is for transfer" in result.output


def test_history_shows_journal_text_as_text_not_markup(tmp_path, monkeypatch):
    """A journal row whose settings hold rich markup (an old or imported row) is shown as it is;
    it used to break every later `demo --history` with a markup error."""
    from typer.testing import CliRunner

    from tutor.cli import app
    from tutor.store import Store

    with Store() as store:
        store.record_demo_run("xor", {"optimizer": "[/red]", "lr": 0.5}, {"test_acc": 1.0}, "cpu", 1.0)
        store.record_demo_run("xor", {"optimizer": "adam", "lr": 0.1}, {"test_acc": 0.9}, "cpu", 1.0)
    result = CliRunner().invoke(app, ["demo", "--history"])
    assert result.exit_code == 0, result.output
    assert "[/red]" in result.output


@pytest.mark.parametrize("how", ["flag", "set"])
def test_a_data_folder_typed_with_a_tilde_reaches_the_demo_expanded(tmp_path, monkeypatch, how):
    """`--data-dir "~/mnist"` (quoted, so the shell leaves ~ alone) and `--set data_dir=~/mnist` alike."""
    from tutor.training.flow import DemoRequest, prepare_demo

    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "mnist").mkdir()
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):  # a set is there (names are all it looks at)
        (tmp_path / "mnist" / name).touch()
    request = (DemoRequest("cnn", {"--data-dir": "~/mnist"}, quick=True) if how == "flag"
               else DemoRequest("cnn", {}, ["data_dir=~/mnist"], quick=True))
    prepared = prepare_demo(request)
    assert str(prepared.config.data_dir) == str(tmp_path / "mnist")


@pytest.mark.parametrize("files, said", [
    ((), "no MNIST IDX files in"),
    (("t10k-images-idx3-ubyte",), "is here but its partner t10k-labels-idx1-ubyte[.gz] is not"),
])
def test_a_data_folder_without_a_whole_set_is_refused_before_anything_loads(tmp_path, files, said):
    """Said in the checks before PyTorch is imported: the learner no longer waits seconds for it."""
    from tutor.errors import TutorError
    from tutor.training.flow import DemoRequest, prepare_demo

    for name in files:
        (tmp_path / name).touch()
    with pytest.raises(TutorError, match=re.escape(said)):
        prepare_demo(DemoRequest("mnist-mlp", {"--data-dir": str(tmp_path)}, quick=True))
