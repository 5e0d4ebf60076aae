"""Exercise commands: ``exercises``, ``check``, ``hint``, ``init`` and ``reset``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

import typer

from tutor import console
from tutor.app import app
from tutor.commands.common import SEED_MAX, emit_json, open_store, verdict_output, whole_number
from tutor.errors import TutorError
from tutor.grading.text import visible

if TYPE_CHECKING:
    from tutor.grading.catalogue import ExerciseInfo
    from tutor.grading.runner import Running
    from tutor.progress import NextStep


@app.command("exercises")
def exercises_command(
    as_json: bool = typer.Option(False, "--json", help="Print the table as JSON."),
) -> None:
    """List the exercises: id, lesson, file and your status (not started / n of m checks / done).

    The status is your best check; where your latest check scored less (the file changed since), it is
    shown beside it, e.g. "done, now 11/15"; where your file holds the starter again (after `reset`),
    "done before · file reset". Before `init` the last lines say to run it first.
    """
    from tutor.grading import catalogue, workspace
    from tutor.progress import exercise_statuses
    from tutor.render.grading import render_exercise_table

    console.require_stdout("the exercise list")
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
            "last_passed": status.last_passed,  # the latest check, where it scored below the best (else null)
            "last_total": status.last_total,
            "file_reset": status.file_reset,  # your file holds the starter again; the status is still your best
        }
        for status in statuses
    ]
    if as_json:
        emit_json(rows)
        return
    folder = workspace.workspace_folder()
    console.out(render_exercise_table(rows, folder, here=folder is not None and folder == workspace.here_folder()))


def _grade_once(path: Path, info: ExerciseInfo, seed: Optional[int], timeout: float, as_json: bool, line: bool = False,
                save: bool = True) -> int:
    from tutor.grading import service
    from tutor.render import grading as render

    status = _RunStatus.where_wanted(path, as_json)
    try:
        record = service.grade_and_record(info.id, path, seed=seed, timeout=timeout, prepare=(render.warm_up, _warm_next_step),
                                          save=save, progress=status)
    finally:  # Ctrl-C included: the interrupted line then starts on a clean line
        if status is not None:
            status.erase()
    step = _next_step(info.id) if record.report.ok and record.kept and not record.report.uses_torch and not as_json else None
    with verdict_output(record.exit_code):
        for warning in record.warnings:
            console.warning_line(warning)
        if as_json:
            emit_json(record.to_dict(), line=line)
        else:
            console.out(render.render_check(record, step))
    if record.unsaved:
        console.error_line(record.unsaved)
    return record.exit_code


STATUS_DELAY = 1.0  # seconds the learner's code runs before the status line shows (a quick check never flashes one)
DUMB_DELAY = 3.0  # a dumb terminal's one plain line: only for a run that is slow enough to wonder about


class _RunStatus(console.StatusLine):
    """``running dense_forward() … 6 s (stops at 20 s)`` on stderr while the learner's code runs: a loop would
    otherwise leave a blank screen until the timeout. Redrawn when its second changes, erased before the report
    (see :class:`tutor.console.StatusLine`). Only where stdout and stderr are both terminals and the output is
    not ``--json``: a pipe, a file or ``check --watch`` off a terminal gets nothing of it.
    """

    def __init__(self, stream: Any, file_name: str, dumb: bool) -> None:
        super().__init__(stream, dumb)
        self._file_name = file_name

    @classmethod
    def where_wanted(cls, path: Path, as_json: bool) -> "_RunStatus | None":
        import sys

        if as_json or not (console.stdout_is_terminal() and console.stderr_is_terminal()):
            return None
        return cls(sys.stderr, visible(path.name), console.is_dumb())

    def text(self, now: Running) -> str:
        if now.importing:
            what = f"the top level of {self._file_name}"
        elif now.function:
            what = f"{visible(now.function)}()"
        else:
            what = "your code"
        limit = f"stops at {now.timeout:g} s"
        if self._dumb:
            return f"running {what} … (it {limit}; Ctrl-C stops it now)"
        return f"running {what} … {int(now.elapsed)} s ({limit})"

    def __call__(self, now: Running) -> None:
        if now.elapsed >= (DUMB_DELAY if self._dumb else STATUS_DELAY):
            self.show(self.text(now))


def _warm_next_step() -> None:
    """Import what :func:`_next_step` runs after the learner's code, before that code may start."""
    import tutor.grading.workspace  # noqa: F401
    import tutor.lessons  # noqa: F401
    import tutor.progress  # noqa: F401


def _next_step(exercise_id: str) -> NextStep | None:
    """After a full pass: what to do next (None when the progress cannot be read: the verdict still stands)."""
    from tutor.progress import next_after_pass

    try:
        with open_store() as store:
            return next_after_pass(store, exercise_id)
    except TutorError:
        return None


def watch_loop(grade: Callable[[], int], changes: Iterable, target: Path, max_runs: int | None = None,
               redraw: Callable[[], None] | None = None, restart: Callable[[], Iterable] | None = None,
               say: Callable[[str], None] | None = None, poll: float = 0.5) -> int:
    """Grade once, then again for every batch of changes that touches ``target``.

    ``changes`` yields sets of (change, path) pairs, as ``watchfiles.watch`` does (empty sets
    on its timeouts); ``redraw`` runs before each new grade (clears the screen in a terminal).
    A file that goes away is said once (``say``); when its whole folder goes (``rm -rf
    exercises``, then ``init`` again) the watch on it is gone too, so ``restart`` makes a new one
    once the folder is back. The file is graded again as soon as it is there again.
    """
    code = grade()
    runs = 1
    if max_runs is not None and runs >= max_runs:
        return code
    import os

    target = Path(os.path.abspath(target))  # the name watched (a link put in its place is a change to it)
    names = {str(target), str(target.resolve())}
    gone = False
    events = iter(changes)
    graded = _signature(target)
    failures: set[str] = set()
    while True:
        try:
            batch = next(events)
        except StopIteration:
            if restart is None or target.parent.exists():
                break
            batch = set()
        except (RuntimeError, OSError) as exc:
            # The watcher itself failed: e.g. a name in the folder that is not UTF-8 (`mkdir $'\xff'`) ends
            # it. Say so once per kind of failure, watch again, and grade if the file changed meanwhile.
            if restart is None:
                raise
            if str(exc) not in failures and say is not None:
                say(f"watching {target.parent} failed ({visible(str(exc))[:200]}); watching it again")
            failures.add(str(exc))
            time.sleep(poll)
            events = iter(restart())
            batch = {(None, str(target))} if _signature(target) != graded else set()
        if restart is not None and not target.parent.exists():
            if not gone and say is not None:
                say(f"{target} is gone (its folder too); still watching for it to come back")
            gone = True
            while not target.parent.exists():
                time.sleep(poll)
            events = iter(restart())
            batch = set()
        touched = any(os.path.abspath(p) in names or str(Path(p).resolve()) in names for _, p in batch)
        if not target.exists():
            if touched and not gone and say is not None:
                say(f"{target} is gone; still watching for it to come back")
            gone = gone or touched
            continue
        if not touched and not gone:
            continue
        gone = False
        (redraw or (lambda: console.out("")))()
        graded = _signature(target)
        code = grade()
        runs += 1
        if max_runs is not None and runs >= max_runs:
            break
    return code


def _signature(path: Path) -> tuple | None:
    """What tells a changed file from the one last graded, or None when it cannot be read."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def _learner_file(file: Path, exercise: Optional[str], seed: Optional[int], timeout: float) -> ExerciseInfo:
    """The exercise ``file`` is graded as, after every argument was checked (one line, exit 2 or 1)."""
    from tutor.errors import os_error_exit_code, os_error_message
    from tutor.grading import catalogue, engine, workspace

    try:
        if file.is_dir():  # before the name is read as an exercise id: `check exercises` is a folder, not a guess
            raise TutorError(f"{visible(file)} is a folder: give the path of your exercise file, e.g. {visible(file / 'backprop.py')}")
    except OSError as exc:
        raise TutorError(visible(os_error_message(exc)), exit_code=os_error_exit_code(exc)) from None
    try:
        missing = not file.exists() and not file.is_symlink()
    except OSError:
        missing = False
    if missing and exercise is None and catalogue.for_name(file.name) is None:  # `check foo`: no file, before no id
        raise workspace.missing_file(file)
    info = catalogue.for_file(file, exercise)
    engine.check_timeout(timeout)
    engine.check_seed(seed)
    try:
        if not file.exists():
            raise workspace.missing_file(file)
        if not file.is_file():
            raise TutorError(f"{visible(file)} is not a file: give the path of your exercise file")
    except OSError as exc:
        raise TutorError(visible(os_error_message(exc)), exit_code=os_error_exit_code(exc)) from None
    workspace.refuse_shipped(file, "graded as your attempt")
    return info


@app.command("check")
def check_command(
    file: Optional[Path] = typer.Argument(None, metavar="FILE", help="Your exercise file, e.g. exercises/backprop.py (required).",
                                          show_default=False),
    exercise: Optional[str] = typer.Option(None, "--exercise", "-e", help="Exercise id, when the file name is not the id."),
    seed_text: Optional[str] = typer.Option(None, "--seed", metavar="INT", help="Draw the same inputs as an earlier run (the report prints its seed; 0 to 2**63 - 1)."),
    timeout_text: str = typer.Option("20", "--timeout", metavar="SECONDS", help="Seconds your code may run before it is stopped (0.5 to 3600)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (for editors and CI); with --watch, one JSON line per run."),
    watch: bool = typer.Option(False, "--watch", "-w", help="Grade again every time the file is saved, until Ctrl-C."),
    no_record: bool = typer.Option(False, "--no-record", help="Grade without keeping anything in your progress (the attempt, the quiz question, the hint ladder): e.g. a teacher reproducing a student's gradebook row with its --seed."),
    max_runs: Optional[int] = typer.Option(None, "--max-runs", hidden=True, min=1, max=1_000_000,
                                           help="With --watch: stop after this many runs, 1 or more (for tests and scripts)."),
) -> None:
    """Grade an exercise file: exit 0 when every check passes, 1 when some fail, 2 for usage errors.

    The code is the verdict even when the result cannot be saved (a full disk): that is said on stderr,
    and --json has "saved": false.

    Your code runs in a separate, contained process with a time and memory limit; the right answers are
    computed with PyTorch autograd on fresh random inputs every run (unless --seed is given).
    """
    if file is None:
        raise _no_file_given()
    path: Path = file
    if max_runs is not None and not watch:
        raise TutorError("--max-runs only applies with --watch (how many runs to watch for)")
    seed = whole_number(seed_text, "--seed", 0, SEED_MAX)
    from tutor.grading.engine import check_timeout

    timeout = check_timeout(timeout_text)
    info = _learner_file(file, exercise, seed, timeout)

    def once() -> int:
        return _grade_once(path, info, seed, timeout, as_json, line=watch, save=not no_record)  # --watch --json: a line a run

    if not watch:
        raise typer.Exit(once())
    import os

    path = Path(os.path.abspath(path))  # the folder we run in may be removed and made again while we watch
    raise typer.Exit(_watch(path, once, as_json, max_runs))


def _no_file_given() -> TutorError:
    """``check`` without a file: one line that says which file to give (exit 2), from where the learner is."""
    from tutor.grading import catalogue, workspace

    infos = list(catalogue.load().values())
    if not infos:
        return TutorError("give the exercise file to check, e.g. dnn-tutor check exercises/backprop.py")
    ids = ", ".join(info.id for info in infos)
    example = f"dnn-tutor check {workspace.check_path(infos[0].file)}"
    if workspace.workspace_folder() is None:  # no exercises copied yet: the file does not exist until `init`
        return TutorError(f"give the exercise file to check, e.g. {example} (exercises/<id>.py, id one of: {ids}); "
                          "first run `dnn-tutor init` to copy the starters into ./exercises")
    return TutorError(f"give the exercise file to check, e.g. {example} (your file for one of: {ids}; "
                      "`dnn-tutor exercises` lists them)")


def _stdout_is_terminal() -> bool:
    import sys

    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _watch(file: Path, once: Callable[[], int], as_json: bool, max_runs: Optional[int]) -> int:
    from watchfiles import watch as watch_changes

    from tutor.render.grading import render_watching

    def redraw() -> None:
        if as_json:  # JSON Lines: nothing between the runs' lines
            return
        if not _stdout_is_terminal():
            console.out("")
            return
        screen = console.stdout_console()
        screen.clear()
        screen.print(render_watching(file))

    def keep_watching() -> int:
        try:
            code = once()
            if not as_json and _stdout_is_terminal():  # the report scrolls the first line away: say it under the report
                console.out(render_watching(file))
            return code
        except TutorError as exc:  # e.g. the file is gone for a moment: say so and keep watching
            console.error_line(exc.message)
            if as_json:  # one line per run, so an editor reading them never shows the last result as current
                from tutor.commands.common import emit_json

                emit_json({"file": str(file), "error": exc.message, "exit_code": exc.exit_code}, line=True)
            return exc.exit_code

    if not as_json:
        console.err(render_watching(file))
    folder = file.resolve().parent

    def changes() -> Iterable:
        # Empty batches every second: the loop notices a folder that went away (its watch went with it).
        # The file's own folder, not the tree below it: a file kept in $HOME would otherwise watch all of $HOME.
        return watch_changes(folder, debounce=300, raise_interrupt=True, yield_on_timeout=True, rust_timeout=1000,
                             recursive=False)

    return watch_loop(keep_watching, changes(), file, max_runs, redraw=redraw, restart=changes, say=console.warning_line)


def _exercise_id(exercise: Optional[str], command: str) -> str:
    """The id given to ``hint`` or ``reset``; without one, a line that lists the ids (exit 2)."""
    if exercise is None:
        from tutor.grading import catalogue

        ids = list(catalogue.load())
        example = f" (e.g. dnn-tutor {command} {ids[0]})" if ids else ""
        raise TutorError(f"give an exercise id, one of: {', '.join(ids)}{example}")
    return exercise


@app.command("hint")
def hint_command(
    exercise: Optional[str] = typer.Argument(None, metavar="EXERCISE", help="Exercise id, e.g. backprop.", show_default=False),
    restart: bool = typer.Option(False, "--restart", help="Start the ladder again from the first hint."),
) -> None:
    """Show the next hint for an exercise: general first, more specific each time.

    After a failing `check`, the first hint is about the mistake that check found. Without an id: the ids.
    """
    from tutor.grading import catalogue, hints
    from tutor.render.grading import render_hint, render_hint_list

    if exercise is None and not restart:  # which exercise? the ids to choose from, and how to ask (nothing recorded)
        console.require_stdout("the exercise list")
        console.out(render_hint_list(catalogue.load().values()))
        return
    info = catalogue.find(_exercise_id(exercise, "hint"))
    if restart:
        try:
            hints.reset_ladder(info.id)
        except TutorError as exc:  # a read-only or full home: the hint is still shown, the ladder not restarted
            console.warning_line(exc.message)
    console.require_stdout("the hint", "the ladder stays where it is")  # started with its output closed (`>&-`)
    hint = hints.next_hint(info, show=lambda shown: console.out(render_hint(shown, info)))  # shown, then the ladder moves
    if hint.unsaved:  # the hint was shown; only its place on the ladder is lost
        console.warning_line(hint.unsaved)


@app.command("init")
def init_command(
    directory: Path = typer.Argument(Path("."), help="Where to create exercises/ (default: the current folder)."),
) -> None:
    """Copy the starter exercises into DIRECTORY/exercises; files that exist are kept, never overwritten."""
    from tutor.errors import os_error_exit_code, os_error_message
    from tutor.grading import catalogue, workspace
    from tutor.paths import expand_user
    from tutor.progress import exercise_statuses, first_not_done
    from tutor.render.grading import render_init

    directory = expand_user(directory)  # '~/course' made a folder named '~' here
    try:
        copied = workspace.init(directory)
    except OSError as exc:
        raise TutorError(visible(os_error_message(exc)), exit_code=os_error_exit_code(exc)) from None
    with open_store() as store:
        todo = first_not_done(exercise_statuses(store))
    console.out(render_init(copied, Path(directory) / "exercises", catalogue.find(todo.id).file if todo else None))


def _confirm_reset(target: Path) -> bool:
    """Ask in a terminal (Enter confirms, so a stray "y" of another word does not); a dumb terminal gets
    a plain y/N line. Ctrl-C is a "no" that exits 130; Ctrl-D (end of input) a plain "no"."""
    import sys

    if not (console.stdin_is_terminal() and console.stdout_is_terminal()):
        raise TutorError("reset needs confirmation: run it in a terminal or pass --yes")
    # The path goes on its own line, wrapped at words by the console; the prompt itself stays short
    # (the terminal would break a long one anywhere, mid-word at 80 columns).
    console.out(f"This puts the starter back into {visible(str(target))}; your file is backed up first.", markup=False)
    if not console.is_interactive():  # TERM=dumb: no cursor keys, a plain question
        sys.stdout.write("Restore the starter? [y/N] ")
        sys.stdout.flush()
        line = sys.stdin.readline()
        return line.strip().lower() in ("y", "yes")
    import questionary

    try:
        return bool(questionary.confirm("Restore the starter?", default=False, auto_enter=False,
                                       instruction="(y/N, then Enter) ", enable_suspend=True).unsafe_ask())
    except EOFError:
        return False


@app.command("reset")
def reset_command(
    exercise: Optional[str] = typer.Argument(None, metavar="EXERCISE", help="Exercise id, e.g. backprop.", show_default=False),
    file: Optional[Path] = typer.Option(None, "--file", help="The file to restore (default: exercises/<id>.py here)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (for scripts)."),
) -> None:
    """Restore an exercise's starter file; your old file is first copied to exercises/.backups/.

    Your progress keeps what you earned: `exercises` shows a passed exercise as "done before · file reset".
    """
    from tutor.errors import os_error_exit_code, os_error_message
    from tutor.grading import catalogue, workspace
    from tutor.progress import exercise_statuses
    from tutor.render.grading import render_reset

    info = catalogue.find(_exercise_id(exercise, "reset"))
    target = file or workspace.default_file(info)
    if target.is_dir():  # before asking: the answer could not be used
        if file is None:  # the exercise's own place holds a folder: suggesting that same path helped nobody
            raise TutorError(f"{visible(target)} is a folder, where reset would put the {info.id} starter: move or "
                             f"rename that folder, or give another file with --file")
        raise TutorError(f"{visible(target)} is not a file (it is a folder): give the exercise file, e.g. exercises/{info.file}")
    if target.suffix != ".py":  # notes.json or a gradebook would be replaced by Python code
        raise TutorError(f"--file {visible(target)} is not a Python file: reset restores an exercise's .py starter")
    workspace.refuse_shipped(target, "reset")
    if workspace.holds_starter(info, target):  # no question, and no backup that is a copy of the starter
        console.out(f"{visible(str(target))} already holds the starter: nothing to restore", markup=False)
        return
    if not yes and not _confirm_reset(target):
        console.out("nothing changed")
        raise typer.Exit(1)
    try:
        backup = workspace.reset(info, target)
    except OSError as exc:
        raise TutorError(visible(os_error_message(exc)), exit_code=os_error_exit_code(exc)) from None
    try:
        with open_store() as store:
            earned = next((s for s in exercise_statuses(store) if s.id == info.id and s.total), None)
    except TutorError:  # the file is restored; only the note about the record is left out
        earned = None
    console.out(render_reset(target, backup, earned.label if earned else None))
