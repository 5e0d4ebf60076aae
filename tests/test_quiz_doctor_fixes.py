"""A new learner's walkthrough of quiz, progress and doctor: what read badly, and what it reads now.

1. `quiz --stats` cut the list of topics not tried yet with "…" (even at 120 columns).
2. A shape question whose answer is 2-D showed a 3-D example ("(32, 13, 13)").
3. Ctrl-C printed the summary's "Stopped early: …" and then "interrupted: anything already saved is kept."
4. A key that means nothing in a menu (1 on a true/false question) did nothing, without a word.
5. `progress`: "lesson" was the title in the Lessons table and the number in the Exercises table.
6. `doctor` spoke jargon (native_bf16 False, torch cpu, wal mode, hint state) and did not show the
   learner's own exercises folder.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from terminal_helpers import exit_code, read_until

try:
    from pexpect import EOF
except ImportError:  # pragma: no cover - the terminal tests skip (see _spawn)
    EOF = None
from tutor.cli import app

REPO = Path(__file__).resolve().parents[1]
FIXTURE_BANK = REPO / "tests" / "fixtures" / "questions"


@pytest.fixture
def fixture_bank(monkeypatch, fixture_course):
    monkeypatch.setenv("DNN_TUTOR_QUESTIONS", str(FIXTURE_BANK))
    return FIXTURE_BANK


def text_of(renderable, width: int = 60) -> str:
    out = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    out.print(renderable)
    return out.export_text()


def words_of(renderable, width: int = 60) -> str:
    """The text without panel borders, its whitespace folded: what a learner reads, wrapping aside."""
    return " ".join(text_of(renderable, width).replace("│", " ").split())


# -- 1. every topic not tried yet is named, wrapped, never cut ------------------------------------------


@pytest.mark.parametrize("cols", [60, 120])
def test_stats_name_every_topic_not_tried_yet_wrapped_without_an_ellipsis(runner, monkeypatch, cols):
    monkeypatch.delenv("DNN_TUTOR_QUESTIONS", raising=False)
    monkeypatch.delenv("DNN_TUTOR_LESSONS", raising=False)
    monkeypatch.setenv("COLUMNS", str(cols))
    runner.invoke(app, ["quiz", "-q", "dnn-output-activation"], input="1\n")
    result = runner.invoke(app, ["quiz", "--stats"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(map(len, lines)) <= cols and "…" not in result.output, result.output
    untried = [row["topic"] for row in json.loads(runner.invoke(app, ["quiz", "--stats", "--json"]).stdout)["topics"]
               if not (row["answered"] or row["seen"] or row["due_now"])]
    assert len(untried) > 20
    words = " ".join(result.output.split())
    assert f"{len(untried)} topics not tried yet: {', '.join(untried)}." in words


# -- 2. a shape example with as many sizes as the answer, none of them the answer's --------------------------


def test_a_two_dimensional_answer_gets_a_two_dimensional_example_that_is_not_the_answer(runner, monkeypatch):
    monkeypatch.delenv("DNN_TUTOR_QUESTIONS", raising=False)
    monkeypatch.delenv("DNN_TUTOR_LESSONS", raising=False)
    result = runner.invoke(app, ["quiz", "-q", "dnn-batch-output-shape"], input="sixty-four by ten\n(64, 10)\n")
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.replace("│", " ").split())
    hints = re.findall(r"type a shape: \((\d+), (\d+)\), (\d+)x(\d+) or (\d+) (\d+)", out)
    assert len(hints) == 2, out  # in the question panel, and as the reason "sixty-four by ten" is refused
    for sizes in hints:
        assert not {"64", "10"} & set(sizes), sizes
    assert "32x13x13" not in out and "✓ Right" in out


def test_the_shape_example_never_shows_a_size_of_the_answer(fixture_bank):
    """The fixture's answer is (32, 26, 26): the old example (32, 13, 13) gave its channel count away."""
    from tutor.quiz.bank import load_bank
    from tutor.render.quiz import question_panel

    question = load_bank().by_id()["fx-shape"]
    said = text_of(question_panel(question, 1, 1, "new", numbered_choices=True), width=100)
    example = re.search(r"type a shape: \((\d+), (\d+), (\d+)\), (\d+)x(\d+)x(\d+) or (\d+) (\d+) (\d+)", said)
    assert example, said
    assert not {"32", "26"} & set(example.groups()), said


# -- 3. Ctrl-C: one line that says the quiz stopped and what was saved ----------------------------------------


def _one_answer_then_ctrl_c(monkeypatch) -> None:
    import tutor.commands.quiz as command

    lines = iter(["A weighted sum of its inputs plus a bias"])

    def fake_read_line(prompt, screen=None):
        try:
            return next(lines)
        except StopIteration:
            raise KeyboardInterrupt from None

    monkeypatch.setattr(command, "read_line", fake_read_line)


def test_ctrl_c_says_once_that_the_quiz_stopped_and_the_answers_are_saved(runner, monkeypatch, fixture_bank):
    _one_answer_then_ctrl_c(monkeypatch)
    result = runner.invoke(app, ["quiz", "-q", "fx-choice", "-q", "fx-number"])
    assert result.exit_code == 130
    assert "You stopped early with Ctrl-C: 1 of 2 answered; those answers are saved." in result.output
    assert "interrupted" not in result.output.lower(), result.output  # no second, generic line
    assert result.output.count("stopped early") == 1


def test_q_and_ctrl_c_are_worded_alike():
    from tutor.render.quiz import INTERRUPTED, summary

    results = [{"id": "a", "topic": "t", "correct": True, "saved": True}]
    by_q = text_of(summary(results, None, stopped_early=True, planned=3), width=100)
    by_ctrl_c = text_of(summary(results, None, stopped_early=INTERRUPTED, planned=3), width=100)
    assert "You stopped early: 1 of 3 answered; those answers are saved." in by_q
    assert "You stopped early with Ctrl-C: 1 of 3 answered; those answers are saved." in by_ctrl_c


def _quiz_process(tmp_path: Path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DNN_TUTOR_")}
    env.update(DNN_TUTOR_HOME=str(tmp_path / "home"), DNN_TUTOR_QUESTIONS=str(FIXTURE_BANK),
               DNN_TUTOR_LESSONS=str(REPO / "tests" / "fixtures" / "course"), COLUMNS="80")
    return subprocess.Popen([sys.executable, "-m", "tutor", "quiz", *args], env=env, cwd=str(REPO),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_sigterm_after_an_answer_is_one_line_in_the_summary(tmp_path):
    proc = _quiz_process(tmp_path, "-q", "fx-choice", "-q", "fx-number")
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"1\n")
        proc.stdin.flush()
        seen = read_until(proc.stdout, b"Question 2/2")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = (seen + out).decode()
    assert proc.returncode == 143, err
    assert "Stopped early by SIGTERM: 1 of 2 answered; those answers are saved." in out, out
    assert b"stopped by SIGTERM" not in err and b"Traceback" not in err, err


# -- 4. a key that means nothing gets a hint ---------------------------------------------------------------


def test_the_hint_for_a_stray_key_names_the_keys_that_work():
    from tutor.terminal_menu import stray_key_hint

    assert stray_key_hint(["t", "f"]) == "press t or f (q stops)"
    assert stray_key_hint(["1", "2", "3", "4"], multi=True) == "tick with 1-4 or space, then Enter (q stops)"
    letters = [chr(ord("a") + i) for i in range(20)]  # q is a label: it picks, it does not stop
    assert "q stops" not in stray_key_hint(letters)


@pytest.mark.parametrize("typed, said", [
    ("x", "answer true or false: t or f, yes or no (q stops)"),
])
def test_the_plain_fallback_names_the_keys_and_how_to_stop(runner, fixture_bank, typed, said):
    result = runner.invoke(app, ["quiz", "-q", "fx-true-false"], input=f"{typed}\nt\n")
    assert result.exit_code == 0, result.output
    assert said in result.output
    choice = runner.invoke(app, ["quiz", "-q", "fx-choice"], input="7\nq\n")
    assert re.search(r"type a number from 1 to 3 or a choice's text \(q stops\)", choice.output), choice.output
    assert "You stopped early: 0 of 1 answered" in choice.output


def _spawn(home: Path, *args: str, cols: int = 60, rows: int = 24, term: str = "xterm"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DNN_TUTOR_")}
    env.update(PROMPT_TOOLKIT_NO_CPR="1", TERM=term, DNN_TUTOR_HOME=str(home),
               DNN_TUTOR_QUESTIONS=str(FIXTURE_BANK), DNN_TUTOR_LESSONS=str(REPO / "tests" / "fixtures" / "course"))
    env.pop("NO_COLOR", None)
    pexpect = pytest.importorskip("pexpect")
    return pexpect.spawn(sys.executable, ["-m", "tutor", *args], env=env, cwd=str(REPO),
                         dimensions=(rows, cols), encoding="utf-8", timeout=30)


class _Screen:
    """What the terminal shows (pyte): prompt_toolkit redraws a menu by its differences, so the raw output
    need not hold a new line's text in one piece."""

    def __init__(self, child, cols: int = 60, rows: int = 24):
        pyte = pytest.importorskip("pyte")
        self.child, self.screen = child, pyte.Screen(cols, rows)
        self.stream = pyte.Stream(self.screen)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, pattern: str, timeout: float = 30) -> str:
        import pexpect

        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text()):
            assert time.monotonic() < deadline, f"never saw {pattern!r} on the screen:\n{self.text()}"
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.2))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                assert re.search(pattern, self.text()), f"ended before {pattern!r}:\n{self.text()}"
        return self.text()


def _reviews(home: Path):
    from tutor.store import Store

    with Store(home / "progress.db") as store:
        return [(r.question_id, r.correct) for r in store.reviews()]


@pytest.mark.slow
def test_a_stray_key_in_a_true_false_menu_shows_a_hint_and_the_menu_still_answers(tmp_path):
    child = _spawn(tmp_path, "quiz", "--question", "fx-true-false")
    screen = _Screen(child)
    try:
        screen.wait_for("True or false")
        child.send("1")
        screen.wait_for(r"1 means nothing here: press t or f \(q stops\)")
        assert _reviews(tmp_path) == []  # nothing was answered by it
        child.send("t")
        screen.wait_for("Right")
        child.expect(EOF)
        code = exit_code(child)
    finally:
        child.close(force=True)
    assert code == 0
    assert _reviews(tmp_path) == [("fx-true-false", True)]


@pytest.mark.slow
def test_a_stray_key_in_a_several_answers_menu_says_how_to_tick(tmp_path):
    child = _spawn(tmp_path, "quiz", "--question", "fx-multi")
    screen = _Screen(child)
    try:
        screen.wait_for("every right one")
        child.send("x")
        screen.wait_for(r"x means nothing here: tick with 1-4 or space, then Enter\s+\(q stops\)")
        child.send("q")
        screen.wait_for(r"You stopped early: 0 of 1 answered")
        child.expect(EOF)
        code = exit_code(child)
    finally:
        child.close(force=True)
    assert code == 0


@pytest.mark.slow
def test_ctrl_c_in_a_terminal_prints_one_stop_line(tmp_path):
    child = _spawn(tmp_path, "quiz", "--question", "fx-true-false", "--question", "fx-choice", cols=60)
    try:
        child.expect("True or false")
        child.send("t")
        child.expect("Right")
        child.expect("Your answer")
        child.sendintr()
        child.expect(EOF)
        output = child.before
        code = exit_code(child)
    finally:
        child.close(force=True)
    assert code == 130
    flat = " ".join(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output).split())
    assert "You stopped early with Ctrl-C: 1 of 2 answered; those answers are saved." in flat, flat
    assert "interrupted" not in flat


# -- 5. progress: "lesson" means one thing -----------------------------------------------------------------


def test_the_exercises_table_heads_its_lesson_number_as_a_number(runner, fixture_course):
    from tutor.progress import Dashboard, ExerciseStatus
    from tutor.render.progress import render_dashboard

    exercises = (ExerciseStatus("optimizers", 4, 12, 15, "2026-01-01T12:00:00"), ExerciseStatus("conv", 5, 0, 0, ""))
    said = text_of(render_dashboard(Dashboard((), exercises, 0, 0, 0, 0, 0, 0, None, 0, None)), width=60)
    header = next(line for line in said.splitlines() if "exercise" in line and "status" in line)
    assert header.split()[:3] == ["exercise", "lesson", "#"], said
    assert re.search(r"optimizers +4 +12 of 15 checks +2026-01-01 12:00", said), said  # one line at 60 columns
    result = runner.invoke(app, ["progress"])
    assert result.exit_code == 0 and "lesson #" in result.output, result.output


# -- 6. doctor in a learner's words, and the learner's own exercises folder --------------------------------


def _report(device: dict, workspace: str | None = None):
    from tutor.doctor import Check, Report

    database = {"path": "/home/me/progress.db", "size_bytes": 77824, "schema_version": 2, "expected_version": 2,
                "integrity": "ok", "problems": [], "journal_mode": "wal", "warnings": [], "repaired": None,
                "rows": {"sections_read": 3, "lessons_completed": 1, "exercise_attempts": 2, "quiz_reviews": 1,
                         "quiz_cards": 1, "demo_runs": 0, "hint_state": 1}}
    folders = {"learner data": "/home/me", "cache": "/home/me/cache", "lessons": "/x/lessons",
               "exercises (starters)": "/x/exercises", "data": "/x/data"}
    return Report({"dnn-tutor": "0"}, device, folders, {"mnist": "not downloaded"}, database,
                  [Check("progress database", True, "healthy (integrity ok, write-ahead log)")], workspace=workspace)


CPU = {"name": "cpu", "torch": "cpu", "reason": "no CUDA GPU or Apple MPS backend was found", "threads": 2, "cores": 4,
       "native_bf16": False, "torch_build": "CPU only"}


def test_doctor_words_each_device_line_for_a_learner():
    from tutor.render.progress import render_doctor

    said = words_of(render_doctor(_report(CPU)), width=120)
    for words in ("training runs on the CPU", "PyTorch build CPU only", "4 cores; training uses 2 threads",
                  "bf16 arithmetic not in hardware on this CPU (training uses fp32)",
                  "healthy (integrity ok) · write-ahead log · 76 KiB", "1 exercise checked",
                  "3 lesson sections read"):
        assert words in said, said
    for jargon in ("native_bf16", "native bf16", "torch cpu", "wal", "hint state", "False"):
        assert jargon not in said, jargon
    gpu = dict(CPU, name="cuda", torch="cuda:0", gpu_name="NVIDIA H200", native_bf16=True, torch_build="CUDA 13.2")
    said = words_of(render_doctor(_report(gpu)), width=120)
    assert "training runs on the GPU NVIDIA H200" in said and "PyTorch build CUDA 13.2" in said
    assert "bf16 arithmetic in hardware on this GPU" in said
    assert "none is in use here" not in said
    # a CUDA build on a machine without a GPU: the build line says why it does not contradict "the CPU"
    said = words_of(render_doctor(_report(dict(CPU, torch_build="CUDA 13.2"))), width=120)
    assert "training runs on the CPU" in said
    assert "PyTorch build CUDA 13.2 (this PyTorch can use an NVIDIA GPU; none is in use here)" in said


def test_doctor_shows_the_learners_exercises_folder_or_how_to_make_one():
    from tutor.render.progress import render_doctor

    none_yet = words_of(render_doctor(_report(CPU)), width=60)
    assert "your exercises none yet: run `dnn-tutor init`" in none_yet, none_yet
    made = words_of(render_doctor(_report(CPU, "/home/me/dnn/exercises")), width=60)
    assert "your exercises /home/me/dnn/exercises" in made, made


def test_the_database_check_says_healthy_and_names_the_journal_in_words():
    from tutor.doctor import database_report

    database, check = database_report()
    assert check.ok and check.detail == "healthy (integrity ok, write-ahead log)", check
    assert database["journal_mode"] == "wal"  # --json keeps SQLite's own word


@pytest.mark.slow  # doctor imports torch
def test_doctor_json_keeps_its_keys_and_adds_the_workspace_and_the_build(runner, fixture_course, tmp_path):
    before = json.loads(runner.invoke(app, ["doctor", "--json"]).stdout)
    assert before["workspace"] is None
    assert before["device"]["torch_build"] == "CPU only" or re.match(r"(CUDA|ROCm) \d", before["device"]["torch_build"]) \
        or before["device"]["torch_build"] == "Apple Metal (MPS)"
    for key in ("ok", "versions", "device", "folders", "datasets", "database", "checks"):
        assert key in before
    assert {"name", "torch", "reason"} <= set(before["device"])
    assert set(before["folders"]) == {"learner data", "cache", "lessons", "exercises (starters)", "data"}
    assert runner.invoke(app, ["init", str(tmp_path / "work")]).exit_code == 0
    after = json.loads(runner.invoke(app, ["doctor", "--json"]).stdout)
    assert after["workspace"] == str((tmp_path / "work" / "exercises").resolve())
    shown = runner.invoke(app, ["doctor"], env={"COLUMNS": "400"}).output  # the whole path on one line
    assert "your exercises" in shown and str(tmp_path / "work") in shown
