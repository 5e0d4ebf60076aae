"""The quiz engine: plain (non-terminal) flow, filters, errors, stats and scheduling.

These tests use the small fixture bank under tests/fixtures/questions and the
fixture course, so they test the engine, not the course content.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import random
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tutor.cli import app
from tutor.quiz import answers, schedule
from tutor.quiz.bank import BankError, Question, load_bank
from tutor.quiz.select import Entry, catalogue, select
from tutor.store import Store

REPO = Path(__file__).resolve().parents[1]
FIXTURE_BANK = REPO / "tests" / "fixtures" / "questions"
LESSON1_BANK = {"fx-choice", "fx-multi", "fx-true-false", "fx-number"}
LESSON2_BANK = {"fx-shape", "fx-count"}
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def fixture_bank(monkeypatch, fixture_course):
    monkeypatch.setenv("DNN_TUTOR_QUESTIONS", str(FIXTURE_BANK))
    return FIXTURE_BANK


def quiz(runner, *args, input=""):
    return runner.invoke(app, ["quiz", *args], input=input)


def reviews():
    with Store() as store:
        return store.reviews()


def stderr_of(result) -> str:
    try:
        return result.stderr
    except (ValueError, AttributeError):  # pragma: no cover - older click
        return result.output


# -- the plain flow ------------------------------------------------------------------


def test_right_wrong_and_invalid_input_is_asked_again(runner):
    result = quiz(
        runner, "--question", "fx-choice", "--question", "fx-number", "--question", "fx-true-false",
        input="a weighted sum of its inputs plus a bias\nabc\n0.5\n0.500\nyes\n",  # 0.5: asked again (3 decimals asked)
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Question 1/3" in out and "Question 3/3" in out
    assert re.search(r"[123]\) A weighted sum of its inputs plus a bias", out)  # numbered choices in plain mode
    assert "✓ Right" in out
    assert "✗ Not quite" in out and "The answer is 0.664" in out
    assert "type a number" in out  # the reason "abc" was refused
    assert "0.5 has 1 decimal; this question asks for 3" in out  # asked again, not graded
    assert "A neuron forms w·x + b" in out  # the explanation
    assert "reread: dnn-tutor lesson basics --section 1" in out
    assert "reread: dnn-tutor lesson basics --section 3" in out
    assert "Quiz summary" in out
    got = [(r.question_id, r.correct) for r in reviews()]
    assert got == [("fx-choice", True), ("fx-number", False), ("fx-true-false", True)]


def test_choice_by_exact_text_and_multi_by_numbers(runner):
    result = quiz(
        runner, "-q", "fx-choice", "-q", "fx-multi", "-q", "fx-shape",
        input="the maximum of its inputs\nReLU; sigmoid; tanh\n32x26x26\n",
    )
    assert result.exit_code == 0, result.output
    assert [r.correct for r in reviews()] == [False, True, True]
    assert reviews()[0].answer == "The maximum of its inputs"


def test_end_of_input_stops_cleanly_and_keeps_answers(runner):
    result = quiz(runner, "-q", "fx-choice", "-q", "fx-number", "-q", "fx-multi", input="a random number\n")
    assert result.exit_code == 0, result.output
    assert "Stopped early (end of input): 1 of 3 answered" in result.output
    assert "Traceback" not in result.output
    assert [r.question_id for r in reviews()] == ["fx-choice"]


def test_empty_stdin_does_not_hang(runner):
    result = quiz(runner, "--count", "3", input="")
    assert result.exit_code == 0, result.output
    assert "Stopped early (end of input): 0 of 3 answered; nothing was recorded." in result.output
    assert "those answers are saved" not in result.output  # there were none
    assert reviews() == []


def test_end_of_input_while_being_asked_again(runner):
    result = quiz(runner, "-q", "fx-true-false", input="maybe\n")
    assert result.exit_code == 0
    assert "answer true or false" in result.output
    assert reviews() == []


def _one_answer_then_ctrl_c(monkeypatch, echo_prompt: bool = False) -> None:
    """The plain prompt reads the right answer to fx-choice, then the learner presses Ctrl-C."""
    import tutor.commands.quiz as command

    lines = iter(["A weighted sum of its inputs plus a bias"])

    def fake_read_line(prompt, screen=None):
        if echo_prompt:
            screen.write(prompt)  # as read_line does: the prompt, then the learner's keys
        try:
            return next(lines)
        except StopIteration:
            raise KeyboardInterrupt from None

    monkeypatch.setattr(command, "read_line", fake_read_line)


def test_ctrl_c_exits_130_and_keeps_answers(runner, monkeypatch):
    _one_answer_then_ctrl_c(monkeypatch)
    result = quiz(runner, "-q", "fx-choice", "-q", "fx-number")
    assert result.exit_code == 130
    assert "Traceback" not in result.output
    assert [(r.question_id, r.correct) for r in reviews()] == [("fx-choice", True)]
    # the summary says which answers are kept, as after q; the command's generic "interrupted" line is not added
    assert "You stopped early with Ctrl-C: 1 of 2 answered; those answers are saved." in result.output
    assert result.output.count("interrupted") == 0, result.output


# -- selection from the command line ------------------------------------------------


def test_nothing_read_uses_lesson_one_and_says_so(runner):
    result = quiz(runner, "--count", "10", "--seed", "3", input="1\n" * 20)
    assert result.exit_code == 0, result.output
    assert "not read any lesson yet" in result.output
    asked = {r.question_id for r in reviews()}
    entries = catalogue(load_bank())
    assert asked and all(entries[q].lesson == 1 for q in asked)
    assert LESSON1_BANK <= asked  # every new bank question of lesson 1 came up
    assert any(q.startswith("gen-") for q in asked)  # generated ones are mixed in


def test_lessons_read_so_far_pick_the_new_questions(runner):
    with Store() as store:
        store.mark_section_read("more", 1, 1)  # lesson 2 of the fixture course
    result = quiz(runner, "--count", "10", input="1\n" * 20)
    assert result.exit_code == 0, result.output
    assert "not read any lesson" not in result.output
    entries = catalogue(load_bank())
    asked = [r.question_id for r in reviews()]
    assert asked and all(entries[q].lesson == 2 for q in asked)
    assert LESSON2_BANK <= set(asked)


@pytest.mark.parametrize(
    "args, field, value",
    [(["--lesson", "2"], "lesson", 2), (["--lesson", "more"], "lesson", 2), (["--topic", "cnn"], "topic", "cnn")],
)
def test_lesson_and_topic_filters(runner, args, field, value):
    result = quiz(runner, *args, "--count", "3", "--seed", "1", input="1\n" * 10)
    assert result.exit_code == 0, result.output
    asked = [r.question_id for r in reviews()]
    assert len(asked) == 3
    entries = catalogue(load_bank())
    assert all(getattr(entries[q], field) == value for q in asked), asked
    others = [e for e in entries.values() if getattr(e, field) != value]
    assert others  # the filter had something to leave out


def test_count_limits_the_quiz(runner):
    result = quiz(runner, "--lesson", "1", "--count", "2", input="1\n" * 10)
    assert result.exit_code == 0
    assert len(reviews()) == 2
    assert "Question 2/2" in result.output and "Question 3/" not in result.output


@pytest.mark.parametrize(
    "args, words",
    [
        (["--lesson", "9"], "no lesson 9"),
        (["--lesson", "nonsense"], "no lesson"),
        (["--topic", "cnnn"], "did you mean 'cnn'"),
        (["--question", "fx-choise"], "did you mean 'fx-choice'"),
        (["--question", "fx-choice", "--review"], "--question"),
    ],
)
def test_unknown_lesson_topic_or_question_is_one_line_exit_2(runner, args, words):
    result = quiz(runner, *args)
    assert result.exit_code == 2
    err = stderr_of(result)
    assert "Traceback" not in result.output + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert words.lower() in lines[0].lower()


def test_malformed_bank_is_one_line_error(runner, tmp_path, monkeypatch):
    (tmp_path / "01-bad.toml").write_text(
        '[[question]]\nid = "bad"\nlesson = 1\ntopic = "x"\nkind = "choice"\nprompt = "?"\n'
        'choices = ["a", "b"]\nanswer = "c"\nexplanation = "."\n'
    )
    monkeypatch.setenv("DNN_TUTOR_QUESTIONS", str(tmp_path))
    result = quiz(runner)
    assert result.exit_code == 2
    assert "01-bad.toml" in stderr_of(result) and "one of the choices" in stderr_of(result)


def test_generated_question_by_id_is_reproducible_with_seed(runner):
    first = quiz(runner, "-q", "gen-conv-shape", "--seed", "7", input="1 1 1\n")
    second = quiz(runner, "-q", "gen-conv-shape", "--seed", "7", input="1 1 1\n")
    assert first.exit_code == second.exit_code == 0
    prompt = first.output.split("answer>")[0]
    assert "Conv2d(" in prompt and prompt == second.output.split("answer>")[0]
    assert [r.question_id for r in reviews()] == ["gen-conv-shape", "gen-conv-shape"]


def test_generated_answer_is_checked(runner):
    from tutor.quiz.generators import generate

    q = generate("gen-dense-params", random.Random(11))
    result = quiz(runner, "-q", "gen-dense-params", "--seed", "11", input=f"{int(q.answer)}\n")
    assert result.exit_code == 0
    assert "✓ Right" in result.output
    assert reviews()[0].correct


# -- review, persistence, stats -----------------------------------------------------


def test_review_with_nothing_due(runner):
    result = quiz(runner, "--review")
    assert result.exit_code == 0
    assert "Nothing to review yet" in result.output
    quiz(runner, "-q", "fx-choice", input="A weighted sum of its inputs plus a bias\n")  # right: due in days
    result = quiz(runner, "--review")
    assert result.exit_code == 0
    assert "Nothing is due for review right now" in result.output
    assert re.search(r"The next card is due in \d+ (days|hours)", result.output)  # and when it will be


def test_second_run_asks_due_cards_first(runner, monkeypatch):
    quiz(runner, "-q", "fx-number", "-q", "fx-choice", input="9\nA weighted sum of its inputs plus a bias\n")  # a miss, a hit
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    monkeypatch.setattr(schedule, "utc_now", lambda: later)
    result = quiz(runner, "--review", input="0.664\n")
    assert result.exit_code == 0, result.output
    assert "Question 1/1" in result.output and "due for review" in result.output
    assert "tanh(0.8)" in result.output
    result = quiz(runner, "--count", "3", "--seed", "2", input="1\n1\n1\n")
    assert "Question 1/3" in result.output
    asked = [r.question_id for r in reviews()]
    assert asked[:3] == ["fx-number", "fx-choice", "fx-number"]
    assert "fx-choice" not in asked[3:] and "fx-number" not in asked[3:]  # not due: new ones instead


def test_stats_table_and_json(runner):
    quiz(
        runner, "-q", "fx-choice", "-q", "fx-multi", "-q", "fx-number",
        input="A weighted sum of its inputs plus a bias\nSGD\n0.664\n",
    )
    result = quiz(runner, "--stats")
    assert result.exit_code == 0
    assert "Quiz statistics" in result.output and "neurons" in result.output and "50%" in result.output
    result = quiz(runner, "--stats", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    topics = {row["topic"]: row for row in data["topics"]}
    assert topics["neurons"]["answered"] == 2 and topics["neurons"]["correct"] == 1
    assert topics["neurons"]["accuracy"] == 0.5
    assert topics["activations"]["correct"] == 1
    assert data["answered"] == 3 and data["due"]["total"] == 3
    # the miss is due in 10 minutes: today, unless that is past local midnight (then this week)
    from tutor import clock
    from tutor.quiz import schedule

    first = clock.parse_iso(data["due"]["next"])
    assert first - clock.utcnow() < timedelta(minutes=11)
    assert data["due"]["week"] >= 1 and data["due"]["week"] >= data["due"]["today"]
    assert data["due"]["today"] >= (1 if first <= schedule._end_of_local_day(clock.utcnow()) else 0)


def test_stats_fold_the_topics_not_tried_into_one_line_and_json_keeps_them(runner):
    """--stats printed a row for every topic: in a 24-line terminal the rows with answers scrolled off."""
    quiz(runner, "-q", "fx-choice", input="A weighted sum of its inputs plus a bias\n")
    out = quiz(runner, "--stats").output
    rows = [line.split() for line in out.splitlines()]
    assert ["1", "neurons", "1", "1", "100%", "1/2", "0"] in rows
    assert not any(row[1:2] in (["activations"], ["cnn"]) for row in rows), out
    assert "8 topics not tried yet: activations, parameters, cnn, conv-shapes" in out
    assert "(of 1 card)." in out
    data = json.loads(quiz(runner, "--stats", "--json").output)
    assert {"neurons", "activations", "cnn", "lstm"} <= {row["topic"] for row in data["topics"]}
    assert len(data["topics"]) == 9


@pytest.mark.parametrize("cols", [60, 80])
def test_stats_of_the_whole_course_fit_a_24_line_screen(runner, monkeypatch, cols):
    """At 60 columns the headers were cut ("answ…", "accu…") and the folded line gave no hint of the rest."""
    monkeypatch.delenv("DNN_TUTOR_QUESTIONS")
    monkeypatch.delenv("DNN_TUTOR_LESSONS")
    monkeypatch.setenv("COLUMNS", str(cols))
    quiz(runner, "-q", "dnn-output-activation", input="1\n")
    lines = quiz(runner, "--stats").output.splitlines()
    assert len(lines) <= 23 and max(map(len, lines)) <= cols, lines
    assert not any("…" in line for line in lines[:3]), lines  # the title and headers whole
    start = next(i for i, x in enumerate(lines) if "not tried" in x)
    end = next(i for i in range(start, len(lines)) if lines[i].endswith("."))
    listed = " ".join(lines[start:end + 1])  # every name, wrapped, none cut
    assert listed.startswith("33 topics not tried yet: basics, ") and "…" not in listed and "residual" in listed


# -- the scheduler ---------------------------------------------------------------------


def test_intervals_grow_after_hits_and_shrink_after_a_miss():
    state, due = schedule.review("q", None, True, T0)
    intervals = [due - T0]
    now = due
    for _ in range(3):
        state, due = schedule.review("q", state, True, now, streak=len(intervals))
        intervals.append(due - now)
        now = due
    assert all(b > a for a, b in zip(intervals, intervals[1:])), intervals
    assert intervals[0] >= timedelta(days=1)
    state, due = schedule.review("q", state, False, now, streak=4)
    assert due - now <= timedelta(minutes=10)
    assert due - now < intervals[-1]


def test_a_miss_on_a_new_card_comes_back_soon():
    _, due = schedule.review("q", None, False, T0)
    assert timedelta(0) < due - T0 <= timedelta(minutes=10)


def test_ratings_and_streaks():
    from fsrs import Rating

    assert schedule.rating_for(False, 10) == Rating.Again
    assert schedule.rating_for(True, 0) == Rating.Good
    assert schedule.rating_for(True, schedule.EASY_STREAK - 1) == Rating.Easy
    assert schedule.streak_of([True, False, True, True]) == 2
    assert schedule.streak_of([]) == 0


def test_record_and_due_counts_use_the_store():
    with Store() as store:
        due = schedule.record(store, "fx-choice", "x", False, now=T0)
        assert due - T0 <= timedelta(minutes=10)
        schedule.record(store, "fx-multi", "x", True, now=T0)
        counts = schedule.due_counts(store, T0 + timedelta(minutes=30))
        assert counts["now"] == 1 and counts["total"] == 2
        assert counts["week"] == 2 and counts["today"] >= 1
        assert schedule.due_counts(store, T0 - timedelta(days=1))["now"] == 0
        store.put_card("retired-question", {}, schedule.iso(T0))  # no longer in the bank
        assert schedule.due_counts(store, T0 + timedelta(minutes=30))["total"] == 2


def test_schedule_concept_brings_a_card_forward():
    with Store() as store:
        schedule.record(store, "fx-choice", "x", True, now=T0)
        assert store.due_cards(until=schedule.iso(T0 + timedelta(hours=1))) == []
        assert schedule.schedule_concept(store, "fx-choice", now=T0 + timedelta(hours=1))
        assert schedule.schedule_concept(store, "fx-multi", now=T0 + timedelta(hours=1))
        assert not schedule.schedule_concept(store, "no-such-question", now=T0)
        due = [c.question_id for c in store.due_cards(until=schedule.iso(T0 + timedelta(hours=1)))]
        assert set(due) == {"fx-choice", "fx-multi"}
        assert store.cards()["fx-choice"].state["stability"] is not None  # memory kept


class _Card:
    def __init__(self, due):
        self.due = schedule.iso(due)


def test_selection_order_due_then_new_then_generated():
    entries = catalogue(load_bank())
    cards = {
        "fx-number": _Card(T0 - timedelta(days=1)),
        "fx-choice": _Card(T0 - timedelta(days=3)),  # most overdue
        "fx-multi": _Card(T0 + timedelta(days=2)),  # not due
    }
    items = select(entries, cards, T0, count=10, lessons={1}, rng=random.Random(0))
    ids = [i.question.id for i in items]
    reasons = [i.reason for i in items]
    assert ids[:2] == ["fx-choice", "fx-number"] and reasons[:2] == ["due", "due"]
    assert ids[2] == "fx-true-false" and reasons[2] == "new"
    assert all(r == "generated" for r in reasons[3:-1])
    assert ids[-1] == "fx-multi" and reasons[-1] == "ahead"  # room left: reviewed ahead
    review = select(entries, cards, T0, count=10, lessons={1}, review_only=True)
    assert [i.question.id for i in review] == ["fx-choice", "fx-number"]


def test_generated_share_of_a_quiz():
    bank = [Question(f"b{i}", 1, "activations", "true-false", "?", True, ".") for i in range(20)]
    entries = {q.id: Entry(q.id, 1, q.topic, question=q) for q in bank}
    entries.update({k: v for k, v in catalogue(load_bank()).items() if k.startswith("gen-")})
    items = select(entries, {}, T0, count=10, lessons={1}, rng=random.Random(1))
    assert len(items) == 10
    assert sum(i.reason == "generated" for i in items) == 3
    assert [i.reason for i in items][:7] == ["new"] * 7


# -- answers ---------------------------------------------------------------------------


def _q(kind, answer, **kw):
    return Question("t", 1, "x", kind, "?", answer, ".", **kw)


@pytest.mark.parametrize(
    "typed, ok",
    [("0.6652", True), ("0.665", True), ("0.67", False), ("0.666", True), ("0.7", False), ("0.664", False), ("1", False)],
)
def test_numbers_are_checked_forgivingly(typed, ok):
    q = _q("number", 0.6652, tolerance=0.001)
    assert answers.is_correct(q, answers.parse(q, typed), typed) is ok


@pytest.mark.parametrize("answer, tolerance, shown", [(0.25 ** 10, 5e-9, "9.5e-07"), (0.665241, 0.0005, "0.665"),
                                                      (-1.341639, 0.0005, "-1.342"), (12.0001, 1e-5, "12.0001"), (3.0, 0.01, "3")])
def test_a_wrong_answer_is_told_the_right_one_to_the_precision_asked(answer, tolerance, shown):
    from rich.console import Console

    from tutor.render.quiz import feedback

    q = _q("number", answer, tolerance=tolerance)
    assert q.answer_as_asked() == shown
    screen = Console(width=80, record=True, color_system=None)
    screen.print(feedback(q, False, "2.5", None))
    assert f"The answer is {shown}; you answered 2.5." in " ".join(screen.export_text().split())


@pytest.mark.parametrize("typed, ok", [("401920", True), ("401,920", True), ("4.0192e5", True), ("401408", False), ("4.02e5", False)])
def test_whole_number_answers_must_be_exact(typed, ok):
    q = _q("number", 401920.0)
    assert answers.is_correct(q, answers.parse(q, typed), typed) is ok


def test_number_without_tolerance_accepts_rounding_at_typed_precision():
    q = _q("number", 0.6652)
    assert answers.is_correct(q, 0.665, "0.665")
    assert not answers.is_correct(q, 0.66, "0.66")
    assert answers.is_correct(q, 2 / 3, "2/3") is False


@pytest.mark.parametrize("typed", ["(32, 13, 13)", "32x13x13", "32 13 13", "[32,13,13]", "torch.Size([32, 13, 13])"])
def test_shape_formats(typed):
    assert answers.parse_shape(typed) == [32, 13, 13]


@pytest.mark.parametrize("typed", ["", "abc", "32 x", "(a, b)", "(32, 1 3, 13)", "32, 13 13"])  # mixed separators: a slip
def test_bad_shapes_are_refused_with_a_reason(typed):
    with pytest.raises(answers.InvalidAnswer) as info:
        answers.parse(_q("shape", [1]), typed)
    assert info.value.reason


@pytest.mark.parametrize(
    "kind, typed",
    [("true-false", "perhaps"), ("number", "twelve"), ("number", "5%"), ("choice", "7"), ("multi", "1, 9")],
)
def test_invalid_answers_have_reasons(kind, typed):
    q = _q(kind, "a" if kind == "choice" else ["a"] if kind == "multi" else True, choices=("a", "b", "c"))
    with pytest.raises(answers.InvalidAnswer):
        answers.parse(q, typed)


def test_true_false_words():
    q = _q("true-false", False)
    assert [answers.parse(q, w) for w in ["t", "True", "yes", "f", "NO", "false"]] == [True, True, True, False, False, False]


# -- bank loader -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, words",
    [
        ('kind = "number"\nanswer = "x"', "must be a number"),
        ('kind = "shape"\nanswer = [1, "a"]', "shape"),
        ('kind = "true-false"\nanswer = "yes"', "true or false"),
        ('kind = "multi"\nchoices = ["a", "b"]\nanswer = ["c"]', "multi"),
        ('kind = "essay"\nanswer = 1', "kind"),
        ('kind = "number"\nanswer = 1\nhint = "x"', "unknown keys"),
    ],
)
def test_bank_schema_errors_name_the_file_and_question(tmp_path, body, words):
    (tmp_path / "03-x.toml").write_text(
        f'[[question]]\nid = "x-one"\nlesson = 3\ntopic = "x"\nprompt = "?"\nexplanation = "."\n{body}\n'
    )
    with pytest.raises(BankError) as info:
        load_bank(tmp_path)
    assert "03-x.toml" in info.value.message and "x-one" in info.value.message
    assert words in info.value.message


def test_duplicate_ids_across_files(tmp_path):
    text = '[[question]]\nid = "dup"\nlesson = 1\ntopic = "x"\nkind = "true-false"\nprompt = "?"\nanswer = true\nexplanation = "."\n'
    (tmp_path / "01-a.toml").write_text(text)
    (tmp_path / "02-b.toml").write_text(text)
    with pytest.raises(BankError, match="appears twice"):
        load_bank(tmp_path)


def test_the_shipped_bank_follows_the_schema(monkeypatch):
    monkeypatch.delenv("DNN_TUTOR_QUESTIONS")
    bank = load_bank()
    assert bank.questions, "data/questions holds no questions"
    ids = set(bank.by_id())
    assert not any(i.startswith("gen-") for i in ids)


def test_reread_falls_back_when_lessons_are_missing(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("DNN_TUTOR_LESSONS", str(tmp_path / "nowhere"))
    result = quiz(runner, "-q", "fx-choice", input="1\n")
    assert result.exit_code == 0
    assert "reread: lesson 1, section 'first-steps'" in result.output


def test_unknown_section_slug_points_to_the_lesson(runner):
    result = quiz(runner, "-q", "fx-count", input="320\n")
    assert "reread: dnn-tutor lesson more" in result.output
    assert "--section" not in result.output.split("reread:")[1].splitlines()[0]


@pytest.mark.slow
def test_quiz_does_not_import_torch(tmp_path):
    code = (
        "import sys; from typer.testing import CliRunner; from tutor.cli import app; "
        "r = CliRunner().invoke(app, ['quiz', '--count', '1'], input='1\\n'); "
        "print(r.exit_code, 'torch' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DNN_TUTOR_")}
    env["DNN_TUTOR_HOME"] = str(tmp_path / "home")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-2:] == ["0", "False"], proc.stdout + proc.stderr


def test_numeric_choices_are_labelled_with_letters():
    q = _q("choice", "1", choices=("0", "1", "2"))
    assert answers.labels(q.choices) == ["a", "b", "c"]
    assert answers.parse(q, "b") == "1"
    assert answers.parse(q, "1") == "1"  # the text of a choice, not a position
    with pytest.raises(answers.InvalidAnswer, match="letter from a to c"):
        answers.parse(q, "9")
    m = _q("multi", ["0", "2"], choices=("0", "1", "2"))
    assert answers.parse(m, "a, c") == ["0", "2"]
    assert answers.parse(m, "none") == []
    assert answers.parse(m, "0 2") == ["0", "2"]


def test_templates_follow_the_bank_topics_and_the_course():
    from types import SimpleNamespace as NS

    from tutor.quiz.generators import resolve
    from tutor.quiz.refs import reread_for

    bank = [
        Question("a", 4, "optimisers", "true-false", "?", True, "."),
        Question("b", 3, "regularisation", "true-false", "?", True, "."),
        Question("c", 3, "regularisation", "true-false", "?", True, "."),
        Question("d", 9, "regularisation", "true-false", "?", True, "."),
    ]
    placed = resolve(bank)
    assert placed["gen-adam-step"] == (4, "optimisers")  # the bank's spelling is adopted
    assert placed["gen-dropout-expectation"] == (3, "dropout")  # lesson from a broader topic, most questions
    section = NS(slug="adam-and-rmsprop", index=2, title="Adam and RMSprop")
    course = NS(lessons=[NS(id="training", number=7, sections=[NS(slug="intro", index=1, title="Intro"), section])])
    assert resolve([], course)["gen-adam-step"] == (7, "optimizers")
    q = generate_question("gen-adam-step", lesson=7)
    ref = reread_for(q, course)
    assert ref.command == "dnn-tutor lesson training --section 2"


def generate_question(template_id, lesson):
    from tutor.quiz.generators import templates

    return templates()[template_id].make(random.Random(0), lesson)


# -- shuffled options, one meaning of "due", the quiz's scope -----------------------------------


def test_options_are_shuffled_per_ask_and_numbers_follow_the_order_shown():
    from tutor.quiz.select import shuffled

    q = load_bank().by_id()["fx-choice"]
    orders = {shuffled(q, random.Random(seed)).choices for seed in range(12)}
    assert len(orders) > 1 and all(sorted(o) == sorted(q.choices) for o in orders)
    for order in orders:
        asked = dataclasses.replace(q, choices=order)
        label = str(order.index(q.answer) + 1)
        assert answers.parse(asked, label) == q.answer  # "2" means the second option *shown*
        assert answers.is_correct(asked, answers.parse(asked, label))
    entries = catalogue(load_bank())
    seen = {entries["fx-choice"].instantiate(random.Random(seed)).choices for seed in range(12)}
    assert len(seen) > 1  # every ask, not once per bank


def test_answers_are_stored_by_text_so_history_survives_a_new_order(runner):
    result = quiz(runner, "-q", "fx-choice", "--seed", "5", input="")
    match = re.search(r"(\d)\) The maximum of its inputs", result.output)
    assert match, result.output
    result = quiz(runner, "-q", "fx-choice", "--seed", "5", input=f"{match.group(1)}\n")  # same seed: same order
    assert "Not quite" in result.output
    assert [(r.question_id, r.answer, r.correct) for r in reviews()] == [
        ("fx-choice", "The maximum of its inputs", False)
    ]


def test_multi_feedback_says_which_picks_were_right_wrong_and_missed(runner):
    result = quiz(runner, "-q", "fx-multi", input="ReLU; SGD\n")
    out = " ".join(result.output.split())
    assert "Not quite" in out
    assert re.search(r"right pick \w\) ReLU", out)
    assert re.search(r"wrong pick \w\) SGD", out)
    assert re.search(r"missed \w\) sigmoid", out) and re.search(r"missed \w\) tanh", out)


def test_due_means_due_now_for_the_count_and_for_review():
    from tutor.quiz import due_count, next_due
    from tutor.quiz.select import select as pick

    entries = catalogue(load_bank())
    with Store() as store:
        schedule.record(store, "fx-choice", "x", False, now=T0)  # due T0 + 10 min
        schedule.record(store, "fx-multi", "x", True, now=T0)  # due in days
        later_today = T0 + timedelta(minutes=5)
        assert due_count(store, later_today) == 0  # due *today*, not *now*
        assert next_due(store, later_today) == T0 + timedelta(minutes=10)
        for moment in (later_today, T0 + timedelta(minutes=11), T0 + timedelta(days=30)):
            review = pick(entries, store.cards(), moment, count=200, review_only=True)
            assert due_count(store, moment) == len(review) == schedule.due_counts(store, moment)["now"]
        assert next_due(store, T0 + timedelta(days=365)) is None


def test_the_summary_says_when_the_next_card_is_due(runner):
    result = quiz(runner, "-q", "fx-number", input="9\n")  # a miss: back in 10 minutes
    assert result.exit_code == 0
    assert re.search(r"Next card due in (10 minutes|a minute|\d+ minutes)", result.output)


def test_scope_resolves_lesson_ids_from_the_course_not_bank_file_names(tmp_path):
    from tutor.errors import TutorError
    from tutor.lessons import load_course
    from tutor.quiz.select import choose, resolve_lesson

    entries = catalogue(load_bank())
    course = load_course()
    assert resolve_lesson("basics", entries, course) == 1
    assert resolve_lesson("2", entries, None) == 2  # numbers work without the lessons
    with pytest.raises(TutorError, match="use a lesson number"):
        resolve_lesson("basics", entries, None)  # no guessing from "01-basics.toml"
    plan = choose(entries, {}, T0, course=course, lesson="more", count=3, rng=random.Random(0))
    assert plan.items and {i.question.lesson for i in plan.items} == {2}
    fresh = choose(entries, {}, T0, course=course, lessons_read=set(), count=3, rng=random.Random(0))
    assert fresh.notices and "not read any lesson" in fresh.notices[0]
    with pytest.raises(TutorError, match="--question picks"):
        choose(entries, {}, T0, question_ids=["fx-choice"], review=True)


# -- terminal helpers (no terminal needed) ------------------------------------------------------


@pytest.mark.parametrize("width", [40, 60, 80])
def test_menu_options_wrap_with_a_hanging_indent_and_keep_every_word(width):
    from tutor.terminal_menu import wrap_option

    text = ("It permanently deletes the least useful units after training, making the network smaller and "
            "faster at inference while keeping its accuracy almost unchanged")
    lines = wrap_option(text, "› 2) ", width)
    assert len(lines) > 1 and all(len(line) < width for line in lines)
    assert lines[0].startswith("› 2) ") and all(line.startswith("     ") for line in lines[1:])
    assert " ".join(" ".join(lines)[4:].split()) == text


def test_term_dumb_or_a_missing_terminal_means_plain_prompts(monkeypatch):
    from tutor import console

    class Tty:
        encoding = "utf-8"

        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr(sys, "stdout", Tty())
    monkeypatch.setenv("TERM", "xterm-256color")
    assert console.is_interactive()
    monkeypatch.setenv("TERM", "dumb")
    assert not console.is_interactive()
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # `quiz > file`
    assert not console.is_interactive()


def test_an_ascii_output_gets_ascii_glyphs_not_an_error():
    from tutor import console

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    safe = console.SafeStream(stream)
    safe.write("✓ done · σ(x) → 0.5 █░ naïve “quotes” ✗\n")
    stream.flush()
    text = raw.getvalue().decode("ascii")
    assert text == "v done - sigma(x) -> 0.5 #- naive \"quotes\" x\n"
    assert console.for_stream("✓", sys.__stdout__) in ("✓", "v")


@pytest.mark.parametrize("change", [{"state": 1, "step": -5}, {"stability": -1.0}, {"difficulty": 99.0},
                                    {"state": 2, "stability": None, "difficulty": None},
                                    {"state": 1, "step": 1000}, {"stability": 1e300}])
def test_a_card_state_the_scheduler_cannot_follow_starts_afresh_and_is_refused_on_import(change):
    """An imported `"step": -5` made every later quiz on that card end in IndexError; `"stability": -1`
    in a complex number. The scheduler starts such a card afresh, and an import refuses it."""
    from tutor.errors import TutorError
    from tutor.export_schema import validate as validate_export
    from tutor.quiz import schedule

    good, _ = schedule.review("bp-relu-backward", None, True)
    bad = {**good, **change}
    state, due = schedule.review("bp-relu-backward", bad, False)
    assert state["state"] in (1, 2, 3) and due is not None
    assert schedule.insane_state(bad) and not schedule.insane_state(good) and not schedule.insane_state({"x": 1})
    document = {"format": "dnn-tutor-progress", "version": 2, "quiz_cards": [
        {"question_id": "bp-relu-backward", "state": bad, "due": good["due"], "updated_at": "2026-01-01T00:00:00+00:00"}]}
    with pytest.raises(TutorError, match="not a quiz card state this dnn-tutor can schedule"):
        validate_export(document)


# -- q at a typed prompt, the one shape wording, the summary after an interrupt ------------------------


@pytest.mark.parametrize("word", ["q", "Quit"])
def test_q_at_a_number_or_shape_prompt_stops_the_quiz_keeping_answers(runner, word):
    """`q` at a number prompt was refused as "type a number such as ..." although q stops at the pause."""
    result = quiz(runner, "-q", "fx-choice", "-q", "fx-number", "-q", "fx-true-false",
                  input=f"a weighted sum of its inputs plus a bias\n{word}\nt\n")
    assert result.exit_code == 0, result.output
    assert "You stopped early: 1 of 3 answered; those answers are saved." in result.output
    assert "type a number such as" not in result.output
    assert "Question 3/3" not in result.output
    assert [(r.question_id, r.correct) for r in reviews()] == [("fx-choice", True)]
    result = quiz(runner, "-q", "fx-shape", input=f" {word} \n")
    assert "You stopped early: 0 of 1 answered; nothing was recorded." in result.output
    assert len(reviews()) == 1


@pytest.mark.parametrize("first", ["q", "QUIT"])
def test_q_at_a_choice_multi_or_true_false_prompt_stops_the_quiz_keeping_answers(runner, first):
    """Under TERM=dumb (and piped) a choice prompt refused q: "type a number from 1 to 4, or the exact text of a
    choice", while number and shape prompts stopped."""
    result = quiz(runner, "-q", "fx-number", "-q", "fx-choice", input=f"0.664\n{first}\n")
    assert result.exit_code == 0, result.output
    assert "You stopped early: 1 of 2 answered; those answers are saved." in result.output
    assert "exact text of a choice" not in result.output
    for qid in ("fx-multi", "fx-true-false"):
        result = quiz(runner, "-q", qid, input="q\n")
        assert "You stopped early: 0 of 1 answered; nothing was recorded." in result.output, result.output
    assert [r.question_id for r in reviews()] == ["fx-number"]


def test_q_is_an_answer_where_it_could_be_one_and_the_empty_prompt_says_q_stops():
    """q stops the quiz at every kind of prompt, except where a choice's text (or label) is q; the note for an
    empty answer names q wherever it stops."""
    from tutor.commands.quiz import quits

    number = Question(id="n", lesson=1, topic="t", kind="number", prompt="?", answer=1.0, explanation="")
    shape = dataclasses.replace(number, kind="shape", answer=[1, 2])
    choice = dataclasses.replace(number, kind="choice", choices=("p", "q", "r"), answer="q")
    plain = dataclasses.replace(choice, choices=("p", "r", "s"), answer="p")
    multi = dataclasses.replace(plain, kind="multi", answer=["p"])
    true_false = dataclasses.replace(number, kind="true-false", answer=True)
    assert quits(number, "q") and quits(shape, "QUIT") and quits(number, " q ")
    assert quits(plain, "q") and quits(multi, "quit") and quits(true_false, "Q")
    assert not quits(choice, "q") and not quits(number, "quiet") and not quits(number, "1")
    assert answers.parse(choice, "q") == "q"
    for question in (number, shape, plain, true_false):
        with pytest.raises(answers.InvalidAnswer) as caught:
            answers.parse(question, "  ")
        assert caught.value.reason == "type an answer (q or Ctrl-D stops the quiz)"
    with pytest.raises(answers.InvalidAnswer) as caught:
        answers.parse(multi, "")
    assert "'none' if no choice is right (q or Ctrl-D stops the quiz)" in caught.value.reason
    with pytest.raises(answers.InvalidAnswer) as caught:
        answers.parse(choice, "")
    assert caught.value.reason == "type an answer (Ctrl-D stops the quiz)"  # q is one of its choices


def test_the_shape_prompt_has_one_wording_naming_every_accepted_form():
    from tutor.render.quiz import KIND_HINTS, PLAIN_HINTS

    with pytest.raises(answers.InvalidAnswer) as caught:
        answers.parse_shape("thirty-two by thirteen")
    assert KIND_HINTS["shape"] == PLAIN_HINTS["shape"] == caught.value.reason
    wording = caught.value.reason
    assert len(wording) < 58  # one line of a 60-column prompt, and of the question panel's hint
    for form in ("(32, 13, 13)", "32x13x13", "32 13 13"):
        assert form in wording
        assert answers.parse_shape(form) == [32, 13, 13]


def test_an_interrupt_at_the_plain_prompt_starts_the_summary_on_a_line_of_its_own(runner, monkeypatch):
    """Under TERM=dumb Ctrl-C at "answer> " left "^CQuiz summary" on one line."""
    _one_answer_then_ctrl_c(monkeypatch, echo_prompt=True)
    result = quiz(runner, "-q", "fx-choice", "-q", "fx-number")
    assert result.exit_code == 130
    assert re.search(r"answer> *\n+Quiz summary", result.output), result.output
    assert "You stopped early with Ctrl-C: 1 of 2 answered; those answers are saved." in result.output


def test_a_summary_after_every_question_was_answered_does_not_say_stopped_early():
    """Ctrl-C at the pause before the summary: nothing was stopped early."""
    from rich.console import Console

    from tutor.render.quiz import summary

    def text(group):
        out = Console(width=100, record=True, file=io.StringIO())
        out.print(group)
        return out.export_text()

    results = [{"id": "a", "topic": "t", "correct": True, "saved": True}]
    assert "Stopped early" not in text(summary(results, None, stopped_early="interrupted", planned=1))
    assert "You stopped early with Ctrl-C: 1 of 2 answered;" in text(summary(results, None, stopped_early="interrupted", planned=2))


def test_piped_answers_never_wait_before_the_summary(tmp_path):
    """The pause before the summary is for a terminal only: piped, a short screen goes straight on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DNN_TUTOR_")}
    env.update(DNN_TUTOR_HOME=str(tmp_path), DNN_TUTOR_QUESTIONS=str(FIXTURE_BANK), LINES="6", COLUMNS="40",
               DNN_TUTOR_LESSONS=str(REPO / "tests" / "fixtures" / "course"))
    done = subprocess.run([sys.executable, "-m", "tutor", "quiz", "-q", "fx-choice"], input="the maximum of its inputs\n",
                          capture_output=True, text=True, env=env, cwd=str(REPO), timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Quiz summary" in done.stdout and "Enter:" not in done.stdout + done.stderr


# -- TERM=dumb at a terminal: a plain pause; the summary's wording after q and Ctrl-C; mixed shape separators --


def _plain_terminal(monkeypatch, lines: int, columns: int = 60) -> None:
    """stdin and stdout count as terminals, the prompts stay plain (as under TERM=dumb), the screen lines x columns."""
    from tutor import console

    monkeypatch.setattr(console, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(console, "stdout_is_terminal", lambda: True)
    monkeypatch.setenv("LINES", str(lines))
    monkeypatch.setenv("COLUMNS", str(columns))


def test_a_plain_terminal_pauses_where_the_next_question_would_push_the_verdict_off(runner, monkeypatch):
    """Under TERM=dumb the quiz never paused: at 60x24 the verdict scrolled away under the next question."""
    from tutor.commands.quiz import PLAIN_NEXT_HINT

    _plain_terminal(monkeypatch, lines=12)
    result = quiz(runner, "-q", "fx-choice", "-q", "fx-number", input="a random number\n\n0.664\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert PLAIN_NEXT_HINT.strip() in out and len(PLAIN_NEXT_HINT) < 58
    assert out.index("Not quite") < out.index(PLAIN_NEXT_HINT.strip()) < out.index("Question 2/2")
    assert "Stopped early" not in out and "Quiz summary" in out
    assert [(r.question_id, r.correct) for r in reviews()] == [("fx-choice", False), ("fx-number", True)]


@pytest.mark.parametrize("word", ["q", "quit"])
def test_q_at_the_plain_pause_stops_keeping_answers(runner, monkeypatch, word):
    _plain_terminal(monkeypatch, lines=12)
    result = quiz(runner, "-q", "fx-choice", "-q", "fx-number", input=f"a random number\n{word}\n0.664\n")
    assert result.exit_code == 0, result.output
    assert "You stopped early: 1 of 2 answered; those answers are saved." in result.output
    assert "Question 2/2" not in result.output and "(stopped)" not in result.output
    assert [r.question_id for r in reviews()] == ["fx-choice"]


def test_end_of_input_at_the_plain_pause_ends_the_quiz(runner, monkeypatch):
    _plain_terminal(monkeypatch, lines=12)
    result = quiz(runner, "-q", "fx-choice", "-q", "fx-number", input="a random number\n")
    assert result.exit_code == 0, result.output
    assert "Stopped early (end of input): 1 of 2 answered" in result.output


def test_a_tall_plain_terminal_and_a_pipe_never_pause(runner, monkeypatch):
    """Where the feedback and the next question fit there is no pause; and piped answers never wait, however
    short the screen (LINES=12 without a terminal)."""
    from tutor.commands.quiz import PLAIN_NEXT_HINT, PLAIN_SUMMARY_HINT

    monkeypatch.setenv("LINES", "12")
    piped = quiz(runner, "-q", "fx-choice", "-q", "fx-number", input="a random number\n0.664\n")
    _plain_terminal(monkeypatch, lines=200)
    tall = quiz(runner, "-q", "fx-choice", "-q", "fx-number", input="a random number\n0.664\n")
    for result in (piped, tall):
        assert result.exit_code == 0, result.output
        assert "Quiz summary" in result.output and "Stopped early" not in result.output
        assert PLAIN_NEXT_HINT.strip() not in result.output and PLAIN_SUMMARY_HINT.strip() not in result.output


def test_the_plain_fit_measures_the_numbered_panel_and_the_answer_line(monkeypatch):
    """The plain layout (numbered choices, an "answer> " line) is what is measured: the feedback and the next
    question fit in exactly their rows, and not in one fewer."""
    from tutor.commands.quiz import _fits_with_next, _rows
    from tutor.quiz.select import Item
    from tutor.render import quiz as view

    bank = {q.id: q for q in load_bank(FIXTURE_BANK).questions}
    said = view.feedback(bank["fx-number"], False, "0.5", "dnn-tutor lesson basics")
    panel = view.question_panel(bank["fx-multi"], 2, 2, "asked", numbered_choices=True)
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("LINES", "100")
    needed = _rows([said, panel]) + 1
    item = Item(bank["fx-multi"], "asked")
    monkeypatch.setenv("LINES", str(needed))
    assert _fits_with_next([said], item, 2, 2, plain=True)
    monkeypatch.setenv("LINES", str(needed - 1))
    assert not _fits_with_next([said], item, 2, 2, plain=True)


def test_the_summary_after_q_or_ctrl_c_says_the_answers_are_saved():
    """After q: "You stopped early: 4 of 5 answered; those answers are saved."; after Ctrl-C the summary said only
    "Stopped early: 8 of 10 answered." and left the answers to the command line's vaguer "anything already saved
    is kept"."""
    from rich.console import Console

    from tutor.render.quiz import INTERRUPTED, summary

    def text(group):
        out = Console(width=100, record=True, file=io.StringIO())
        out.print(group)
        return out.export_text()

    results = [{"id": "a", "topic": "t", "correct": True, "saved": True}]
    quit_text = text(summary(results, None, stopped_early=True, planned=2))
    assert "You stopped early: 1 of 2 answered; those answers are saved." in quit_text and "(" not in quit_text
    interrupted = text(summary(results, None, stopped_early=INTERRUPTED, planned=2))
    assert "You stopped early with Ctrl-C: 1 of 2 answered; those answers are saved." in interrupted
    assert "interrupted" not in interrupted  # (the command line's own line says it)
    unsaved = [{**results[0], "saved": False}]
    assert "1 of those answers could not be saved" in text(summary(unsaved, None, stopped_early=INTERRUPTED, planned=2))


def test_counts_in_the_quiz_output_agree_with_their_nouns():
    """"(of 1 cards)", "in 1 minutes" and "1 of your 1 answers could not be saved" were printed."""
    from rich.console import Console

    from tutor.render.quiz import stats_view, summary, when

    def text(group):
        out = Console(width=100, record=True, file=io.StringIO())
        out.print(group)
        return " ".join(out.export_text().split())

    assert when(T0 + timedelta(seconds=75), T0) == "in 1 minute" and when(T0 + timedelta(minutes=5), T0) == "in 5 minutes"
    results = [{"id": "a", "topic": "t", "correct": True, "saved": False}]
    assert "1 answer of 1 could not be saved (see above)." in text(summary(results, None))
    assert "2 answers of 2 could not be saved" in text(summary(results * 2, None))
    due = {"now": 1, "next": None, "today": 1, "week": 1, "total": 1}
    row = {"topic": "t", "lesson": 1, "answered": 1, "correct": 1, "seen": 1, "questions": 2, "due_now": 1}
    shown = text(stats_view({"topics": [row], "answered": 1, "correct": 1, "due": due}))
    assert "Due now: 1 card " in shown and "(of 1 card)." in shown


@pytest.mark.parametrize("typed, sizes", [("8x32,26x26", "8, 32, 26, 26 or 8x32x26x26"), ("32, 13 13", "32, 13, 13"),
                                          ("32 13x13", "32x13x13"), ("(32, 1 3, 13)", "32, 1, 3, 13")])
def test_a_shape_with_mixed_separators_is_refused_saying_why(typed, sizes):
    """8x32,26x26 was read as (8, 32, 26, 26): one kind of separator throughout, and a reason that says so."""
    with pytest.raises(answers.InvalidAnswer) as caught:
        answers.parse(_q("shape", [8, 32, 26, 26]), typed)
    assert caught.value.reason.startswith("use one separator: ") and sizes in caught.value.reason
    assert len(caught.value.reason) < 58


@pytest.mark.parametrize("typed", ["8, 32, 26, 26", "8x32x26x26", "8 x 32 × 26 * 26", "8 32 26 26", "(8, 32, 26, 26,)",
                                   "8x32x26x26,"])
def test_a_shape_with_one_kind_of_separator_is_read(typed):
    assert answers.parse_shape(typed) == [8, 32, 26, 26]


def test_a_long_mixed_shape_still_gets_a_one_line_reason():
    with pytest.raises(answers.InvalidAnswer) as caught:
        answers.parse_shape("1234567, 7654321 1234567x7654321 1234567")
    assert "one separator" in caught.value.reason and len(caught.value.reason) < 58
