"""The lesson reader, after a new learner's walkthrough.

1. Output nobody looks at (a pipe, a file, /dev/null) marks nothing read; what reaches a terminal does
   (the reader's screen, --plain, TERM=dumb), so a TERM=dumb learner can still complete a lesson.
2. `/` searches the lesson (Enter alone on the prompt: the next match; Esc cancels; "not found" in the
   footer); `?` (and `h`) show the keys.
3. Closing the reader says the lesson's state: sections read, which are not, what to run next; the
   home screen and `dnn-tutor lessons` say the same.
4. The footer has one format on every page and fits 60 columns, the search key included.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from conftest import FIXTURE_COURSE
from terminal_helpers import exit_code

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DNN_TUTOR_", "TMUX"))}
    env.update(DNN_TUTOR_HOME=str(tmp_path / "home"), DNN_TUTOR_LESSONS=str(FIXTURE_COURSE), COLUMNS="100",
               PYTHONIOENCODING="utf-8", PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm-256color", NO_COLOR="1")
    env.update(extra)
    return env


def _read(tmp_path, lesson_id: str = "basics") -> set[int]:
    from tutor.store import Store

    with Store(tmp_path / "home" / "progress.db") as store:
        return store.sections_read().get(lesson_id, set())


def _words(text: str) -> str:
    """Text as a person reads it: no escape codes, the words joined by single spaces."""
    return " ".join(ANSI.sub("", text).split())


# -- 1. what counts as read -----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("shell", [
    '"{py}" -m tutor lesson 1 | grep -c Check',
    '"{py}" -m tutor lesson 1 --plain > "{out}"',
    '"{py}" -m tutor lesson 1 --plain >/dev/null',
])
def test_output_nobody_is_looking_at_marks_nothing_read(tmp_path, shell):
    """`lesson 5 | grep -c Conv` and `lesson 6 --plain >/dev/null` marked the lesson done."""
    done = subprocess.run(shell.format(py=sys.executable, out=tmp_path / "out.txt"), shell=True, capture_output=True,
                          text=True, env=_env(tmp_path), timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert _read(tmp_path) == set()
    listed = subprocess.run([sys.executable, "-m", "tutor", "lessons"], capture_output=True, text=True,
                            env=_env(tmp_path), timeout=60)
    assert "not started" in listed.stdout and "done" not in listed.stdout


def test_a_pipe_records_nothing_and_tells_the_person_at_the_terminal(runner, fixture_course, monkeypatch):
    from tutor import console
    from tutor.cli import app
    from tutor.store import Store

    quiet = runner.invoke(app, ["lesson", "1", "--plain"])  # stderr not a terminal either: no note
    assert quiet.exit_code == 0 and "Check yourself" in quiet.stdout
    assert quiet.stderr == "" and "complete" not in quiet.output and "next:" not in quiet.output
    monkeypatch.setattr(console, "stderr_is_terminal", lambda: True)
    noted = runner.invoke(app, ["lesson", "basics", "--section", "2"])
    assert noted.exit_code == 0
    assert "Try it" in noted.stdout and "not marked read" not in noted.stdout  # the lesson's text stays clean
    said = _words(noted.stderr)
    assert "note: lesson 1 not marked read: it went to a file" in said
    assert "to record it, read it here: dnn-tutor lesson 1 --section 2" in said
    assert all(len(line) <= 60 for line in noted.stderr.splitlines())
    with Store() as store:
        assert store.sections_read() == {} and store.lessons_completed() == {}


@pytest.mark.slow
def test_a_lesson_saved_from_a_terminal_leaves_a_note_there_and_a_pager_gets_none(tmp_path):
    """`lesson 2 | less`: the note came after less drew its page, scrolled its title away and sat in its screen."""
    pexpect = pytest.importorskip("pexpect")
    saved = tmp_path / "lesson.txt"
    child = pexpect.spawn("bash", ["--norc", "--noprofile", "-c", f'"{sys.executable}" -m tutor lesson 1 > "{saved}"'],
                          env=_env(tmp_path), dimensions=(24, 60), encoding="utf-8", timeout=30)
    child.expect(pexpect.EOF)
    assert exit_code(child) == 0
    said = _words(child.before)
    assert "not marked read: it went to a file" in said and "read it here: dnn-tutor lesson 1" in said
    assert "Check yourself" in saved.read_text()
    piped = pexpect.spawn("bash", ["--norc", "--noprofile", "-c", f'"{sys.executable}" -m tutor lesson 1 | cat >/dev/null'],
                          env=_env(tmp_path), dimensions=(24, 60), encoding="utf-8", timeout=30)
    piped.expect(pexpect.EOF)
    assert exit_code(piped) == 0 and "not marked read" not in piped.before
    assert _read(tmp_path) == set()


def _printed(tmp_path, args: list[str], shell: str = "", **env) -> str:
    """What ``dnn-tutor ARGS`` shows in a terminal (100 columns), as words; it must exit 0."""
    pexpect = pytest.importorskip("pexpect")
    command = " ".join([f'"{sys.executable}"', "-m", "tutor", *args]) + shell
    child = pexpect.spawn("bash", ["--norc", "--noprofile", "-c", command], env=_env(tmp_path, **env),
                          dimensions=(40, 100), encoding="utf-8", timeout=30)
    child.expect(pexpect.EOF)
    assert exit_code(child) == 0, child.before
    return _words(child.before)


@pytest.mark.slow
def test_plain_in_a_terminal_counts_what_was_printed_and_says_what_is_left(tmp_path):
    said = _printed(tmp_path, ["lesson", "1", "--section", "2", "--plain"])
    assert "Try it" in said
    assert "Lesson 1: 1 of 3 sections read; not read yet: 1, 3 next: dnn-tutor lesson 1 --section 1" in said
    assert _read(tmp_path) == {2}
    said = _printed(tmp_path, ["lesson", "1", "--plain"])
    assert "Lesson 1 complete ✓ (all 3 sections read) next: dnn-tutor lesson 2" in said
    assert _read(tmp_path) == {1, 2, 3}


@pytest.mark.slow
def test_a_dumb_terminal_still_completes_a_lesson_and_says_so(tmp_path):
    """TERM=dumb: section by section with Enter; with no keyboard (stdin not a terminal) the whole lesson
    printed to the terminal. Both count, and both end with the lesson's state."""
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(sys.executable, ["-m", "tutor", "lesson", "1"], env=_env(tmp_path, TERM="dumb"),
                          dimensions=(40, 100), encoding="utf-8", timeout=30)
    for number in (1, 2):
        child.expect_exact(f"-- section {number}/3: Enter for the next, q+Enter stops --")
        child.send("\r")
    child.expect(pexpect.EOF)
    assert exit_code(child) == 0
    assert "Lesson 1 complete ✓ (all 3 sections read) next: dnn-tutor lesson 2" in _words(child.before)
    assert "\x1b[" not in child.before
    said = _printed(tmp_path, ["lesson", "2"], " </dev/null", TERM="dumb")
    assert "Lesson 2 complete ✓ next: dnn-tutor (the course map and your next step)" in said
    assert _read(tmp_path, "more") == {1}


# -- 3. the lesson's state on closing, as home and `lessons` say it ----------------------------------


def _state_text(state) -> list[str]:
    from rich.console import Console

    from tutor.render.lessons import render_reading_state

    console = Console(width=60, record=True, color_system=None)
    with console.capture() as captured:
        console.print(render_reading_state(state))
    return captured.get().splitlines()


def test_the_closing_lines_agree_with_the_home_screen_and_the_lessons_list(fixture_course, runner):
    from tutor.cli import app
    from tutor.lessons import load_course
    from tutor.reader import reading_state
    from tutor.store import Store

    course = load_course()
    basics, more = course.lessons

    def state() -> list[str]:
        return _state_text(reading_state(course, basics, store_factory=Store))

    assert state() == ["Lesson 1: no section read yet (3 sections)", "next: dnn-tutor lesson 1"]
    with Store() as store:
        store.mark_section_read("basics", 1, 3)
        store.mark_section_read("basics", 3, 3)
    assert state() == ["Lesson 1: 2 of 3 sections read; not read yet: 2", "next: dnn-tutor lesson 1 --section 2"]
    assert "dnn-tutor lesson 1 --section 2" in runner.invoke(app, []).output  # the home screen's next step
    assert "2/3" in runner.invoke(app, ["lessons"]).output
    with Store() as store:
        store.mark_section_read("basics", 2, 3)
    assert state() == ["Lesson 1 complete ✓ (all 3 sections read)", "next: dnn-tutor lesson 2"]
    home = runner.invoke(app, []).output
    assert "dnn-tutor lesson 2" in home and "dnn-tutor lesson 1" not in home
    assert "✓ done" in runner.invoke(app, ["lessons"]).output
    with Store() as store:
        store.mark_section_read("more", 1, 1)
    assert state() == ["Lesson 1 complete ✓ (all 3 sections read)",
                       "next: dnn-tutor (the course map and your next step)"]


def test_section_ranges_read_as_a_learner_counts():
    from tutor.lessons import ReadingState, section_ranges

    assert section_ranges([2, 3, 4, 6, 8, 7]) == "2-4, 6-8"
    assert section_ranges([5]) == "5" and section_ranges([]) == ""
    state = ReadingState(2, 8, (1, 8), False, "dnn-tutor lesson 2 --section 2")
    assert state.unread == (2, 3, 4, 5, 6, 7)
    assert _state_text(state) == ["Lesson 2: 2 of 8 sections read; not read yet: 2-7",
                                  "next: dnn-tutor lesson 2 --section 2"]


@pytest.mark.slow
def test_n_at_the_last_section_says_what_is_still_unread(tmp_path, runner, monkeypatch):
    """`j`, the last section, `n` ended with the same line whether one or every section was read."""
    pexpect = pytest.importorskip("pexpect")
    from tutor.cli import app

    child = pexpect.spawn(sys.executable, ["-m", "tutor", "lesson", "1"], env=_env(tmp_path), dimensions=(40, 100),
                          encoding="utf-8", timeout=30)
    child.expect("section 1/3")
    child.send("j")
    child.expect("Jump to section")
    child.send("3")
    child.expect("section 3/3")
    child.expect("n finish")
    child.send("n")
    child.expect(pexpect.EOF)
    assert exit_code(child) == 0
    said = _words(child.before)
    assert "Lesson 1: 2 of 3 sections read; not read yet: 2 next: dnn-tutor lesson 1 --section 2" in said
    assert "course map" not in said
    monkeypatch.setenv("DNN_TUTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DNN_TUTOR_LESSONS", str(FIXTURE_COURSE))
    assert "dnn-tutor lesson 1 --section 2" in runner.invoke(app, []).output
    assert "2/3" in runner.invoke(app, ["lessons"]).output


# -- 2. search and the keys' help -------------------------------------------------------------------


def _pager(rows: int = 8, cols: int = 60):
    from tutor.lessons import load_course
    from tutor.pager import Pager

    return Pager(load_course(FIXTURE_COURSE).lessons[0], 1, lambda index: False, rows=rows, cols=cols)


def _shown_line(pager) -> str:
    index, line, _ = pager.hit
    return pager._plain_of(index, pager.cover and index == 1)[line]


def test_search_goes_through_the_sections_and_round_to_the_start():
    pager = _pager()
    assert pager.search("NETWORK")  # any case
    assert pager.index == 2 and "network" in _shown_line(pager).lower()
    first = pager.hit
    assert pager._shown(first[1]) and pager.note == f'found "NETWORK": section 2, line {first[1] + 1} · / Enter: next'
    assert pager.search("network")  # again: the next line with it, further down
    assert pager.index == 2 and pager.hit[1] > first[1] and pager._shown(pager.hit[1])
    assert pager.search("network")  # none below, none in 3 or 1: round to the first one
    assert pager.hit == first and "(from the top)" in pager.note
    assert pager.search("Weight")
    assert pager.index == 3 and "weight" in _shown_line(pager)


def test_a_search_that_finds_nothing_says_so_in_the_footer_and_stays_put():
    pager = _pager()
    pager.scroll(1)
    where = (pager.index, pager.top)
    assert not pager.search("backpropagation through time")
    assert (pager.index, pager.top) == where and pager.hit is None
    status = pager._footer()[0][1]
    assert status == 'not found: no line of lesson 1 has "backpropagati..."\n'  # (a long text is shortened)
    pager.scroll(1)  # moving on clears it
    assert "not found" not in pager._footer()[0][1]


def test_the_match_is_marked_without_colour():
    pager = _pager(rows=24, cols=80)
    pager.search("weight")
    marked = "".join(text for style, text in pager.view() if "class:match" in style)
    assert marked == "weight"  # reverse video (the app's style): seen under NO_COLOR too
    from tutor.pager import pager_app

    assert ("match", "reverse") in pager_app(pager).style.style_rules


def _keys(pager, typed: str, end: str = "q"):
    """Run the reader's keys over ``typed`` (then ``end``: q, or Ctrl-D, which closes the reader from any
    screen) as a terminal would send them."""
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from tutor.pager import pager_app

    with create_pipe_input() as keys, create_app_session(input=keys, output=DummyOutput()):
        keys.send_text(typed + end)
        return pager_app(pager).run()


def test_slash_opens_a_prompt_enter_searches_and_enter_alone_searches_again():
    pager = _pager()
    assert _keys(pager, "/weight\r") == ("quit", None)  # (q after a search is the reader's q)
    assert pager.index == 3 and pager.last_search == "weight" and pager.mode == "read"
    pager = _pager()
    _keys(pager, "/network\r/\r")
    assert pager.index == 2 and pager.hit[1] > 0
    once = _pager()
    _keys(once, "/network\r")
    assert pager.hit[1] > once.hit[1]  # the second, further down
    pager = _pager()
    _keys(pager, "/\r")  # an empty prompt and nothing searched before: nothing happens
    assert (pager.index, pager.last_search, pager.note) == (1, "", "")
    pager = _pager()
    _keys(pager, "/netz\x7fwork\r")  # Backspace mends a typo
    assert pager.last_search == "network"


@pytest.mark.parametrize("key", ["?", "h"])
def test_question_mark_and_h_show_the_keys_and_any_key_goes_back(key):
    pager = _pager(rows=24, cols=60)
    _keys(pager, key, end="\x04")
    assert pager.mode == "help"
    pager.rows, pager.cols = 24, 60  # (the app took its test output's size)
    lines = "".join(text for _, text in pager.view()).splitlines()
    assert lines[0] == "Keys in the lesson reader (any key goes back)"
    said = " ".join(" ".join(lines).split())
    for words in ("/ search the lesson", "Enter on an empty search: the next match", "? h these keys", "q quit"):
        assert words in said
    assert all(len(line) <= 59 for line in lines) and len(lines) <= 24
    pager = _pager()
    _keys(pager, key + "x")  # x closes the help; the q after it quits
    assert pager.mode == "read"


# -- 4. one footer format, 60 columns, the search key in it ------------------------------------------

ITEMS = ("space more", "↑↓ g G", "up/down g G", "b page up", "b prev section", "b prev", "n next", "n finish",
         "j jump", "r run", "/ search", "? help", "q quit")


def _footer_items(pager) -> list[str]:
    line = pager.keys()
    assert len(line) <= pager.cols - 1, line
    items = line.split("  ")
    assert all(item in ITEMS for item in items), line  # "key what" items two spaces apart, nothing else
    order = [next(i for i, known in enumerate(ITEMS) if known == item) for item in items]
    assert order == sorted(order), line  # always in the same order
    return items


@pytest.mark.slow  # every page of the course, four times (3 s each)
@pytest.mark.parametrize("cols", [60, 80])
@pytest.mark.parametrize("unicode_ok", [True, False])
def test_every_page_of_every_lesson_has_one_footer_format_that_fits(monkeypatch, cols, unicode_ok):
    """At 60 columns the footer read `space more · ↑↓ g G · n next` on one page and `space more ↑↓ g G b page up
    n next` on the next, and had no search key."""
    from tutor import console
    from tutor.lessons import load_course
    from tutor.pager import Pager

    monkeypatch.setattr(console, "encodes_unicode", lambda stream=None: unicode_ok)
    for lesson in (*load_course().lessons, *load_course(FIXTURE_COURSE).lessons):
        for index in range(1, len(lesson.sections) + 1):
            pager = Pager(lesson, index, lambda i: False, rows=24, cols=cols)
            pager.cover = index == 1
            while True:
                items = _footer_items(pager)
                for always in ("/ search", "? help", "q quit"):
                    assert always in items
                assert ("n next" if index < len(lesson.sections) else "n finish") in items
                assert ("space more" in items) == (not pager.at_end)
                if pager.top > 0:
                    assert "b page up" in items
                elif index > 1:
                    assert "b prev" in items or "b prev section" in items
                if pager.at_end:
                    break
                pager.scroll(pager.body_rows - 1)


def test_the_search_prompt_and_the_help_say_the_keys(runner):
    from tutor.cli import app

    pager = _pager(rows=24, cols=60)
    pager.mode = "search"
    pager.query = "relu"
    status, typed, cursor = pager.view()[-3:]
    assert status[1] == "Search lesson 1: type the text, then Enter; Esc cancels\n"
    assert typed[1] == "/relu" and cursor == ("reverse", " ")
    pager.last_search = "relu"
    assert pager.view()[-3][1] == 'Search: Enter alone finds "relu" again; Esc cancels\n'
    said = " ".join(runner.invoke(app, ["lesson", "--help"]).output.split())
    assert "/ search the lesson (/ then Enter alone: the next match), ? or h the keys" in said
    assert "Output piped or written to a file marks nothing read" in said


# -- the whole thing in a real terminal, 60x24, NO_COLOR ------------------------------------------------


@pytest.mark.slow
def test_search_in_a_real_terminal_marks_the_match_and_says_not_found(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    pyte = pytest.importorskip("pyte")
    screen = pyte.Screen(60, 24)
    stream = pyte.Stream(screen)
    child = pexpect.spawn(sys.executable, ["-m", "tutor", "lesson", "1"], env=_env(tmp_path, COLUMNS="60", LINES="24"),
                          dimensions=(24, 60), encoding="utf-8", timeout=30)

    def wait_for(text: str) -> None:
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                stream.feed(child.read_nonblocking(65536, timeout=0.1))
            except pexpect.TIMEOUT:
                pass
            if text in "\n".join(screen.display):
                return
        raise AssertionError(f"{text!r} never appeared:\n" + "\n".join(screen.display))

    try:
        wait_for("/ search")
        child.send("/")
        wait_for("Search lesson 1: type the text, then Enter; Esc cancels")
        child.send("WEIGHT\r")
        wait_for('found "WEIGHT": section 3')
        row = next(y for y, line in enumerate(screen.display) if "weight" in line)
        x = screen.display[row].index("weight")
        assert [screen.buffer[row][x + i].reverse for i in range(-1, 7)] == [False] + [True] * 6 + [False]
        child.send("/")
        wait_for('Enter alone finds "WEIGHT" again')
        child.send("\r")
        wait_for("(from the top): section 3")
        child.send("/zzz\r")
        wait_for('not found: no line of lesson 1 has "zzz"')
        child.send("/")
        wait_for('Search: Enter alone finds "zzz" again; Esc cancels')
        child.send("\x1b")  # Esc: back to the keys, nothing searched
        wait_for("q quit")
        assert "Search" not in "\n".join(screen.display)
        child.send("?")
        wait_for("Keys in the lesson reader")
        child.send(" ")
        wait_for("q quit")
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        code = exit_code(child)
    assert code == 0
    assert _read(tmp_path) == {1, 3}
