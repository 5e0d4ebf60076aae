"""Renderers for ``progress`` and ``doctor``. They return rich objects."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tutor.doctor import Report
from tutor.progress import Dashboard
from tutor.quiz.bank import plural
from tutor.render.lessons import render_lessons_table, render_next_steps


def render_dashboard(dashboard: Dashboard) -> RenderableType:
    parts: list[RenderableType] = [render_lessons_table(dashboard.lessons)]

    exercises = Table(title="Exercises (best attempt)", box=box.SIMPLE_HEAVY, title_justify="left")
    exercises.add_column("exercise", style="cyan")
    exercises.add_column("lesson", justify="right")
    exercises.add_column("status")
    exercises.add_column("when", style="dim")
    for e in dashboard.exercises:
        style = "green" if e.done else ("yellow" if e.total else "dim")
        status = Text(("✓ " if e.done else "") + e.label, style=style)
        exercises.add_row(Text(e.id), str(e.lesson), status, Text(e.at[:16].replace("T", " ")))
    parts.append(exercises)

    quiz = Text()
    accuracy = f"{100 * dashboard.quiz_correct / dashboard.quiz_reviews:.0f}%" if dashboard.quiz_reviews else "—"
    quiz.append(f"{plural(dashboard.quiz_cards, 'card')} · {plural(dashboard.quiz_reviews, 'answer')} · {accuracy} right · ")
    quiz.append(f"{dashboard.due_now} due now", style="bold yellow" if dashboard.due_now else "")
    later_today = dashboard.due_today - dashboard.due_now
    if later_today > 0:
        quiz.append(f" · {later_today} more later today")
    quiz.append(f" · {dashboard.due_week} by the end of the week")
    if not dashboard.due_now and dashboard.next_due:
        quiz.append(f" · next one due {_when(dashboard.next_due)}")
    parts.append(Panel(quiz, title="quiz", title_align="left", box=box.ROUNDED, border_style="yellow"))

    demos = Text(f"{plural(dashboard.demo_runs, 'run')} recorded")
    if dashboard.last_demo:
        last = dashboard.last_demo
        demos.append(f" · last: {last['demo_id']} on {last['device']} ({last['seconds']:.1f} s, {last['at'][:16].replace('T', ' ')})")
    parts.append(Panel(demos, title="demos", title_align="left", box=box.ROUNDED, border_style="cyan"))
    parts.append(render_next_steps(dashboard))
    return Group(*parts)


def render_import_result(counts: dict[str, int], source: str) -> RenderableType:
    skipped = counts.get("skipped", 0)
    added = {k: v for k, v in counts.items() if k != "skipped"}
    total = sum(added.values())
    text = Text(f"imported from {source}: {plural(total, 'new or updated entry', 'new or updated entries')}", style="green" if total else "")
    details = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in added.items() if v)
    if details:
        text.append(f" ({details})", style="dim")
    if skipped:
        text.append(f"; left out {plural(skipped, 'entry', 'entries')} about quiz questions this version no longer asks", style="dim")
    return text


def render_doctor(report: Report) -> RenderableType:
    checks = Table(title="Checks", box=box.SIMPLE_HEAVY, title_justify="left")
    checks.add_column("")
    checks.add_column("check")
    checks.add_column("detail", overflow="fold")
    for c in report.checks:
        checks.add_row(Text("✓", style="green") if c.ok else Text("✗", style="red"), Text(c.name), Text(c.detail))

    device = Table(box=None, show_header=False)
    device.add_column(style="bold")
    device.add_column(overflow="fold")
    for key, value in report.device.items():
        device.add_row(Text(str(key)), Text(str(value)))

    versions = Table(title="Versions", box=box.SIMPLE, title_justify="left", show_header=False)
    versions.add_column(style="bold")
    versions.add_column(overflow="fold")
    for key, value in report.versions.items():
        versions.add_row(Text(key), Text(str(value)))

    folders = Table(title="Folders and data", box=box.SIMPLE, title_justify="left", show_header=False)
    folders.add_column(style="bold")
    folders.add_column(overflow="fold")
    for key, value in report.folders.items():
        folders.add_row(Text(key), Text(str(value)))
    for key, value in report.datasets.items():
        folders.add_row(Text(f"dataset {key}"), Text(str(value)))

    db = report.database
    if "error" in db:
        db_text = Text(f"{db['path']}\n", style="")
        db_text.append(db["error"], style="red")
    else:
        rows = ", ".join(
            f"{k.replace('_', ' ')} {'unreadable' if v is None else v}" for k, v in db["rows"].items()
        )
        db_text = Text(
            f"{db['path']}\nschema v{db['schema_version']} (expected v{db['expected_version']}) · integrity {db['integrity']} · "
            f"{db['journal_mode']} · {db['size_bytes']} bytes\n{rows}"
        )
        for problem in db.get("problems", [])[:10]:
            db_text.append(f"\n✗ {problem}", style="red")
        if db.get("repaired"):
            db_text.append(f"\nrebuilt from the readable rows; the damaged file is kept as {db['repaired']['damaged_copy']}",
                           style="green")
    for warning in db["warnings"]:
        db_text.append(f"\n{warning}", style="yellow")
    return Group(
        Panel(device, title="device", title_align="left", border_style="cyan", box=box.ROUNDED),
        checks,
        versions,
        folders,
        Panel(db_text, title="progress database", title_align="left", box=box.ROUNDED),
        Text("all good" if report.ok else "some checks failed (see ✗ above)", style="green" if report.ok else "red"),
    )


def _when(iso_text: str) -> str:
    """``in 3 hours`` for an ISO time (the quiz's own wording), or the time itself if it won't parse."""
    from tutor.clock import parse_iso
    from tutor.render.quiz import when

    try:
        return when(parse_iso(iso_text))
    except (TypeError, ValueError):
        return iso_text
