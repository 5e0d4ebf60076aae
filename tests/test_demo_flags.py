"""The named demo flags (--task, --length, --backbone) reach the demo's config, and only where they apply."""

from __future__ import annotations

import json

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
