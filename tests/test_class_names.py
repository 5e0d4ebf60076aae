"""What a teacher found grading real LMS downloads: one name in two Unicode forms (macOS's unzip writes ``é`` as
``e`` and a combining accent) made two students, and a gradebook made from the other form lost its rows; two
Canvas students of one name were one ambiguous row; ``gus/Backprop.py`` was advised renamed to another exercise's
file; another exercise's solution under this one's name did not say which exercise it is. Fast: a stand-in pool
grades (one test grades for real)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tutor.classroom import gradebook, submissions
from tutor.classroom.gradebook import Row

from test_class_fixes import SOLUTIONS, _fake_pool, _grade

COMPOSED = "Jos\u00e9"  # é as one character
DECOMPOSED = "Jose\u0301"  # e and a combining acute accent: as macOS's unzip writes it


def _solution(exercise: str, to: Path) -> Path:
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOLUTIONS / f"{exercise}.py", to)
    return to


# ---------------------------------------------------------------- 1. one name in two Unicode forms


def test_ids_are_composed_in_every_layout_and_the_files_are_read_where_they_are(monkeypatch, tmp_path):
    started = _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    _solution("rnn", cls / DECOMPOSED / "rnn.py")  # a student folder
    _solution("rnn", cls / "Rene\u0301.py")  # a <student>.py file
    _solution("rnn", cls / "zoe\u0308smith_5_6_rnn.py")  # Canvas
    _solution("rnn", cls / f"{DECOMPOSED} Doe_111_assignsubmission_file_" / "rnn.py")  # Moodle
    run, warnings = _grade(cls, tmp_path / "g.csv")
    assert sorted((r.student, r.status) for r in run.rows) == [
        (COMPOSED, "done"), (f"{COMPOSED} Doe", "done"), ("Ren\u00e9", "done"), ("zo\u00ebsmith", "done")
    ], [r.student for r in run.rows]
    assert all(Path(t.path).is_file() for t in started) and len(started) == 4  # read by their names on disk
    assert warnings == []
    assert {r.student for r in gradebook.read(tmp_path / "g.csv")} == {r.student for r in run.rows}


@pytest.mark.parametrize("on_disk, in_book", [(DECOMPOSED, COMPOSED), (COMPOSED, DECOMPOSED)])
def test_a_gradebook_made_from_the_other_form_is_resumed_not_left(monkeypatch, tmp_path, on_disk, in_book):
    started = _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    path = _solution("rnn", cls / on_disk / "rnn.py")
    _solution("rnn", cls / "amy" / "rnn.py")
    book = tmp_path / "g.csv"
    sha = submissions.file_sha256(path)
    gradebook.write(book, [Row(in_book, "rnn", 6, 6, "done", [], 1, sha, 7), Row("amy", "rnn", 6, 6, "done", [], 1, sha, 7)])
    run, warnings = _grade(cls, book)
    assert run.absent == [] and not any("no longer in" in w for w in warnings), warnings
    assert run.skipped == 2 and started == []  # unchanged: neither graded again
    assert sorted(r.student for r in run.rows) == [COMPOSED, "amy"]
    assert len(gradebook.read(book)) == 2


def test_a_name_in_both_forms_at_once_is_ambiguous_and_both_are_named(monkeypatch, tmp_path):
    started = _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    _solution("rnn", cls / COMPOSED / "rnn.py")
    (cls / DECOMPOSED).mkdir()
    (cls / DECOMPOSED / "rnn.py").write_text("x = 1\n")
    _solution("rnn", cls / "Ren\u00e9.py")
    _solution("rnn", cls / "Rene\u0301.py")
    _solution("rnn", cls / "amy" / "rnn.py")
    run, warnings = _grade(cls, tmp_path / "g.csv")
    rows = {r.student: r for r in run.rows}
    assert sorted(rows) == [COMPOSED, "Ren\u00e9", "amy"]
    assert (rows[COMPOSED].status, rows["Ren\u00e9"].status, rows["amy"].status) == ("ambiguous", "ambiguous", "done")
    assert [Path(t.path).parent.name for t in started] == ["amy"]  # neither form is guessed
    note = rows[COMPOSED].note
    assert "'Jos\\xe9/'" in note and "'Jose\\u0301/'" in note and "two Unicode forms" in note, note
    assert "'Ren\\xe9.py'" in rows["Ren\u00e9"].note and "'Rene\\u0301.py'" in rows["Ren\u00e9"].note
    assert any(w.startswith(f"{COMPOSED} is named by both") and "renamed or moved" in w for w in warnings), warnings


def test_moodle_folders_of_one_user_in_two_forms_are_one_student_and_of_two_users_two(monkeypatch, tmp_path):
    _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    (cls / f"{COMPOSED} Doe_111_assignsubmission_onlinetext_").mkdir(parents=True)
    _solution("rnn", cls / f"{DECOMPOSED} Doe_111_assignsubmission_file_" / "rnn.py")
    _solution("rnn", cls / f"{COMPOSED} Roe_5_assignsubmission_file_" / "rnn.py")
    _solution("rnn", cls / f"{DECOMPOSED} Roe_6_assignsubmission_file_" / "rnn.py")
    run, _ = _grade(cls, tmp_path / "g.csv")
    assert sorted((r.student, r.status) for r in run.rows) == [
        (f"{COMPOSED} Doe", "done"), (f"{COMPOSED} Roe_5", "done"), (f"{COMPOSED} Roe_6", "done")
    ]


# ---------------------------------------------------------------- 2. two Canvas students of one name


def test_two_canvas_users_of_one_name_are_two_students_each_graded_from_their_latest(monkeypatch, tmp_path):
    started = _fake_pool(monkeypatch)
    flat = tmp_path / "flat"
    _solution("rnn", flat / "smithjohn_22222_60000_rnn.py")
    (flat / "smithjohn_99999_63000_rnn.py").write_text("old = 1\n")
    _solution("rnn", flat / "smithjohn_99999_63001_rnn-1.py")  # the resubmission
    (flat / "smithjohn_44444_64000_rnn.ipynb").write_text("{}")  # a third smithjohn: only a notebook
    (flat / "doejane_12345_67890_rnn.py").write_text("old = 2\n")
    _solution("rnn", flat / "doejane_LATE_12345_67891_rnn-1.py")  # one user id: the plain name, as ever
    book = tmp_path / "g.csv"
    run, warnings = _grade(flat, book)
    rows = {r.student: r for r in run.rows}
    assert sorted(rows) == ["doejane", "smithjohn_22222", "smithjohn_44444", "smithjohn_99999"]
    assert [rows[s].status for s in ("doejane", "smithjohn_22222", "smithjohn_99999")] == ["done"] * 3
    assert sorted(Path(t.path).name for t in started) == [
        "doejane_LATE_12345_67891_rnn-1.py", "smithjohn_22222_60000_rnn.py", "smithjohn_99999_63001_rnn-1.py"
    ]
    assert rows["smithjohn_99999"].note == "Canvas's latest submission; passed over the older smithjohn_99999_63000_rnn.py"
    assert rows["smithjohn_22222"].note == ""
    assert rows["smithjohn_44444"].status == "missing"  # nothing handed in is dropped
    assert any(w.startswith("smithjohn_44444 has no .py file") and "export it as smithjohn_44444.py" in w for w in warnings)
    run, _ = _grade(flat, book)
    assert run.skipped == 3 and len(started) == 3  # resumed: every graded row matches


# ---------------------------------------------------------------- 3. another exercise's file in another case


def test_another_exercises_file_in_another_case_is_never_advised_renamed(monkeypatch, tmp_path):
    _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    _solution("backprop", cls / "gus" / "Backprop.py")
    _solution("dropout", cls / "amy" / "dropout.py")
    _solution("dropout", cls / "hal" / "dropout.py")
    run, warnings = _grade(cls, tmp_path / "g.csv", exercise=None)
    rows = {(r.student, r.exercise): r for r in run.rows}
    assert rows[("gus", "backprop")].status == "done"
    assert not [w for w in warnings if "rename" in w], warnings
    # graded as backprop in this run: no more worth a word in the dropout row than amy's dropout.py in her backprop row
    assert rows[("gus", "dropout")].note == rows[("amy", "backprop")].note == ""
    shutil.rmtree(cls / "hal")
    _solution("backprop", cls / "ida" / "BACKPROP.PY")
    _solution("backprop", cls / "jo" / "backprop2.py")  # a near miss of another exercise's file
    run, warnings = _grade(cls, tmp_path / "g2.csv", exercise="dropout")
    notes = {r.student: r.note for r in run.rows}
    assert notes["gus"] == "holds Backprop.py (another exercise)"
    assert notes["ida"] == "holds BACKPROP.PY (another exercise)"
    assert notes["jo"] == "holds backprop2.py (another exercise)"
    assert not [w for w in warnings if "rename" in w], warnings
    assert "gus has no dropout.py (the folder holds Backprop.py (another exercise))" in warnings


def test_a_helper_named_like_another_exercise_is_still_a_helper(monkeypatch, tmp_path):
    _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    (cls / "kim").mkdir(parents=True)
    (cls / "kim" / "rnn.py").write_text("from backprop_utils import f\n")
    (cls / "kim" / "backprop_utils.py").write_text("def f():\n    pass\n")
    _solution("dropout", cls / "amy" / "dropout.py")
    run, warnings = _grade(cls, tmp_path / "g.csv", exercise=None)
    notes = {(r.student, r.exercise): r.note for r in run.rows}
    assert notes[("kim", "dropout")] == "holds backprop_utils.py, a helper its other files import"
    assert not [w for w in warnings if "rename" in w], warnings


# ---------------------------------------------------------------- 4. another exercise's solution under this name


@pytest.mark.slow
def test_another_exercises_solution_under_this_name_says_which_exercise_it_is(tmp_path):
    cls = tmp_path / "class"
    _solution("backprop", cls / "amy" / "backprop.py")
    _solution("dropout", cls / "ida" / "backprop.py")
    run, _ = _grade(cls, tmp_path / "g.csv", exercise="backprop", jobs=2)
    rows = {r.student: r for r in run.rows}
    assert rows["amy"].status == "done"
    assert rows["ida"].status == "not started"
    assert rows["ida"].note.startswith("the file defines none of the exercise's functions"), rows["ida"].note
    assert "it defines dropout's functions instead (dropout_forward" in rows["ida"].note, rows["ida"].note
    assert "it defines" not in rows["amy"].note
