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


@pytest.mark.parametrize("columns", [60, 80, 100, 120])
def test_a_check_report_never_breaks_a_check_title_into_scraps(monkeypatch, tmp_path, columns):
    """With a diagnosis code in the result column, an 80-column table left the check column ten
    characters wide ("vs finite / differenc… / of your / forward"): such widths get the list instead."""
    from test_grading_helpers import planted

    monkeypatch.setenv("COLUMNS", str(columns))
    path = planted(tmp_path, "backprop", ("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"))
    result = CliRunner().invoke(app, ["check", str(path), "--seed", "3"])
    assert result.exit_code == 1, result.output
    assert "backward-vs-forward" in result.output
    lines = result.output.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= columns
    assert any("vs finite differences of your" in line for line in lines)
    assert "differenc…" not in result.output


def test_lesson_tables_at_60_columns_keep_every_word_whole(monkeypatch):
    """A cell's words fold only when a single word is wider than the page ("binary/multi-la / bel" was cut
    inside a word although the table had room for it)."""
    import re
    from pathlib import Path

    monkeypatch.setenv("COLUMNS", "60")
    lessons = sorted((Path(__file__).resolve().parents[1] / "lessons").glob("[0-9]*.md"))
    assert lessons
    for number, path in enumerate(lessons, start=1):
        words = set()
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("|") and not re.fullmatch(r"[|\s:-]+", line):
                for cell in line.strip("|").split("|"):
                    words.update(w for w in re.sub(r"[`*]", "", cell).split() if len(w) <= 20)
        if not words:
            continue
        result = CliRunner().invoke(app, ["lesson", str(number), "--plain"])
        assert result.exit_code == 0, result.output
        shown = set(result.output.split())
        missing = sorted(w for w in words if w not in shown and not any(w in s for s in shown))
        assert not missing, f"lesson {number}: words broken at 60 columns: {missing[:8]}"


def test_an_absurd_columns_value_is_capped(monkeypatch):
    """COLUMNS=99999999 made every line be laid out (and padded) at that width: minutes and megabytes."""
    from tutor.console import MAX_COLUMNS

    monkeypatch.setenv("COLUMNS", "99999999")
    result = CliRunner().invoke(app, ["lesson", "2", "--plain", "--section", "1"])
    assert result.exit_code == 0, result.output
    assert len(result.output) < 100_000
    assert max(len(line) for line in result.output.splitlines()) <= MAX_COLUMNS


def test_an_error_in_a_narrow_terminal_is_wrapped_between_words(tmp_path):
    """At 60 columns the terminal cut "dropout" into "dropo" / "ut": in a terminal the line is now wrapped
    at its width between words (in a pipe or a file it stays one line, as other tests check)."""
    import os
    import sys

    import pexpect

    env = dict(os.environ, COLUMNS="60", LINES="24", TERM="xterm", NO_COLOR="1", DNN_TUTOR_HOME=str(tmp_path / "home"))
    child = pexpect.spawn(sys.executable, ["-m", "tutor", "hint", "nosuch"], env=env, dimensions=(24, 60),
                          encoding="utf-8", timeout=30)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    import re

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before).replace("\r", "")
    lines = [line for line in text.split("\n") if line.strip()]
    assert lines[0].startswith("error: unknown exercise 'nosuch'") and len(lines) > 1
    assert all(len(line) <= 60 for line in lines), lines
    words = " ".join(lines).replace(",", " ").split()
    for exercise in ("backprop", "dropout", "batchnorm", "optimizers", "conv", "rnn", "lstm", "transfer"):
        assert exercise in words, (exercise, lines)


@pytest.mark.parametrize("env, expected", [({"LINES": "2"}, {"width": 60, "height": 24}),
                                           ({"COLUMNS": "3"}, {"width": 60, "height": 24}),
                                           ({"LINES": "2", "COLUMNS": "70"}, {"width": 70, "height": 24})])
def test_a_dumb_terminal_with_one_size_variable_too_small_keeps_its_real_other_size(monkeypatch, env, expected):
    """TERM=dumb and LINES=2 (ignored) laid a 60-column terminal out 80 wide: rich's default there."""
    from tutor import console

    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setattr(console, "_terminal_size", lambda stream: (60, 24))
    size = console._size(None)
    assert size.get("width", int(env.get("COLUMNS", 0))) == expected["width"] and size["height"] == expected["height"]
