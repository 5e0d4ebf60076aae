"""``dnn-tutor quiz``: spaced-repetition questions from the bank and from generators.

In a terminal (stdin and stdout both terminals, ``TERM`` not ``dumb``) choices
are picked from a menu with arrow or digit keys; otherwise a numbered plain
fallback reads one answer per line from stdin, stops after
:data:`MAX_INVALID` unreadable answers in a row or at end of input, and never
waits where the learner cannot see the question; at a terminal with plain prompts
(TERM=dumb) it pauses on a plain line where the next question would push the
feedback off the screen (never from a pipe). Every answer is saved (and its
card rescheduled) before the feedback is shown, so end of input, Ctrl-C and
SIGTERM all keep what was answered. What to ask is decided in
:func:`tutor.quiz.select.choose`.
"""

from __future__ import annotations

import random
import sys
from typing import List, Optional

import typer

from tutor import console
from tutor.app import app
from tutor.errors import StoreError, TutorError
from tutor.grading.text import visible

MAX_INVALID = 3  # piped answers that cannot be read, in a row, before the quiz stops
MAX_LINE = 2000  # characters of one answer line
MAX_SKIP = 64 * MAX_LINE  # characters of an over-long line skipped before giving up on the input
QUIT_WORDS = ("q", "quit")  # typed at any prompt where it is not an answer: stop the quiz
NEXT_HINT = "Enter: next question · q: stop here"
SUMMARY_HINT = "Enter: summary · q: stop here"
NO_SUMMARY = "stopped at the last feedback"  # q at the pause before the summary: the feedback stays in view
QUIT = "stopped"  # why the quiz ended when the learner typed q (the summary says "You stopped early")
# The pause where stdin and stdout are terminals but prompts are plain (TERM=dumb): one line, Enter goes on
PLAIN_NEXT_HINT = "-- Enter: next question, q: stop here -- "
PLAIN_SUMMARY_HINT = "-- Enter: summary, q: stop here -- "


class Stop(Exception):
    """The quiz stops here (too many unreadable answers, or q typed at a prompt); what was answered is kept.
    The message says why."""


class TooLong(Exception):
    """One answer line longer than :data:`MAX_LINE`: the whole line is skipped and counts as unreadable
    (its tail is never taken as the next answer)."""


class Screen:
    """Where the quiz writes. ``quiz > file`` typed at a terminal also shows everything on stderr,
    so the learner sees the question the keyboard is answering."""

    def __init__(self) -> None:
        self.mirror = (
            console.stdin_is_terminal() and not console.stdout_is_terminal() and console.stderr_is_terminal()
        )
        self.mid_line = False  # the last thing written (a prompt) left the cursor after text on its line

    def show(self, *renderables) -> None:
        self.mid_line = False
        console.out(*renderables)
        if self.mirror:
            console.stderr_screen().print(*renderables)

    def write(self, text: str) -> None:
        if text:
            self.mid_line = not text.endswith("\n")
        for stream in (sys.stdout, sys.stderr) if self.mirror else (sys.stdout,):
            if stream is None:  # started with that stream closed
                continue
            stream.write(console.for_stream(text, stream))
            stream.flush()


def read_line(prompt: str, screen: Screen | None = None) -> str:
    """One line from stdin for the plain fallback; EOFError at end of input.

    The tests replace this function to simulate Ctrl-C.
    """
    screen = screen or Screen()
    screen.write(prompt)
    try:
        line = sys.stdin.readline(MAX_LINE) if sys.stdin is not None else ""
        if len(line) >= MAX_LINE and not line.endswith("\n"):
            screen.write(("" if console.stdin_is_terminal() else visible(line[:77]) + "...") + "\n")
            _skip_rest_of_line()
            raise TooLong
    except (ValueError, OSError, UnicodeDecodeError):  # stdin closed or not text
        line = ""
    if line == "":
        screen.write("\n")
        raise EOFError
    screen.mid_line = False  # the Enter that ended the line (echoed by the terminal, or by us below)
    if screen.mirror and sys.stdout is not None:  # typed at the terminal, which echoed it; the transcript needs it
        sys.stdout.write(console.for_stream(visible(line.rstrip("\r\n")), sys.stdout) + "\n")
    elif not console.stdin_is_terminal():
        shown = line.rstrip("\r\n")
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        screen.write(visible(shown) + "\n")  # echo, so a transcript reads well; escape sequences made visible
    return line.rstrip("\r\n")


def _skip_rest_of_line() -> None:
    """Read up to the end of an over-long line; input with no line ends at all ends the quiz."""
    skipped = 0
    while skipped < MAX_SKIP:
        rest = sys.stdin.readline(MAX_LINE)
        if rest == "" or rest.endswith("\n"):
            return
        skipped += len(rest)
    # No line end in sight (e.g. /dev/zero): stop rather than read forever.
    raise Stop(f"an answer line of over {MAX_SKIP:,} characters could not be read")


def quits(question, text: str) -> bool:
    """``q`` or ``quit`` typed at any prompt: stop the quiz, unless it reads as an answer there (a choice
    whose text or label is q)."""
    from tutor.quiz.answers import takes

    return text.strip().lower() in QUIT_WORDS and not takes(question, text)


def ask_plain(question, screen: Screen | None = None):
    """(value, typed text) from the plain fallback; invalid input is asked again.

    From a pipe or file, :data:`MAX_INVALID` answers in a row that are not taken (unreadable, or a number
    short of the decimals asked) raise :class:`Stop`; so does q (:func:`quits`).
    """
    from tutor.quiz.answers import InvalidAnswer, TooFewDecimals, parse_as_asked
    from tutor.render import quiz as view

    screen = screen or Screen()
    misses = 0
    read = False  # one of the answers refused in a row was a number, short of the decimals asked
    while True:
        try:
            text = read_line("answer> ", screen)
            if quits(question, text):
                raise Stop(QUIT)
            return parse_as_asked(question, text), text
        except (InvalidAnswer, TooLong) as exc:
            misses += 1
            read = read or isinstance(exc, TooFewDecimals)
            reason = exc.reason if isinstance(exc, InvalidAnswer) else f"an answer is at most {MAX_LINE} characters"
            screen.show(view.invalid(reason))
            if misses >= MAX_INVALID and not console.stdin_is_terminal():
                said = "were not taken" if read else "could not be read"
                raise Stop(f"{misses} answers in a row {said}") from None


def ask_interactive(question):
    """(value, typed text) from a menu or a typed line; Ctrl-C raises KeyboardInterrupt, Ctrl-D EOFError,
    q :class:`Stop`."""
    from tutor.quiz.answers import InvalidAnswer, labels, parse_as_asked
    from tutor.terminal_menu import choose_many, choose_one

    ascii_only = not console.encodes_unicode()
    marks = labels(question.choices)
    if question.kind == "multi":
        value = [question.choices[i] for i in _picked(choose_many("Your answer (every right one)", question.choices,
                                                                   marks, ascii_only=ascii_only))]
        return value, "; ".join(value)
    if question.kind == "choice":
        text = question.choices[_picked(choose_one("Your answer", question.choices, marks, ascii_only=ascii_only))]
        return text, text
    if question.kind == "true-false":
        picked = _picked(choose_one("True or false?", ["true", "false"], ["t", "f"], ascii_only=ascii_only))
        return picked == 0, "true" if picked == 0 else "false"
    return _ask_text(question, parse_as_asked, InvalidAnswer)


def _picked(picked):
    """What a menu returned; None (q pressed) stops the quiz."""
    if picked is None:
        raise Stop(QUIT)
    return picked


def _ask_text(question, parse, invalid_answer):
    """A typed answer (a number or a shape). Enter on text that is not an answer empties the line and says,
    right under it, what was typed and why it was not taken (:func:`tutor.terminal_menu.ask_line`)."""
    from tutor.quiz.answers import takes
    from tutor.terminal_menu import ask_line

    def check(text: str):
        if quits(question, text):
            return None
        try:
            parse(question, text)
            return None
        except invalid_answer as exc:
            return exc.reason

    hint = None if takes(question, "q") else "(q stops)"  # as the menus say it
    text = ask_line("Your answer", check, instruction=hint, ascii_only=not console.encodes_unicode())
    if quits(question, text):
        raise Stop(QUIT)
    return parse(question, text), text


def _ask(item, number: int, total: int, interactive: bool, screen: Screen):
    from tutor.render import quiz as view

    q = item.question
    screen.show(view.question_panel(q, number, total, item.reason, numbered_choices=not interactive))
    if not interactive:
        return ask_plain(q, screen)
    value, typed = ask_interactive(q)
    if q.kind in ("choice", "true-false"):  # a multi answer is shown option by option in the feedback
        screen.show(view.picked(q, value))
    return value, typed


def _run(items, store, course, interactive: bool, screen: Screen, results: list[dict], closing=None) -> str:
    """Ask every item, appending to ``results``; returns why it stopped early ("" when it did not,
    :data:`NO_SUMMARY` when q was pressed at the pause before the summary).

    Each answer is saved before its feedback is shown. In a terminal, where the next question (or, after
    the last one, ``closing()``: the summary) would push the feedback off the screen, the quiz waits for
    Enter first: with a key in the menu's way, or with a plain line under TERM=dumb (never from a pipe)."""
    from tutor.quiz import schedule
    from tutor.quiz.answers import describe, is_correct
    from tutor.quiz.refs import reread_for
    from tutor.render import quiz as view

    for number, item in enumerate(items, start=1):
        q = item.question
        try:
            value, typed = _ask(item, number, len(items), interactive, screen)
        except EOFError:
            return "end of input"
        except Stop as exc:
            return str(exc)
        correct = is_correct(q, value, typed)
        unsaved = None
        try:
            next_due = schedule.record(store, q.id, describe(q, value), correct)
        except StoreError as exc:  # a full disk: the verdict is still shown, then what was not saved
            next_due, unsaved = None, exc.message
        results.append({"id": q.id, "topic": q.topic, "correct": correct, "saved": unsaved is None})
        shown = typed.strip() if q.kind in ("number", "shape") else describe(q, value)
        said = view.feedback(q, correct, shown, reread_for(q, course), next_due, picked=value)
        screen.show(said)
        if unsaved:
            console.error_line(unsaved)
        if not (interactive or _plain_pauses()):
            continue
        # what the learner should still see: the feedback, from its verdict on, and the answer picked in the
        # menu (which is erased; the plain fallback's typed "answer> " line may scroll off, as the verdict says it)
        block = [view.picked(q, value), said] if interactive and q.kind in ("choice", "true-false") else [said]
        last = number == len(items)
        if not last:
            fits = _fits_with_next(block, items[number], number + 1, len(items), plain=not interactive)
        else:
            fits = closing is None or _fits_above(block, closing())
        if fits:
            continue
        try:
            if interactive:
                go_on = _wait_for_next(SUMMARY_HINT if last else NEXT_HINT)
            else:
                go_on = _plain_pause(PLAIN_SUMMARY_HINT if last else PLAIN_NEXT_HINT, screen)
        except EOFError:
            return "" if last else "end of input"
        except Stop as exc:
            return str(exc)
        if not go_on:
            return NO_SUMMARY if last else QUIT
    return ""


def _plain_pauses() -> bool:
    """Whether the plain fallback may wait at a pause: a learner at a terminal (stdin and stdout both
    terminals) whose prompts are plain (TERM=dumb). A pipe or a file never waits."""
    return console.stdin_is_terminal() and console.stdout_is_terminal()


def _plain_pause(hint: str, screen: Screen) -> bool:
    """The pause of the plain fallback: one line; True to go on (Enter, or anything but q), False for q or quit.
    EOFError at end of input (Ctrl-D)."""
    try:
        text = read_line(hint, screen)
    except TooLong:
        return True
    return text.strip().lower() not in QUIT_WORDS


def _rows(parts) -> int:
    """Lines the renderables take at the terminal's width."""
    term = console.stdout_console()
    return sum(len(term.render_lines(part, term.options, pad=False)) for part in parts)


def _fits_with_next(said, item, number: int, total: int, plain: bool = False) -> bool:
    """Whether the feedback (renderables) stays on screen while the next question and its menu are shown below it.

    ``plain``: the plain fallback's layout instead, numbered choices in the panel and an "answer> " line under it."""
    from tutor.render import quiz as view

    term = console.stdout_console()
    panel = view.question_panel(item.question, number, total, item.reason, numbered_choices=plain)
    if plain:  # the layout is known exactly: the feedback, the panel, and the "answer> " line the cursor waits on
        return _rows([*said, panel]) + 1 <= term.size.height
    needed = _rows([*said, panel])
    needed += 2 + sum(1 + len(choice) // max(term.width - 8, 20) for choice in (item.question.choices or ["a line to type in"]))
    return needed <= term.size.height - 1


def _fits_above(said, below) -> bool:
    """Whether the feedback (renderables) stays on screen with ``below`` (the summary) and the shell's
    prompt after it."""
    return _rows([*said, below]) <= console.stdout_console().size.height - 1


def _wait_for_next(hint: str = NEXT_HINT) -> bool:
    from tutor.terminal_menu import wait_for_next

    return wait_for_next(hint, ascii_only=not console.encodes_unicode())


EPILOG = (
    "Examples: `dnn-tutor quiz` (10 questions: due reviews first, then new ones from the lessons you have read); "
    "`dnn-tutor quiz --lesson 5 --count 5`; `dnn-tutor quiz --topic dropout`; `dnn-tutor quiz --review`; "
    "`dnn-tutor quiz --question dnn-dense-params`; `dnn-tutor quiz --stats --json`. "
    "In a terminal, pick with the arrow keys or press a choice's number; where the next question (or the "
    "summary) would push the feedback off the screen, the quiz waits for Enter. q stops the quiz there and at "
    "any prompt (unless q is the text of a choice), keeping your answers. "
    "Without a terminal, answers are read one per line from stdin: a choice's number or text, "
    "numbers separated by commas for several choices, t or 1 for true and f or 0 for false, a number (to the "
    "decimals a question asks for), or a shape such as 32x13x13; "
    f"the quiz stops at end of input or after {MAX_INVALID} answers in a row that it cannot take."
)


def _count(text: str) -> int:
    from tutor.commands.common import whole_number

    value = whole_number(text, "--count", 1, 200)
    assert value is not None
    return value


def _check_terminal(screen: Screen) -> None:
    if console.stdin_is_terminal() and not console.stdout_is_terminal() and not screen.mirror:
        raise TutorError(
            "the quiz would wait for answers at the keyboard with its questions in a file; "
            "run it without redirecting its output, or feed answers in with `dnn-tutor quiz < answers.txt`"
        )


@app.command("quiz", epilog=EPILOG)
def quiz(
    lesson: Optional[str] = typer.Option(
        None, "--lesson", "-l", metavar="LESSON", help="Only questions from this lesson (number or id)."
    ),
    topic: Optional[str] = typer.Option(
        None, "--topic", "-t", metavar="TOPIC", help="Only questions on this topic (e.g. cnn, dropout)."
    ),
    count: str = typer.Option("10", "--count", "-n", metavar="N", help="How many questions to ask (1-200)."),
    review: bool = typer.Option(False, "--review", help="Only the cards that are due for review now."),
    stats: bool = typer.Option(False, "--stats", help="Show accuracy per topic and how many cards are due, then exit."),
    json_out: bool = typer.Option(False, "--json", help="With --stats: print the statistics as JSON."),
    question: Optional[List[str]] = typer.Option(
        None, "--question", "-q", metavar="ID", help="Ask this question id (repeatable); lesson checkpoints point here."
    ),
    seed: Optional[str] = typer.Option(
        None, "--seed", metavar="INT", help="Seed for the choice and order of questions and generated numbers (0 to 2**63 - 1)."
    ),
) -> None:
    """Answer questions with spaced repetition: due reviews first, then new ones from the lessons you have read."""
    from tutor.commands.common import SEED_MAX, emit_json, open_store, whole_number
    from tutor.quiz import schedule
    from tutor.quiz.bank import load_bank
    from tutor.quiz.refs import lessons_read, load_course_or_none
    from tutor.quiz.select import catalogue, choose
    from tutor.quiz.stats import quiz_stats
    from tutor.render import quiz as view

    number = _count(count)
    seed_value = whole_number(seed, "--seed", 0, SEED_MAX)
    if stats or json_out:
        console.require_stdout("the statistics")
    else:  # the learner would answer questions never seen (their choices shuffled): nothing is asked
        console.require_stdout("the questions", "nothing was asked or recorded")
    course = load_course_or_none()
    entries = catalogue(load_bank(), course)
    with open_store() as store:
        if stats or json_out:  # a quiz session cannot be JSON; --json means the statistics
            data = quiz_stats(store, entries)
            emit_json(data) if json_out else console.out(view.stats_view(data))
            return
        now = schedule.utc_now()
        plan = choose(
            entries, store.cards(), now, course=course, lessons_read=lessons_read(store, course), lesson=lesson,
            topic=topic, count=number, review=review, question_ids=question, rng=random.Random(seed_value),
        )
        if not plan.items:
            console.out(view.nothing_to_ask(schedule.due_counts(store, now, known_ids=set(entries)), review))
            return
        _session(plan, store, course, set(entries))


def _session(plan, store, course, known: set[str]) -> None:
    """Ask the plan's items and show the summary (also after Ctrl-C, SIGTERM or a closed pipe)."""
    from tutor.errors import interrupt_name
    from tutor.quiz import schedule
    from tutor.render import quiz as view
    from tutor.terminal_menu import show_cursor

    screen = Screen()
    interactive = console.is_interactive()
    if not interactive:
        _check_terminal(screen)
    for message in plan.notices:
        screen.show(view.notice(message))
    results: list[dict] = []
    planned = len(plan.items)

    def closing():
        return view.summary(results, schedule.due_counts(store, known_ids=known), planned=planned)

    stopped = view.CUT_SHORT  # unless _run returns (or Ctrl-C or a signal is caught below): an error came through
    exit_code = None  # after Ctrl-C or a signal, once the summary has said so
    try:
        stopped = _run(plan.items, store, course, interactive, screen, results, closing)
    except BrokenPipeError:
        _quiet_stdout()
        return  # the reader of our output went away; every answer given is saved
    except (KeyboardInterrupt, SystemExit) as exc:  # SystemExit: SIGTERM/SIGHUP at a menu (terminal_menu)
        exit_code = _interrupt_code(exc)
        if exit_code is None or not results or len(results) >= planned:
            raise  # no "stopped early" line to show: the command line's own ("interrupted: ...") is the one
        stopped = view.INTERRUPTED if exit_code == 130 else view.SIGNALLED + interrupt_name(exit_code)
    finally:
        if interactive:
            show_cursor()
        if (exit_code is not None or stopped == view.CUT_SHORT) and results:
            with _no_broken_pipe():
                if screen.mid_line:  # Ctrl-C at "answer> " (the terminal echoed ^C there): a line of its own
                    screen.write("\n")
                screen.show(view.summary(results, None, stopped_early=stopped, planned=planned))
    if exit_code is not None:
        # The summary's line says the quiz was stopped and that the answers are saved: exit without the
        # command line's generic "interrupted: anything already saved is kept." under it.
        raise typer.Exit(exit_code)
    if stopped != NO_SUMMARY:
        with _no_broken_pipe():
            due = schedule.due_counts(store, known_ids=known)
            why: str | bool = True if stopped == QUIT else stopped
            screen.show(view.summary(results, due, stopped_early=why, planned=planned))
    if any(not result["saved"] for result in results):
        raise typer.Exit(1)  # answered, but not all of it could be saved (each was said on stderr)


def _interrupt_code(exc: BaseException) -> int | None:
    """The exit code for Ctrl-C (130) or a signal (128 + N); None for an exit that is neither."""
    from tutor.errors import interrupt_exit_code

    if isinstance(exc, KeyboardInterrupt):
        return interrupt_exit_code(exc)
    code = exc.code if isinstance(exc, SystemExit) else None
    return code if isinstance(code, int) and code in (129, 130, 143) else None


class _no_broken_pipe:
    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is not None and issubclass(kind, BrokenPipeError):
            _quiet_stdout()
            return True
        return False


def _quiet_stdout() -> None:
    """After a closed pipe: send what is left to /dev/null so exiting prints no second error."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
