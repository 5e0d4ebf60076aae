"""Renderers for the quiz: question panels, feedback, the end-of-quiz summary and --stats.

Every function returns a rich renderable; the command prints it. Text from the
bank is never interpreted as rich markup (prompts may contain ``x[0]``);
`backticks` in prompts and explanations are shown as code.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tutor.quiz.answers import labels, uses_letters

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
    "shape": "type a shape, e.g. (32, 13, 13)",
}
PLAIN_HINTS = {
    "choice": "type the number of your choice (or its text)",
    "multi": "type the numbers of every right choice, e.g. 1,3 ('none' if none is right)",
    "true-false": "type t or f",
    "number": "type a number",
    "shape": 'type a shape such as "(32, 13, 13)", "32x13x13" or "32 13 13"',
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
    body = Text()
    body.append_text(rich_text(question.prompt))
    if numbered_choices and question.kind in ("choice", "multi"):
        body.append("\n")
        for label, choice in zip(labels(question.choices), question.choices):
            body.append(f"\n  {label}) ", style="bold")
            body.append_text(rich_text(choice))
    hint = (PLAIN_HINTS if numbered_choices else KIND_HINTS)[question.kind]
    if numbered_choices and question.choices and uses_letters(question.choices):
        hint = hint.replace("number of your choice", "letter of your choice").replace("numbers", "letters")
        hint = hint.replace("e.g. 1,3", "e.g. a,c")
    body.append(f"\n\n{hint}", style="dim")
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
        return f"in {round(minutes)} minutes"
    hours = minutes / 60
    if hours < 36:
        return f"in {round(hours)} hours"
    days = hours / 24
    if days < 60:
        return f"in {round(days)} days"
    return f"in {round(days / 30)} months"


def feedback(question, correct: bool, given: str, reread, next_due: datetime | None = None) -> Group:
    """``reread``: a :class:`tutor.quiz.refs.Reread` (or plain text)."""
    head = Text()
    if correct:
        head.append("✓ Right", style="bold green")
        if question.kind == "number" and given.strip() and question.answer_text() != given.strip():
            head.append(f" (exact value {question.answer_text()})", style="green")
        head.append(".")
    else:
        head.append("✗ Not quite.", style="bold red")
        head.append(" The answer is ")
        head.append(question.answer_text(), style="bold")
        if given:
            head.append(f"; you answered {given}", style="dim")
        head.append(".")
    parts = [head, rich_text(question.explanation)]
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


def summary(results: list[dict], due: dict | None = None, stopped_early: bool = False, planned: int = 0) -> Group:
    """``results``: one dict per answer with ``topic`` and ``correct``."""
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
    if stopped_early:
        lines.append(Text(f"Stopped early: {asked} of {planned} answered; those answers are saved.", style="yellow"))
    if due is not None:
        lines.append(Text(f"Cards due today: {due['today']}, this week: {due['week']}.", style="dim"))
    return Group(table, *lines)


def stats_view(stats: dict) -> Group:
    table = Table(title="Quiz statistics", title_justify="left", show_footer=True, box=None, padding=(0, 1))
    rows = stats["topics"]
    table.add_column("lesson", justify="right")
    table.add_column("topic", footer="all", no_wrap=True, min_width=max([len(r["topic"]) for r in rows] + [5]))
    table.add_column("answered", justify="right", footer=str(stats["answered"]))
    table.add_column("right", justify="right", footer=str(stats["correct"]))
    table.add_column("accuracy", justify="right", footer=_accuracy(stats["correct"], stats["answered"]))
    table.add_column(
        "seen", justify="right", footer=f"{sum(r['seen'] for r in rows)}/{sum(r['questions'] for r in rows)}"
    )
    table.add_column("due now", justify="right", footer=str(sum(r["due_now"] for r in rows)))
    for r in rows:
        acc = Text(_accuracy(r["correct"], r["answered"]))
        if r["answered"]:
            rate = r["correct"] / r["answered"]
            acc.stylize("green" if rate >= 0.8 else ("red" if rate < 0.5 else "yellow"))
        table.add_row(
            str(r["lesson"] or "–"), r["topic"], str(r["answered"]), str(r["correct"]), acc,
            f"{r['seen']}/{r['questions']}", str(r["due_now"]),
        )
    due = stats["due"]
    lines = [Text(f"Cards due now: {due['now']}, today: {due['today']}, this week: {due['week']} (of {due['total']} cards).")]
    if stats.get("next_due") and not due["now"]:
        moment = datetime.fromisoformat(stats["next_due"])
        lines.append(Text(f"Next card due {when(moment)}.", style="dim"))
    if not stats["answered"]:
        lines.append(Text("No answers yet: start with `dnn-tutor quiz`.", style="dim"))
    return Group(table, Text(""), *lines)
