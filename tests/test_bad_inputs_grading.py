"""Bad input to check, hint, init, reset and exercises: one line on stderr, exit 2 (bad argument) or 1 (OS error)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from test_grading_helpers import SOLUTIONS
from tutor.cli import app

LONG = "a" * 300


def _setup(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    (work / "exercises").mkdir(parents=True)
    (work / "exercises" / "backprop.py").write_text((SOLUTIONS / "backprop.py").read_text())
    for name in ("backprop (1).py", "backprop-2.py", "backprop_v2.py", "LSTM (2).PY", "notes.py", "my_backprop.py", "compare_rnn_lstm.py"):
        (work / name).write_text((SOLUTIONS / "backprop.py").read_text())
    (work / "a-folder").mkdir()
    (work / "plain-file").write_text("x\n")
    os.mkfifo(work / "fifo.py")
    os.symlink(tmp_path / "outside", work / "linked")
    (tmp_path / "outside").mkdir()
    return work


# (arguments, expected exit code, a fragment of the one error line)
CASES = [
    (["check", "exercises/backprop.py", "--timeout", "inf"], 2, "--timeout"),
    (["check", "exercises/backprop.py", "--timeout", "nan"], 2, "--timeout"),
    (["check", "exercises/backprop.py", "--timeout", "-1"], 2, "--timeout"),
    (["check", "exercises/backprop.py", "--timeout", "0"], 2, "--timeout"),
    (["check", "exercises/backprop.py", "--timeout", "1e300"], 2, "--timeout"),
    (["check", "exercises/backprop.py", "--seed", "-5"], 2, "--seed"),
    (["check", "exercises/backprop.py", "--seed", str(2**70)], 2, "--seed"),
    (["check", "exercises/nothing-here.py", "--exercise", "backprop"], 2, "no such file"),
    (["check", "foo"], 2, "no such file: foo"),  # before "cannot tell which exercise foo is"
    (["check", "a-folder", "--exercise", "backprop"], 2, "is a folder"),
    # a near miss of an exercise's file name (a browser's second download, a copy) suggests the id, as grade does
    (["check", "backprop (1).py"], 2, "cannot tell which exercise backprop (1).py is: the file name is not an exercise id "
                                      "(did you mean --exercise backprop?)"),
    (["check", "backprop-2.py"], 2, "(did you mean --exercise backprop?)"),
    (["check", "backprop_v2.py"], 2, "(did you mean --exercise backprop?)"),
    (["check", "LSTM (2).PY"], 2, "(did you mean --exercise lstm?)"),
    (["check", "notes.py"], 2, "pass --exercise with one of: backprop, dropout"),
    (["check", "my_backprop.py"], 2, "(did you mean --exercise backprop?)"),  # the id as a word of the name
    (["check", "compare_rnn_lstm.py"], 2, "pass --exercise with one of: backprop, dropout"),  # two ids: no guess
    (["check", "fifo.py", "--exercise", "backprop"], 2, "not a file"),
    (["check", f"{LONG}.py", "--exercise", "backprop"], 2, "too long"),  # a path that cannot be: usage, like a missing one
    (["check", "[/red]oops[bold].py", "--exercise", "backprop"], 2, "[/red]oops[bold].py"),
    (["check", "exercises/backprop.py", "--exercise", "[/red]"], 2, "unknown exercise '[/red]'"),
    (["check", "evil\x1b[2J\r.py", "--exercise", "backprop"], 2, "evil\\x1b[2J\\x0d.py"),
    (["check", "evil\x1b[2J.py"], 2, "evil\\x1b[2J.py"),
    (["check", "exercises/backprop.py", "--exercise", ""], 2, "unknown exercise ''"),  # not "guess from the name"
    (["hint", "nope"], 2, "unknown exercise"),
    (["hint", "[/red]"], 2, "[/red]"),
    (["reset", "nope", "--yes"], 2, "unknown exercise"),
    (["reset", "backprop", "--yes", "--file", "a-folder"], 2, "not a file"),
    (["reset", "backprop", "--yes", "--file", "no/such/folder/backprop.py"], 2, "not a folder"),
    (["reset", "backprop", "--yes", "--file", f"{LONG}.py"], 2, "too long"),
    (["init", "plain-file"], 2, "plain-file"),
    (["init", LONG], 2, "too long"),
    (["init", "linked/.."], 0, None),
]


@pytest.mark.parametrize("args, code, fragment", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_bad_input_is_one_line_and_an_exit_code(tmp_path, monkeypatch, runner, args, code, fragment):
    work = _setup(tmp_path)
    monkeypatch.chdir(work)
    result = runner.invoke(app, args)
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert "\x1b" not in result.stderr and "\r" not in result.stderr  # learner text is never interpreted
    if fragment is None:
        return
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0], lines[0]
    assert not result.stdout.strip()


def test_reset_in_an_empty_folder_says_where_to_run_it_and_creates_nothing(tmp_path, monkeypatch, runner):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["reset", "backprop", "--yes"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "dnn-tutor init" in lines[0]
    assert list(tmp_path.iterdir()) == [tmp_path / "home"] or not (tmp_path / "exercises").exists()
    assert not (tmp_path / "exercises").exists()


def test_exercises_json_is_plain_json(runner, tmp_path, monkeypatch):
    import json

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["exercises", "--json"])
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)) == 8


def test_reset_where_the_backups_folder_is_a_file_says_so_and_changes_nothing(runner, tmp_path, monkeypatch):
    """"cannot use exercises/.backups: it already exists" did not say what was wrong."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exercises").mkdir()
    mine = tmp_path / "exercises" / "backprop.py"
    mine.write_text("# mine\n")
    (tmp_path / "exercises" / ".backups").write_text("not a folder\n")
    result = runner.invoke(app, ["reset", "backprop", "--yes"])
    assert result.exit_code == 2 and "is a file, not a folder" in result.stderr
    assert mine.read_text() == "# mine\n"


@pytest.mark.parametrize("args, expected", [
    (["check", "exercises/backprop.py", "--seed", "abc"], "--seed: expected a whole number from 0 to 9,223,372,036,854,775,807, got 'abc'"),
    (["check", "exercises/backprop.py", "--seed", "-1"], "--seed: expected a whole number from 0 to 9,223,372,036,854,775,807, got '-1'"),
    (["check", "exercises/backprop.py", "--seed", "9" * 5000], f"--seed: expected a whole number from 0 to 9,223,372,036,854,775,807, got '{'9' * 37}...'"),
    (["check", "exercises/backprop.py", "--timeout", "abc"], "--timeout: expected a number of seconds from 0.5 to 3,600, got 'abc'"),
    (["grade", "exercises", "-e", "backprop", "--seed", "1.5"], "--seed: expected a whole number from 0 to 9,223,372,036,854,775,807, got '1.5'"),
    (["grade", "exercises", "-e", "backprop", "--jobs", "abc"], "--jobs: expected a whole number from 1 to 256, got 'abc'"),
    (["grade", "exercises", "-e", "backprop", "--timeout", "x"], "--timeout: expected a number of seconds from 0.5 to 3,600, got 'x'"),
    (["quiz", "--seed", "x"], "--seed: expected a whole number from 0 to 9,223,372,036,854,775,807, got 'x'"),
    (["quiz", "--count", "0"], "--count: expected a whole number from 1 to 200, got '0'"),
    (["demo", "xor", "--seed", "x"], "--seed: expected a whole number from 0 to 4,294,967,295, got 'x'"),
    (["check", "exercises/backprop.py", "--timeout", "1_0"], "--timeout: expected a number of seconds from 0.5 to 3,600, got '1_0'"),
    (["check", "exercises/backprop.py", "--timeout", "+5"], "--timeout: expected a number of seconds from 0.5 to 3,600, got '+5'"),
    (["grade", "exercises", "-e", "backprop", "--timeout", "\u0665"], "--timeout: expected a number of seconds from 0.5 to 3,600, got '\u0665'"),
])
def test_number_options_are_refused_in_one_wording_by_every_command(tmp_path, monkeypatch, runner, args, expected):
    """`--seed abc` once read as click's "not a valid int", once as "must be ... (got -1)", once as
    "not in the range 0<=x<=…": one form now, the demos': the flag, what it takes, what came."""
    monkeypatch.chdir(_setup(tmp_path))
    result = runner.invoke(app, args, input="")
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_options_read_numbers_as_people_type_them():
    """ASCII digits, a point, an exponent; leading zeros do not count against a seed's length."""
    from tutor.options import seconds, whole_number

    assert [seconds(t, "--timeout", 0.5, 3600) for t in (" 5 ", "1e2", ".5", "5.", 7)] == [5.0, 100.0, 0.5, 5.0, 7.0]
    assert whole_number("0" * 30 + "3", "--seed", 0, 2**63 - 1) == 3

