"""Tables that a learner reads in a 60-column terminal show ids, paths and statuses whole."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tutor.cli import app
from tutor.store import Store


@pytest.mark.parametrize("columns", ["60", "80"])
def test_exercise_table_is_not_cut_at_narrow_widths(monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    with Store() as store:
        store.record_attempt("optimizers", "abc", 12, 15)
    result = CliRunner().invoke(app, ["exercises"])
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    for text in ("optimizers", "exercises/batchnorm.py", "12 of 15 checks", "not started", "lesson"):
        assert text in result.output
    assert max(len(line.rstrip()) for line in result.output.splitlines()) <= int(columns)


@pytest.mark.parametrize("command", [["progress"], ["lessons"], ["demos"]])
def test_other_tables_fit_60_columns_without_cutting_words(monkeypatch, command):
    monkeypatch.setenv("COLUMNS", "60")
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    assert max(len(line.rstrip()) for line in result.output.splitlines()) <= 60
