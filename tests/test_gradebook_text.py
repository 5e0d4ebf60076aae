"""A gradebook is a file anyone can edit: its exercise ids, codes and statuses never draw on the terminal.

`grade report` and `grade merge` show every field they take from a gradebook with its control characters
made visible (ESC as ``\\x1b``), never as rich markup, and the chart of ``--save-plot`` labels them the
same way, with matplotlib's own warnings kept off stderr.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tutor.cli import app

HEADER = "student,exercise,passed,total,score,status,codes,seconds,sha256,seed,timeout,note\n"
# an exercise that clears the screen, a status and a code that turn on bold, a note that sets italics
ESCAPED = HEADER + "stu,\x1b[2Jex,3,7,0.4,\x1b[1mst,uses-torch;\x1b[1mbold,1,,1,20,\x1b[3mnote\n"
# what rich would read as markup: a closing tag that matches nothing crashed the wide table
MARKUP = HEADER + "stu,[/x]ex,3,7,0.4,[/y],[/oops];[bold]b,1,,1,20,n\n"


@pytest.fixture
def runner():
    return CliRunner()


def _book(tmp_path, text: str, name: str = "book.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _wide(monkeypatch):
    """A terminal wide enough for the report's table (narrower, the mistakes are listed one block each)."""
    monkeypatch.setenv("COLUMNS", "200")


def _report(runner, tmp_path, monkeypatch, columns: str, text: str):
    """`grade report` of a gradebook holding ``text`` at ``columns`` wide; it must succeed."""
    monkeypatch.setenv("COLUMNS", columns)
    result = runner.invoke(app, ["grade", "report", str(_book(tmp_path, text))])
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("columns", ["80", "200"])
def test_report_shows_escape_codes_from_a_gradebook_as_text(runner, tmp_path, monkeypatch, columns):
    result = _report(runner, tmp_path, monkeypatch, columns, ESCAPED)
    assert "\x1b" not in result.stdout and "\x1b" not in result.stderr
    out = result.stdout
    assert "\\x1b[2Jex" in out  # the exercise, in the heading and in the uses-torch warning
    assert "\\x1b[1mbold" in out  # the code
    assert "\\x1b[1mst 1" in out  # the status
    assert "does not know" in out  # the exercise id and the code are flagged as unknown to this version


def test_report_json_keeps_the_fields_as_they_are(runner, tmp_path):
    book = _book(tmp_path, ESCAPED)
    result = runner.invoke(app, ["grade", "report", str(book), "--json"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout  # JSON escapes it: \u001b
    (ex,) = json.loads(result.stdout)["exercises"]
    assert ex["exercise"] == "\x1b[2Jex" and ex["mistakes"][0]["code"] == "\x1b[1mbold"
    assert ex["statuses"] == [{"status": "\x1b[1mst", "students": 1}]
    assert "does not know" in ex["title"]


@pytest.mark.parametrize("columns", ["80", "200"])
def test_report_never_reads_a_gradebook_field_as_markup(runner, tmp_path, monkeypatch, columns):
    result = _report(runner, tmp_path, monkeypatch, columns, MARKUP)
    assert "internal error" not in result.output
    for shown in ("[/x]ex", "[/oops]", "[bold]b", "[/y] 1"):
        assert shown in result.stdout


def test_a_known_diagnosis_meaning_keeps_its_brackets_in_the_table(runner, tmp_path, monkeypatch):
    from tutor.grading import diagnoses

    code = next(c for c in diagnoses.codes() if "[pad:-pad]" in diagnoses.meaning(c))
    _wide(monkeypatch)
    book = _book(tmp_path, HEADER + f"stu,conv,3,7,0.4,partial,{code},1,,1,20,\n")
    result = runner.invoke(app, ["grade", "report", str(book)])
    assert result.exit_code == 0, result.output
    # rich read it as a style tag and dropped it: "the padding was cut with , which is empty"
    assert "cut with [pad:-pad], which" in " ".join(result.stdout.split())


def test_a_valid_gradebook_reports_as_before(runner, tmp_path):
    book = _book(tmp_path, HEADER + "alice,backprop,11,15,0.7333,partial,bias-averaged,1,,7,20,\n")
    result = runner.invoke(app, ["grade", "report", str(book)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("backprop — Backpropagation by hand: 1 student,")
    assert "does not know" not in result.stdout and "\\x" not in result.stdout
    data = json.loads(runner.invoke(app, ["grade", "report", str(book), "--json"]).stdout)
    assert data["exercises"][0]["title"] == "Backpropagation by hand"


def test_merge_shows_escape_codes_from_a_gradebook_as_text(runner, tmp_path):
    book = _book(tmp_path, ESCAPED)
    out = tmp_path / "merged.csv"
    result = runner.invoke(app, ["grade", "merge", str(book), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x1b" not in result.stderr
    assert "\\x1b[2Jex seed 1" in result.stdout
    assert out.read_text(encoding="utf-8").count("\x1b") == 4  # the merged file keeps the fields as they are
    markup = _book(tmp_path, MARKUP, "markup.csv")
    result = runner.invoke(app, ["grade", "merge", str(markup), "--out", str(tmp_path / "m2.csv")])
    assert result.exit_code == 0, result.output
    assert "[/x]ex seed 1" in result.stdout


def test_merge_shows_the_file_names_it_writes_with_escapes_visible(runner, tmp_path):
    book = _book(tmp_path, HEADER + "alice,backprop,15,15,1,done,,1,,7,20,\n")
    out = tmp_path / "m\x1b[2J.csv"
    out.write_text("old\n")
    result = runner.invoke(app, ["grade", "merge", str(book), "--out", str(out), "--force"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    assert "m\\x1b[2J.csv" in result.stdout and "is kept at" in result.stdout


def test_the_class_run_table_shows_exercises_and_codes_as_text(tmp_path):
    from rich.console import Console

    from tutor.classroom.gradebook import Row
    from tutor.classroom.service import ClassRun
    from tutor.render.classroom import render_class_run, render_interrupted

    rows = [
        Row("[/s]", "\x1b[2Jex", 1, 2, "partial", ["[/c]", "\x1b[1mc"], 0.1, "", 7),
        Row("bob", "backprop", 2, 2, "done", [], 0.1, "", 7),
    ]
    run = ClassRun(tmp_path / "g\x1b[2J.csv", ["\x1b[2Jex", "backprop"], {"\x1b[2Jex": 7}, None, 2, rows=rows)
    for width in (60, 200):
        console = Console(record=True, width=width, force_terminal=True)
        console.print(render_class_run(run))
        console.print(render_interrupted(run))
        text = console.export_text(styles=False)
        assert "\x1b" not in text
        assert "[/s]" in text and "[/c]" in text and "\\x1b[2Jex" in text and "\\x1b[1mc" in text
        assert "g\\x1b[2J.csv" in text


@pytest.mark.slow
def test_report_plot_labels_are_visible_and_matplotlib_stays_quiet(runner, tmp_path):
    import warnings

    book = _book(tmp_path, ESCAPED)
    png = tmp_path / "p.png"
    with warnings.catch_warnings(record=True) as caught:  # outside pytest, a warning is printed on stderr
        warnings.simplefilter("always")
        result = runner.invoke(app, ["grade", "report", str(book), "--save-plot", str(png)])
    assert result.exit_code == 0, result.output
    assert [str(w.message) for w in caught] == []  # "Glyph 27 () missing from font(s) DejaVu Sans" before
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "UserWarning" not in result.stderr and "Glyph" not in result.stderr
    assert "tight_layout" not in result.stderr and "savefig" not in result.stderr
    assert result.stderr == ""


def test_plot_labels_hold_no_control_characters_and_no_mathtext(monkeypatch):
    """The labels given to matplotlib: escapes visible, every dollar sign a dollar sign (no mathtext to fail on)."""
    from tutor.classroom import report
    from tutor.classroom.gradebook import Row
    from tutor.render import classroom

    rows = [Row("stu", "$\\frac$\x1b[2Jex", 3, 7, "st", ["$\\bad{$", "a\x1b[1mb"], 1, "", 1)]
    drawn: list = []
    monkeypatch.setattr(classroom, "_draw", lambda left, right, rep: drawn.append(rep))
    classroom.plot_png(report.build(rows))  # the figure's frame only: the rows are drawn by _draw
    (rep,) = drawn
    labels = [classroom._label(rep.exercise)] + [classroom._label(m.code) for m in rep.mistakes]
    assert labels == ["\\$\\frac\\$\\x1b[2Jex", "\\$\\bad{\\$", "a\\x1b[1mb"]
    import unicodedata

    assert not any(unicodedata.category(ch) == "Cc" for label in labels for ch in label)


@pytest.mark.slow
def test_a_dollar_sign_in_a_code_does_not_break_the_chart(runner, tmp_path):
    book = _book(tmp_path, HEADER + "stu,$\\frac$ex,3,7,0.4,st,$\\bad{$;a$b,1,,1,20,n\n")
    png = tmp_path / "d.png"
    result = runner.invoke(app, ["grade", "report", str(book), "--save-plot", str(png)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and result.stderr == ""
