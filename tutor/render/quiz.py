"""Renderers for the quiz: question panels, feedback, the end-of-quiz summary and --stats.

Every function returns a rich renderable; the command prints it. Text from the
bank is never interpreted as rich markup (prompts may contain ``x[0]``);
`backticks` in prompts and explanations are shown as code.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tutor.quiz.answers import SHAPE_HINT, TRUE_FALSE_HINT, labels, shape_hint, uses_letters
from tutor.quiz.bank import plural

REASONS = {
    "due": "due for review",
    "new": "new",
    "generated": "generated: fresh numbers",
    "ahead": "review ahead of schedule",
    "asked": "asked for",
}
KIND_HINTS = {
    "choice": "pick one",
    "multi": "pick every right answer",
    "true-false": "true or false",
    "number": "type a number",
    "shape": SHAPE_HINT,
}
PLAIN_HINTS = {
    "choice": "type the number of your choice (or its text)",
    "multi": "type the numbers of every right choice, e.g. 1,3 ('none' if none is right)",
    "true-false": TRUE_FALSE_HINT,  # the digits it takes (1 and 0) on screen
    "number": "type a number",
    "shape": SHAPE_HINT,
}


def rich_text(text: str, style: str = "") -> Text:
    """Plain text with `code` spans styled; no markup interpretation."""
    out = Text(style=style)
    for i, part in enumerate(re.split(r"`([^`\n]+)`", text)):
        if i % 2:
            out.append(part, style="bold cyan")
        else:
            out.append(part)
    return out


def question_panel(question, number: int, total: int, reason: str, numbered_choices: bool = True) -> Panel:
    parts: list[RenderableType] = [rich_text(question.prompt)]
    if numbered_choices and question.kind in ("choice", "multi"):
        options = Table.grid(padding=(0, 1))
        options.add_column(no_wrap=True, justify="right")
        options.add_column(ratio=1)  # wrapped lines stay under the text: a hanging indent
        for label, choice in zip(labels(question.choices), question.choices):
            options.add_row(Text(f"  {label})", style="bold"), rich_text(choice))
        parts += [Text(""), options]
    hint = (PLAIN_HINTS if numbered_choices else KIND_HINTS)[question.kind]
    if question.kind == "shape":  # an example with as many sizes as the answer has (none of them its own)
        hint = shape_hint(question.answer)
    if numbered_choices and question.choices and uses_letters(question.choices):
        hint = hint.replace("number of your choice", "letter of your choice").replace("numbers", "letters")
        hint = hint.replace("e.g. 1,3", "e.g. a,c")
    parts += [Text(""), Text(hint, style="dim")]
    body = Group(*parts)
    subtitle = f"lesson {question.lesson} · {question.topic} · {REASONS.get(reason, reason)}"
    return Panel(
        body,
        title=Text(f"Question {number}/{total}", style="bold"),
        title_align="left",
        subtitle=Text(subtitle, style="dim"),
        subtitle_align="right",
        border_style="blue",
        padding=(1, 2),
    )


def when(due: datetime, now: datetime | None = None) -> str:
    """``in 10 minutes``, ``in 3 days``, ``now``."""
    now = now or datetime.now(timezone.utc)
    seconds = (due - now).total_seconds()
    if seconds <= 60:
        return "now" if seconds <= 0 else "in a minute"
    minutes = seconds / 60
    if minutes < 90:
        return f"in {plural(round(minutes), 'minute')}"  # (61-89 seconds: 1 minute)
    hours = minutes / 60
    if hours < 36:
        return f"in {round(hours)} hours"
    days = hours / 24
    if days < 60:
        return f"in {round(days)} days"
    return f"in {round(days / 30)} months"


def picked(question, value) -> Text:
    """The answer picked in a menu, as ordinary wrapped text (the menu itself is erased)."""
    line = Text("Your answer: ", style="bold")
    if question.kind == "true-false":
        line.append("true" if value else "false")
        return line
    marks = dict(zip(question.choices, labels(question.choices)))
    chosen = value if question.kind == "multi" else [value]
    if not chosen:
        line.append("none of them")
    for i, choice in enumerate(chosen):
        if i:
            line.append("; ")
        line.append(f"{marks.get(choice, '?')}) ", style="bold")
        line.append_text(rich_text(choice))
    return line


def multi_marks(question, chosen) -> Table:
    """For a several-answers question: which picks were right, which were wrong, which were missed."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    right = set(question.answer)
    chosen = set(chosen or [])
    for label, choice in zip(labels(question.choices), question.choices):
        if choice in chosen and choice in right:
            mark, note = Text("✓", style="bold green"), Text("right pick", style="green")
        elif choice in chosen:
            mark, note = Text("✗", style="bold red"), Text("wrong pick", style="red")
        elif choice in right:
            mark, note = Text("✗", style="bold red"), Text("missed", style="red")
        else:
            mark, note = Text("✓", style="green"), Text("left out", style="dim")
        text = Text(f"{label}) ", style="bold")
        text.append_text(rich_text(choice))
        grid.add_row(mark, note, text)
    return grid


def _unstopped(text: str) -> str:
    """A choice's text inside our sentence: without its own full stop (no ".;" or ".." after it)."""
    return text[:-1] if text.endswith(".") and not text.endswith("..") else text


def feedback(
    question, correct: bool, given: str, reread, next_due: datetime | None = None, picked=None
) -> Group:
    """``reread``: a :class:`tutor.quiz.refs.Reread` (or plain text); ``picked``: the value answered."""
    head = Text()
    if correct:
        head.append("✓ Right", style="bold green")
        if question.kind == "number" and given.strip() and not _same_number(given, question.answer):
            head.append(f" (exact value {question.answer_text()})", style="green")
        head.append(".")
    else:
        head.append("✗ Not quite.", style="bold red")
        if question.kind == "multi" and isinstance(picked, (list, tuple)):
            head.append(" Your picks, option by option:")  # the marks below say it all
        else:
            tidy = _unstopped if question.kind in ("choice", "number") else str  # "12." as typed: no "12.." after it
            head.append(" The answer is ")
            head.append(tidy(question.answer_as_asked()), style="bold")
            if given:
                head.append(f"; you answered {tidy(given)}", style="dim")
            head.append(".")
    parts: list[RenderableType] = [head]
    if question.kind == "multi" and isinstance(picked, (list, tuple)):
        parts.append(multi_marks(question, picked))
    parts.append(rich_text(question.explanation))
    tail = Text()
    if reread:
        tail.append("reread: ", style="dim")
        if isinstance(reread, str):
            tail.append(reread, style="cyan")
        else:
            tail.append(reread.command or reread.text(question.section), style="cyan")
            if reread.section_title:
                tail.append(f"\n        {reread.section_title}", style="dim")
    if next_due is not None:
        if reread:
            tail.append("\n")
        tail.append(f"next review {when(next_due)}", style="dim")
    if tail:
        parts.append(tail)
    return Group(*_spaced(parts), Text(""))


def _same_number(typed: str, answer) -> bool:
    """Whether ``typed`` is exactly the answer (0.9900 for 0.99): then there is no other "exact value" to show."""
    from tutor.quiz.answers import InvalidAnswer, parse_number

    try:
        return parse_number(typed) == float(answer)
    except (InvalidAnswer, TypeError, ValueError, OverflowError):
        return False


def _spaced(parts):
    for i, part in enumerate(parts):
        yield part
        if i < len(parts) - 1:
            yield Text("")


def invalid(reason: str) -> Text:
    return Text(f"  ↳ {reason}", style="yellow")


def notice(message: str) -> Text:
    return Text(message, style="dim")


def _accuracy(correct: int, answered: int) -> str:
    return f"{100 * correct / answered:.0f}%" if answered else "–"


def due_line(due: dict, now: datetime | None = None) -> Text:
    """``Due now: 2 cards (dnn-tutor quiz --review). Next card due in 10 minutes.``"""
    line = Text()
    if due.get("now"):
        n = due["now"]
        line.append(f"Due now: {plural(n, 'card')} ", style="bold")
        line.append("(dnn-tutor quiz --review).", style="cyan")
    else:
        line.append("Nothing is due now.")
    if due.get("next"):
        moment = datetime.fromisoformat(due["next"])
        line.append(f" Next card due {when(moment, now)} ({_local_time(moment, now)}).", style="dim")
    return line


def _local_time(moment: datetime, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    local = moment.astimezone()
    if local.date() == now.astimezone().date():
        return f"at {local:%H:%M}"
    return f"{local:%a %d %b %H:%M}"


def nothing_to_ask(due: dict, review: bool) -> Text:
    if review and due.get("total"):
        text = Text("Nothing is due for review right now.")
        if due.get("next"):
            moment = datetime.fromisoformat(due["next"])
            text.append(f" The next card is due {when(moment)} ({_local_time(moment)}).")
        return text
    if review:
        return Text("Nothing to review yet: answer some questions first with `dnn-tutor quiz`.", style="dim")
    return Text("No questions to ask for these lessons yet.", style="dim")


INTERRUPTED = "interrupted"  # Ctrl-C: "You stopped early with Ctrl-C: ..." (the quiz's one line about it)
SIGNALLED = "signal "  # + a signal's name ("signal SIGTERM"): "Stopped early by SIGTERM: ..."
CUT_SHORT = "cut short"  # by an error, which its own line on stderr explains: "Stopped early: ..."


def summary(results: list[dict], due: dict | None = None, stopped_early: str | bool = "", planned: int = 0) -> Group:
    """``results``: one dict per answer with ``topic`` and ``correct``; ``stopped_early``: why, if it did:
    ``True`` when the learner stopped it (q), :data:`INTERRUPTED` after Ctrl-C, :data:`SIGNALLED` + a signal's
    name after a signal, or a reason ("end of input"). Each says, in one line, what became of the answers."""
    table = Table(title="Quiz summary", title_justify="left", show_footer=True, box=None, padding=(0, 2))
    per: dict[str, list[int]] = {}
    for r in results:
        row = per.setdefault(r["topic"], [0, 0])
        row[0] += 1
        row[1] += int(r["correct"])
    asked = sum(v[0] for v in per.values())
    right = sum(v[1] for v in per.values())
    table.add_column("topic", footer="all")
    table.add_column("asked", justify="right", footer=str(asked))
    table.add_column("right", justify="right", footer=str(right))
    table.add_column("accuracy", justify="right", footer=_accuracy(right, asked))
    for topic in sorted(per):
        n, k = per[topic]
        style = "green" if k == n else ("red" if k == 0 else "")
        table.add_row(topic, str(n), str(k), Text(_accuracy(k, n), style=style))
    lines = []
    unsaved = sum(1 for r in results if r.get("saved") is False)
    if stopped_early and not (planned and asked >= planned):  # (Ctrl-C after the last answer stops nothing early)
        head, why = "Stopped early", f" ({stopped_early})"
        if stopped_early is True:
            head, why = "You stopped early", ""
        elif stopped_early == INTERRUPTED:
            head, why = "You stopped early with Ctrl-C", ""
        elif isinstance(stopped_early, str) and stopped_early.startswith(SIGNALLED):
            head, why = f"Stopped early by {stopped_early[len(SIGNALLED):]}", ""
        elif stopped_early == CUT_SHORT:
            why = ""
        if unsaved:
            kept = f"; {unsaved} of those answers could not be saved (see above)"
        elif not asked:
            kept = "; nothing was recorded"
        else:
            kept = "; those answers are saved"
        lines.append(Text(f"{head}{why}: {asked} of {planned} answered{kept}.", style="yellow"))
    elif unsaved:
        lines.append(Text(f"{plural(unsaved, 'answer')} of {asked} could not be saved (see above).", style="yellow"))
    if due is not None:
        lines.append(due_line(due))
    return Group(table, *lines) if asked else Group(*lines)


def stats_view(stats: dict) -> Group:
    """The topics answered so far, one row each; the topics never tried as one wrapped list of names after the
    table (not a row each), so that what was answered stays in view."""
    table = Table(title="Quiz statistics", title_justify="left", show_footer=True, box=None, padding=(0, 1))
    rows = stats["topics"]
    tried = [r for r in rows if r["answered"] or r["seen"] or r["due_now"]]
    untried = [r["topic"] for r in rows if r not in tried]
    # short headers: the table fits 60 columns without cutting one ("answ…")
    table.add_column("lesson", justify="right")
    table.add_column("topic", footer="all", no_wrap=True, min_width=max([len(r["topic"]) for r in tried] + [5]))
    table.add_column("asked", justify="right", footer=str(stats["answered"]))
    table.add_column("right", justify="right", footer=str(stats["correct"]))
    table.add_column("%", justify="right", footer=_accuracy(stats["correct"], stats["answered"]))
    table.add_column(
        "seen", justify="right", footer=f"{sum(r['seen'] for r in rows)}/{sum(r['questions'] for r in rows)}"
    )
    table.add_column("due", justify="right", footer=str(sum(r["due_now"] for r in rows)))
    for r in tried:
        acc = Text(_accuracy(r["correct"], r["answered"]))
        if r["answered"]:
            rate = r["correct"] / r["answered"]
            acc.stylize("green" if rate >= 0.8 else ("red" if rate < 0.5 else "yellow"))
        table.add_row(
            str(r["lesson"] or "–"), r["topic"], str(r["answered"]), str(r["correct"]), acc,
            f"{r['seen']}/{r['questions']}", str(r["due_now"]),
        )
    due = stats["due"]
    lines = []
    if untried:  # every name, wrapped over as many lines as it takes (never cut: a beginner reads them here)
        lines += [Text(f"{plural(len(untried), 'topic')} not tried yet: {', '.join(untried)}.", style="dim"), Text("")]
    lines += [
        due_line(due),
        Text(f"By the end of today: {due['today']}, this week: {due['week']} (of {plural(due['total'], 'card')}).",
             style="dim"),
    ]
    if not stats["answered"]:
        lines.append(Text("No answers yet: start with `dnn-tutor quiz`.", style="dim"))
    return Group(table, Text(""), *lines)
