"""A teacher's review of the classroom grader: `grade report` names the students behind each mistake and says
clearly who the later counts are; a 200-character folder name takes one line of the grade table; Ctrl-C says
"run the same command again" once; the progress bar labels its times and drops an estimate it knows is wrong;
`grade --help` tells where the default seed comes from. Fast: a stand-in pool grades (no learner code runs), or
the gradebooks are written by hand."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from tutor.classroom import gradebook, pool, submissions
from tutor.classroom.gradebook import Row
from tutor.cli import app

REPO = Path(__file__).resolve().parents[1]
SOLUTION = REPO / "tests" / "solutions" / "backprop.py"
SHA = "a" * 64
LONG = "x" * 200  # a student folder name


def _row(student, codes=(), passed=11):
    status = "done" if not codes else "partial"
    return Row(student, "backprop", 15 if not codes else passed, 15, status, list(codes), 0.5, SHA, 7)


def _class_book(tmp_path: Path) -> Path:
    """Nine students: bias-averaged first for amy, bob, cat; relu-kink first for dan, eve (and cat has it later);
    backward-vs-forward nobody's first, shown after the first mistake of amy and dan; ivy, gus, hal, fay pass."""
    rows = [
        _row("amy", ["bias-averaged", "backward-vs-forward"]),
        _row("bob", ["bias-averaged"]),
        _row("cat", ["bias-averaged", "relu-kink"]),
        _row("dan", ["relu-kink", "backward-vs-forward"]),
        _row("eve", ["relu-kink"]),
        _row("fay"),
        _row("gus"),
        _row("hal"),
        _row("ivy"),
    ]
    book = tmp_path / "book.csv"
    gradebook.write(book, rows)
    return book


def _words(text: str) -> str:
    return " ".join(text.split())


def _report(runner, monkeypatch, book: Path, columns: int) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    result = runner.invoke(app, ["grade", "report", str(book)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    for line in result.stdout.splitlines():
        assert len(line) <= columns, line
    return result.stdout


def _block(text: str, start: str, end: str) -> str:
    """The words of the report from ``start`` up to ``end`` (the next mistake, or the hints)."""
    words = _words(text)
    begin = words.index(start)
    return words[begin:words.index(end, begin + len(start))]


# ---------------------------------------------------------------- 1. the report names the students


@pytest.mark.parametrize("columns", [60, 80])
def test_the_report_names_the_students_under_each_mistake(runner, monkeypatch, tmp_path, columns):
    """`1. bias-averaged  the first mistake of 3 students` never said which: the teacher dug through the CSV."""
    text = _report(runner, monkeypatch, _class_book(tmp_path), columns)
    first = _block(text, "1. bias-averaged", "2. relu-kink")
    assert "students: amy, bob, cat" in first
    second = _block(text, "2. relu-kink", "3. backward-vs-forward")
    assert "students: dan, eve" in second
    # cat has relu-kink too, but her first mistake is bias-averaged, ranked above: said so, and named
    assert "also in 1 student whose first mistake is above: cat" in second
    third = _block(text, "3. backward-vs-forward", "Hints to give")
    assert "nobody's first mistake" in third
    assert "also in 2 students whose first mistake is above: amy, dan" in third
    # the old wording read as if two more students, not counted above, had it
    assert "more have it" not in _words(text) and "more has it" not in _words(text)


def test_the_wide_report_names_the_students_too(runner, monkeypatch, tmp_path):
    text = _report(runner, monkeypatch, _class_book(tmp_path), 140)
    assert "what it means" in text  # the table, not the stacked blocks
    words = _words(text)
    assert "students: amy, bob, cat" in words and "students: dan, eve" in words
    # the meaning column's lines sit beside the other columns' lines: read them alone
    (header,) = [line for line in text.splitlines() if "what it means" in line]
    start, end = header.index("what it means"), header.index("teach again")
    meaning = [line[start:end].strip() for line in text.splitlines()]
    assert "also in 2 students whose first mistake is above: amy, dan" in " ".join(meaning)


def test_a_later_count_whose_first_mistakes_rank_below_says_below(runner, monkeypatch, tmp_path):
    """relu-kink is the first mistake of three; amy and bob have it after bias-averaged, which ranks below it."""
    rows = [_row(s, ["relu-kink"]) for s in ("cy", "di", "ed")] + [_row(s, ["bias-averaged", "relu-kink"]) for s in ("bob", "amy")]
    book = tmp_path / "book.csv"
    gradebook.write(book, rows)
    text = _report(runner, monkeypatch, book, 80)
    first = _block(text, "1. relu-kink", "2. bias-averaged")
    assert "students: cy, di, ed" in first
    assert "also in 2 students whose first mistake is below: amy, bob" in first


def test_many_students_are_cut_to_a_few_on_screen_and_all_kept_in_json(runner, monkeypatch, tmp_path):
    names = [f"s{i:02d}" for i in range(30)]
    rows = [_row(s, ["bias-averaged", "backward-vs-forward"]) for s in reversed(names)]
    book = tmp_path / "book.csv"
    gradebook.write(book, rows)
    text = _words(_report(runner, monkeypatch, book, 80))
    assert "students: s00, s01, s02, s03, s04, s05 and 24 more" in text
    assert "also in 30 students whose first mistake is above: s00, s01, s02, s03, s04, s05 and 24 more" in text
    assert "s06" not in text
    result = runner.invoke(app, ["grade", "report", str(book), "--json"])
    assert result.exit_code == 0, result.output
    first, later = json.loads(result.stdout)["exercises"][0]["mistakes"]
    assert first["code"] == "bias-averaged" and first["first_student_ids"] == names and first["later_student_ids"] == []
    assert later["first_student_ids"] == [] and later["later_student_ids"] == names and later["student_ids"] == names


def test_the_json_report_says_who_has_each_mistake_first_and_later(runner, tmp_path):
    result = runner.invoke(app, ["grade", "report", str(_class_book(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    mistakes = {m["code"]: m for m in json.loads(result.stdout)["exercises"][0]["mistakes"]}
    assert mistakes["relu-kink"]["first_student_ids"] == ["dan", "eve"]
    assert mistakes["relu-kink"]["later_student_ids"] == ["cat"]
    assert mistakes["relu-kink"]["student_ids"] == ["cat", "dan", "eve"]
    assert mistakes["backward-vs-forward"]["later_student_ids"] == ["amy", "dan"]


@pytest.mark.parametrize("count, said", [(9, "9 students,"), (1, "1 student,")])
def test_the_report_header_counts_students_in_plain_words(runner, monkeypatch, tmp_path, count, said):
    book = tmp_path / "book.csv"
    gradebook.write(book, [_row(f"s{i}", ["bias-averaged"]) for i in range(count)])
    text = _report(runner, monkeypatch, book, 100)
    head = text.splitlines()[0]
    assert head.startswith(f"backprop — Backpropagation by hand: {said}")
    assert "student(s)" not in text


def test_a_long_id_in_the_reports_names_is_cut_but_kept_whole_in_json(runner, monkeypatch, tmp_path):
    book = tmp_path / "book.csv"
    gradebook.write(book, [_row(LONG, ["bias-averaged"]), _row("amy", ["bias-averaged"])])
    for columns in (60, 80):
        text = _report(runner, monkeypatch, book, columns)
        (line,) = [line for line in text.splitlines() if "students:" in line]
        assert "amy, xxxx" in line and line.rstrip().endswith("…")
        assert "x" * 30 not in text
    data = json.loads(runner.invoke(app, ["grade", "report", str(book), "--json"]).stdout)
    assert data["exercises"][0]["mistakes"][0]["first_student_ids"] == ["amy", LONG]


# ---------------------------------------------------------------- 2. a long folder name in the grade table


def _fake_pool(monkeypatch, stop_after: int | None = None) -> None:
    """pool.run without workers: every task is "done"; with ``stop_after``, Ctrl-C after that many rows."""

    def run(tasks, jobs, on_row, on_warning=None, fork=True):
        for n, task in enumerate(tasks):
            if stop_after is not None and n == stop_after:
                raise KeyboardInterrupt
            on_row(Row(task.student, task.exercise, 15, 15, "done", [], 0.1, submissions.file_sha256(Path(task.path)), task.seed))

    monkeypatch.setattr(pool, "run", run)


def _class(tmp_path: Path, names) -> Path:
    klass = tmp_path / "class"
    for name in names:
        (klass / name).mkdir(parents=True)
        shutil.copy(SOLUTION, klass / name / "backprop.py")
    return klass


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_a_200_character_folder_name_takes_one_line_of_the_grade_table(runner, monkeypatch, tmp_path, columns):
    """It wrapped into 8 rows at 80 columns (40 at 60); the gradebook and --json keep the whole id."""
    _fake_pool(monkeypatch)
    klass = _class(tmp_path, ["amy", LONG, "bob_smith_12345"])
    book = tmp_path / "book.csv"
    monkeypatch.setenv("COLUMNS", str(columns))
    result = runner.invoke(app, ["grade", str(klass), "-e", "backprop", "-o", str(book), "--seed", "7"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    rows = [line for line in lines if "15/15" in line]
    assert len(rows) == 3, result.stdout
    (long_row,) = [line for line in rows if "xxxx" in line]
    assert "…" in long_row and "done" in long_row
    assert sum("xxxx" in line for line in lines) == 1  # one line, not a column of x's
    assert any("bob_smith_12345" in line for line in rows)  # an id that fits is left whole
    assert all(len(line) <= columns for line in lines), result.stdout
    assert LONG in {r.student for r in gradebook.read(book)}
    result = runner.invoke(app, ["grade", str(klass), "-e", "backprop", "-o", str(tmp_path / "b2.csv"), "--seed", "7", "--json"])
    assert LONG in {json.loads(line)["student"] for line in result.stdout.splitlines()}


# ---------------------------------------------------------------- 3. Ctrl-C and the progress bar


def test_ctrl_c_says_run_the_same_command_again_once(runner, monkeypatch, tmp_path):
    _fake_pool(monkeypatch, stop_after=1)
    klass = _class(tmp_path, ["amy", "bob", "cat"])
    result = runner.invoke(app, ["grade", str(klass), "-e", "backprop", "-o", str(tmp_path / "b.csv"), "--seed", "7"])
    assert result.exit_code == 130, result.output
    said = _words(result.stdout + " " + result.stderr)
    assert said.count("run the same command again") == 1, said
    assert "interrupted: 1 graded row(s) are saved in" in said and "grade the 2 left" in said
    assert "1 of 1 pass every check, 2 not graded yet" in said and "graded 1 this run" in said
    assert "Traceback" not in said

    # --json: stdout stays JSON Lines, and stderr says it once
    result = runner.invoke(app, ["grade", str(klass), "-e", "backprop", "-o", str(tmp_path / "c.csv"), "--seed", "7", "--json"])
    assert result.exit_code == 130, result.output
    assert [json.loads(line)["student"] for line in result.stdout.splitlines()] == ["amy"]
    assert _words(result.stderr).count("run the same command again") == 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_labels_its_times(monkeypatch):
    """`0:00:02 0:00:01` with no labels: which is elapsed, which is left?"""
    from tutor.commands import grade

    screen = _Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("COLUMNS", "80")
    on_start, on_row, close = grade._progress_callbacks("grading backprop")
    assert on_start is not None
    on_start(3)
    on_row(Row("[red]amy", "backprop", 15, 15, "done", [], 0.1, SHA, 7))
    close()
    drawn = screen.getvalue()
    assert "elapsed" in drawn and "1/3" in drawn
    assert "[red]amy: done" in drawn  # an id is shown as it is, never read as markup


def _frame(progress, width: int = 80) -> str:
    screen = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
    screen.print(progress.get_renderable())
    return screen.file.getvalue()


def test_the_estimate_is_shown_with_a_tilde_and_dropped_once_it_is_known_wrong():
    """While a submission runs into its timeout no row comes: the estimate stopped counting at 0:01, wrong."""
    from tutor.render.classroom import class_progress

    now = [100.0]
    progress = class_progress("grading backprop", Console(file=io.StringIO(), width=80), workers=1)
    progress.get_time = lambda: now[0]
    task = progress.add_task("grading backprop", total=10, last="starting", last_at=None)
    assert "left" not in _frame(progress) and "0:00 elapsed" in _frame(progress)  # no estimate before a row
    for _ in range(5):  # a row a second
        now[0] += 1.0
        progress.update(task, advance=1, last="amy: done", last_at=now[0])
    frame = _frame(progress)
    assert "0:05 elapsed, ~0:05 left" in frame
    now[0] += 2.0  # a little slower than before: still an estimate, counting down
    assert "0:07 elapsed, ~0:03 left" in _frame(progress)
    now[0] += 3.0  # no row for 5 s where one came every second: a submission runs into its --timeout
    frame = _frame(progress)
    assert "0:10 elapsed" in frame and "left" not in frame
    now[0] += 15.0
    progress.update(task, advance=1, last="gus: timeout", last_at=now[0])
    assert "~" in _frame(progress) and "left" in _frame(progress)  # rows come again: an estimate again


def test_the_estimate_is_dropped_when_it_runs_out_with_submissions_left():
    from tutor.render.classroom import time_left

    assert time_left(10.0, 0.0, None, 0, 10) is None  # no row yet
    assert time_left(10.0, 0.0, 10.0, 10, 10) is None  # nothing left
    assert time_left(10.0, 0.0, 10.0, 5, 10) == pytest.approx(10.0)
    # eight workers: rows come in bursts, so a gap of a few rows' time is no sign of trouble
    assert time_left(11.0, 0.0, 10.0, 40, 50, workers=8) == pytest.approx(1.5)
    # one worker, a row every 2 s: 6 s without one is still an estimate, 7 s is a submission running long
    assert time_left(16.0, 0.0, 10.0, 5, 100) == pytest.approx(184.0)
    assert time_left(17.0, 0.0, 10.0, 5, 100) is None
    assert time_left(13.0, 0.0, 10.0, 40, 42, workers=8) is None  # the estimate has run out: known wrong


def test_the_progress_line_stays_short_of_the_terminal_width():
    """A line that fills the terminal makes the ^C a teacher types wrap: the bar above it stayed on the screen."""
    from tutor.render.classroom import class_progress

    for width in (60, 80):
        progress = class_progress("grading backprop", Console(file=io.StringIO(), width=width), workers=1)
        progress.add_task("grading backprop", total=300, last="a-very-long-student-name-indeed: partial " * 3, last_at=None)
        (line,) = _frame(progress, width).splitlines()
        assert len(line.rstrip()) <= width - 2 and "…" in line


# ---------------------------------------------------------------- 4. where the default seed comes from


def test_grade_help_says_the_default_seed_uses_the_private_class_key(runner, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(app, ["grade", "--help"])
    assert result.exit_code == 0, result.output
    said = _words(result.stdout)
    assert "private class key" in said
    assert "gradebook being resumed" in said
    assert "derived from the exercise and the student list;" not in said
