"""The core commands through CliRunner: home, lessons, lesson, progress, doctor, --version, help."""

from __future__ import annotations

import json
import os
import re

from pathlib import Path

import pytest

from tutor import __version__
from tutor.cli import app
from tutor.store import Store


def test_version(runner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"dnn-tutor {__version__}"


def _all_commands():
    import typer.main

    group = typer.main.get_command(app)
    return group, sorted(group.commands)  # type: ignore[attr-defined]


def test_every_command_has_help_text(runner):
    group, names = _all_commands()
    assert {"lessons", "lesson", "progress", "doctor"} <= set(names)
    assert (group.help or "").strip()
    for name in names:
        command = group.commands[name]
        assert (command.help or "").strip(), f"command {name!r} has no help text"
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage" in result.output
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert (getattr(param, "help", "") or "").strip(), f"{name} {param.opts} has no help text"


def test_home_screen_shows_course_map_and_next_step(runner, fixture_course):
    result = runner.invoke(app, [])
    assert result.exit_code == 0, result.output
    assert "course map" in result.output
    assert "Fixture basics" in result.output
    assert "dnn-tutor lesson 1" in result.output


@pytest.mark.parametrize("columns", ["80", "60"])
def test_the_home_screen_fits_80x24_with_its_title_in_view(runner, monkeypatch, columns):
    """Nine lessons, three next steps and a table of eight commands made 27 lines: the title scrolled off."""
    from tutor.store import Store

    monkeypatch.setenv("COLUMNS", columns)
    with Store() as store:
        store.record_attempt("backprop", "abc", 11, 15)
        store.put_card("dnn-softmax-stable", {}, "2000-01-01T00:00:00+00:00")
    result = runner.invoke(app, [])
    assert result.exit_code == 0, result.output
    lines = result.output.rstrip("\n").splitlines()
    assert lines[0].startswith("dnn-tutor ") and "dnn-tutor quiz --review" in result.output
    assert len(lines) <= 23, "\n".join(lines)
    for command in ("lessons", "exercises", "demos", "quiz", "progress", "doctor", "--help"):
        assert command in lines[-1] or command in lines[-2]


def test_lessons_table_and_json(runner, fixture_course):
    result = runner.invoke(app, ["lessons"])
    assert result.exit_code == 0
    assert "Fixture basics" in result.output and "not started" in result.output
    data = json.loads(runner.invoke(app, ["lessons", "--json"]).stdout)
    assert [d["id"] for d in data] == ["basics", "more"]
    assert data[0]["sections_total"] == 3 and data[0]["status"] == "not started"


def test_lesson_prints_whole_lesson_when_piped_and_records_nothing(runner, fixture_course):
    result = runner.invoke(app, ["lesson", "1"])
    assert result.exit_code == 0, result.output
    for text in ["First steps", "Try it", "Check yourself", "section 2/3", "Run: dnn-tutor demo xor",
                 "Run: dnn-tutor quiz --question fx-basics-one"]:
        assert text in result.output
    assert "\x1b[" not in result.output  # no cursor or colour codes into a pipe
    with Store() as store:  # nobody is seen reading a pipe (it marked the lesson done)
        assert store.sections_read() == {} and store.lessons_completed() == {}
    assert "not started" in runner.invoke(app, ["lessons"]).output


def test_lesson_by_slug_and_section(runner, fixture_course, monkeypatch):
    monkeypatch.setattr("tutor.console.stdout_is_terminal", lambda: True)  # on a screen: recorded
    result = runner.invoke(app, ["lesson", "basics", "--section", "2"])
    assert result.exit_code == 0
    assert "Try it" in result.output and "First steps" not in result.output
    with Store() as store:
        assert store.sections_read()["basics"] == {2}
        assert store.lessons_completed() == {}
    by_slug = runner.invoke(app, ["lesson", "basics", "--section", "check-yourself"])
    assert "Check yourself" in by_slug.output


def test_progress_tracks_partial_reading(runner, fixture_course, monkeypatch):
    monkeypatch.setattr("tutor.console.stdout_is_terminal", lambda: True)  # on a screen: recorded
    runner.invoke(app, ["lesson", "1", "--section", "1"])
    result = runner.invoke(app, ["progress"])
    assert result.exit_code == 0
    assert "1/3" in result.output
    assert "dnn-tutor lesson 1 --section 2" in result.output
    data = json.loads(runner.invoke(app, ["progress", "--json"]).stdout)
    assert data["lessons"][0]["sections_read"] == [1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["lesson", "99"], "no lesson '99'; the lessons are: 1 basics, 2 more."),
        (["lesson", "basic"], "Did you mean 'basics'?"),
        (["lesson", "1", "--section", "7"], "there is no section 7"),
        (["lesson", "1", "--section", "-1"], "there is no section -1"),  # a number, worded as any other number
        (["lesson", "1", "--section", "try"], "no section 'try'"),
    ],
)
def test_bad_lesson_or_section_is_one_line_exit_2(runner, fixture_course, args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_export_then_import_on_another_machine(runner, fixture_course, tmp_path, monkeypatch):
    monkeypatch.setattr("tutor.console.stdout_is_terminal", lambda: True)  # on a screen: recorded
    runner.invoke(app, ["lesson", "2"])
    export = tmp_path / "progress.json"
    result = runner.invoke(app, ["progress", "--export", str(export)])
    assert result.exit_code == 0, result.output
    data = json.loads(export.read_text())
    assert data["format"] == "dnn-tutor-progress"
    # refuses to overwrite without --force, and keeps a backup with it
    again = runner.invoke(app, ["progress", "--export", str(export)])
    assert again.exit_code == 2 and "--force" in again.output
    forced = runner.invoke(app, ["progress", "--export", str(export), "--force"])
    assert forced.exit_code == 0
    assert list(tmp_path.glob("progress.json.bak-*"))

    other_home = tmp_path / "other"
    other_home.mkdir()
    monkeypatch.setenv("DNN_TUTOR_HOME", str(other_home))
    result = runner.invoke(app, ["progress", "--import", str(export)])
    assert result.exit_code == 0, result.output
    assert "imported" in result.output
    with Store() as store:
        assert "more" in store.lessons_completed()


def test_import_errors_are_one_line(runner, tmp_path):
    missing = runner.invoke(app, ["progress", "--import", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = runner.invoke(app, ["progress", "--import", str(bad)])
    assert result.exit_code == 2 and "cannot read" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_doctor_reports_versions_device_and_database(runner, fixture_course):
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    for text in ["device", "torch", "progress database", "integrity ok", "all good"]:
        assert text in result.output
    data = json.loads(runner.invoke(app, ["doctor", "--json"]).stdout)
    assert data["ok"] is True
    assert data["device"]["name"] in {"cpu", "cuda", "mps"}
    assert data["database"]["integrity"] == "ok"
    assert re.match(r"\d+\.\d+", data["versions"]["torch"])


def test_corrupt_database_warns_once_and_carries_on(runner, fixture_course, tutor_home):
    (tutor_home / "progress.db").write_bytes(b"garbage" * 1000)
    result = runner.invoke(app, ["lessons"])
    assert result.exit_code == 0
    assert result.output.count("warning:") == 1
    assert "moved it to progress.db.corrupt-" in result.output
    assert "Traceback" not in result.output
    assert list(tutor_home.glob("progress.db.corrupt-*"))


def test_no_color_still_readable(runner, fixture_course, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    result = runner.invoke(app, ["lesson", "1"], color=True)
    assert "\x1b[3" not in result.output  # no foreground colours


@pytest.mark.slow
def test_torchvision_imports():
    # torch and torchvision must be a matching pair from the same index (see DEVELOPERS.md)
    import torch
    import torchvision

    assert torchvision.__version__
    assert torch.__version__


def test_progress_lists_every_exercise_with_its_best_attempt(runner):
    with Store() as store:
        store.record_attempt("backprop", "h1", 7, 15)
        store.record_attempt("backprop", "h2", 15, 15)
        store.record_attempt("conv", "h3", 2, 9)
    data = json.loads(runner.invoke(app, ["progress", "--json"]).stdout)
    status = {e["id"]: e["status"] for e in data["exercises"]}
    assert status["backprop"] == "done"
    assert status["conv"] == "2 of 9 checks"
    assert status["lstm"] == "not started"
    assert len(status) == 8
    assert "1/8 exercises" in runner.invoke(app, []).output


def test_progress_shows_the_best_attempt_not_the_latest(runner):
    with Store() as store:
        store.record_attempt("backprop", "good", 15, 15)
        store.record_attempt("backprop", "worse", 7, 15)  # a later, worse try
        store.record_attempt("conv", "a", 5, 9)
        store.record_attempt("conv", "b", 2, 9)
    data = json.loads(runner.invoke(app, ["progress", "--json"]).stdout)
    by_id = {e["id"]: e for e in data["exercises"]}
    assert by_id["backprop"]["status"] == "done" and by_id["backprop"]["passed"] == 15
    assert by_id["conv"]["status"] == "5 of 9 checks"
    table = runner.invoke(app, ["progress"]).output
    assert "5 of 9 checks" in table and "2 of 9" not in table


def test_home_screen_suggests_the_quiz_review_when_cards_are_due(runner, fixture_course):
    from tutor.quiz.bank import load_bank

    question = sorted(load_bank().by_id())[0]
    before = runner.invoke(app, [])
    assert "dnn-tutor quiz --review" not in before.output
    with Store() as store:
        store.put_card(question, {}, "2020-01-01T00:00:00+00:00")  # long overdue
    result = runner.invoke(app, [])
    assert result.exit_code == 0, result.output
    assert "dnn-tutor quiz --review" in result.output
    assert "1 quiz card is due for review now" in " ".join(result.output.split())
    data = json.loads(runner.invoke(app, ["progress", "--json"]).stdout)
    assert data["next_steps"][0]["command"] == "dnn-tutor quiz --review"


def test_due_means_due_now_on_the_home_screen_as_in_quiz_review(runner, fixture_course):
    """A card due later today is not "due": the home screen, `progress` and `quiz --review`
    agree, and the dashboard says when the next card falls due."""
    from datetime import datetime, timedelta, timezone

    from tutor.quiz import due_count
    from tutor.quiz.bank import load_bank

    question = sorted(load_bank().by_id())[0]
    soon = (datetime.now(timezone.utc) + timedelta(minutes=30)).isoformat()
    with Store() as store:
        store.put_card(question, {}, soon)
        assert due_count(store) == 0
    home = " ".join(runner.invoke(app, []).output.split())
    assert "0 quiz cards due now" in home
    assert "dnn-tutor quiz --review" not in home
    data = json.loads(runner.invoke(app, ["progress", "--json"]).stdout)
    assert data["quiz"]["due_now"] == 0
    assert data["quiz"]["next_due"] is not None
    dashboard = " ".join(runner.invoke(app, ["progress"]).output.replace("│", " ").split())
    assert "next one due in 30 minutes" in dashboard or "next one due in 29 minutes" in dashboard


def test_two_forced_exports_in_the_same_second_keep_both_backups(runner, tmp_path):
    target = tmp_path / "progress.json"
    assert runner.invoke(app, ["progress", "--export", str(target)]).exit_code == 0
    first = target.read_text()
    for _ in range(2):
        assert runner.invoke(app, ["progress", "--export", str(target), "--force"]).exit_code == 0
    backups = sorted(tmp_path.glob("progress.json.bak-*"))
    assert len(backups) == 2
    assert backups[0].read_text() == first


def test_json_output_never_holds_nan(capsys):
    from tutor.commands.common import emit_json

    emit_json({"loss": float("nan"), "acc": [1.0, float("inf"), -float("inf")], "ok": 0.5})
    text = capsys.readouterr().out
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"loss": None, "acc": [1.0, None, None], "ok": 0.5}


def test_export_and_import_carry_the_hint_ladder(runner, tmp_path, monkeypatch):
    assert runner.invoke(app, ["hint", "lstm"]).exit_code == 0
    assert runner.invoke(app, ["hint", "lstm"]).exit_code == 0
    export = tmp_path / "p.json"
    assert runner.invoke(app, ["progress", "--export", str(export)]).exit_code == 0
    assert json.loads(export.read_text())["hint_state"][0]["state"]["position"] == 2
    monkeypatch.setenv("DNN_TUTOR_HOME", str(tmp_path / "elsewhere"))
    assert runner.invoke(app, ["progress", "--import", str(export)]).exit_code == 0
    third = runner.invoke(app, ["hint", "lstm"])
    assert "hint 3/" in third.output


def _suggested_commands():
    """Every `dnn-tutor ...` command a hint or a hint's footer tells the learner to run."""
    from tutor.grading import catalogue
    from tutor.grading.hints import Hint
    from tutor.render.grading import render_hint
    from rich.console import Console

    texts = []
    for info in catalogue.load().values():
        texts += list(info.hints) + list(info.tailored.values())
        for hint in (Hint(info.id, "x", "tailored", 1, 3, code="c"), Hint(info.id, "x", "ladder", 1, 3),
                     Hint(info.id, "x", "ladder", 3, 3, last=True)):
            console = Console(width=400, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
            console.print(render_hint(hint, info))
            texts.append(console.export_text().replace(info.id, "backprop"))
    found = set()
    for text in texts:
        for snippet in re.findall(r"`(dnn-tutor [^`]+)`", text):
            found.add(snippet.replace("<id>", "backprop"))
    return sorted(found)


def test_every_command_a_hint_suggests_runs_as_written():
    import shlex

    import typer.main

    group = typer.main.get_command(app)
    commands = _suggested_commands()
    assert any(c.startswith("dnn-tutor hint backprop") for c in commands)
    for line in commands:
        name, *args = shlex.split(line)[1:]
        command = group.commands[name]  # type: ignore[attr-defined]
        command.make_context(name, list(args))  # raises for a missing argument or an unknown option


# -- hostile-tester regressions ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["progress.db", "progress.db-wal", "progress.db.pending", "link-to-db"])
def test_export_never_writes_over_the_progress_database(runner, tutor_home, name):
    with Store() as store:
        store.mark_section_read("deep-networks", 1, 8)
    target = tutor_home / name
    if name == "link-to-db":
        target = tutor_home.parent / "elsewhere.db"
        target.symlink_to(tutor_home / "progress.db")
    result = runner.invoke(app, ["progress", "--export", str(target), "--force"])
    assert result.exit_code == 2, result.output
    assert "is the progress database" in result.output and result.output.count("\n") == 1
    with Store() as store:
        assert store.sections_read()["deep-networks"] == {1}
    assert not list(tutor_home.glob("progress.db.corrupt-*"))


def test_import_accepts_a_byte_order_mark_and_refuses_repeated_keys(runner, tmp_path):
    with Store() as store:
        store.record_attempt("backprop", "h1", 3, 5)
        data = store.export()
    text = json.dumps(data)
    marked = tmp_path / "bom.json"
    marked.write_bytes(b"\xef\xbb\xbf" + text.encode())  # as some editors save it
    assert runner.invoke(app, ["progress", "--import", str(marked)]).exit_code == 0
    twice = tmp_path / "twice.json"
    twice.write_text(text[:-1] + ', "format": "dnn-tutor-progress"}')
    result = runner.invoke(app, ["progress", "--import", str(twice)])
    assert result.exit_code == 2 and "'format' appears twice" in result.output
    assert "Traceback" not in result.output


def test_json_with_stdout_closed_is_no_internal_error(tutor_home):
    import subprocess
    import sys

    script = "import sys; sys.argv = ['dnn-tutor', 'progress', '--json']; from tutor.cli import main; main()"
    done = subprocess.run(f'"{sys.executable}" -c "{script}" >&-', shell=True, capture_output=True, text=True,
                          env={**os.environ, "DNN_TUTOR_HOME": str(tutor_home)}, timeout=120)
    assert done.returncode == 1, done.stderr  # one line: nothing could be shown (as `lessons --json >&-`)
    assert done.stderr.strip() == "error: standard output is closed, so the dashboard cannot be shown"
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_json_of_a_demo_a_grade_and_a_report_with_stdout_closed_is_no_internal_error(tutor_home, tmp_path):
    """`demo xor --quick --json >&-`, `grade ... --json >&-` and `grade report ... --json >&-` each ended in
    "internal error (AttributeError: 'NoneType' object has no attribute 'write')"; the demo stopped at its first epoch.
    Their stderr is a pipe, which gets no loading line (test_a_terminal_sees_loading_pytorch_until_it_has_loaded)."""
    import shutil
    import subprocess
    import sys

    klass = tmp_path / "class"
    klass.mkdir()
    shutil.copy(Path(__file__).parent / "solutions" / "backprop.py", klass / "amy.py")
    book = tmp_path / "g.csv"
    env = {**os.environ, "DNN_TUTOR_HOME": str(tutor_home)}
    for args in (["demo", "xor", "--quick", "--json"], ["grade", str(klass), "-e", "backprop", "-o", str(book), "--json"],
                 ["grade", "report", str(book), "--json"]):
        done = subprocess.run([sys.executable, "-m", "tutor", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, timeout=180, preexec_fn=lambda: os.close(1))
        assert done.returncode == 0, (args, done.stderr)
        assert "internal error" not in done.stderr and "Traceback" not in done.stderr, args
        assert "loading" not in done.stderr, args  # stderr a pipe: no "loading PyTorch…" line (that is for a terminal)
    assert book.exists()
    history = subprocess.run([sys.executable, "-m", "tutor", "demo", "--history", "--json"], env=env, capture_output=True,
                             text=True, timeout=60)
    assert '"xor"' in history.stdout  # the run went on to its end and was recorded


@pytest.mark.slow
def test_doctor_reports_an_unusable_cache_folder_and_keeps_checking(runner, monkeypatch):
    from tutor import paths

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system", "/learner/cache")

    monkeypatch.setattr(paths, "cache_dir", read_only)
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    cache = [c for c in data["checks"] if c["name"] == "cache folder"]
    assert cache and not cache[0]["ok"] and "/learner/cache: the file system is read-only" in cache[0]["detail"]
    assert data["database"]["integrity"] == "ok"  # the database was still checked


def test_next_steps_bring_up_unfinished_exercises_once_the_lessons_are_read():
    """Reading every lesson (printing them counts) used to make the next step "every lesson is done: quiz",
    with an exercise still at 4 of 15 checks."""
    from tutor.progress import ExerciseStatus, LessonStatus, next_steps

    read = (LessonStatus(1, "deep-networks", "Deep", 30, 3, (1, 2, 3), "2026-01-01"),)
    unread = (LessonStatus(1, "deep-networks", "Deep", 30, 3, (), None),)
    half = ExerciseStatus("backprop", 2, 4, 15, "2026-01-02")
    done = ExerciseStatus("dropout", 3, 7, 7, "2026-01-02")
    untried = ExerciseStatus("conv", 5, 0, 0, "")
    files = {"backprop": "backprop.py"}

    steps = next_steps(read, 0, (done, half, untried), files)
    assert [s.command for s in steps] == ["dnn-tutor check exercises/backprop.py"]
    assert "4 of 15 checks" in steps[0].reason
    assert [s.command for s in next_steps(read, 0, (done, untried), files)] == ["dnn-tutor exercises"]
    assert next_steps(read, 0, (done, untried), files)[0].reason == "every lesson is done; 1 exercise not tried yet"
    assert next_steps(read, 0, (done, untried, untried), files)[0].reason.endswith("; 2 exercises not tried yet")
    assert [s.command for s in next_steps(read, 0, (done,), files)] == ["dnn-tutor quiz"]
    assert [s.command for s in next_steps(unread, 0, (done, untried), files)] == ["dnn-tutor lesson 1"]
    assert [s.command for s in next_steps(unread, 2, (half,), files)] == [
        "dnn-tutor quiz --review", "dnn-tutor lesson 1", "dnn-tutor check exercises/backprop.py"]
    assert next_steps(unread, 2, (half,), files)[0].reason == "2 quiz cards are due for review now"


def test_the_next_step_names_the_workspace_init_made_when_the_learner_is_elsewhere(runner, tmp_path, monkeypatch):
    """From another folder, the home screen said `dnn-tutor check exercises/dropout.py`, a path that is not there."""
    from tutor.progress import ExerciseStatus, LessonStatus, next_steps

    (tmp_path / "my work").mkdir()
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path / "other")
    assert runner.invoke(app, ["init", str(tmp_path / "my work")]).exit_code == 0
    (tmp_path / "my work" / "exercises" / "backprop.py").write_text("# my own work\n")
    read = (LessonStatus(1, "deep-networks", "Deep", 30, 3, (1, 2, 3), "2026-01-01"),)
    steps = next_steps(read, 0, (ExerciseStatus("backprop", 2, 4, 15, "2026-01-02"),), {"backprop": "backprop.py"})
    assert [s.command for s in steps] == [f"dnn-tutor check '{tmp_path / 'my work' / 'exercises' / 'backprop.py'}'"]
    monkeypatch.chdir(tmp_path / "my work")
    steps = next_steps(read, 0, (ExerciseStatus("backprop", 2, 4, 15, "2026-01-02"),), {"backprop": "backprop.py"})
    assert [s.command for s in steps] == ["dnn-tutor check exercises/backprop.py"]


def test_counts_outside_the_quiz_agree_with_their_nouns(runner, fixture_course):
    """"0 quiz card(s) due now", "4 run(s) recorded" and "1 cards · 1 answers" on the home screen and the dashboard."""
    from tutor.quiz.bank import load_bank

    question = sorted(load_bank().by_id())[0]
    with Store() as store:
        store.record_review(question, "a", True, {}, "2020-01-01T00:00:00+00:00")  # answered, and long overdue
        store.record_demo_run("xor", {}, {"test_acc": 1.0}, "cpu", 1.5)
    home = " ".join(runner.invoke(app, []).output.split())
    assert "1 quiz card due now" in home and "(s)" not in home
    dashboard = " ".join(runner.invoke(app, ["progress"]).output.replace("│", " ").split())
    assert "1 card · 1 answer · 100% right" in dashboard and "1 run recorded" in dashboard
    assert "(s)" not in dashboard


@pytest.mark.parametrize("args", [["lesson", "1", "--plain"], ["lessons"], ["progress"], ["exercises"], ["demos"]])
def test_output_off_a_terminal_has_no_trailing_spaces(runner, args):
    """rich pads every line to the width; piped into a file, code copied from a lesson carried them."""
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    padded = [line for line in result.output.splitlines() if line != line.rstrip(" ")]
    assert not padded, padded[:3]
