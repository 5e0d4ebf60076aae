"""Core commands: the home screen, ``lessons``, ``lesson``, ``progress`` and ``doctor``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from tutor import __version__, console
from tutor.app import app
from tutor.commands.common import emit_json, open_store
from tutor.errors import TutorError


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"dnn-tutor {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def home(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", "-V", help="Print the version and exit.", callback=_version_callback, is_eager=True
    ),
) -> None:
    """Learn deep neural networks in the terminal: lessons, graded exercises, live demos and a quiz.

    Run with no command for the home screen: the course map, your progress and the suggested next step.
    """
    if ctx.invoked_subcommand is not None:
        return
    from tutor.lessons import load_course
    from tutor.progress import dashboard
    from tutor.render.lessons import render_home

    course = load_course()
    with open_store() as store:
        board = dashboard(course, store)
    console.out(render_home(board, __version__))


@app.command("lessons")
def lessons_command(
    as_json: bool = typer.Option(False, "--json", help="Print the table as JSON."),
) -> None:
    """List the lessons: number, title, minutes and your status."""
    from tutor.lessons import load_course
    from tutor.progress import lesson_statuses
    from tutor.render.lessons import render_lessons_table

    course = load_course()
    with open_store() as store:
        statuses = lesson_statuses(course, store)
    if as_json:
        emit_json([s.to_dict() for s in statuses])
        return
    console.out(render_lessons_table(statuses))


@app.command("lesson")
def lesson_command(
    key: str = typer.Argument(..., metavar="LESSON", help="Lesson number (1-7) or id, e.g. 3 or backprop."),
    section: Optional[str] = typer.Option(
        None, "--section", "-s", help="Show only this section (number or slug); in a terminal, start there."
    ),
    plain: bool = typer.Option(False, "--plain", help="Print the text once without prompts, even in a terminal."),
) -> None:
    """Read a lesson. In a terminal: one section at a time (n next, b back, j jump, q quit).

    Piped or with --plain: the whole lesson (or --section K) is printed once, never waiting for input.
    Reading a section records it; reading every section completes the lesson.
    """
    from tutor.lessons import load_course

    course = load_course()
    lesson = course.find(key)
    start = lesson.section(section) if section is not None else None
    if plain or not console.is_interactive():
        from tutor.render.lessons import render_lesson

        shown = [start] if start is not None else list(lesson.sections)
        console.out(render_lesson(lesson, shown))
        with open_store() as store:
            completed = False
            for s in shown:
                completed = store.mark_section_read(lesson.id, s.index, len(lesson.sections)) or completed
        if completed:
            console.out(f"[green]✓ lesson {lesson.number} complete[/green]")
        return
    from tutor.reader import read_interactively

    read_interactively(lesson, start.index if start else None)


@app.command("progress")
def progress_command(
    export: Optional[Path] = typer.Option(None, "--export", help="Write all your progress to this JSON file."),
    import_: Optional[Path] = typer.Option(
        None, "--import", help="Merge progress from a JSON file made by --export (newer local entries win)."
    ),
    force: bool = typer.Option(False, "--force", help="With --export: replace an existing file (a backup is kept)."),
    as_json: bool = typer.Option(False, "--json", help="Print the dashboard as JSON."),
) -> None:
    """Your dashboard: lessons, exercises, quiz cards due and demo runs; move progress between machines."""
    from tutor.lessons import load_course
    from tutor.progress import dashboard
    from tutor.render.progress import render_dashboard, render_import_result

    if export and import_:
        raise TutorError("use --export or --import, not both")
    with open_store() as store:
        if export:
            target = export.expanduser()
            if target.exists() and not force:
                raise TutorError(f"{target} exists; pass --force to replace it (the old file is kept as a backup)")
            data = store.export()
            _write_with_backup(target, json.dumps(data, indent=2))
            total = sum(len(v) for v in data.values() if isinstance(v, list))
            console.out(f"exported {total} entries to {target}")
            return
        if import_:
            source = import_.expanduser()
            try:
                payload = json.loads(source.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise TutorError(f"no such file: {source}") from None
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise TutorError(f"cannot read {source} as JSON: {exc}") from None
            counts = store.import_(payload)
            if as_json:
                emit_json({"imported": counts})
            else:
                console.out(render_import_result(counts, str(source)))
            return
        board = dashboard(load_course(), store)
    if as_json:
        emit_json(board.to_dict())
        return
    console.out(render_dashboard(board))


def _write_with_backup(target: Path, text: str) -> None:
    import os
    import shutil

    from tutor.store import now_iso

    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        stamp = now_iso().replace(":", "").replace("-", "")[:15]
        backup = target.with_name(f"{target.name}.bak-{stamp}")
        shutil.copy2(target, backup)
        console.err(f"kept the old file as {backup}")
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)


@app.command("doctor")
def doctor_command(
    device: Optional[str] = typer.Option(None, "--device", help="Check this device instead of the automatic choice."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check the installation: versions, the chosen device and why, data folders, dataset cache, progress database."""
    from tutor.doctor import gather
    from tutor.render.progress import render_doctor

    report = gather(device)
    if as_json:
        emit_json(report.to_dict())
    else:
        console.out(render_doctor(report))
    if not report.ok:
        raise typer.Exit(1)
