"""What a gradebook row says about a messy class: links, the reasons a row holds no grade (the note column),
the timeout it was graded with, the copy kept before a row is replaced, a full disk, and the table at 60
columns. Fast: a stand-in pool grades every task as done, so no learner code runs."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from tutor.classroom import gradebook, pool, service, submissions
from tutor.classroom.gradebook import Row
from tutor.cli import app

SHA = "a" * 64


def _fake_pool(monkeypatch, status: str = "done") -> list:
    """pool.run without workers: every task gets a ``status`` row, hashed as the grader hashes (the one file);
    a stopped run's row has a note, as the grader's always do."""
    started: list = []

    def run(tasks, jobs, on_row, on_warning=None, fork=True):
        for task in tasks:
            started.append(task)
            passed = 15 if status == "done" else 0
            on_row(Row(task.student, task.exercise, passed, 15, status, [] if passed else [status], 0.1,
                       submissions.file_sha256(Path(task.path)), task.seed, note="" if passed else f"the run stopped ({status})"))

    monkeypatch.setattr(pool, "run", run)
    return started


def _grade(folder: Path, book: Path, **options) -> tuple[service.ClassRun, list[str]]:
    warnings: list[str] = []
    options = {"exercise": "backprop", "jobs": 1, "seed": 7, **options}
    run = service.grade_class(folder, out=book, on_warning=warnings.append, **options)
    return run, warnings


def _csv(path: Path) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return {r["student"]: r for r in csv.DictReader(handle)}


# ---------------------------------------------------------------- 1. links, in either layout


def test_a_link_in_a_flat_class_is_unreadable_named_in_a_warning_and_never_read(monkeypatch, tmp_path):
    """`ln -s zed.py zedcopy.py` made zedcopy a student graded 15/15 with zed's work, and
    `ln -s /etc/passwd linky.py` was read and run as a submission."""
    started = _fake_pool(monkeypatch)
    outside = tmp_path / "outside.py"
    outside.write_text("x = 1\n")
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "zed.py").write_text("x = 1\n")
    os.symlink("zed.py", flat / "zedcopy.py")
    os.symlink(outside, flat / "linky.py")
    os.symlink(tmp_path / "nowhere.py", flat / "dangling.py")
    book = tmp_path / "g.csv"
    run, warnings = _grade(flat, book)
    assert [t.student for t in started] == ["zed"]
    rows = {r.student: r for r in run.rows}
    for student in ("zedcopy", "linky", "dangling"):
        assert (rows[student].status, rows[student].note, rows[student].sha256) == ("unreadable", "a link, not followed", "")
        assert (f"{student}: {student}.py is a link, not followed: not graded (unreadable); replace the link with a copy "
                "of the file if it is the student's own work") in warnings
    assert _csv(book)["linky"]["note"] == "a link, not followed"


# ---------------------------------------------------------------- 2. the note column and a warning for every reason


def test_every_row_without_a_grade_says_why_in_its_note_and_in_a_warning(monkeypatch, tmp_path):
    """unreadable/missing rows carried only their code: a teacher could not tell an invalid notebook from nothing."""
    _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    made = {
        "big/backprop.py": "#" * (2 * 1024 * 1024 + 1),
        "nbk/backprop.ipynb": "{}\n",
        "other/dropout.py": "x = 1\n",
        "nested/hw1_submission/backprop.py": "x = 1\n",
        "zipped/submission.zip": "PK",
        "ok/backprop.py": "x = 1\n",
    }
    for name, text in made.items():
        (cls / name).parent.mkdir(parents=True, exist_ok=True)
        (cls / name).write_text(text)
    (cls / "dir" / "backprop.py").mkdir(parents=True)  # the README said "not a regular file": it was `missing`
    (cls / "empty").mkdir()
    book = tmp_path / "g.csv"
    run, warnings = _grade(cls, book)
    notes = {r.student: (r.status, r.note) for r in run.rows}
    assert notes == {
        "big": ("unreadable", "over 2 MB"),
        "dir": ("unreadable", "a folder, not a file"),
        "empty": ("missing", "the folder is empty"),
        "nbk": ("missing", "holds backprop.ipynb"),
        "nested": ("missing", "found hw1_submission/backprop.py"),
        "ok": ("done", ""),
        "other": ("missing", "holds dropout.py (another exercise)"),
        "zipped": ("missing", "holds submission.zip"),
    }
    assert warnings == [
        "big: big/backprop.py is over 2 MB: not graded (unreadable)",
        "dir: dir/backprop.py is a folder, not a file: not graded (unreadable)",
        "empty has no backprop.py (the folder is empty): nothing was handed in",
        "nbk has no backprop.py (the folder holds backprop.ipynb): grade cannot read notebooks: "
        "export it as backprop.py (File > Save and Export As > Python)",
        "nested has no backprop.py at the top of the folder (found hw1_submission/backprop.py): "
        "move it to nested/backprop.py to grade it",
        "other has no backprop.py (the folder holds dropout.py (another exercise))",
        "zipped has no backprop.py (the folder holds submission.zip): unpack it into the folder to grade it",
    ]
    with open(book, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header[-1] == "note" and _csv(book)["zipped"]["note"] == "holds submission.zip"
    jsonl = tmp_path / "g.jsonl"
    _grade(cls, jsonl)
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert {d["student"]: d["note"] for d in lines}["big"] == "over 2 MB"


def test_a_class_whose_every_file_is_in_a_sub_folder_is_graded_into_rows_not_refused(monkeypatch, tmp_path):
    _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    for student in ("amy", "bo"):
        (cls / student / "hw1_submission").mkdir(parents=True)
        (cls / student / "hw1_submission" / "backprop.py").write_text("x = 1\n")
    run, warnings = _grade(cls, tmp_path / "g.csv")
    assert [(r.status, r.note) for r in run.rows] == [("missing", "found hw1_submission/backprop.py")] * 2
    assert len(warnings) == 2


def test_a_stopped_runs_error_is_its_note():
    from tutor.classroom import adapter
    from tutor.grading.model import Fatal, LearnerError

    error = LearnerError("syntax", "SyntaxError", "expected ':'", file="backprop.py", line=12)
    report = SimpleNamespace(fatal=Fatal("syntax", "syntax error in backprop.py, line 12: expected ':'", error), file="/c/ivan/backprop.py")
    assert adapter.note_of(report) == "SyntaxError line 12: expected ':'"
    report.file = "/c/ivan/main.py"  # a helper of the student's would not parse
    assert adapter.note_of(report) == "SyntaxError in backprop.py line 12: expected ':'"
    message = "importing backprop.py raised ModuleNotFoundError: No module named 'foo'\n(line 3)"
    assert adapter.note_of(SimpleNamespace(fatal=Fatal("import", message), file="b.py")) == (
        "importing backprop.py raised ModuleNotFoundError: No module named 'foo' (line 3)"
    )
    assert adapter.note_of(SimpleNamespace(fatal=None, file="b.py")) == ""
    assert gradebook.note_line("\x1b[2J" + "x" * 500).startswith("\\x1b[2J") and len(gradebook.note_line("x" * 500)) == gradebook.NOTE_CAP


@pytest.mark.parametrize("name", ["old.csv", "old.jsonl"])
def test_a_gradebook_from_before_timeout_and_note_is_resumed_merged_and_reported(monkeypatch, runner, tmp_path, name):
    started = _fake_pool(monkeypatch)
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "amy.py").write_text("x = 1\n")
    (flat / "bo.py").write_text("x = 2\n")
    old_columns = ("student", "exercise", "passed", "total", "score", "status", "codes", "seconds", "sha256", "seed")
    amy = {"student": "amy", "exercise": "backprop", "passed": 15, "total": 15, "score": 1, "status": "done",
           "codes": [], "seconds": 0.5, "sha256": submissions.file_sha256(flat / "amy.py"), "seed": 7}
    book = tmp_path / name
    if name.endswith(".csv"):
        book.write_text(",".join(old_columns) + "\n" + ",".join(str(amy[c]) if c != "codes" else "" for c in old_columns) + "\n")
    else:
        book.write_text(json.dumps(amy) + "\n")
    (row,) = gradebook.read(book)
    assert (row.timeout, row.note) == (None, "")
    part = tmp_path / ("part" + Path(name).suffix)
    part.write_text(book.read_text().replace("amy", "cy"))
    merged = runner.invoke(app, ["grade", "merge", str(book), str(part), "--out", str(tmp_path / "merged.csv")])
    assert merged.exit_code == 0, merged.output
    assert runner.invoke(app, ["grade", "report", str(book)]).exit_code == 0
    run, _ = _grade(flat, book)
    assert [t.student for t in started] == ["bo"] and run.skipped == 1  # amy's row is resumed as it is
    assert {r.student: r.timeout for r in gradebook.read(book)} == {"amy": None, "bo": 20.0}


# ---------------------------------------------------------------- 3. the timeout a row was graded with


def test_a_timeout_row_is_graded_again_under_a_longer_timeout(monkeypatch, tmp_path):
    """After --timeout 3, a rerun with --timeout 60 said "graded 0, skipped N unchanged": the rows stayed timeout."""
    started = _fake_pool(monkeypatch, status="timeout")
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "slow.py").write_text("x = 1\n")
    book = tmp_path / "g.csv"
    _grade(flat, book, timeout=3)
    assert _csv(book)["slow"]["timeout"] == "3" and gradebook.read(book)[0].timeout == 3.0
    _grade(flat, book, timeout=3)
    _grade(flat, book, timeout=2)
    assert len(started) == 1  # not longer: skipped
    started = _fake_pool(monkeypatch)
    run, _ = _grade(flat, book, timeout=60)
    assert len(started) == 1 and run.graded == 1
    assert [(r.status, r.timeout) for r in gradebook.read(book)] == [("done", 60.0)]
    _grade(flat, book, timeout=600)
    assert len(started) == 1  # a graded row is not graded again for a longer timeout
    # a timeout row of a gradebook from before the column: its timeout is not known, so it is graded again
    gradebook.write(book, [Row("slow", "backprop", 0, 15, "timeout", ["timeout"], 3.0, submissions.file_sha256(flat / "slow.py"), 7)])
    _grade(flat, book, timeout=3)
    assert len(started) == 2


def test_a_stopped_run_kept_from_an_older_gradebook_is_graded_again_under_todays_rules(monkeypatch, tmp_path):
    """A `processes` row with passed=12 (score 0.8) from before the stopped-runs-score-0 rule was "skipped
    unchanged" while the same file graded fresh scored 0, and old stopped rows kept an empty note."""
    started = _fake_pool(monkeypatch, status="processes")
    flat = tmp_path / "flat"
    flat.mkdir()
    for student in ("amy", "bo", "cy", "dee"):
        (flat / f"{student}.py").write_text(f"x = '{student}'\n")

    def old(student, passed, status, note=""):
        return Row(student, "backprop", passed, 15, status, [status], 1.0, submissions.file_sha256(flat / f"{student}.py"), 7,
                   20.0, note)

    book = tmp_path / "g.csv"
    gradebook.write(book, [old("amy", 12, "processes"), old("bo", 0, "memory"), old("cy", 0, "output", "you printed a lot"),
                           old("dee", 12, "partial")])
    run, warnings = _grade(flat, book)
    assert sorted(t.student for t in started) == ["amy", "bo"] and run.skipped == 2
    assert warnings[0] == ("graded again: 2 stopped run(s) kept from an older dnn-tutor (amy, bo) held credit for the "
                           "checks passed before the stop, or no note; a stopped run scores 0 today")
    assert {r.student: (r.passed, r.score, r.note) for r in gradebook.read(book)} == {
        "amy": (0, 0.0, "the run stopped (processes)"), "bo": (0, 0.0, "the run stopped (processes)"),
        "cy": (0, 0.0, "you printed a lot"), "dee": (12, 0.8, ""),
    }
    assert run.backup is not None and "amy" in _csv(run.backup)  # amy's 0.8 was replaced: the gradebook before is kept
    run, warnings = _grade(flat, book)
    assert len(started) == 2 and run.skipped == 4 and warnings == []


# ---------------------------------------------------------------- 4. a copy before a graded row is replaced


def test_a_rerun_keeps_a_copy_before_it_replaces_a_graded_row(monkeypatch, tmp_path):
    """bob's file changed: his earlier row was replaced with no copy of it anywhere."""
    _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    for student in ("amy", "bob", "ken"):
        (cls / student).mkdir(parents=True)
    (cls / "amy" / "backprop.py").write_text("x = 1\n")
    (cls / "bob" / "backprop.py").write_text("x = 1\n")
    book = tmp_path / "g.csv"
    _grade(cls, book)
    first = book.read_bytes()
    (cls / "ken" / "backprop.py").write_text("x = 1\n")  # a missing row made graded: nothing is lost
    run, warnings = _grade(cls, book)
    assert run.backup is None and warnings == [] and list(tmp_path.glob("g.csv.bak*")) == []
    second = book.read_bytes()
    (cls / "bob" / "backprop.py").write_text("x = 2\n")
    (cls / "amy" / "backprop.py").write_text("x = 3\n")
    run, warnings = _grade(cls, book)
    (backup,) = tmp_path.glob("g.csv.bak-*")
    assert run.backup == backup and backup.read_bytes() == second and first != second
    assert warnings == [f"this run replaces an earlier graded row (amy's, and any after it): the gradebook as it was is kept as {backup}"]


def test_a_regrade_that_replaces_only_stopped_runs_scored_0_keeps_no_copy(monkeypatch, tmp_path):
    """Every regrade under a longer --timeout wrote a .bak, though a timeout row had earned nothing."""
    _fake_pool(monkeypatch, status="timeout")
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "slow.py").write_text("x = 1\n")
    (flat / "nil.py").write_text("x = 0\n")
    book = tmp_path / "g.csv"
    _grade(flat, book, timeout=3)
    run, warnings = _grade(flat, book, timeout=5)
    assert run.graded == 2 and {r.timeout for r in gradebook.read(book)} == {5.0}
    assert run.backup is None and warnings == [] and list(tmp_path.glob("g.csv.bak*")) == []
    _fake_pool(monkeypatch)  # now done: a row that earned something is replaced next
    _grade(flat, book, timeout=10)
    assert list(tmp_path.glob("g.csv.bak*")) == []  # timeout rows scored 0: still nothing earned was replaced
    (flat / "slow.py").write_text("x = 2\n")
    run, _ = _grade(flat, book, timeout=10)
    (backup,) = tmp_path.glob("g.csv.bak-*")  # slow's done row is replaced: kept first
    assert run.backup == backup


# ---------------------------------------------------------------- 5. two copies in one student's folder


def test_two_copies_of_the_exercise_in_one_folder_are_ambiguous_unless_they_are_the_same(monkeypatch, tmp_path):
    started = _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    for student in ("two", "same"):
        (cls / student / "exercises").mkdir(parents=True)
    (cls / "two" / "backprop.py").write_text("x = 1\n")
    (cls / "two" / "exercises" / "backprop.py").write_text("x = 2\n")
    (cls / "same" / "backprop.py").write_text("x = 1\n")
    (cls / "same" / "exercises" / "backprop.py").write_text("x = 1\n")
    run, warnings = _grade(cls, tmp_path / "g.csv")
    rows = {r.student: r for r in run.rows}
    assert (rows["two"].status, rows["two"].note) == ("ambiguous", "holds both two/backprop.py and two/exercises/backprop.py")
    assert warnings == ["two holds both two/backprop.py and two/exercises/backprop.py: not graded until one of them is removed"]
    assert rows["same"].status == "done" and [t.student for t in started] == ["same"]


def test_two_case_variants_of_the_file_in_one_folder_are_ambiguous_unless_they_are_the_same(monkeypatch, tmp_path):
    """cat2/backprop.py (the untouched starter) beside cat2/BACKPROP.PY (a solution) was graded as the starter:
    `not started`, 0/15, with no warning and an empty note."""
    started = _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    for student in ("cat2", "twin", "trio"):
        (cls / student / "exercises").mkdir(parents=True)
    (cls / "cat2" / "backprop.py").write_text("starter = 1\n")
    (cls / "cat2" / "BACKPROP.PY").write_text("solution = 1\n")
    (cls / "twin" / "Backprop.py").write_text("x = 1\n")
    (cls / "twin" / "backprop.py").write_text("x = 1\n")
    (cls / "trio" / "backprop.py").write_text("x = 1\n")
    (cls / "trio" / "backprop.PY").write_text("x = 1\n")
    (cls / "trio" / "exercises" / "BACKPROP.py").write_text("x = 2\n")
    run, warnings = _grade(cls, tmp_path / "g.csv")
    rows = {r.student: (r.status, r.note) for r in run.rows}
    assert rows["cat2"] == ("ambiguous", "holds both cat2/backprop.py and cat2/BACKPROP.PY")
    assert rows["trio"] == ("ambiguous", "holds trio/backprop.py, trio/backprop.PY and trio/exercises/BACKPROP.py")
    assert warnings == [
        "cat2 holds both cat2/backprop.py and cat2/BACKPROP.PY: not graded until one of them is removed",
        "trio holds trio/backprop.py, trio/backprop.PY and trio/exercises/BACKPROP.py: not graded until one of them is removed",
    ]
    assert rows["twin"] == ("done", "") and [Path(t.path).name for t in started] == ["backprop.py"]  # byte-identical: one


def test_a_link_beside_the_students_real_file_is_passed_over_and_the_file_graded(monkeypatch, tmp_path):
    """dan/exercises/backprop.py -> ../backprop.py made dan `ambiguous` ("holds both"): a link was called a copy,
    and a student with one real file got no grade."""
    started = _fake_pool(monkeypatch)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "backprop.py").write_text("x = 2\n")
    cls = tmp_path / "class"
    for student in ("dan", "fay", "gus"):
        (cls / student).mkdir(parents=True)
    (cls / "dan" / "exercises").mkdir()
    (cls / "dan" / "backprop.py").write_text("x = 1\n")
    os.symlink("../backprop.py", cls / "dan" / "exercises" / "backprop.py")
    (cls / "fay" / "backprop.py").write_text("x = 1\n")
    os.symlink(elsewhere, cls / "fay" / "exercises")  # the folder the other candidate is in is the link
    os.symlink(elsewhere / "backprop.py", cls / "gus" / "backprop.py")  # links only: unreadable, never "both"
    os.symlink(elsewhere, cls / "gus" / "exercises")
    os.symlink(elsewhere, cls / "hal")
    run, warnings = _grade(cls, tmp_path / "g.csv")
    rows = {r.student: (r.status, r.note) for r in run.rows}
    assert rows == {
        "dan": ("done", "passed over dan/exercises/backprop.py (a link, not followed)"),
        "fay": ("done", "passed over fay/exercises/backprop.py (a link, not followed)"),
        "gus": ("unreadable", "a link, not followed"),
        "hal": ("unreadable", "a link, not followed"),
    }
    assert [t.path for t in started] == [str((cls / "dan" / "backprop.py").resolve()), str((cls / "fay" / "backprop.py").resolve())]
    assert warnings == [
        "dan: graded dan/backprop.py, passed over dan/exercises/backprop.py (a link, not followed)",
        "fay: graded fay/backprop.py, passed over fay/exercises/backprop.py (a link, not followed)",
        "gus: gus/backprop.py is a link, not followed: not graded (unreadable); replace the link with a copy of the file "
        "if it is the student's own work",
        "hal: hal/ is a link, not followed: not graded (unreadable); replace the link with a copy of the folder "
        "if it is the student's own work",
    ]


# ---------------------------------------------------------------- 6. a full disk mid-run


def test_a_full_disk_mid_run_says_what_is_saved_and_what_to_do(monkeypatch, runner, tmp_path):
    _fake_pool(monkeypatch)
    flat = tmp_path / "flat"
    flat.mkdir()
    for student in ("s1", "s2", "s3", "s4"):
        (flat / f"{student}.py").write_text(f"x = '{student}'\n")
    book = tmp_path / "g.csv"
    from tutor import fsutil

    real = fsutil.atomic_write_bytes
    writes = []

    def fills_up(path, data, *args, **kwargs):
        writes.append(path)
        if len(writes) > 3:  # the new gradebook (no row yet), then two graded rows: the disk is full at the third
            raise OSError(28, "No space left on device")
        return real(path, data, *args, **kwargs)

    monkeypatch.setattr(fsutil, "atomic_write_bytes", fills_up)
    result = runner.invoke(app, ["grade", str(flat), "-e", "backprop", "--seed", "7", "--out", str(book)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [
        f"error: cannot write {book}: No space left on device (the previous version is kept): it holds 2 row(s), "
        "2 of them graded in this run; 1 graded row(s) could not be saved. Free some space and run the same "
        "command again: the saved rows are skipped"
    ]
    assert sorted(r.student for r in gradebook.read(book)) == ["s1", "s2"]


# ---------------------------------------------------------------- 7. the table at 60 columns


@pytest.mark.parametrize("exercises", [["backprop"], ["backprop", "dropout"]])
def test_the_tables_codes_wrap_between_codes_never_inside_one(exercises):
    from rich.console import Console

    from tutor.render.classroom import render_class_run

    rows = [Row("alice", "backprop", 11, 15, "partial", ["bias-averaged", "backward-vs-forward", "relu-kink"], 1, SHA, 7),
            Row("a-rather-long-student-id", "backprop", 0, 15, "not started", ["not-started"], 1, SHA, 7)]
    run = service.ClassRun(Path("g.csv"), exercises, {"backprop": 7}, None, 2, rows=rows)
    for width in (60, 80, 200):
        console = Console(record=True, width=width, force_terminal=False)
        console.print(render_class_run(run))
        text = console.export_text(styles=False)
        assert max(len(line.rstrip()) for line in text.splitlines()) <= width
        for code in ("bias-averaged", "backward-vs-forward", "relu-kink", "not-started"):
            assert code in text, (width, code, text)


def test_a_stopped_run_scores_zero_whatever_ran_before_the_stop():
    """A file that forks 50 sleeping children got passed = 0, 12, 6, 0, 12, 0, 12, 9 and 12 over nine runs
    with one seed: how many checks ran before the process scan saw the fork bomb is timing. A stopped run
    never counts (as `check` says), so it scores 0, and the note says how many had passed."""
    from types import SimpleNamespace

    from tutor.classroom.adapter import row_from_report

    from tutor.grading import failures

    fatal = failures.too_many_processes(32)
    for passed in (0, 6, 12):
        report = SimpleNamespace(exercise_id="backprop", file="/x/backprop.py", file_hash="a" * 64, passed=passed, total=15,
                                 fatal=fatal, codes=["processes", "not-run"], seconds=1.0, not_started=False, ok=False)
        row = row_from_report("forker", report, seed=7)
        assert (row.passed, row.score, row.status) == (0, 0.0, "processes")
        counted = f"{passed} of 15 checks passed before the stop (not counted); " if passed else ""
        assert row.note == counted + fatal.message  # the count first, and the whole message: nothing cut
    fine = SimpleNamespace(exercise_id="backprop", file="/x/backprop.py", file_hash="a" * 64, passed=11, total=15, fatal=None,
                           codes=["bias-averaged"], seconds=1.0, not_started=False, ok=False)
    assert row_from_report("carol", fine, seed=7).passed == 11


def test_a_long_note_keeps_what_the_teacher_acts_on():
    """Notes were cut at 160 characters from the end: a PermissionError's note ended "…a submission may re…"
    and a stopped run's lost its count of checks passed."""
    from tutor.classroom import adapter
    from tutor.grading import failures
    from tutor.grading.model import LearnerError

    where = "/home/teacher/courses/deep-learning-2024-autumn/submissions/alice/data/pretrained/weights.npy"
    error = LearnerError("exception", "PermissionError", f"[Errno 13] Permission denied: '{where}'")
    fatal = failures.at_import(error, "backprop.py", reads_limited=True)
    assert len(fatal.message) > gradebook.NOTE_CAP
    note = adapter.note_of(SimpleNamespace(fatal=fatal, file="/c/alice/backprop.py"))
    assert len(note) == gradebook.NOTE_CAP and "…" in note
    assert note.startswith("importing backprop.py raised PermissionError: [Errno 13] Permission denied")
    assert note.endswith("a submission may read only its own folder (or, for <student>.py, its own file)")
    silent = SimpleNamespace(exercise_id="backprop", file="/x/backprop.py", file_hash=SHA, passed=0, total=15, codes=[],
                             fatal=SimpleNamespace(kind="crash", message="", error=None), seconds=1.0, not_started=False, ok=False)
    assert adapter.row_from_report("eve", silent, seed=7).note == "the run stopped (crash)"  # never empty: see _outdated
