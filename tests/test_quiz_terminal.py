"""The quiz in a real terminal (pexpect): arrow keys, typed answers and Ctrl-C."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from terminal_helpers import exit_code

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.slow  # each test runs the quiz in a terminal

REPO = Path(__file__).resolve().parents[1]
DOWN = "\x1b[B"


def _arrows_to(place: int) -> str:
    """The arrow keys that move the pointer to option ``place`` (1-based). For the first option, down and back
    up: an Enter before any move is asked again (test_an_enter_before_any_choice_is_asked_again...)."""
    return DOWN + "\x1b[A" if place == 1 else DOWN * (place - 1)


def spawn(home: Path, *args: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DNN_TUTOR_")}
    env.update(
        PROMPT_TOOLKIT_NO_CPR="1",
        TERM="xterm",
        DNN_TUTOR_HOME=str(home),
        DNN_TUTOR_QUESTIONS=str(REPO / "tests" / "fixtures" / "questions"),
        DNN_TUTOR_LESSONS=str(REPO / "tests" / "fixtures" / "course"),
    )
    env.pop("NO_COLOR", None)
    return pexpect.spawn(
        sys.executable, ["-m", "tutor", "quiz", *args], env=env, cwd=str(REPO),
        dimensions=(40, 100), encoding="utf-8", timeout=30,
    )


def ended(child) -> tuple[str, int]:
    """What the quiz wrote until it exited, and its exit code."""
    child.expect(pexpect.EOF)
    return child.before, exit_code(child)


def reviews(home: Path):
    from tutor.store import Store

    with Store(home / "progress.db") as store:
        return [(r.question_id, r.correct) for r in store.reviews()]


def test_arrow_keys_pick_a_choice_and_show_the_explanation(tmp_path):
    child = spawn(tmp_path, "--question", "fx-choice", "--question", "fx-number")
    try:
        child.expect("Your answer")
        child.expect(r"(\d)\) The maximum of its inputs")  # (wrong); the options come shuffled
        child.send(_arrows_to(int(child.match.group(1))))  # arrow down to it
        child.send("\r")
        child.expect("Not quite")
        child.expect("A neuron forms w")  # the explanation
        child.expect("reread: ")
        child.expect("Your answer")  # the number question: typed
        child.send("0.664\r")
        child.expect("Right")
        child.expect("Quiz summary")
        _, code = ended(child)
    finally:
        child.close(force=True)
    assert code == 0
    assert reviews(tmp_path) == [("fx-choice", False), ("fx-number", True)]


def test_ctrl_c_exits_130_without_a_traceback_keeping_answers(tmp_path):
    child = spawn(tmp_path, "--question", "fx-choice", "--question", "fx-multi")
    try:
        child.expect("Your answer")
        child.expect(r"(\d)\) A weighted sum of its inputs plus a bias")  # right
        child.send(_arrows_to(int(child.match.group(1))) + "\r")
        child.expect("Right")
        child.expect("Your answer")
        child.sendintr()
        output, code = ended(child)
    finally:
        child.close(force=True)
    assert code == 130, output
    assert "Traceback" not in output
    assert "You stopped early with Ctrl-C: 1 of 2 answered; those answers are saved." in output
    assert "interrupted" not in output  # one line about it, not two
    assert reviews(tmp_path) == [("fx-choice", True)]


def test_a_second_enter_after_a_typed_answer_does_not_answer_the_next_question(tmp_path):
    """Enter twice after a typed number answered the following choice question unseen (and recorded it)."""
    import time

    child = spawn(tmp_path, "--question", "fx-number", "--question", "fx-choice")
    try:
        child.expect("Your answer")
        child.send("0.664\r\r\r")
        child.expect("Right")
        child.expect(r"\d\) The maximum of its inputs")  # the choice question is shown ...
        time.sleep(1.0)
        assert reviews(tmp_path) == [("fx-number", True)]  # ... and waits for its own answer
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def stopped_after_the_first(child, home: Path, first: str) -> None:
    """q was typed at the second of three questions: the quiz says so, ends with 0 and keeps the first answer."""
    child.expect(r"You stopped early: 1 of 3 answered; those answers are saved")
    output, code = ended(child)
    assert code == 0
    assert "Question 3/3" not in output and "Traceback" not in output
    assert reviews(home) == [(first, True)]


def test_q_at_a_typed_number_prompt_stops_the_quiz_keeping_answers(tmp_path):
    """q stopped the quiz at the Enter pause but was refused at a number prompt ("type a number such as ...")."""
    child = spawn(tmp_path, "--question", "fx-choice", "--question", "fx-number", "--question", "fx-shape")
    try:
        child.expect("Your answer")
        child.expect(r"(\d)\) A weighted sum of its inputs plus a bias")  # right
        child.send(_arrows_to(int(child.match.group(1))) + "\r")
        child.expect("Right")
        child.expect("Question 2/3")
        child.expect("Your answer")
        child.expect(r"\(q stops\)")  # said at the prompt, as the menus say it
        child.send("q\r")
        stopped_after_the_first(child, tmp_path, "fx-choice")
    finally:
        child.close(force=True)


def test_q_in_a_choice_menu_stops_the_quiz_keeping_answers(tmp_path):
    """q did nothing in the arrow-key menu, although it stopped the quiz at a typed prompt and at the pause."""
    child = spawn(tmp_path, "--question", "fx-number", "--question", "fx-choice", "--question", "fx-true-false")
    try:
        child.expect("Your answer")
        child.send("0.664\r")
        child.expect("Right")
        child.expect(r"or press 1-\d; q stops\)")
        child.send("q")
        stopped_after_the_first(child, tmp_path, "fx-number")
    finally:
        child.close(force=True)


def spawn_dumb(home: Path, rows: int, *args: str):
    """The quiz in a 60-column terminal under TERM=dumb: plain numbered prompts, stdin and stdout terminals."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DNN_TUTOR_") and k not in ("COLUMNS", "LINES")}
    env.update(
        TERM="dumb",
        DNN_TUTOR_HOME=str(home),
        DNN_TUTOR_QUESTIONS=str(REPO / "tests" / "fixtures" / "questions"),
        DNN_TUTOR_LESSONS=str(REPO / "tests" / "fixtures" / "course"),
    )
    return pexpect.spawn(sys.executable, ["-m", "tutor", "quiz", *args], env=env, cwd=str(REPO),
                         dimensions=(rows, 60), encoding="utf-8", timeout=30)


def test_term_dumb_pauses_with_a_plain_line_where_the_next_question_would_push_the_verdict_off(tmp_path):
    """Under TERM=dumb the quiz never paused: on a short screen the ✓/✗ verdict scrolled off unread."""
    child = spawn_dumb(tmp_path, 14, "--question", "fx-choice", "--question", "fx-number")
    try:
        child.expect("answer> ")
        child.send("a random number\r")
        child.expect("Not quite")
        child.expect("-- Enter: next question, q: stop here --")
        assert "Question 2/2" not in child.before
        child.send("\r")
        child.expect("Question 2/2")
        child.expect("answer> ")
        child.send("0.664\r")
        child.expect("Right")
        child.expect("-- Enter: summary, q: stop here --")  # 14 rows: the summary would push it off too
        assert "Quiz summary" not in child.before
        child.send("\r")
        child.expect("Quiz summary")
        _, code = ended(child)
    finally:
        child.close(force=True)
    assert code == 0
    assert reviews(tmp_path) == [("fx-choice", False), ("fx-number", True)]


def test_q_at_the_plain_pause_under_term_dumb_stops_keeping_answers(tmp_path):
    child = spawn_dumb(tmp_path, 14, "--question", "fx-choice", "--question", "fx-number")
    try:
        child.expect("answer> ")
        child.send("a random number\r")
        child.expect("-- Enter: next question, q: stop here --")
        child.send("q\r")
        child.expect(r"You stopped early: 1 of 2 answered; those answers are saved\.")
        output, code = ended(child)
    finally:
        child.close(force=True)
    assert code == 0
    assert "Question 2/2" not in output and "Traceback" not in output
    assert reviews(tmp_path) == [("fx-choice", False)]


def test_q_at_a_plain_choice_prompt_under_term_dumb_stops_and_the_empty_answer_note_names_it(tmp_path):
    """Under TERM=dumb a choice prompt refused q ("type a number from 1 to 4, or the exact text of a choice") and its
    note for an empty answer named only Ctrl-D."""
    child = spawn_dumb(tmp_path, 40, "--question", "fx-choice", "--question", "fx-number")
    try:
        child.expect("answer> ")
        child.send("\r")
        child.expect(r"type an answer \(q or Ctrl-D stops the quiz\)")
        child.expect("answer> ")
        child.send("q\r")
        child.expect(r"You stopped early: 0 of 2 answered; nothing was recorded\.")
        output, code = ended(child)
    finally:
        child.close(force=True)
    assert code == 0
    assert "exact text of a choice" not in output and "Question 2/2" not in output
    assert reviews(tmp_path) == []


def test_an_enter_before_any_choice_is_asked_again_never_taken_as_the_first_option(tmp_path):
    """After feedback that fits on the screen the quiz goes straight on; an Enter pressed by habit to go on
    answered the next true/false question "true" (the pointer starts on t)."""
    from terminal_helpers import QuizScreen

    env = {k: v for k, v in os.environ.items() if not k.startswith("DNN_TUTOR_")}
    env.update(DNN_TUTOR_HOME=str(tmp_path), DNN_TUTOR_QUESTIONS=str(REPO / "tests" / "fixtures" / "questions"),
               DNN_TUTOR_LESSONS=str(REPO / "tests" / "fixtures" / "course"))
    term = QuizScreen(["--question", "fx-true-false"], env, str(REPO), cols=100, rows=30)
    try:
        term.wait_for(r"True or false")
        term.pump(0.5)
        term.send("\r")  # the reflexive Enter
        term.wait_for(r"Enter again to answer t\), or pick with ↑/↓ or t or f")
        assert reviews(tmp_path) == []  # nothing answered
        term.send("f")
        term.wait_for(r"Quiz summary")
    finally:
        code = term.finish()
    assert code == 0
    assert reviews(tmp_path) == [("fx-true-false", False)]  # the answer is the one picked, f (the key is true)
