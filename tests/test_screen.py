"""What a learner sees in a real terminal: pexpect drives the program, pyte emulates the screen.

These tests assert the screen, not the output stream: the full text of every
quiz option at 60 and 80 columns, the section heading at the top after ``n``,
the cursor after SIGTERM, and no cursor codes under TERM=dumb.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")
pyte = pytest.importorskip("pyte")

from conftest import FIXTURE_COURSE  # noqa: E402
from terminal_helpers import exit_code  # noqa: E402

pytestmark = pytest.mark.slow  # each test starts the program in a terminal (2-10 s)

REPO = Path(__file__).resolve().parents[1]
DOWN = "\x1b[B"

LONG = (
    "It permanently deletes the least useful units after training, making the network smaller and "
    "faster at inference while keeping its accuracy almost unchanged"
)
BANK = textwrap.dedent(
    f'''
    [[question]]
    id = "long-choice"
    lesson = 1
    topic = "dropout"
    kind = "choice"
    prompt = "What does dropout do to a network while it trains?"
    choices = [
      "It zeroes a random subset of activations at each training step, so no unit can rely on one particular other unit being present",
      "{LONG}",
      "It lowers the learning rate whenever the validation loss stops improving for several epochs in a row",
      "Nothing",
    ]
    answer = "It zeroes a random subset of activations at each training step, so no unit can rely on one particular other unit being present"
    explanation = "Dropout is a training-time regulariser."

    [[question]]
    id = "long-multi"
    lesson = 1
    topic = "dropout"
    kind = "multi"
    prompt = "Which of these are regularisers?"
    choices = ["Dropout", "Weight decay (an L2 penalty on the weights)", "A larger learning rate", "Early stopping"]
    answer = ["Dropout", "Weight decay (an L2 penalty on the weights)", "Early stopping"]
    explanation = "A larger learning rate is not a regulariser."
    '''
)


class Terminal:
    """A program in a pseudo-terminal of ``cols`` x ``rows``, with the screen kept by pyte."""

    def __init__(self, args, home: Path, cols: int = 80, rows: int = 24, **env_extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DNN_TUTOR_")}
        env.update(PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm-256color", DNN_TUTOR_HOME=str(home), COLUMNS=str(cols),
                   LINES=str(rows))
        env.pop("NO_COLOR", None)
        env.update({k: str(v) for k, v in env_extra.items()})
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.Stream(self.screen)
        self.raw = ""
        self.child = pexpect.spawn(
            args[0], list(args[1:]), env=env, cwd=str(REPO), dimensions=(rows, cols), encoding="utf-8",
            timeout=30,
        )

    def pump(self, seconds: float = 0.2) -> None:
        end = time.monotonic() + seconds
        while True:
            try:
                data = self.child.read_nonblocking(65536, timeout=0.05)
            except pexpect.TIMEOUT:
                data = ""
            except pexpect.EOF:
                return
            if data:
                self.raw += data
                self.stream.feed(data)
            if time.monotonic() >= end:
                return

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def flat(self) -> str:
        """The screen's words joined by single spaces (wrapped lines read as one text)."""
        return " ".join(self.text().split())

    def wait_for(self, pattern: str, timeout: float = 30) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.1)
            if re.search(pattern, self.text()) or re.search(pattern, self.flat()):
                return
            if not self.child.isalive():
                self.pump(0.1)
                if re.search(pattern, self.text()) or re.search(pattern, self.flat()):
                    return
                break
        raise AssertionError(f"{pattern!r} never appeared; the screen:\n{self.text()}")

    def send(self, keys: str) -> None:
        self.child.send(keys)
        self.pump(0.3)

    def finish(self, timeout: float = 30) -> int:
        end = time.monotonic() + timeout
        while self.child.isalive() and time.monotonic() < end:
            self.pump(0.1)
        self.pump(0.1)
        return exit_code(self.child, timeout=0)


def quiz(home: Path, bank: Path, *args, cols=80, rows=24, **env) -> Terminal:
    return Terminal([sys.executable, "-m", "tutor", "quiz", *args], home, cols, rows,
                    DNN_TUTOR_QUESTIONS=bank, DNN_TUTOR_LESSONS=FIXTURE_COURSE, **env)


@pytest.fixture
def bank(tmp_path) -> Path:
    folder = tmp_path / "bank"
    folder.mkdir()
    (folder / "01-long.toml").write_text(BANK, encoding="utf-8")
    return folder


def reviews(home: Path):
    from tutor.store import Store

    with Store(home / "progress.db") as store:
        return [(r.question_id, r.answer, r.correct) for r in store.reviews()]


def option_lines(term: Terminal) -> dict[str, str]:
    """label -> the option's full text as shown (its wrapped lines joined)."""
    options: dict[str, str] = {}
    current = None
    for line in term.screen.display:
        match = re.match(r"^[›> ] (?:\[[ x]\] )?(\w)\) (.*)$", line.rstrip())
        if match:
            current = match.group(1)
            options[current] = match.group(2).strip()
        elif current and line.startswith("     ") and line.strip():
            options[current] += " " + line.strip()
        elif current:
            current = None
    return options


@pytest.mark.parametrize("cols", [60, 80])
def test_every_option_is_on_screen_in_full_wrapped_with_a_hanging_indent(tmp_path, bank, cols):
    term = quiz(tmp_path / "home", bank, "--question", "long-choice", cols=cols, rows=30)
    try:
        term.wait_for(r"Your answer")
        term.pump(0.5)
        shown = option_lines(term)
        assert sorted(shown) == ["1", "2", "3", "4"], term.text()
        import tomllib

        choices = tomllib.loads(BANK)["question"][0]["choices"]
        assert sorted(shown.values()) == sorted(choices)  # every word, nothing cut at the edge
        assert all(len(line.rstrip()) <= cols for line in term.screen.display)
        long_label = next(label for label, text in shown.items() if text == LONG)
        rows = [i for i, line in enumerate(term.screen.display) if re.match(rf"^[›> ] {long_label}\) ", line)]
        continuation = term.screen.display[rows[0] + 1]
        assert continuation.startswith("     ") and continuation.strip(), "wrapped under the text, not the label"
        term.send("\x03")
    finally:
        assert term.finish() == 130


def test_a_digit_key_picks_the_option_shown_under_that_number(tmp_path, bank):
    home = tmp_path / "home"
    term = quiz(home, bank, "--question", "long-choice", cols=80)
    try:
        term.wait_for(r"Your answer")
        term.pump(0.3)
        label = next(k for k, v in option_lines(term).items() if v.startswith("It zeroes"))
        term.send(label)
        term.wait_for(r"Right")
        term.wait_for(rf"Your answer: {label}\) It zeroes")
    finally:
        assert term.finish() == 0
    assert reviews(home) == [("long-choice", tomllib_choices()[0], True)]


def tomllib_choices():
    import tomllib

    return tomllib.loads(BANK)["question"][0]["choices"]


def test_options_come_in_a_new_order_on_every_ask(tmp_path, bank):
    orders = set()
    for run in range(4):
        term = quiz(tmp_path / f"home{run}", bank, "--question", "long-choice", cols=100)
        try:
            term.wait_for(r"Your answer")
            term.pump(0.3)
            shown = option_lines(term)
            orders.add(tuple(shown[k][:10] for k in sorted(shown)))
            term.send("\x03")
        finally:
            term.finish()
        if len(orders) > 1:
            break
    assert len(orders) > 1  # 4 runs in the same order happen 1 time in 13 824


def test_multi_select_by_digits_explains_right_wrong_and_missed_picks(tmp_path, bank):
    home = tmp_path / "home"
    term = quiz(home, bank, "--question", "long-multi", cols=60, rows=30)
    try:
        term.wait_for(r"Your answer")
        term.pump(0.3)
        labels = {v.split()[0]: k for k, v in option_lines(term).items()}
        term.send("\r")  # a stray Enter with nothing ticked is not an answer
        term.wait_for(r"nothing is ticked yet")
        assert "Not quite" not in term.flat()
        term.send(labels["Dropout"])
        term.send(labels["A"])  # "A larger learning rate": wrong
        term.wait_for(r"\[x\] " + labels["A"])
        term.send("\r")
        term.wait_for(r"Not quite")
        text = term.flat()
        assert re.search(r"right pick \w\) Dropout", text)
        assert re.search(r"wrong pick \w\) A larger learning rate", text)
        assert re.search(r"missed \w\) Weight decay", text) and re.search(r"missed \w\) Early stopping", text)
    finally:
        assert term.finish() == 0
    assert [(q, ok) for q, _, ok in reviews(home)] == [("long-multi", False)]


def test_sigterm_in_the_menu_restores_the_cursor_and_keeps_answers(tmp_path, bank):
    home = tmp_path / "home"
    term = quiz(home, bank, "--question", "long-multi", "--question", "long-choice", cols=80)
    term.wait_for(r"Your answer")
    term.send(" ")  # tick the option under the pointer ...
    term.send("\r")  # ... and answer: saved
    term.wait_for(r"Enter: next question")  # 24 lines cannot show the feedback and the next question at once
    term.send("\r")
    term.wait_for(r"Question 2/2")
    term.wait_for(r"Your answer")
    term.pump(0.3)
    assert term.screen.cursor.hidden  # the menu hides it ...
    os.kill(term.child.pid, signal.SIGTERM)
    code = term.finish()
    assert code == 143
    assert not term.screen.cursor.hidden  # ... and SIGTERM gives it back
    assert "Traceback" not in term.raw
    assert [q for q, _, _ in reviews(home)] == ["long-multi"]


def test_feedback_stays_on_screen_until_a_key_when_the_next_question_would_push_it_off(tmp_path, bank):
    """At 60x20 a question, its menu and the feedback fill the screen: the quiz waits (Enter: next, q: stop)
    with the explanation in view, instead of scrolling it away under the next question."""
    home = tmp_path / "home"
    term = quiz(home, bank, "--question", "long-choice", "--question", "long-multi", cols=60, rows=20)
    term.wait_for(r"Your answer")
    term.send("2")
    term.wait_for(r"Enter: next question")
    assert "Not quite" in term.text() or "Right" in term.text()
    assert "Question 2/" not in term.flat()
    term.send("q")  # stop here: what was answered is kept, and the summary says why it ended
    term.wait_for(r"stopped")
    assert term.finish() == 0
    assert [q for q, _, _ in reviews(home)] == ["long-choice"]


def test_keys_typed_ahead_at_the_pause_never_answer_the_next_question(tmp_path, bank):
    """A double Enter (or key repeat) at "Enter: next question" answered the next question unseen."""
    home = tmp_path / "home"
    term = quiz(home, bank, "--question", "long-choice", "--question", "long-multi", cols=60, rows=20)
    term.wait_for(r"Your answer")
    term.send("2")
    term.wait_for(r"Enter: next question")
    term.send("x")  # not a key the pause takes: nothing happens
    assert "Question 2/" not in term.flat()
    term.child.send("\r\r\r")
    term.wait_for(r"Question 2/2")
    term.wait_for(r"Your answer")
    term.pump(1.0)
    assert "Your picks" not in term.flat() and "Not quite" not in term.text().split("Question 2/2")[-1]
    assert [q for q, _, _ in reviews(home)] == ["long-choice"]  # the second question waits for its own answer
    term.child.sendintr()
    assert term.finish() == 130


def test_a_tall_terminal_goes_straight_to_the_next_question(tmp_path, bank):
    term = quiz(tmp_path / "home", bank, "--question", "long-choice", "--question", "long-multi", cols=100, rows=60)
    term.wait_for(r"Your answer")
    term.send("2")
    term.wait_for(r"Question 2/2")
    assert "Enter: next question" not in term.text()
    term.child.sendintr()
    assert term.finish() == 130


def test_term_dumb_gets_plain_numbered_prompts_without_cursor_codes(tmp_path, bank):
    home = tmp_path / "home"
    term = quiz(home, bank, "--question", "long-choice", cols=60, TERM="dumb")
    try:
        term.wait_for(r"answer>")
        shown = term.flat()
        assert re.search(r"[1-4]\) It zeroes a random subset", shown)
        term.send("it zeroes a random subset of activations at each training step, so no unit can rely on one "
                  "particular other unit being present\r")
        term.wait_for(r"Right")
    finally:
        assert term.finish() == 0
    cursor_codes = re.findall(r"\x1b\[[0-9;?]*[A-HJKSTfhlsu]|\x1b\[\?25[hl]", term.raw)
    assert cursor_codes == []
    assert "\x1b[" not in term.raw  # no colour either: a dumb terminal gets plain text


def test_quiz_redirected_to_a_file_shows_its_questions_on_the_terminal(tmp_path, bank):
    home = tmp_path / "home"
    out = tmp_path / "answers.txt"
    term = Terminal(["/bin/sh", "-c", f'"{sys.executable}" -m tutor quiz --question long-choice > "{out}"'], home, 80,
                    24, DNN_TUTOR_QUESTIONS=bank, DNN_TUTOR_LESSONS=FIXTURE_COURSE)
    try:
        term.wait_for(r"answer>")  # on the screen, not only in the file
        assert "What does dropout do" in term.flat()
        term.send("nothing\r")
        term.wait_for(r"Not quite")
    finally:
        assert term.finish() == 0
    assert "What does dropout do" in out.read_text(encoding="utf-8")  # the transcript
    assert [(q, ok) for q, _, ok in reviews(home)] == [("long-choice", False)]


# -- the reader -----------------------------------------------------------------------------


def lesson(home: Path, *args, cols=80, rows=24, course=None, **env) -> Terminal:
    extra = {"DNN_TUTOR_LESSONS": course} if course else {}
    return Terminal([sys.executable, "-m", "tutor", "lesson", *args], home, cols, rows, **extra, **env)


def sections_read(home: Path, lesson_id: str) -> set[int]:
    from tutor.store import Store

    with Store(home / "progress.db") as store:
        return store.sections_read().get(lesson_id, set())


@pytest.mark.parametrize("cols, rows", [(60, 30), (80, 24), (100, 32)])
def test_each_section_opens_at_its_heading_after_n(tmp_path, cols, rows):
    from tutor.lessons import load_course

    course = load_course()
    target = course.lessons[2]  # a lesson with long sections
    term = lesson(tmp_path / "home", str(target.number), cols=cols, rows=rows)
    try:
        term.wait_for(re.escape(f"section 1/{len(target.sections)}"))
        for index in (2, 3):
            term.send("n")
            term.wait_for(re.escape(f"section {index}/{len(target.sections)}"))
            top = term.screen.display[0]
            assert top.startswith(f"{index}. {target.sections[index - 1].title[:20]}"), term.text()
        term.send("q")
    finally:
        assert term.finish() == 0


def test_a_long_section_pages_and_counts_as_read_only_when_its_end_was_shown(tmp_path):
    from tutor.lessons import load_course

    course = load_course()
    target = course.lessons[2]
    home = tmp_path / "home"
    term = lesson(home, str(target.number), "--section", "2", cols=60, rows=20)
    try:
        term.wait_for(r"lines 1-\d+ of \d+")
        first = term.screen.display[0]
        assert first.startswith("2. ")
        assert sections_read(home, target.id) == set()  # only the top was shown
        term.send(" ")
        term.wait_for(r"lines \d+-\d+ of")
        assert not term.screen.display[0].startswith("2. ")  # paged down
        term.send("b")  # at a scrolled page, b pages back up ...
        term.wait_for(r"lines 1-\d+ of")
        assert term.screen.display[0] == first
        term.send("G")
        term.wait_for(r"\(end\)")
        assert sections_read(home, target.id) == {2}
        term.send("g")
        term.wait_for(r"lines 1-\d+ of")
        term.send("b")  # ... and at the top of a section, b goes back a section, at its heading
        term.wait_for(re.escape(f"section 1/{len(target.sections)}"))
        assert term.screen.display[0].startswith(f"1. {target.sections[0].title[:20]}"), term.text()
        term.send("j")
        term.wait_for("Jump to section")
        term.send("3")
        term.wait_for(re.escape(f"section 3/{len(target.sections)}"))
        assert term.screen.display[0].startswith(f"3. {target.sections[2].title[:20]}"), term.text()
        term.send("q")
    finally:
        assert term.finish() == 0


def test_first_section_does_not_offer_b_back(tmp_path):
    term = lesson(tmp_path / "home", "1", course=FIXTURE_COURSE, cols=80, rows=30)
    try:
        term.wait_for(r"section 1/3")
        footer = term.screen.display[-1]
        assert "q quit" in footer and "b prev" not in footer
        term.send("b")  # does nothing: still section 1
        term.pump(0.3)
        assert "section 1/3" in term.text()
        term.send("n")
        term.wait_for(r"section 2/3")
        assert "b prev section" in term.screen.display[-1]
        term.send("q")
    finally:
        assert term.finish() == 0


def test_in_a_short_terminal_the_menu_scrolls_to_the_pointed_option(tmp_path, bank):
    """At 40x12 the options ran past the bottom with no way to see them: moving the pointer to the last
    one highlighted a line off the screen. The menu now keeps the pointed option in view."""
    term = quiz(tmp_path / "home", bank, "--question", "long-choice", cols=40, rows=12)
    try:
        term.wait_for(r"Your answer")
        term.pump(0.3)
        for _ in range(3):
            term.send("\t")  # down (Tab moves as the arrow does)
        term.wait_for(r"› 4\)", timeout=10)  # the last option, pointed at, is on the screen
        for _ in range(3):
            term.send("\x1b[Z")  # back up to the first (Shift-Tab)
        term.wait_for(r"› 1\)", timeout=10)
        term.send("\x03")
    finally:
        assert term.finish() == 130


def test_the_jump_list_ticks_sections_read_in_an_earlier_session(tmp_path):
    """The jump list showed no ✓ for sections read before this run, though `dnn-tutor lessons` counted them;
    and q left a stray sentence behind instead of a pointer to the next command."""
    home = tmp_path / "home"
    term = lesson(home, "1", course=FIXTURE_COURSE, cols=80, rows=24)
    try:
        term.wait_for(r"section 1/3")  # a short section: its end is on the screen, so it is read
        term.send("q")
        term.wait_for(r"Lesson 1: 1 of 3 sections read; not read yet: 2-3 next: dnn-tutor lesson 1 --section 2")
    finally:
        assert term.finish() == 0
    assert sections_read(home, "basics") == {1}
    term = lesson(home, "1", course=FIXTURE_COURSE, cols=60, rows=24)
    try:
        term.wait_for(r"section 2/3")  # opens at the first unread section
        term.send("j")
        term.wait_for(r"Jump to section")
        entries = {line.strip(" ›")[:1]: line.rstrip() for line in term.screen.display if re.match(r"^[› ] \d\. ", line)}
        assert entries["1"].endswith("First steps  ✓"), term.text()  # read in the earlier session
        assert entries["2"].endswith("Try it  ✓")  # read in this one
        assert not entries["3"].endswith("✓")
        term.send("q")  # closes the list ...
        term.send("q")  # ... and the reader
    finally:
        assert term.finish() == 0


# a LINES or COLUMNS too small to lay out by is ignored, as everywhere else: the pages fit the real screen
@pytest.mark.parametrize("cols, extra", [(80, {}), (80, {"LINES": "2"}), (60, {"COLUMNS": "3", "LINES": ""})])
def test_a_dumb_terminal_pages_a_long_section_a_screenful_at_a_time(tmp_path, cols, extra):
    """TERM=dumb wrote a whole section at once: a long one scrolled its start (and the lesson's title panel)
    off the screen, and the learner first saw its end. Now it stops after each screenful; the section
    counts as read only once its end was written."""
    from tutor.lessons import load_course

    target = load_course().lessons[1]
    total = len(target.sections)
    home = tmp_path / "home"
    term = lesson(home, str(target.number), cols=cols, rows=24, TERM="dumb", **extra)
    more = f"-- section 1/{total} continues: Enter for more, q+Enter stops --"
    try:
        term.wait_for(re.escape(more))
        first_page = term.raw.split(more)[0]
        assert first_page.count("\n") == 23, first_page  # a screenful less the prompt's line
        assert term.screen.display[0].startswith(f"┏━ Lesson {target.number} · {target.title}"), term.text()
        assert term.screen.display[-1].startswith(more)
        assert sections_read(home, target.id) == set()  # its end is still to come
        for _ in range(20):  # Enter, one page at a time, up to the end of the section
            before = len(term.raw)
            term.child.send("\r")
            end = time.monotonic() + 30
            while not re.search(r"-- section 1/\d+(:| continues:)", term.raw[before:]) and time.monotonic() < end:
                term.pump(0.1)
            if f"-- section 1/{total}: Enter for the next, q+Enter stops --" in term.raw[before:]:
                break
        else:
            raise AssertionError(term.text())
        assert sections_read(home, target.id) == {1}
        term.send("\r")
        term.wait_for(re.escape(f"-- section 2/{total} continues"))
        heading = f"2. {target.sections[1].title[:20]}"
        assert any(line.startswith(heading) for line in term.screen.display[:2]), term.text()  # at the top
        term.send("q\r")
    finally:
        assert term.finish() == 0
    assert sections_read(home, target.id) == {1}  # q before the end of section 2: not read
    assert "\x1b[" not in term.raw  # plain text: no colours, no cursor movement


# -- the end of the quiz: the last feedback before the summary, Ctrl-C under TERM=dumb ----------------------

WHY_SCALE = (
    "A unit is kept with probability 1 - p, so without the scaling the next layer would see inputs that are on "
    "average (1 - p) times smaller while training than at inference, when every unit is present. Dividing the "
    "kept activations by 1 - p (inverted dropout) makes the expected input the same in both, so the network "
    "needs no change when it is switched to evaluation mode. The gradients of the dropped units are zero "
    "whatever the scale: they took no part in that step. Without it, a network trained with p = 0.5 would see "
    "its inputs doubled at test time."
)
LAST_BANK = textwrap.dedent(
    f'''
    [[question]]
    id = "long-why"
    lesson = 1
    topic = "dropout"
    kind = "choice"
    prompt = "Why does dropout scale the kept activations by 1 / (1 - p) while training?"
    choices = [
      "So that the expected value of every activation is the same in training and at inference, when nothing is dropped",
      "So that the gradients of the dropped units are not lost",
      "Nothing",
    ]
    answer = "So that the expected value of every activation is the same in training and at inference, when nothing is dropped"
    explanation = "{WHY_SCALE}"
    section = "check-yourself"
    '''
)


@pytest.fixture
def last_bank(tmp_path) -> Path:
    folder = tmp_path / "last-bank"
    folder.mkdir()
    (folder / "01-last.toml").write_text(LAST_BANK, encoding="utf-8")
    return folder


def answer_nothing(term: Terminal) -> None:
    term.wait_for(r"Your answer")
    term.pump(0.3)
    term.send(next(label for label, text in option_lines(term).items() if text == "Nothing"))  # wrong


def test_after_the_last_answer_enter_shows_the_summary_once_the_feedback_was_read(tmp_path, last_bank):
    """At 60x24 the summary pushed the last verdict ("✗ Not quite. The answer is ...") off the top of the
    screen, which then began mid-sentence. Where they do not fit together, the quiz waits for Enter."""
    home = tmp_path / "home"
    term = quiz(home, last_bank, "--question", "long-why", cols=60, rows=24)
    try:
        answer_nothing(term)
        term.wait_for(r"Enter: summary · q: stop here")
        assert any(line.startswith("✗ Not quite. The answer is") for line in term.screen.display), term.text()
        assert "doubled at test time" in term.flat()  # the whole explanation is in view ...
        assert "Quiz summary" not in term.text()  # ... and nothing below it yet
        assert reviews(home) == [("long-why", "Nothing", False)]  # saved before the pause
        term.send("x")  # not a key the pause takes
        assert "Quiz summary" not in term.text()
        term.send("\r")
        term.wait_for(r"Nothing is due now|Due now")
        assert "Enter: summary" not in term.text() and "Stopped early" not in term.flat()
    finally:
        assert term.finish() == 0


def test_q_at_the_pause_before_the_summary_leaves_the_feedback_in_view(tmp_path, last_bank):
    home = tmp_path / "home"
    term = quiz(home, last_bank, "--question", "long-why", cols=60, rows=24)
    try:
        answer_nothing(term)
        term.wait_for(r"Enter: summary")
        term.send("q")
    finally:
        assert term.finish() == 0
    assert "Quiz summary" not in term.raw and "Enter: summary" not in term.text()
    assert any(line.startswith("✗ Not quite. The answer is") for line in term.screen.display), term.text()
    assert reviews(home) == [("long-why", "Nothing", False)]


@pytest.mark.parametrize("cols, rows", [(80, 30), (100, 60)])
def test_where_the_last_feedback_and_the_summary_fit_there_is_no_pause(tmp_path, last_bank, cols, rows):
    term = quiz(tmp_path / "home", last_bank, "--question", "long-why", cols=cols, rows=rows)
    try:
        answer_nothing(term)
        term.wait_for(r"Quiz summary")
        assert "Enter: summary" not in term.raw
    finally:
        assert term.finish() == 0


def test_ctrl_c_under_term_dumb_starts_the_summary_on_a_new_line(tmp_path, bank):
    """The terminal echoes ^C after "answer> "; the summary followed on that same line: "^CQuiz summary"."""
    home = tmp_path / "home"
    term = quiz(home, bank, "--question", "long-choice", "--question", "long-multi", cols=60, TERM="dumb")
    try:
        term.wait_for(r"answer>")
        term.send("nothing\r")
        term.wait_for(r"Question 2/2")
        term.wait_for(r"answer> *$")  # (the screen's words end with it: the prompt waits)
        term.child.sendintr()
        term.wait_for(r"You stopped early with Ctrl-C: 1 of 2 answered")
    finally:
        assert term.finish() == 130
    assert any(line.startswith("Quiz summary") for line in term.screen.display), term.text()
    assert "^CQuiz" not in term.text()
    assert [(q, ok) for q, _, ok in reviews(home)] == [("long-choice", False)]


def test_six_then_enter_in_the_jump_list_opens_the_section_at_its_top(tmp_path):
    """`j`, `6`, Enter opened section 6 at "lines 2-23": the 6 picked the section at once and the Enter, meant
    to confirm it, scrolled it a line, so its heading was off the screen. A later Enter still scrolls."""
    term = Terminal([sys.executable, "-m", "tutor", "lesson", "1"], tmp_path, 80, 24)
    try:
        term.wait_for(r"section 1/8")
        term.send("j")
        term.wait_for("Jump to section")
        term.child.send("6")
        term.send("\r")
        term.wait_for(r"section 6/8 · lines 1-\d+ of")
        assert term.screen.display[0].startswith("6. What makes deep networks hard"), term.text()
        time.sleep(1.6)  # past the moment an Enter confirms the pick
        term.send("\r")
        term.wait_for(r"section 6/8 · lines 2-\d+ of")
        term.send("q")
        assert term.finish() == 0
    finally:
        term.child.close(force=True)

