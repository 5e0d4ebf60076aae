"""Exercise commands: ``exercises``, ``check``, ``hint``, ``init`` and ``reset``."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Optional

import typer

from tutor import console
from tutor.app import app
from tutor.commands.common import emit_json, open_store
from tutor.errors import TutorError


@app.command("exercises")
def exercises_command(
    as_json: bool = typer.Option(False, "--json", help="Print the table as JSON."),
) -> None:
    """List the exercises: id, lesson, file and your status (not started / n of m checks / done)."""
    from tutor.grading import catalogue
    from tutor.progress import exercise_statuses
    from tutor.render.grading import render_exercise_table

    infos = catalogue.load()
    with open_store() as store:
        statuses = exercise_statuses(store)
    rows = [
        {
            "id": status.id,
            "lesson": status.lesson,
            "file": f"exercises/{infos[status.id].file}",
            "title": infos[status.id].title,
            "status": status.label,
            "passed": status.passed,
            "total": status.total or None,
        }
        for status in statuses
    ]
    if as_json:
        emit_json(rows)
        return
    console.out(render_exercise_table(rows))


def _grade_once(path: Path, info, seed: Optional[int], timeout: float, as_json: bool) -> int:
    from tutor.grading import engine, hints
    from tutor.render.grading import render_report

    if not path.is_file():
        raise TutorError(f"no such file: {path} (copy the starters with `dnn-tutor init`)")
    report = engine.grade(info.id, path, seed=seed, timeout=timeout)
    scheduled = None
    with open_store() as store:
        if not report.not_started:  # an untouched starter is no attempt: the table keeps "not started"
            store.record_attempt(info.id, report.file_hash, report.passed, report.total)
        if not report.ok and not report.not_started:
            scheduled = _schedule_quiz(store, info, report.codes)
    hints.record_check(info.id, [] if report.ok else report.codes)
    if as_json:
        data = report.to_dict()
        data["quiz_scheduled"] = scheduled
        emit_json(data)
    else:
        console.out(render_report(report, info))
        if scheduled:
            console.out(f"[dim]quiz: question {scheduled} will come up in your next `dnn-tutor quiz`[/dim]")
    return 0 if report.ok else 1


def _schedule_quiz(store, info, codes: list[str]) -> str | None:
    """Bring the quiz question about the first diagnosed mistake forward (best effort)."""
    for code in codes:
        question = info.concepts.get(code)
        if not question:
            continue
        try:
            from tutor.quiz import schedule_concept

            return question if schedule_concept(store, question) else None
        except Exception:  # noqa: BLE001 - the quiz is a bonus; grading must not fail because of it
            return None
    return None


def watch_loop(grade: Callable[[], int], changes: Iterable, target: Path, max_runs: int | None = None) -> int:
    """Grade once, then again for every batch of changes that touches ``target``.

    ``changes`` yields sets of (change, path) pairs, as ``watchfiles.watch`` does.
    """
    code = grade()
    runs = 1
    if max_runs is not None and runs >= max_runs:
        return code
    target = Path(target).resolve()
    for batch in changes:
        if not any(Path(p).resolve() == target for _, p in batch):
            continue
        if not target.exists():  # an editor swapping files; the next event brings it back
            continue
        console.out("")
        code = grade()
        runs += 1
        if max_runs is not None and runs >= max_runs:
            break
    return code


@app.command("check")
def check_command(
    file: Path = typer.Argument(..., help="Your exercise file, e.g. exercises/backprop.py.", show_default=False),
    exercise: Optional[str] = typer.Option(None, "--exercise", "-e", help="Exercise id, when the file name is not the id."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Draw the same inputs as an earlier run (the report prints its seed)."),
    timeout: float = typer.Option(20.0, "--timeout", help="Seconds your code may run before it is stopped.", min=0.5),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (for editors and CI)."),
    watch: bool = typer.Option(False, "--watch", "-w", help="Grade again every time the file is saved, until Ctrl-C."),
    max_runs: Optional[int] = typer.Option(None, "--max-runs", hidden=True, help="Stop watching after this many runs (for tests)."),
) -> None:
    """Grade an exercise file: exit 0 when every check passes, 1 when some fail, 2 for usage errors.

    Your code runs in a separate process with a time and memory limit; the right answers are computed
    with PyTorch autograd on fresh random inputs every run (unless --seed is given).
    """
    from tutor.grading import catalogue

    info = catalogue.for_file(file, exercise)
    if not file.is_file():
        raise TutorError(f"no such file: {file} (copy the starters with `dnn-tutor init`)")

    def once() -> int:
        return _grade_once(file, info, seed, timeout, as_json)

    if not watch:
        raise typer.Exit(once())
    from watchfiles import watch as watch_changes

    if not as_json:
        console.err(f"watching {file}: grading on every save; Ctrl-C stops")
    code = watch_loop(once, watch_changes(file.resolve().parent, debounce=300, raise_interrupt=True), file, max_runs)
    raise typer.Exit(code)


@app.command("hint")
def hint_command(
    exercise: str = typer.Argument(..., help="Exercise id, e.g. backprop.", show_default=False),
    restart: bool = typer.Option(False, "--restart", help="Start the ladder again from the first hint."),
) -> None:
    """Show the next hint for an exercise: general first, more specific each time.

    After a failing `check`, the first hint is about the mistake that check found.
    """
    from tutor.grading import catalogue, hints
    from tutor.render.grading import render_hint

    info = catalogue.find(exercise)
    if restart:
        hints.reset_ladder(info.id)
    console.out(render_hint(hints.next_hint(info), info))


@app.command("init")
def init_command(
    directory: Path = typer.Argument(Path("."), help="Where to create exercises/ (default: the current folder)."),
) -> None:
    """Copy the starter exercises into DIRECTORY/exercises; files that exist are kept, never overwritten."""
    from tutor.grading import workspace
    from tutor.render.grading import render_init

    copied = workspace.init(directory)
    console.out(render_init(copied, Path(directory) / "exercises"))


@app.command("reset")
def reset_command(
    exercise: str = typer.Argument(..., help="Exercise id, e.g. backprop.", show_default=False),
    file: Optional[Path] = typer.Option(None, "--file", help="The file to restore (default: exercises/<id>.py here)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (for scripts)."),
) -> None:
    """Restore an exercise's starter file; your old file is first copied to exercises/.backups/."""
    from tutor.grading import catalogue, workspace
    from tutor.render.grading import render_reset

    info = catalogue.find(exercise)
    target = file or workspace.default_file(info)
    if not yes:
        if not console.is_interactive():
            raise TutorError("reset needs confirmation: run it in a terminal or pass --yes")
        import questionary

        answer = questionary.confirm(f"Restore the starter into {target}? Your file is backed up first.", default=False).ask()
        if not answer:
            console.out("nothing changed")
            raise typer.Exit(1)
    backup = workspace.reset(info, target)
    console.out(render_reset(target, backup))
