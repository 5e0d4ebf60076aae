"""What a teacher who graded a messy class found: a report that hid `uses-torch`, an empty file filed as
`missing`, 0-score rows called partial, notes that did not say what failed, Moodle and Canvas layouts graded
wrong, rename advice for a helper, a merge error that blamed --seed, rows of deleted students kept silently,
and a mean that counted missing rows as 0. Fast: a stand-in pool (or a hand-made report) grades, no learner
code runs."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from rich.console import Console

from tutor.classroom import gradebook, pool, report, service, submissions
from tutor.classroom.adapter import row_from_report, status_of
from tutor.classroom.gradebook import Row
from tutor.cli import app
from tutor.grading.model import CheckResult

SHA = "a" * 64
SOLUTIONS = Path(__file__).resolve().parent / "solutions"


def _fake_pool(monkeypatch, seen: list | None = None) -> list:
    """pool.run without workers: every task is "done" (``seen`` gets, per task, what its folder held then)."""
    started: list = []

    def run(tasks, jobs, on_row, on_warning=None, fork=True):
        for task in tasks:
            started.append(task)
            if seen is not None:
                seen.append(sorted(p.name for p in Path(task.path).parent.iterdir()))
            on_row(Row(task.student, task.exercise, 6, 6, "done", [], 0.1, submissions.file_sha256(Path(task.path)), task.seed))

    monkeypatch.setattr(pool, "run", run)
    return started


def _grade(folder: Path, book: Path, **options) -> tuple[service.ClassRun, list[str]]:
    """test_grade_rows's grading of a class, of the rnn exercise unless ``exercise`` says otherwise."""
    from test_grade_rows import _grade as grade_rows

    return grade_rows(folder, book, **{"exercise": "rnn", **options})


def _text(renderable, width: int = 60) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text()


def _check(function, passed, code=None, tensor=None, message="x", kind="values"):
    return CheckResult(f"{function}.{kind}", function, "t", passed, None, None, message if not passed else "ok", code,
                       worst={"tensor": tensor} if tensor else None)


def _report(file, checks, *, codes=None, passed=None, ok=False, not_started=False):
    passed = sum(c.passed for c in checks) if passed is None else passed
    if codes is None:
        codes = list(dict.fromkeys(c.code for c in checks if not c.passed and c.code))
    return SimpleNamespace(exercise_id="rnn", file=str(file), file_hash=SHA, passed=passed, total=len(checks), fatal=None,
                           codes=codes, seconds=1.0, not_started=not_started, ok=ok, checks=tuple(checks))


# ---------------------------------------------------------------- 1. uses-torch in the report


def test_the_report_names_the_students_whose_file_uses_torch(runner, tmp_path):
    rows = [Row("amy", "rnn", 6, 6, "done", [], 1, SHA, 7), Row("erin", "rnn", 6, 6, "done", ["uses-torch"], 1, SHA, 7)]
    (rep,) = report.build(rows)
    assert rep.uses_torch == ["erin"]
    book = tmp_path / "book.csv"
    gradebook.write(book, rows)
    data = json.loads(runner.invoke(app, ["grade", "report", str(book), "--json"]).stdout)
    assert data["uses_torch"] == [{"student": "erin", "exercise": "rnn"}] and data["exercises"][0]["uses_torch"] == ["erin"]
    text = runner.invoke(app, ["grade", "report", str(book)]).stdout
    assert "uses torch: erin (rnn)" in text and text.index("erin") < text.index("how the runs ended")


# ---------------------------------------------------------------- 2-4. statuses and notes of graded rows


def test_an_empty_file_is_not_started_with_the_code_empty_and_says_so(tmp_path):
    empty = tmp_path / "rnn.py"
    empty.write_text("\n  \n")
    checks = [_check("rnn_step_forward", False, "missing"), _check("rnn_forward", False, "missing")]
    row = row_from_report("bob", _report(empty, checks), seed=7)
    assert (row.status, row.codes, row.note) == ("not started", ["empty"], "the file is empty")
    words = tmp_path / "words.py"  # not empty, but none of the functions: still the grader's `missing`
    words.write_text("import numpy as np\n")
    row = row_from_report("cy", _report(words, checks), seed=7)
    assert row.codes == ["missing"] and row.note.startswith("the file defines none of the exercise's functions")


def test_a_row_that_passed_no_check_is_failed_not_partial_and_its_note_says_what_failed(tmp_path):
    boom = "rnn_step_forward raised ValueError: boom"
    checks = [
        _check("rnn_step_forward", False, "exception", message=boom),
        _check("rnn_step_backward", False, "exception", message="rnn_step_backward needs rnn_step_forward: ..."),
        _check("rnn_forward", False, "exception", message="rnn_forward raised ValueError"),
    ]
    row = row_from_report("carl", _report(tmp_path / "x.py", checks), seed=7)
    assert row.status == "failed" and row.score == 0
    assert row.note == "rnn_step_forward: exception; rnn_forward: exception"  # not the one that only needed another
    assert status_of(SimpleNamespace(fatal=None, not_started=False, ok=False, passed=0, codes=["exception"])) == "failed"
    partial = [
        _check("rnn_step_forward", True),
        _check("rnn_step_backward", False, "bias-averaged", "db", kind="reference"),
        _check("rnn_step_backward", False, "backward-vs-forward", "db", kind="numeric"),
        _check("rnn_backward", False, "batch-mean", "db"),
        _check("lstm_a", False, "sign", "dx"),
        _check("lstm_b", False, "sign", "dx"),
    ]
    row = row_from_report("dana", _report(tmp_path / "x.py", partial), seed=7)
    assert row.status == "partial"
    assert row.note == "rnn_step_backward: bias-averaged (db); rnn_backward: batch-mean (db); +2 more"
    torch = row_from_report("erin", _report(tmp_path / "x.py", [_check("f", True)], codes=["uses-torch"], ok=True), seed=7)
    assert torch.status == "done" and "imports torch" in torch.note
    (rep,) = report.build([row, Row("carl", "rnn", 0, 6, "failed", ["exception"], 1, SHA, 7)])
    assert dict(rep.statuses) == {"partial": 1, "failed": 1}


def test_a_failed_row_replaced_by_a_changed_file_is_kept_in_a_copy_first(monkeypatch, tmp_path):
    _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    (cls / "carl").mkdir(parents=True)
    (cls / "carl" / "rnn.py").write_text("x = 1\n")
    book = tmp_path / "g.csv"
    gradebook.write(book, [Row("carl", "rnn", 0, 6, "failed", ["exception"], 1, SHA, 7, note="f: exception")])
    run, _ = _grade(cls, book)
    (backup,) = tmp_path.glob("g.csv.bak-*")
    assert run.backup == backup and "failed" in backup.read_text()


# ---------------------------------------------------------------- 5. LMS layouts


def test_moodles_plugin_folders_of_one_student_are_one_student(monkeypatch, tmp_path):
    _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    text = cls / "Doe, Jane_12345_assignsubmission_onlinetext_"
    files = cls / "Doe, Jane_12345_assignsubmission_file_"
    for folder in (text, files, cls / "amy"):
        folder.mkdir(parents=True)
    (text / "onlinetext.html").write_text("<p>see my file</p>")
    (files / "rnn.py").write_text("x = 1\n")
    (cls / "amy" / "rnn.py").write_text("x = 2\n")
    run, warnings = _grade(cls, tmp_path / "g.csv")
    assert sorted((r.student, r.status) for r in run.rows) == [("Doe, Jane", "done"), ("amy", "done")]
    assert warnings == [] and run.students == 2


def test_a_canvas_file_left_out_of_the_copy_is_named_in_the_note(monkeypatch, tmp_path):
    """A helper over 2 MB was not copied beside the graded file and the note still listed it as graded beside it."""
    _fake_pool(monkeypatch)
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "kimlee_7_8_rnn.py").write_text("import numpy as np\nw = np.load('w.npy')\n")
    (flat / "kimlee_7_8_helpers.py").write_text("x = 1\n")
    (flat / "kimlee_7_8_w.npy").write_bytes(b"\0" * (3 * 1024 * 1024))
    run, _ = _grade(flat, tmp_path / "g.csv")
    note = {r.student: r.note for r in run.rows}["kimlee"]
    assert "not copied beside it: kimlee_7_8_w.npy (over 2 MB)" in note, note


def test_moodle_folders_of_two_user_ids_are_never_one_student(monkeypatch, tmp_path):
    """A full name "Jane Doe_111" with user id 5 read as "Jane Doe_111", the id made for the Jane Doe with user
    id 111: user 5's solution graded 6/6 in the row of a Jane who handed in nothing."""
    started = _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    for name in ("Jane Doe_111_assignsubmission_file_", "Jane Doe_111_assignsubmission_onlinetext_",
                 "Jane Doe_222_assignsubmission_file_", "Jane Doe_111_5_assignsubmission_file_"):
        (cls / name).mkdir(parents=True)
    (cls / "Jane Doe_222_assignsubmission_file_" / "rnn.py").write_text("x = 1\n")
    (cls / "Jane Doe_111_5_assignsubmission_file_" / "rnn.py").write_text("x = 2\n")
    run, _ = _grade(cls, tmp_path / "g.csv")
    rows = {r.student: r for r in run.rows}
    assert rows["Jane Doe_111"].status == "ambiguous"  # two students behind one id: said, not guessed
    assert [Path(t.path).parent.name for t in started] == ["Jane Doe_222_assignsubmission_file_"]


def test_a_different_copy_beside_the_graded_file_is_named_in_the_note(monkeypatch, tmp_path):
    _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    for student in ("fred", "gus"):
        (cls / student).mkdir(parents=True)
        (cls / student / "rnn.py").write_text("buggy = 1\n")
    (cls / "fred" / "rnn (1).py").write_text("correct = 1\n")
    (cls / "gus" / "rnn (1).py").write_text("buggy = 1\n")  # the same file twice: nothing to say
    run, warnings = _grade(cls, tmp_path / "g.csv")
    notes = {r.student: r.note for r in run.rows}
    assert notes["fred"] == "passed over rnn (1).py, a different copy beside it (rename it rnn.py if it is the one to grade)"
    assert notes["gus"] == "" and warnings == ["fred: graded fred/rnn.py, " + notes["fred"]]


def test_one_canvas_submission_of_the_exercise_and_a_helper_is_graded_with_the_helper_beside_it(monkeypatch, tmp_path):
    seen: list = []
    started = _fake_pool(monkeypatch, seen)
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "leekim_34567_71000_rnn.py").write_text("from helpers import f\n")
    (flat / "leekim_34567_71000_helpers.py").write_text("def f():\n    pass\n")
    (flat / "oz_777_70002_main.py").write_text("x = 1\n")  # none uploaded as rnn.py: which one is not ours to say
    (flat / "oz_777_70002_util.py").write_text("x = 2\n")
    run, warnings = _grade(flat, tmp_path / "g.csv")
    rows = {r.student: r for r in run.rows}
    assert rows["leekim"].status == "done" and "uploaded as rnn.py in one Canvas submission with helpers.py" in rows["leekim"].note
    assert [Path(t.path).name for t in started] == ["rnn.py"] and seen == [["helpers.py", "rnn.py"]]
    own = started[0].own.split("\0")  # the copy's folder, then the uploads themselves: the class folder stays hidden
    assert own[0] == str(Path(started[0].path).parent) and not Path(started[0].path).exists()  # staged, then removed
    assert sorted(Path(p).name for p in own[1:]) == ["leekim_34567_71000_helpers.py", "leekim_34567_71000_rnn.py"]
    assert rows["oz"].status == "ambiguous" and rows["oz"].note == "one Canvas submission of 2 files (main.py, util.py), none uploaded as rnn.py"
    assert any("oz_777_70002_rnn.py" in w for w in warnings)
    run, _ = _grade(flat, tmp_path / "g.csv")
    assert run.skipped == 1 and len(started) == 1  # unchanged: skipped


def test_an_older_canvas_py_graded_because_the_newest_is_a_notebook_says_so_in_its_note(monkeypatch, tmp_path):
    _fake_pool(monkeypatch)
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "moe_555_70000_rnn.py").write_text("x = 1\n")
    (flat / "moe_555_70500_rnn.ipynb").write_text("{}")
    run, _ = _grade(flat, tmp_path / "g.csv")
    (row,) = run.rows
    assert row.status == "done" and row.note.startswith("an older submission; Canvas's latest, moe_555_70500_rnn.ipynb, is a notebook")
    assert "export it as moe_555_70500_rnn.py" in row.note


# ---------------------------------------------------------------- 6. rename advice


def test_no_rename_advice_for_a_helper_the_students_files_import_or_another_exercises_copy(monkeypatch, tmp_path):
    _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    for student in ("amy", "erin", "gina"):
        (cls / student).mkdir(parents=True)
    (cls / "amy" / "batchnorm.py").write_text("x = 1\n")
    (cls / "amy" / "lstm.py").write_text("x = 1\n")
    (cls / "erin" / "rnn.py").write_text("import numpy as np\nfrom nnmath import tanh_grad  # mine\n")
    (cls / "erin" / "nnmath.py").write_text("def tanh_grad(h):\n    return 1 - h * h\n")
    (cls / "gina" / "rnn.py").write_text("x = 1\n")
    (cls / "gina" / "rnn (1).py").write_text("x = 2\n")
    run, warnings = _grade(cls, tmp_path / "g.csv", exercise=None)
    notes = {(r.student, r.exercise): r.note for r in run.rows}
    assert notes[("erin", "batchnorm")] == "holds nnmath.py, a helper its other files import"
    assert notes[("gina", "lstm")] == "holds rnn (1).py (another exercise)"
    assert not [w for w in warnings if "rename the file" in w], warnings
    (cls / "erin" / "bn_final.py").write_text("x = 3\n")  # a stray no file imports: still worth the advice
    _, warnings = _grade(cls, tmp_path / "g2.csv", exercise="batchnorm")
    assert "erin has no batchnorm.py (the folder holds bn_final.py): rename the file to grade it" in warnings


# ---------------------------------------------------------------- 7. a merge of shards graded around a late student


def test_merging_shards_graded_before_and_after_a_late_student_says_the_class_changed(runner, tmp_path):
    early = ["s1", "s2", "s3"]
    late = early + ["late"]
    parts = []
    for name, students, everyone in (("L1.csv", ["s1", "s2"], early), ("L2.csv", ["s3", "late"], late)):
        seed = submissions.class_seed("rnn", everyone)  # no --seed given: from the list of students
        parts.append(tmp_path / name)
        gradebook.write(parts[-1], [Row(s, "rnn", 6, 6, "done", [], 1, SHA, seed) for s in students])
    result = runner.invoke(app, ["grade", "merge", *map(str, parts), "--out", str(tmp_path / "L.csv")])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "the class changed between the shard runs" in result.stderr and "the same --seed" in result.stderr
    assert "another machine or account" in result.stderr
    assert "new --out" in result.stderr and not (tmp_path / "L.csv").exists()


# ---------------------------------------------------------------- 8. a student's folder deleted


def test_rows_of_a_student_no_longer_in_the_folder_are_kept_and_said(monkeypatch, tmp_path):
    _fake_pool(monkeypatch)
    cls = tmp_path / "class"
    for student in ("amy", "bob", "cy"):
        (cls / student).mkdir(parents=True)
        (cls / student / "rnn.py").write_text(f"# {student}\n")
    book = tmp_path / "g.csv"
    _grade(cls, book)
    shutil.rmtree(cls / "cy")
    run, warnings = _grade(cls, book)
    assert [r.student for r in gradebook.read(book)] == ["amy", "bob", "cy"]  # nothing earned is dropped
    assert run.absent == ["cy"] and run.to_dict()["absent"] == ["cy"]
    assert any(w.startswith(f"{book} keeps 1 row(s) of student(s) no longer in {cls} (cy)") for w in warnings)
    from tutor.render.classroom import render_class_run

    assert "keeps the rows of 1 student(s) no longer in the folder (cy)" in " ".join(_text(render_class_run(run)).split())


# ---------------------------------------------------------------- 9. the mean over the submitted rows


def test_the_report_mean_is_over_graded_rows_with_the_missing_counted_beside_it(runner, tmp_path):
    rows = [Row("amy", "batchnorm", 6, 6, "done", [], 1, SHA, 7), Row("bob", "batchnorm", 3, 6, "partial", ["sign"], 1, SHA, 7)]
    rows += [Row(f"m{i}", "batchnorm", 0, 6, "missing", ["missing"], 0, "", 7) for i in range(6)]
    (rep,) = report.build(rows)
    assert (rep.mean, rep.graded_mean, rep.graded, rep.missing, rep.ungraded) == (0.1875, 0.75, 2, 6, 0)
    assert dict(rep.distribution)["0%"] == 6 and dict(rep.graded_distribution)["0%"] == 0
    book = tmp_path / "book.csv"
    gradebook.write(book, rows)
    data = json.loads(runner.invoke(app, ["grade", "report", str(book), "--json"]).stdout)["exercises"][0]
    assert data["mean"] == 0.1875 and data["graded_mean"] == 0.75 and data["missing"] == 6
    text = " ".join(runner.invoke(app, ["grade", "report", str(book)]).stdout.split())
    assert "mean score 75%, median 75% over the 2 graded (6 missing; 19% counting them as 0)" in text
    assert "missing 6" in text


def test_a_mistake_says_what_its_share_is_of_and_what_the_later_count_means():
    """`the first mistake of 1 student (12%)` beside a mean over graded rows, and `+1 after another`: unclear bases."""
    from rich.console import Console

    from tutor.classroom.report import Mistake
    from tutor.render.classroom import _stacked_mistakes

    mistake = Mistake("backward-vs-forward", 1, 2, 0.125, "the gradient disagrees with the forward", "", None, None, "", None)
    screen = Console(file=io.StringIO(), width=60, color_system=None)
    screen.print(_stacked_mistakes([mistake]))
    words = " ".join(screen.file.getvalue().split())
    assert "the first mistake of 1 student (12% of the class)" in words
    assert "also in 1 student whose first mistake is another one" in words and "after another" not in words


@pytest.mark.slow
def test_a_canvas_submission_graded_from_a_copy_still_cannot_read_a_classmate():
    """smithjohn's rnn.py + helpers.py (one Canvas submission, graded from a copy) exec'd doejane's file from the
    class folder for 6/6: only the copy's folder was hidden, not the class folder it came from."""
    import os
    import tempfile

    if not os.access("/dev/shm", os.W_OK):
        pytest.skip("needs a writable /dev/shm (a class folder inside a folder a graded run may read)")
    solution = (Path(__file__).parent / "solutions" / "rnn.py").read_text()
    starter = (Path(__file__).resolve().parents[1] / "exercises" / "rnn.py").read_text()
    with tempfile.TemporaryDirectory(dir="/dev/shm") as folder:
        klass = Path(folder) / "class"
        klass.mkdir()
        (klass / "doejane_124_457_rnn.py").write_text(solution)
        (klass / "smithjohn_123_456_rnn.py").write_text(starter + "\nfrom helpers import *\n")
        (klass / "smithjohn_123_456_helpers.py").write_text(
            f"import glob\nfor _p in glob.glob({str(klass)!r} + '/doejane*_rnn.py'):\n    exec(open(_p).read())\n")
        run = service.grade_class(klass, exercise="rnn", out=Path(folder) / "g.csv", jobs=1, seed=3)
        rows = {r.student: r for r in run.rows}
        assert rows["doejane"].status == "done"
        assert rows["smithjohn"].passed == 0 and rows["smithjohn"].status != "done", rows["smithjohn"]
