"""Core commands: the home screen, ``lessons``, ``lesson``, ``progress`` and ``doctor``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import typer

from tutor import __version__, console, paths
from tutor.app import app
from tutor.commands.common import emit_json, open_store, verdict_output
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
    console.require_stdout("the home screen")
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

    console.require_stdout("the lesson list")
    course = load_course()
    with open_store() as store:
        statuses = lesson_statuses(course, store)
    if as_json:
        emit_json([s.to_dict() for s in statuses])
        return
    console.out(render_lessons_table(statuses))


@app.command("lesson")
def lesson_command(
    key: str = typer.Argument(..., metavar="LESSON", help="Lesson number or id, e.g. 3 or backprop (`dnn-tutor lessons` lists them)."),
    section: Optional[str] = typer.Option(
        None, "--section", "-s", help="Show only this section (number or slug); in a terminal, start there."
    ),
    plain: bool = typer.Option(False, "--plain", help="Print the text once without prompts, even in a terminal."),
) -> None:
    """Read a lesson. In a terminal: one section at a time, paged like less (space a page down, b a page up or, at a section's top, the previous section; g/G top/end, n the next section, j jump, r run, / search the lesson (/ then Enter alone: the next match), ? or h the keys, q quit).

    A terminal without cursor keys (TERM=dumb): one section at a time, a screenful at a time (Enter for more, q stops).
    With --plain, or piped: the whole lesson (or --section K) is printed once, never waiting for input.
    A section counts as read once its end has been on your screen: in the reader, or printed to the terminal.
    Output piped or written to a file marks nothing read. Reading every section completes the lesson;
    on closing, the reader says which sections are still to read.
    """
    from tutor.lessons import load_course
    from tutor.render.lessons import render_reading_state

    course = load_course()
    lesson = course.find(key)
    start = lesson.section(section) if section is not None else None
    if not plain and console.is_dumb() and console.stdin_is_terminal() and console.stdout_is_terminal():
        from tutor.reader import read_plainly  # a person at a terminal without cursor keys: section by section

        with _state_on_interrupt(course, lesson, newline=True):  # the cursor is still on the page's prompt line
            read_plainly(lesson, start.index if start else None, store_factory=open_store)
    elif plain or not console.is_interactive():
        from tutor.reader import CLOSED, UNSEEN, print_lesson

        shown = [start] if start is not None else list(lesson.sections)
        printed = print_lesson(lesson, shown, store_factory=open_store)  # records only what reached a screen
        if printed == CLOSED:
            return  # `| head`: the reader has gone; nothing to add
        if printed == UNSEEN:
            # Someone is at the terminal, though the lesson went to a file. Not into a pipe: a pager there
            # (`| less`) shares the terminal, and a note written under it scrambles its screen.
            if console.stderr_is_terminal() and not console.stdout_is_pipe():
                from tutor.render.lessons import render_not_recorded

                again = f"dnn-tutor lesson {lesson.number}" + (f" --section {start.index}" if start else "")
                console.err(render_not_recorded(lesson, again))
            return
    else:
        from tutor.reader import read_interactively

        with _state_on_interrupt(course, lesson):
            read_interactively(lesson, start.index if start else None, store_factory=open_store)
    from tutor.reader import reading_state

    console.out(render_reading_state(reading_state(course, lesson, store_factory=open_store)))


@contextlib.contextmanager
def _state_on_interrupt(course, lesson, newline: bool = False) -> Iterator[None]:
    """Ctrl-C (or SIGTERM) while reading: the lesson's state and next step, as closing with q shows them,
    then the interruption goes on (exit 130 and its line)."""
    try:
        yield
    except KeyboardInterrupt:
        from tutor.reader import reading_state
        from tutor.render.lessons import render_reading_state

        try:
            if newline:
                console.out("")
            console.out(render_reading_state(reading_state(course, lesson, store_factory=open_store)))
        except Exception:  # noqa: BLE001 - the state is a courtesy; the interruption is what matters
            pass
        raise


@app.command("progress")
def progress_command(
    export: Optional[str] = typer.Option(None, "--export", help="Write all your progress to this JSON file (- for stdout).", metavar="FILE"),
    import_: Optional[Path] = typer.Option(
        None, "--import", help="Merge progress from a JSON file made by --export (newer local entries win)."
    ),
    force: bool = typer.Option(False, "--force", help="With --export: replace an existing file (a backup is kept)."),
    as_json: bool = typer.Option(False, "--json", help="Print the dashboard (or the import counts) as JSON."),
) -> None:
    """Your dashboard: lessons, exercises, quiz cards due and demo runs; move progress between machines."""
    from tutor.lessons import load_course
    from tutor.progress import dashboard
    from tutor.render.progress import render_dashboard, render_import_result

    if export is not None and import_:
        raise TutorError("use --export or --import, not both")
    if force and export is None:
        raise TutorError("--force only applies with --export FILE (it replaces an existing file)")
    if export is not None:
        if not export.strip():
            raise TutorError("--export needs a file name (or - for stdout)")
        _export(None if export == "-" else paths.expand_user(export), force, as_json)
        return
    if import_:
        source = paths.expand_user(import_)
        counts = import_progress(source)
        if as_json:
            emit_json({"imported": counts})
        else:
            console.out(render_import_result(counts, str(source)))
        return
    console.require_stdout("the dashboard")
    course = load_course()
    with open_store() as store:
        board = dashboard(course, store)
    if as_json:
        emit_json(board.to_dict())
        return
    console.out(render_dashboard(board))


def _export(target: Path | None, force: bool, as_json: bool = False) -> None:
    """``--export FILE``; ``target`` None is ``--export -`` (stdout). With ``--json`` the summary is JSON too."""
    import sys

    from rich.text import Text

    from tutor import fsutil, jsonutil
    from tutor.quiz.bank import plural

    if target is None:
        if sys.stdout is None:
            raise TutorError("--export -: stdout is closed; give a file name")
        with open_store() as store:
            data = store.export()
        emit_json(data)  # the same document, and a full output is said to be the output
        return
    fsutil.check_output_file(target, option="--export", force=force)
    with open_store() as store:
        data = store.export()
    text = jsonutil.dumps(data, indent=2)
    backup = None
    if target.exists():
        backup = fsutil.backup_copy(target)
        if not as_json:
            console.err(Text(f"kept the old file as {backup}"))
    fsutil.atomic_write_text(target, text + "\n")
    total = sum(len(v) for v in data.values() if isinstance(v, list))
    if as_json:
        emit_json({"exported": total, "file": str(target), "backup": None if backup is None else str(backup)})
    else:
        console.out(Text(f"exported {plural(total, 'entry', 'entries')} to {target}"))


def import_progress(source: Path) -> dict[str, int]:
    """Read, check and merge an export file; all or nothing. Returns the counts per kind."""
    from tutor import export_schema, fsutil, jsonutil
    from tutor.lessons import load_course
    from tutor.progress import known_ids

    try:
        raw = fsutil.read_regular_bytes(source, export_schema.MAX_FILE_BYTES)
    except FileNotFoundError:
        raise TutorError(f"no such file: {source}") from None
    try:
        payload = jsonutil.loads_strict(raw.decode("utf-8-sig"))  # a byte-order mark from an editor is fine
    except UnicodeDecodeError:
        raise TutorError(f"cannot read {source} as JSON: it is not UTF-8 text") from None
    except RecursionError:
        raise TutorError(f"cannot read {source} as JSON: it is nested thousands of levels deep; an export made by "
                         "dnn-tutor progress --export is a few levels deep") from None
    except ValueError as exc:
        raise TutorError(f"cannot read {source} as JSON: {str(exc)[:120]}") from None
    known = known_ids(load_course())
    with open_store() as store:
        return store.import_(payload, known, source=str(source))


@app.command("doctor")
def doctor_command(
    device: Optional[str] = typer.Option(None, "--device", help="Check this device instead of the automatic choice."),
    repair: bool = typer.Option(
        False, "--repair", help="Rebuild a damaged progress database from every row that can be read (the damaged file is kept)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check the installation: versions, the chosen device and why, data folders, dataset cache, progress database.

    The progress database gets a full integrity check; --repair rebuilds it when the check finds damage.
    """
    from tutor.device import check_name
    from tutor.doctor import gather
    from tutor.render.progress import render_doctor

    check_name(device)  # a typo is one line at once, not after torch and torchvision have loaded
    console.require_stdout("the report", "nothing was checked or repaired")
    report = gather(device, repair=repair)
    with verdict_output(0 if report.ok else 1):
        if as_json:
            emit_json(report.to_dict())
        else:
            console.out(render_doctor(report))
    if not report.ok:
        raise typer.Exit(1)
