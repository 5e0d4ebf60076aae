"""A new learner's path through the exercise commands: what to run first, what comes after a pass, what
`reset` does to the status, and `hint` without an id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_grading_helpers import SOLUTIONS, STARTERS, planted
from tutor.cli import app

IDS = ["backprop", "dropout", "batchnorm", "optimizers", "conv", "rnn", "lstm", "transfer"]


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """A folder with no exercises/ in it, and no `init` ever run (the learner's first minutes)."""
    folder = tmp_path / "fresh"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _record(exercise: str, passed: int, total: int) -> None:
    from tutor.store import Store

    with Store() as store:
        store.record_attempt(exercise, "abc", passed, total)


# ---------------------------------------------------------------- 1. before `init`


def test_the_exercise_list_says_to_run_init_first_when_there_is_no_workspace(runner, fresh, monkeypatch):
    """`exercises` said `grade one: dnn-tutor check exercises/<id>.py` though no exercises/ folder existed yet."""
    monkeypatch.setenv("COLUMNS", "60")
    result = runner.invoke(app, ["exercises"])
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    first = next(i for i, line in enumerate(lines) if "dnn-tutor init" in line)
    then = next(i for i, line in enumerate(lines) if "dnn-tutor check exercises/<id>.py" in line)
    assert first < then and "./exercises" in lines[first]
    assert max(len(line) for line in lines) <= 60
    # once `init` has made the workspace here, the list says how to grade one, with no `init`
    assert runner.invoke(app, ["init"]).exit_code == 0
    after = runner.invoke(app, ["exercises"]).output
    assert "grade one: dnn-tutor check exercises/<id>.py" in after and "dnn-tutor init" not in after


def test_from_another_folder_the_list_says_where_the_exercises_are(runner, tmp_path, monkeypatch):
    assert runner.invoke(app, ["init", str(tmp_path / "course")]).exit_code == 0
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    said = " ".join(runner.invoke(app, ["exercises"]).output.split())
    assert f"your exercises are in {tmp_path / 'course' / 'exercises'}" in said
    assert "dnn-tutor init" not in said


def test_check_of_a_missing_file_before_init_says_plain_init_and_where_it_copies(runner, fresh):
    """`copy the starters with dnn-tutor init DIR` read as if DIR were required; plain `init` works."""
    result = runner.invoke(app, ["check", "exercises/backprop.py"])
    assert result.exit_code == 2
    lines = _lines(result.stderr)
    assert len(lines) == 1, lines
    assert "`dnn-tutor init`" in lines[0] and "./exercises" in lines[0] and "init DIR" not in lines[0]
    assert "dnn-tutor check exercises/backprop.py" in lines[0]
    assert "Traceback" not in result.output


def test_check_of_a_missing_file_in_a_workspace_points_at_the_list(runner, fresh):
    (fresh / "exercises").mkdir()
    result = runner.invoke(app, ["check", "exercises/backprp.py", "--exercise", "backprop"])
    assert result.exit_code == 2
    lines = _lines(result.stderr)
    assert len(lines) == 1 and "dnn-tutor exercises" in lines[0] and "init DIR" not in lines[0]


# ---------------------------------------------------------------- 2. after a full pass


def test_after_pass_names_the_next_exercise_not_done_then_the_lesson_then_a_quiz():
    from tutor.progress import ExerciseStatus, LessonStatus, after_pass

    files = {e: f"{e}.py" for e in IDS}
    lessons = (LessonStatus(1, "deep-networks", "Deep neural networks", 30, 3, (1, 2, 3), "2026-01-01"),
               LessonStatus(2, "backprop", "Backpropagation", 40, 4, (1,), None))
    called = []

    def read_lessons():
        called.append(True)
        return lessons

    statuses = (ExerciseStatus("backprop", 2, 15, 15, "t"), ExerciseStatus("dropout", 3, 0, 0, ""),
                ExerciseStatus("conv", 5, 3, 9, "t"))
    step = after_pass("backprop", statuses, read_lessons, files)
    assert step.command == "dnn-tutor check exercises/dropout.py" and "dropout" in step.reason and "lesson 3" in step.reason
    assert not called  # the course is read only once every exercise is done
    # the next one after this exercise first, then back to an earlier one still open
    assert after_pass("dropout", statuses, read_lessons, files).command == "dnn-tutor check exercises/conv.py"
    done = tuple(ExerciseStatus(e.id, e.lesson, 9, 9, "t") for e in statuses)
    step = after_pass("conv", done, read_lessons, files)
    assert step.command == "dnn-tutor lesson 2 --section 2" and "every exercise is done" in step.reason
    read = tuple(LessonStatus(l.number, l.id, l.title, l.minutes, l.sections_total, (1, 2, 3, 4), "t") for l in lessons)
    assert after_pass("conv", done, lambda: read, files).command == "dnn-tutor quiz"
    assert after_pass("conv", done, lambda: (), files).command == "dnn-tutor quiz"  # a course that cannot be read


@pytest.mark.slow
def test_a_full_pass_says_what_comes_next_and_keeps_the_seed_for_failures(runner, fresh, monkeypatch):
    """15/15 printed only "Well done! seed 1557460256 (--seed repeats these inputs)": no next step, and a seed
    that matters only where something failed."""
    monkeypatch.setenv("COLUMNS", "60")
    assert runner.invoke(app, ["init"]).exit_code == 0
    path = fresh / "exercises" / "backprop.py"
    path.write_text((SOLUTIONS / "backprop.py").read_text())
    result = runner.invoke(app, ["check", str(path), "--seed", "3"])
    assert result.exit_code == 0, result.output
    said = result.output
    assert "15/15 checks" in said and "--seed repeats" not in said and "seed 3" not in said
    lines = _lines(said)
    at = next(i for i, line in enumerate(lines) if line.startswith("next: "))
    assert "dropout" in lines[at] and lines[at + 1].strip() == "dnn-tutor check exercises/dropout.py"
    assert max(len(line) for line in lines) <= 60
    data = json.loads(runner.invoke(app, ["check", str(path), "--seed", "3", "--json"]).stdout)
    assert data["ok"] and data["seed"] == 3  # --json keeps the seed always
    planted(fresh / "exercises", "backprop", ("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"))
    failed = runner.invoke(app, ["check", str(path), "--seed", "3"])
    assert failed.exit_code == 1
    assert "--seed repeats these inputs" in " ".join(failed.output.split()) and "next: " not in failed.output


# ---------------------------------------------------------------- 3. reset keeps the record, the list says so


def test_reset_keeps_the_pass_and_the_list_says_the_file_was_reset(runner, fresh, monkeypatch):
    """After `reset backprop`, `exercises` still said "✓ done" while `check` said "0/15 … not started"."""
    monkeypatch.setenv("COLUMNS", "60")
    assert runner.invoke(app, ["init"]).exit_code == 0
    mine = fresh / "exercises" / "backprop.py"
    mine.write_text((SOLUTIONS / "backprop.py").read_text())
    _record("backprop", 15, 15)
    _record("dropout", 3, 7)
    assert "file reset" not in runner.invoke(app, ["exercises"]).output
    result = runner.invoke(app, ["reset", "backprop", "--yes"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "your earlier pass stays in your progress" in said
    assert '"done before · file reset"' in said and "starts again from" not in said  # what the list then shows
    assert mine.read_bytes() == (STARTERS / "backprop.py").read_bytes()
    table = " ".join(runner.invoke(app, ["exercises"]).output.split())
    assert "✓ done before · file reset" in table
    rows = {r["id"]: r for r in json.loads(runner.invoke(app, ["exercises", "--json"]).stdout)}
    assert rows["backprop"]["status"] == "done" and rows["backprop"]["passed"] == 15  # the record is kept
    assert rows["backprop"]["file_reset"] is True
    assert rows["dropout"]["file_reset"] is True and rows["conv"]["file_reset"] is False  # never tried: no reset
    assert "1/8 exercises" in runner.invoke(app, []).output  # earned progress still counts on the home screen
    # work on the file again: the list shows the best check as before
    mine.write_text(mine.read_text() + "\n# started again\n")
    rows = {r["id"]: r for r in json.loads(runner.invoke(app, ["exercises", "--json"]).stdout)}
    assert rows["backprop"]["file_reset"] is False
    assert "file reset" not in runner.invoke(app, ["exercises"]).output.split("dropout")[0]


def test_a_try_that_earned_nothing_then_the_starter_again_lists_as_not_started(runner, fresh):
    """A check that timed out (0 of 7), then the starter copied back by hand: the list said
    "0 of 7 checks before · file reset", as if something earned were kept. Nothing was: "not started"."""
    assert runner.invoke(app, ["init"]).exit_code == 0
    _record("dropout", 0, 7)
    table = " ".join(runner.invoke(app, ["exercises"]).output.split())
    assert "dropout 3 exercises/dropout.py not started" in table and "0 of 7 checks before" not in table, table
    rows = {r["id"]: r for r in json.loads(runner.invoke(app, ["exercises", "--json"]).stdout)}
    assert rows["dropout"]["status"] == "0 of 7 checks" and rows["dropout"]["file_reset"] is True  # the record stays


def test_reset_of_a_partly_done_exercise_says_its_best_check_stays(runner, fresh):
    assert runner.invoke(app, ["init"]).exit_code == 0
    (fresh / "exercises" / "dropout.py").write_text("# my attempt\n")
    _record("dropout", 5, 7)
    result = runner.invoke(app, ["reset", "dropout", "--yes"])
    assert result.exit_code == 0, result.output
    assert "your best check so far (5 of 7 checks) stays in your progress" in " ".join(result.output.split())
    never = runner.invoke(app, ["reset", "rnn", "--yes"])
    assert "stays in your progress" not in never.output  # nothing earned, nothing to keep


# ---------------------------------------------------------------- 4. the overflow hints


def test_the_overflow_hints_name_the_np_where_trap_and_do_not_repeat_the_meaning():
    from tutor.grading import catalogue, diagnoses

    tailored = catalogue.find("backprop").tailored["overflow"]
    assert "np.where" in tailored and "both branches" in tailored
    general = diagnoses.hint("overflow")
    assert "np.where" in general and "inf" not in general  # the meaning already says exp overflowed
    assert "subtract" not in diagnoses.meaning("softmax-overflow").lower()  # the fix is the hint's, said once


# ---------------------------------------------------------------- 5. hint and reset without an id


@pytest.mark.parametrize("command", ["reset"])
def test_hint_and_reset_without_an_id_list_the_ids(runner, fresh, command):
    """`dnn-tutor hint` said Typer's "Missing argument 'exercise'". (`hint` alone now lists the exercises and
    exits 0, as the README says: see test_check_round10.py; `reset` alone still refuses.)"""
    result = runner.invoke(app, [command])
    assert result.exit_code == 2
    lines = _lines(result.stderr)
    assert len(lines) == 1, lines
    assert "Missing argument" not in lines[0] and "give an exercise id, one of: " in lines[0]
    assert all(exercise in lines[0] for exercise in IDS)
    assert f"dnn-tutor {command} backprop" in lines[0]
    assert not Path(fresh / "exercises").exists()  # reset without an id touches nothing


def test_a_full_disk_during_init_or_a_backup_names_the_file(tmp_path, monkeypatch):
    """`init` and `reset` on a full disk said only "operating system error: no space left on the device"."""
    import errno
    import os

    from tutor import fsutil
    from tutor.errors import os_error_message
    from tutor.grading import workspace

    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fd, mode):
            self.handle = real_fdopen(fd, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")  # as the OS reports it: no file named

    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    monkeypatch.setattr(workspace.os, "fdopen", Full)
    with pytest.raises(OSError) as caught:
        workspace._create_new(tmp_path / "backprop.py", b"x = 1\n")
    assert os_error_message(caught.value) == f"cannot use {tmp_path / 'backprop.py'}: no space left on the device"
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind

    def full(source, target):
        raise OSError(errno.ENOSPC, "No space left on device")

    mine = tmp_path / "mine.py"
    mine.write_text("x = 2\n")
    with pytest.raises(OSError) as caught:
        fsutil._to_backup(mine, "bak", full)
    assert "mine.py.bak" in os_error_message(caught.value) or ".bak" in os_error_message(caught.value)
    assert "no space left on the device" in os_error_message(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.py"] and mine.read_text() == "x = 2\n"


def test_reset_where_the_exercise_file_is_a_folder_says_what_to_do(runner, fresh):
    """`reset rnn --yes` with exercises/rnn.py a folder said "give the exercise file, e.g. exercises/rnn.py": the folder."""
    assert runner.invoke(app, ["init", "."]).exit_code == 0
    (fresh / "exercises" / "rnn.py").unlink()
    (fresh / "exercises" / "rnn.py").mkdir()
    result = runner.invoke(app, ["reset", "rnn", "--yes"])
    assert result.exit_code == 2
    line = " ".join(result.stderr.split())
    assert "rnn.py is a folder, where reset would put the rnn starter: move or rename that folder" in line, line
    assert (fresh / "exercises" / "rnn.py").is_dir()  # nothing touched
