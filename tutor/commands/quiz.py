"""``dnn-tutor quiz``: spaced-repetition questions from the bank and from generators.

In a terminal the answers are picked with arrow keys (questionary); otherwise a
numbered plain fallback reads one answer per line from stdin. Every answer is
saved (and its card rescheduled) before the feedback is shown, so end of input
and Ctrl-C both keep what was answered.
"""

from __future__ import annotations

import random
import sys
from typing import List, Optional

import typer

from tutor import console
from tutor.app import app
from tutor.errors import TutorError


def read_line(prompt: str) -> str:
    """One line from stdin for the plain fallback; EOFError at end of input.

    The tests replace this function to simulate Ctrl-C.
    """
    sys.stdout.write(prompt)
    sys.stdout.flush()
    try:
        line = sys.stdin.readline() if sys.stdin is not None else ""
    except (ValueError, OSError):  # stdin closed
        line = ""
    if line == "":
        sys.stdout.write("\n")
        raise EOFError
    if not sys.stdin.isatty():
        sys.stdout.write(line if line.endswith("\n") else line + "\n")  # echo, so a transcript reads well
    return line.rstrip("\r\n")


def ask_plain(question):
    """(value, typed text) from the plain fallback; invalid input is asked again."""
    from tutor.quiz.answers import InvalidAnswer, parse
    from tutor.render import quiz as view

    while True:
        text = read_line("answer> ")
        try:
            return parse(question, text), text
        except InvalidAnswer as exc:
            console.out(view.invalid(exc.reason))


def ask_interactive(question):
    """(value, typed text) with arrow-key prompts; Ctrl-C raises KeyboardInterrupt, Ctrl-D EOFError."""
    import questionary

    from tutor.quiz.answers import InvalidAnswer, parse

    style = questionary.Style([("qmark", "fg:ansiblue bold"), ("highlighted", "bold"), ("pointer", "fg:ansiblue bold")])
    kind = question.kind
    if kind == "choice":
        choices = [questionary.Choice(title=c, value=c) for c in question.choices]
        value = questionary.select("Your answer", choices=choices, qmark="?", style=style).unsafe_ask()
        return value, value
    if kind == "multi":
        choices = [questionary.Choice(title=c, value=c) for c in question.choices]
        value = questionary.checkbox(
            "Your answer (space to tick, enter when done)", choices=choices, qmark="?", style=style
        ).unsafe_ask()
        return list(value or []), "; ".join(value or [])
    if kind == "true-false":
        value = questionary.select(
            "True or false?",
            choices=[questionary.Choice("true", value=True), questionary.Choice("false", value=False)],
            qmark="?",
            style=style,
        ).unsafe_ask()
        return value, "true" if value else "false"

    def validate(text: str):
        try:
            parse(question, text)
            return True
        except InvalidAnswer as exc:
            return exc.reason

    text = questionary.text("Your answer", validate=validate, qmark="?", style=style).unsafe_ask()
    if text is None:
        raise EOFError
    return parse(question, text), text


def _resolve_lesson(text: str, entries, course) -> int:
    """A lesson number from ``--lesson`` (a number, or a lesson id such as ``cnn``)."""
    import re

    text = text.strip()
    known = sorted({e.lesson for e in entries.values()} | ({l.number for l in course.lessons} if course else set()))
    if text.isdigit():
        number = int(text)
        if number in known:
            return number
        raise TutorError(f"no lesson {number}; the quiz has questions for lessons {', '.join(map(str, known))}")
    if course is not None:
        return course.find(text).number
    # Without the lessons, the bank's file names (NN-slug.toml) still tell ids from numbers.
    for entry in entries.values():
        match = re.match(r"^(\d+)-(.+)\.toml$", entry.question.source if entry.question else "")
        if match and match.group(2) == text.lower():
            return int(match.group(1))
    raise TutorError(f"no lesson {text!r}; use a lesson number ({', '.join(map(str, known))})")


def _run(items, store, course, interactive: bool):
    """Ask every item; returns (results, stopped_early). Each answer is saved before feedback."""
    from tutor.quiz import schedule
    from tutor.quiz.answers import describe, is_correct
    from tutor.quiz.refs import reread_for
    from tutor.render import quiz as view

    results: list[dict] = []
    total = len(items)
    try:
        for number, item in enumerate(items, start=1):
            q = item.question
            console.out(view.question_panel(q, number, total, item.reason, numbered_choices=not interactive))
            try:
                value, typed = ask_interactive(q) if interactive else ask_plain(q)
            except EOFError:
                return results, True
            correct = is_correct(q, value, typed)
            given = describe(q, value)
            next_due = schedule.record(store, q.id, given, correct)
            results.append({"id": q.id, "topic": q.topic, "correct": correct})
            shown = typed.strip() if q.kind in ("number", "shape") else given
            reread = reread_for(q, course)
            console.out(view.feedback(q, correct, shown, reread, next_due))
    except KeyboardInterrupt:
        if results:
            console.out(view.summary(results, stopped_early=True, planned=total))
        raise
    return results, False


EPILOG = (
    "Examples: `dnn-tutor quiz` (10 questions: due reviews first, then new ones from the lessons you have read); "
    "`dnn-tutor quiz --lesson 5 --count 5`; `dnn-tutor quiz --topic dropout`; `dnn-tutor quiz --review`; "
    "`dnn-tutor quiz --question dnn-dense-params`; `dnn-tutor quiz --stats --json`. "
    "Without a terminal, answers are read one per line from stdin: a choice's number or text, "
    "numbers separated by commas for several choices, t/f, a number, or a shape such as 32x13x13."
)


def _choose(store, entries, course, rng, now, *, lesson, topic, count, review, question):
    """The items of this quiz (the logic lives in tutor.quiz.select)."""
    from tutor.quiz.refs import lessons_read
    from tutor.quiz.select import by_ids, check_topic, select
    from tutor.render import quiz as view

    if question:
        return by_ids(entries, question, rng)
    lessons = None
    explicit = bool(lesson or topic)
    if lesson is not None:
        lessons = {_resolve_lesson(lesson, entries, course)}
    if topic is not None:
        topic = check_topic(entries, topic)
    if lessons is None and topic is None:
        lessons = lessons_read(store, course)
        if not lessons:
            lessons = {1}
            if not review:
                console.out(view.notice(NOTHING_READ))
    if explicit and not any(
        (lessons is None or e.lesson in lessons) and (topic is None or e.topic == topic) for e in entries.values()
    ):
        where = " and ".join(x for x in (f"lesson {lesson}" if lesson else "", f"topic {topic}" if topic else "") if x)
        raise TutorError(f"no questions for {where}")
    return select(
        entries, store.cards(), now, count=count, lessons=lessons, topic=topic,
        explicit_scope=explicit, review_only=review, rng=rng,
    )


NOTHING_READ = "You have not read any lesson yet, so the questions come from lesson 1 (read it with `dnn-tutor lesson 1`)."


@app.command("quiz", epilog=EPILOG)
def quiz(
    lesson: Optional[str] = typer.Option(
        None, "--lesson", "-l", metavar="LESSON", help="Only questions from this lesson (number or id)."
    ),
    topic: Optional[str] = typer.Option(
        None, "--topic", "-t", metavar="TOPIC", help="Only questions on this topic (e.g. cnn, dropout)."
    ),
    count: int = typer.Option(10, "--count", "-n", min=1, max=200, metavar="N", help="How many questions to ask."),
    review: bool = typer.Option(False, "--review", help="Only the cards that are due for review."),
    stats: bool = typer.Option(False, "--stats", help="Show accuracy per topic and how many cards are due, then exit."),
    json_out: bool = typer.Option(False, "--json", help="With --stats: print the statistics as JSON."),
    question: Optional[List[str]] = typer.Option(
        None, "--question", "-q", metavar="ID", help="Ask this question id (repeatable); lesson checkpoints point here."
    ),
    seed: Optional[int] = typer.Option(
        None, "--seed", metavar="N", help="Seed for the choice of questions and generated numbers."
    ),
) -> None:
    """Answer questions with spaced repetition: due reviews first, then new ones from the lessons you have read."""
    from tutor.commands.common import emit_json, open_store
    from tutor.quiz import schedule
    from tutor.quiz.bank import load_bank
    from tutor.quiz.refs import load_course_or_none
    from tutor.quiz.select import catalogue
    from tutor.quiz.stats import quiz_stats
    from tutor.render import quiz as view

    if question and (review or lesson or topic):
        raise TutorError("--question picks the questions itself; leave out --review, --lesson and --topic")
    if json_out and not stats:
        stats = True  # a quiz session cannot be JSON; --json means the statistics
    bank = load_bank()
    course = load_course_or_none()
    entries = catalogue(bank, course)
    known = set(entries)
    rng = random.Random(seed)

    with open_store() as store:
        if stats:
            data = quiz_stats(store, entries)
            if json_out:
                emit_json(data)
            else:
                console.out(view.stats_view(data))
            return

        now = schedule.utc_now()
        items = _choose(
            store, entries, course, rng, now, lesson=lesson, topic=topic, count=count, review=review, question=question
        )
        if not items:
            counts = schedule.due_counts(store, now, known_ids=known)
            if review and counts["total"]:
                message = f"Nothing is due for review right now ({counts['week']} due within the week)."
            elif review:
                message = "Nothing to review yet: answer some questions first with `dnn-tutor quiz`."
            else:
                message = "No questions to ask for these lessons yet."
            console.out(view.notice(message))
            return

        results, stopped = _run(items, store, course, console.is_interactive())
        if results or stopped:
            due = schedule.due_counts(store, known_ids=known)
            console.out(view.summary(results, due, stopped_early=stopped, planned=len(items)))
