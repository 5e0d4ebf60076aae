"""Round 10 of the quiz, from a new learner's review.

1. "Three decimals" asked (the cross-entropy of 0.25, 1.386), the learner typed 1.39 and was marked wrong (a
   relapse scheduled). A number with fewer decimals than the question asks for is now asked again, not graded,
   saying ``1.39 has 2 decimals; this question asks for 3``, whatever its digits (1.39 and 1.50 alike: being
   asked again says nothing about how near it was), right or wrong (0.5 for 0.500 too: taking the right ones let
   values be tried for free until one was taken, round 11). A whole number
   (the unchanged weight 1) has no decimals to be short of and is graded as before. From a pipe the refusals
   count as any other: three in a row stop the quiz, end of input ends it.
2. A true/false question said ``type t or f`` while the numbered fallback quietly took 1 as true (and 0 as
   false). The panel now says so, ``type t or 1 (true), f or 0 (false)``, and any other number (2: "the
   second option"?) is refused with that line instead of "t or f, yes or no". In a terminal the menu's keys
   are t and f, and 1 is no key there.
3. Both work at 60 columns, with TERM=dumb at a terminal, and ``quiz --stats --json`` counts only what was
   graded.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tutor.cli import app
from tutor.quiz import answers
from tutor.quiz.bank import Question, load_bank

REPO = Path(__file__).resolve().parents[1]
FIXTURE_COURSE = REPO / "tests" / "fixtures" / "course"

BANK = '''
[[question]]
id = "r10-ce"
lesson = 1
topic = "losses"
kind = "number"
prompt = "A classifier gives the true class a probability of 0.25. What is the cross-entropy loss (natural log, three decimals)?"
answer = 1.386294
tolerance = 0.0005
explanation = "-ln(0.25) = ln 4 = 1.386."
misconceptions = [0.602, 2.0]

[[question]]
id = "r10-half"
lesson = 1
topic = "activations"
kind = "number"
prompt = "What is sigmoid(0)? Give 3 decimals."
answer = 0.5
tolerance = 0.0005
explanation = "sigmoid(0) = 1/2."

[[question]]
id = "r10-step"
lesson = 1
topic = "optimizers"
kind = "number"
prompt = "Where is w after the step? (Four decimals.)"
answer = 0.99
tolerance = 5e-5
explanation = "One step of size lr."
misconceptions = [1.0]

[[question]]
id = "r10-tf"
lesson = 1
topic = "activations"
kind = "true-false"
prompt = "True or false: three stacked linear layers without activations can represent more than one."
answer = false
explanation = "A composition of linear maps is linear."
'''

CE_REFUSED = "1.39 has 2 decimals; this question asks for 3"
TF_HINT = "type t or 1 (true), f or 0 (false)"


def _bank(tmp_path: Path) -> Path:
    folder = tmp_path / "bank"
    folder.mkdir(exist_ok=True)
    (folder / "01-r10.toml").write_text(BANK, encoding="utf-8")
    return folder


@pytest.fixture
def bank(tmp_path, monkeypatch):
    folder = _bank(tmp_path)
    monkeypatch.setenv("DNN_TUTOR_QUESTIONS", str(folder))
    monkeypatch.setenv("DNN_TUTOR_LESSONS", str(FIXTURE_COURSE))
    return folder


def _questions(folder: Path) -> dict[str, Question]:
    return load_bank(folder).by_id()


def _asked(question: Question, text: str):
    """What the numbered fallback does with ``text`` typed once: ("asked again", the reason it shows) or
    ("graded", right?)."""
    from tutor.commands import quiz as command
    from tutor.quiz.answers import is_correct

    lines = iter([text])
    said: list[str] = []

    def read_line(prompt, screen=None):
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    class Quiet(command.Screen):
        def show(self, *renderables):
            said.extend(str(r) for r in renderables)

    saved = command.read_line
    command.read_line = read_line
    try:
        value, typed = command.ask_plain(question, Quiet())
    except EOFError:
        return "asked again", said[-1].strip().removeprefix("↳ ")
    finally:
        command.read_line = saved
    return "graded", is_correct(question, value, typed)


def _reviews(home: Path | None = None):
    from tutor.store import Store

    with (Store(home / "progress.db") if home else Store()) as store:
        return [(r.question_id, r.answer, r.correct) for r in store.reviews()]


def _flat(text: str) -> str:
    return " ".join(text.split())


def text_of(renderable, width: int = 60) -> str:
    import io

    from rich.console import Console

    out = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    out.print(renderable)
    return out.export_text()


def _env(tmp_path: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DNN_TUTOR_") and k not in ("COLUMNS", "LINES")}
    env.update(DNN_TUTOR_HOME=str(tmp_path / "home"), DNN_TUTOR_QUESTIONS=str(_bank(tmp_path)),
               DNN_TUTOR_LESSONS=str(FIXTURE_COURSE), XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


# -- 1. too few decimals: asked again, not graded ----------------------------------------------------


@pytest.mark.parametrize("typed, said", [
    ("1.39", CE_REFUSED),  # rounded right, to two decimals: the learner's case
    ("1.50", "1.50 has 2 decimals; this question asks for 3"),  # wrong as well: asked again all the same
    ("1.4", "1.4 has 1 decimal; this question asks for 3"),
    ("0.6", "0.6 has 1 decimal; this question asks for 3"),
    ("1.39.", CE_REFUSED),  # a sentence's full stop is no decimal
    ("-1.39", "-1.39 has 2 decimals; this question asks for 3"),
    ("1.", "1. has 0 decimals; this question asks for 3"),  # a decimal point and none after it (it was graded as 1)
])
def test_a_number_short_of_the_decimals_asked_is_asked_again_whatever_its_digits(bank, typed, said):
    assert _asked(_questions(bank)["r10-ce"], typed) == ("asked again", said)


GRADED_AS_BEFORE = [
    ("r10-ce", "1.386", True),
    ("r10-ce", "1.3863", True),  # more decimals than asked: graded as always
    ("r10-ce", "1.390", False),  # the decimals asked: graded, and wrong
    ("r10-ce", "0.602", False),  # the log10 mistake, to three decimals: wrong
    ("r10-ce", "2", False),  # a whole number has no decimals to be short of: graded (the log2 mistake)
    ("r10-ce", "1/3", False),  # a fraction is exact: graded
    ("r10-half", "0.500", True),  # the decimals asked, right
    ("r10-step", "1", False),  # the unchanged weight, a whole number: graded wrong, as round 9 has it
    ("r10-step", "0.9900", True),  # the decimals asked, right
]


def test_every_short_answer_is_asked_again_right_or_wrong_and_the_rest_graded(bank):
    """The same question, the same typing path: 1.39 is asked again, and so is 0.5 for 0.500 though it is right
    (taking it made being asked again mean "wrong": values could be tried for free until one was taken); what
    has the decimals asked (or more), a whole number and a fraction are graded as before."""
    questions = _questions(bank)
    short = [("r10-ce", "1.39"), ("r10-half", "0.5"), ("r10-half", ".5")]
    got = {(qid, typed): _asked(questions[qid], typed) for qid, typed in [(q, t) for q, t, _ in GRADED_AS_BEFORE] + short}
    assert got.pop(("r10-ce", "1.39")) == ("asked again", CE_REFUSED)
    assert got.pop(("r10-half", "0.5"))[0] == got.pop(("r10-half", ".5"))[0] == "asked again"
    assert got == {(qid, typed): ("graded", right) for qid, typed, right in GRADED_AS_BEFORE}


def test_reading_a_number_is_unchanged_only_the_asking_refuses():
    """``parse`` still reads 1.39 (the misconception checks grade what it reads); the quiz asks it again."""
    q = load_bank().by_id().get("dnn-crossentropy-value")
    if q is None:
        pytest.skip("the bank has no dnn-crossentropy-value")
    assert answers.parse(q, "1.39") == 1.39
    assert _asked(q, "1.39") == ("asked again", CE_REFUSED)


def test_every_bank_question_asking_for_decimals_asks_again_for_a_short_answer_and_takes_its_own():
    """For each number question of the shipped bank that asks for N decimals: its answer to N decimals is taken
    and right; the answer to N - 1 decimals, and a wrong number to N - 1 decimals, are asked again unless right
    as typed; a reason fits one 60-column line under its mark for a short number."""
    from tutor.quiz.bank import fixed_decimals

    checked = 0
    for q in load_bank().questions:
        places = q.decimals_asked()
        if q.kind != "number" or places is None or places < 2:
            continue
        checked += 1
        right = q.answer_as_asked()
        assert _asked(q, right) == ("graded", True), q.id
        for value in (float(q.answer), float(q.answer) + 0.3):
            short = fixed_decimals(value, places - 1)
            got = _asked(q, short)
            if got[0] == "graded":
                assert got[1] is True, (q.id, short)  # only what is right as typed gets through short
            else:
                assert got[1] == f"{short} has {places - 1} decimal{'s' if places > 2 else ''}; " \
                                 f"this question asks for {places}", (q.id, got)
                assert len("  ↳ " + got[1]) <= 60, got[1]
    assert checked >= 5


def test_the_numbered_fallback_asks_again_and_grades_the_answer_with_its_decimals(runner, bank):
    result = runner.invoke(app, ["quiz", "-q", "r10-ce"], input="1.39\n1.386\n")
    assert result.exit_code == 0, result.output
    said = _flat(result.output)
    assert f"answer> 1.39 ↳ {CE_REFUSED} answer> 1.386 ✓ Right" in said
    assert "Not quite" not in said and "you answered 1.39" not in said
    assert _reviews() == [("r10-ce", "1.386", True)]  # one review: the refused 1.39 was never recorded


def test_a_wrong_short_answer_is_asked_again_as_a_right_rounded_one_is(runner, bank):
    """1.50 gets the same line as 1.39: the learner cannot tell from it which was nearer."""
    result = runner.invoke(app, ["quiz", "-q", "r10-ce"], input="1.50\n1.500\n")
    assert result.exit_code == 0, result.output
    said = _flat(result.output)
    assert "↳ 1.50 has 2 decimals; this question asks for 3 answer> 1.500 ✗ Not quite." in said
    assert "The answer is 1.386; you answered 1.500." in said
    assert _reviews() == [("r10-ce", "1.5", False)]


def test_a_short_answer_is_asked_again_whether_right_or_wrong(runner, bank):
    result = runner.invoke(app, ["quiz", "-q", "r10-half", "-q", "r10-ce"], input="0.5\n0.500\n1.39\n1.386\n")
    assert result.exit_code == 0, result.output
    said = _flat(result.output)
    assert "answer> 0.5 ↳ 0.5 has 1 decimal; this question asks for 3 answer> 0.500 ✓ Right" in said  # right, but short
    assert f"answer> 1.39 ↳ {CE_REFUSED} answer> 1.386 ✓ Right" in said  # wrong, and short: the same
    assert _reviews() == [("r10-half", "0.5", True), ("r10-ce", "1.386", True)]  # kept as the number it is


def test_piped_short_answers_stop_after_three_and_end_of_input_ends_the_quiz(tmp_path):
    """Never a loop: three short answers in a row stop the quiz (saying they were not taken, not that they could
    not be read), and end of input after one ends it; nothing is recorded either way."""
    for feed, why in [("1.39\n1.4\n1.50\n1.386\n", "3 answers in a row were not taken"), ("1.39\n", "end of input")]:
        home = tmp_path / f"home-{len(feed)}"
        done = subprocess.run([sys.executable, "-m", "tutor", "quiz", "-q", "r10-ce"], input=feed,
                              capture_output=True, text=True, timeout=60, cwd=str(REPO),
                              env=_env(tmp_path, DNN_TUTOR_HOME=str(home), TERM="dumb", COLUMNS="60"))
        out = done.stdout + done.stderr
        assert done.returncode == 0, out
        assert "Traceback" not in out
        assert f"Stopped early ({why}): 0 of 1 answered; nothing was recorded." in _flat(out)
        assert _reviews(home) == []
        assert max(len(line) for line in done.stdout.splitlines()) <= 60


@pytest.mark.slow
def test_yes_piped_in_short_answers_ends_quickly(tmp_path):
    yes = subprocess.Popen(["yes", "1.39"], stdout=subprocess.PIPE)
    try:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "tutor", "quiz", "-q", "r10-ce", "-q", "r10-step"],
                              stdin=yes.stdout, capture_output=True, text=True, timeout=60, cwd=str(REPO),
                              env=_env(tmp_path, TERM="dumb"))
    finally:
        yes.kill()
        yes.wait()
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30 and len(done.stdout) < 20_000
    assert done.stdout.count(CE_REFUSED) == 3
    assert "Stopped early (3 answers in a row were not taken): 0 of 2 answered" in _flat(done.stdout)


# -- 2. true or false: what the screen says is what is taken --------------------------------------


def test_the_true_false_panel_names_every_digit_the_fallback_takes(bank):
    from tutor.render import quiz as view

    q = _questions(bank)["r10-tf"]
    panel = _flat(text_of(view.question_panel(q, 1, 1, "new", numbered_choices=True), width=60).replace("│", " "))
    assert TF_HINT in panel
    taken = [typed for typed in [str(n) for n in range(10)] + ["-1", "1.0", "t", "f"] if answers.takes(q, typed)]
    assert taken == ["0", "1", "t", "f"]
    for typed in taken:  # each on screen, with what it means
        assert re.search(rf"\b{typed}\b", TF_HINT)
    assert answers.parse(q, "1") is True and answers.parse(q, "0") is False


@pytest.mark.parametrize("typed", ["2", "-1", "1.0", "10"])
def test_a_number_that_is_neither_is_refused_naming_the_keys(bank, typed):
    q = _questions(bank)["r10-tf"]
    assert _asked(q, typed) == ("asked again", f"{typed}: {TF_HINT} (q stops)")
    assert len(f"  ↳ {typed}: {TF_HINT} (q stops)") <= 60


def test_the_learners_pipe_at_a_true_false_question(runner, bank):
    """``2`` (the second option?) is asked again naming the keys; ``1`` is true, as the panel says."""
    result = runner.invoke(app, ["quiz", "-q", "r10-tf"], input="2\n1\n")
    assert result.exit_code == 0, result.output
    said = _flat(result.output)
    assert TF_HINT in said.split("answer>")[0]  # on screen before the first answer
    assert f"answer> 2 ↳ 2: {TF_HINT} (q stops) answer> 1 ✗ Not quite. The answer is false; you answered true." in said
    assert _reviews() == [("r10-tf", "true", False)]


# -- real terminals: TERM=dumb and a full terminal at 60 columns ----------------------------------------


@pytest.mark.slow
def test_term_dumb_at_60_columns_shows_the_keys_and_asks_again_for_decimals(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    from terminal_helpers import exit_code

    child = pexpect.spawn(sys.executable, ["-m", "tutor", "quiz", "-q", "r10-tf", "-q", "r10-ce"],
                          env=_env(tmp_path, TERM="dumb"), cwd=str(REPO), dimensions=(40, 60), encoding="utf-8",
                          timeout=30)
    try:
        child.expect(re.escape(TF_HINT))
        child.expect("answer> ")
        child.send("2\r")
        child.expect(re.escape(f"2: {TF_HINT} (q stops)"))
        child.expect("answer> ")
        child.send("0\r")
        child.expect(r"✓ Right\.")
        child.expect(r"-- Enter: next question, q: stop here -- |answer> ")
        if "Enter" in child.after:
            child.send("\r")
            child.expect("answer> ")
        child.send("1.39\r")
        child.expect(re.escape(CE_REFUSED))
        child.expect("answer> ")  # asked again: a learner at a terminal is never stopped for it
        child.send("1.386\r")
        child.expect(r"✓ Right")
        child.expect(pexpect.EOF)
        output = child.before
    finally:
        code = exit_code(child)
    assert code == 0
    assert "Traceback" not in output
    assert [(qid, right) for qid, _, right in _reviews(tmp_path / "home")] == [("r10-tf", True), ("r10-ce", True)]


def Screen(tmp_path: Path, args, cols: int = 60, rows: int = 24):
    """The quiz in a pseudo-terminal with this test's home and bank (see terminal_helpers.QuizScreen)."""
    from terminal_helpers import QuizScreen

    return QuizScreen(args, _env(tmp_path), str(REPO), cols, rows)


@pytest.mark.slow
def test_a_terminal_at_60_columns_asks_again_for_decimals_under_the_prompt_and_its_menu_takes_t_or_f(tmp_path):
    """1.39 is emptied from the box and the line under it (wrapped at 60 columns) says why; up brings it back
    to add the third decimal. The true/false menu names t and f, and 1 there is no answer."""
    term = Screen(tmp_path, ["-q", "r10-ce", "-q", "r10-tf"])
    try:
        term.answer("1.39")
        term.wait_for(r'"1\.39" was not taken')
        row = term.prompt_row()
        assert term.lines()[row] == "? Your answer (q stops)"  # emptied
        under = _flat(" ".join(term.lines()[row + 1:row + 3]))
        assert f'↳ "1.39" was not taken: {CE_REFUSED} (↑ edits it)' in under
        assert all(len(line) <= 60 for line in term.lines())
        assert _reviews(tmp_path / "home") == []  # not graded, no relapse scheduled
        term.send("\x1b[A")  # up: the refused text back, to add a decimal
        assert term.lines()[term.prompt_row()] == "? Your answer (q stops) 1.39"
        term.send("\x7f86\r")  # 1.39 -> 1.386: three decimals now, graded
        term.wait_for(r"✓ Right")
        term.wait_for(r"Enter: next question|True or false\?")
        if "Enter: next question" in term.text():
            term.send("\r")
        term.wait_for(r"True or false\? .*press t or f")
        term.send("1")
        term.wait_for(r"1 means nothing here: press t or f \(q stops\)")
        assert [qid for qid, _, _ in _reviews(tmp_path / "home")] == ["r10-ce"]  # 1 answered nothing
        term.send("f")
        term.wait_for(r"✓ Right\.")
    finally:
        code = term.finish()
    assert code == 0
    assert _reviews(tmp_path / "home") == [("r10-ce", "1.386", True), ("r10-tf", "false", True)]


@pytest.mark.slow
def test_ctrl_c_after_a_decimals_refusal_exits_130_keeping_what_was_saved(tmp_path):
    term = Screen(tmp_path, ["-q", "r10-tf", "-q", "r10-ce"])
    try:
        term.wait_for(r"True or false\?")
        term.pump(0.5)
        term.send("f")
        term.answer("1.4")
        term.wait_for(r"1\.4 has 1 decimal; this question asks for 3")
        term.send("\x03")
    finally:
        code = term.finish()
    assert code == 130
    assert "Traceback" not in term.text()
    assert "You stopped early with Ctrl-C: 1 of 2 answered; those answers are saved." in _flat(term.text())
    assert _reviews(tmp_path / "home") == [("r10-tf", "false", True)]


# -- 3. --stats --json counts only what was graded ---------------------------------------------------------


def test_stats_json_after_refusals_counts_the_graded_answers_only(runner, bank):
    first = runner.invoke(app, ["quiz", "-q", "r10-ce", "-q", "r10-tf"], input="1.39\n1.386\n2\n1\n")
    assert first.exit_code == 0, first.output
    stats = runner.invoke(app, ["quiz", "--stats", "--json"])
    assert stats.exit_code == 0, stats.output
    data = json.loads(stats.output)
    text = json.dumps(data)
    assert "decimals" not in text and "t or 1" not in text  # no refusal leaks into the JSON
    rows = {row["topic"]: row for row in data["topics"]}
    assert (rows["losses"]["answered"], rows["losses"]["correct"]) == (1, 1)
    assert (rows["activations"]["answered"], rows["activations"]["correct"]) == (1, 0)


def test_nothing_read_yet_but_a_due_card_from_another_lesson_says_both():
    """"You have not read any lesson yet, so the questions come from lesson 1", then Question 1/10 was a lesson 2
    card a failing check had scheduled: the notice now says that due questions come first."""
    import random
    from datetime import datetime, timedelta, timezone
    from types import SimpleNamespace

    from tutor.quiz import select

    entries = select.catalogue(load_bank())
    lesson2 = next(e.id for e in entries.values() if e.lesson == 2)
    now = datetime.now(timezone.utc)
    cards = {lesson2: SimpleNamespace(due=(now - timedelta(hours=1)).isoformat())}
    plan = select.choose(entries, cards, now, lessons_read=set(), rng=random.Random(0))
    assert plan.items[0].question.id == lesson2 and plan.items[0].reason == "due"
    assert plan.notices == [select.NOTHING_READ_DUE.format(due="1 question")], plan.notices
    assert "new questions come from lesson 1" in plan.notices[0]
    fresh = select.choose(entries, {}, now, lessons_read=set(), rng=random.Random(0))
    assert fresh.notices == [select.NOTHING_READ]  # no due card: as before


def test_a_long_prompt_wraps_two_spaces_in_at_60_columns_not_under_its_32_column_title():
    """At 60 columns the multi-select help wrapped into a column 27 wide under "? Your answer (every right one) "."""
    from tutor.terminal_menu import menu_help, wrap_option

    lines = wrap_option(menu_help(["1", "2", "3", "4", "5"], multi=True), "? Your answer (every right one) ", 60)
    assert len(lines) == 2 and all(len(line) <= 59 for line in lines), lines
    assert lines[0].startswith("? Your answer (every right one) (") and lines[1].startswith("  ") and lines[1][2] != " "
    option = wrap_option("A weighted sum of its inputs plus a bias, then a nonlinearity applied to it", "› 1) ", 60)
    assert option[1].startswith("     ") and option[1][5] != " "  # a short prefix: still under the text


def test_a_number_typed_with_a_full_stop_is_shown_without_a_second_one():
    """"2." on a question that asks for no decimals was shown back as "you answered 2..": one stop, ours."""
    from tutor.quiz.bank import Question
    from tutor.render.quiz import feedback

    q = Question("n", 1, "x", "number", "How many channels does the layer output?", 16, "Count them.")
    head = feedback(q, False, "12.", None).renderables[0].plain
    assert head.endswith("The answer is 16; you answered 12."), head
