"""Class grading commands: ``grade SUBMISSIONS``, ``grade merge`` and ``grade report``.

``grade`` is a group whose default action grades a submissions folder:
``dnn-tutor grade submissions/ --exercise backprop`` runs the hidden ``run``
command, while ``dnn-tutor grade merge ...`` and ``dnn-tutor grade report ...``
are its subcommands. (A folder named like a subcommand is graded with
``dnn-tutor grade run merge/ ...`` or ``./merge``.)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from tutor import console
from tutor.app import TutorGroup, app
from tutor.commands.common import SEED_MAX, verdict_output, whole_number
from tutor.errors import TutorError

DEFAULT = "run"


class GradeGroup(TutorGroup):
    """A group that sends anything that is not a subcommand to the default ``run`` command."""

    def parse_args(self, ctx, args):
        if args and args[0] not in ctx.help_option_names:
            first = args[0]
            looks_like_folder = first in self.commands and first != DEFAULT and Path(first).is_dir() and any(a in ("--exercise", "-e") for a in args)
            if first not in self.commands or looks_like_folder:
                args = [DEFAULT, *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx, formatter):
        # The group's help is the default command's (its options are what a
        # teacher looks for), followed by the two other commands.
        default = self.commands[DEFAULT]
        sub = default.make_context(ctx.info_name, ["--help"], parent=ctx.parent, resilient_parsing=True)
        default.format_help(sub, formatter)
        rows = [(name, cmd.get_short_help_str(80)) for name, cmd in self.commands.items() if not cmd.hidden]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
        formatter.write_paragraph()
        formatter.write_text("See `dnn-tutor grade merge --help` and `dnn-tutor grade report --help`.")


grade_app = typer.Typer(
    cls=GradeGroup,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(grade_app, name="grade", help="Grade a class: a folder of submissions into a gradebook; merge shards; report the class's mistakes.")


def _progress_callbacks(label: str, jobs: int | None = None):
    """(on_start, on_row, close) drawing a progress bar on stderr, only when stderr is a terminal: how many
    are graded, the time elapsed and, where it can be trusted, about how long is left (see
    :func:`tutor.render.classroom.time_left`)."""
    if not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()) or os.environ.get("TERM") == "dumb":
        return None, None, lambda: None
    from tutor.classroom import service
    from tutor.render.classroom import class_progress, short_id

    state: dict = {}

    def on_start(total: int) -> None:
        if total:
            workers = min(total, jobs if jobs is not None else service.default_jobs())
            progress = state["progress"] = class_progress(label, console.stderr_console(), workers)
            progress.start()
            state["task"] = progress.add_task(label, total=total, last="starting the graders (loading PyTorch)…", last_at=None)

    def on_row(row) -> None:
        if "task" in state:
            progress = state["progress"]
            progress.update(state["task"], advance=1, last=f"{short_id(row.student, 30)}: {row.status}", last_at=progress.get_time())

    def close() -> None:
        if "progress" in state:
            state["progress"].stop()

    return on_start, on_row, close


@grade_app.command(DEFAULT, hidden=True)
def grade_folder_command(
    submissions: Path = typer.Argument(..., help="The class folder: one folder per student (the name is the student id), or <student>.py files.", show_default=False),
    exercise: Optional[str] = typer.Option(None, "--exercise", "-e", help="Exercise id, e.g. backprop (needed for <student>.py files; else every exercise found)."),
    jobs_text: Optional[str] = typer.Option(None, "--jobs", "-j", metavar="INT", help="Submissions graded at once, 1 to 256 (default: the number of cores).", show_default=False),
    out: Path = typer.Option(Path("gradebook.csv"), "--out", "-o", help="The gradebook to write (CSV; JSON Lines when it ends in .jsonl). An existing one is resumed."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON Lines on stdout instead of the table."),
    seed_text: Optional[str] = typer.Option(None, "--seed", metavar="INT", help="Inputs for the whole class, 0 to 2**63 - 1 (default: the seed of the gradebook being resumed, else one derived from the exercise, the student list and this account's private class key, class-key in the learner data folder; recorded per row)."),
    timeout_text: str = typer.Option("20", "--timeout", metavar="SECONDS", help="Seconds each submission may run before it is stopped (0.5 to 3600)."),
    shard: Optional[str] = typer.Option(None, "--shard", help="Grade only part K of N (e.g. 3/8), chosen by a stable hash of the student id; combine with `grade merge`."),
) -> None:
    """Grade every submission in a class folder into a gradebook.

    Each submission runs in its own contained child, exactly as `dnn-tutor check` runs it, N at a
    time. Every finished row is saved at once (Ctrl-C keeps them), and a rerun skips files whose
    sha256 is already in the gradebook for that exercise and seed (a timeout is graded again under a
    longer --timeout). Before a rerun replaces a graded row, the gradebook is copied to a .bak file.
    """
    from tutor.classroom import service
    from tutor.render.classroom import render_class_run, render_interrupted

    from tutor.grading.engine import check_timeout

    jobs = whole_number(jobs_text, "--jobs", 1, service.MAX_JOBS)
    seed = whole_number(seed_text, "--seed", 0, SEED_MAX)
    timeout = check_timeout(timeout_text)
    label = f"grading {exercise}" if exercise else "grading"
    on_start, on_row, close = _progress_callbacks(label, jobs)
    try:
        run = service.grade_class(
            submissions,
            exercise=exercise,
            out=out,
            jobs=jobs,
            seed=seed,
            timeout=timeout,
            shard=shard,
            on_start=on_start,
            on_row=on_row,
            on_warning=console.warning_line,
        )
    finally:
        close()
    failed = [r for r in run.rows if r.status == "error"]  # the grader's own failures (a "failed" row is the student's)
    with verdict_output((run.exit_code or 130) if run.interrupted else (1 if failed else 0)):
        if as_json:
            console.write_out("".join(json.dumps(row.to_dict(), ensure_ascii=False) + "\n" for row in run.rows), flush=True)
        else:
            console.out(render_class_run(run))
    if run.interrupted:
        console.err(render_interrupted(run))
        raise typer.Exit(run.exit_code or 130)
    if failed:
        console.warning_line(f"{len(failed)} submission(s) could not be graded (status error); run the same command again to retry them")
        raise typer.Exit(1)


@grade_app.command("merge")
def grade_merge_command(
    parts: List[Path] = typer.Argument(..., help="The gradebook parts, e.g. part*.csv.", show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="The merged gradebook (CSV; JSON Lines when it ends in .jsonl).", show_default=False),
    force: bool = typer.Option(False, "--force", help="Replace an existing --out (it is first copied to a .bak file)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Combine gradebook parts (from --shard runs) into one gradebook.

    Refuses a student graded in two parts, parts of different exercises, and parts graded with different seeds.
    """
    from tutor.classroom import gradebook
    from tutor.classroom.merge import merge
    from tutor.render.classroom import render_merged

    from tutor.paths import expand_user

    from tutor.classroom.service import check_merge_seeds

    out = expand_user(out)
    check_merge_seeds(list(parts))  # parts of different seeds: says why (a class that changed between shard runs)
    merged = merge(list(parts))
    from tutor.fsutil import check_output_file

    check_output_file(out, option="--out", force=force)  # refused before the lock: nothing is made beside it
    with gradebook.lock(out):  # not while a `grade` run is writing the same file
        backup = _make_room(out, force)
        gradebook.write(out, merged.rows)
    if as_json:
        console.write_out(json.dumps(merged.to_dict(out, backup)) + "\n")
    else:
        console.out(render_merged(merged, out, backup))


def _make_room(out: Path, force: bool) -> Path | None:
    """Refuse to replace ``out`` without --force; with it, keep a copy first."""
    from tutor.fsutil import backup_copy, check_output_file

    check_output_file(out, option="--out", force=force)
    if not out.exists():
        return None

    try:
        return backup_copy(out)
    except OSError as exc:
        raise TutorError(f"cannot keep a copy of {out}: {exc.strerror or exc}; nothing was replaced") from None


@grade_app.command("report")
def grade_report_command(
    book: Path = typer.Argument(..., metavar="GRADEBOOK", help="A gradebook written by `dnn-tutor grade` or `grade merge`.", show_default=False),
    exercise: Optional[str] = typer.Option(None, "--exercise", "-e", help="Only this exercise (default: every exercise in the gradebook)."),
    save_plot: Optional[Path] = typer.Option(None, "--save-plot", help="Also save a PNG bar chart of the mistakes and scores here.", show_default=False),
    force: bool = typer.Option(False, "--force", help="Replace an existing --save-plot file."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """The class's mistakes, ranked by how many students share them.

    For each diagnosis: its meaning, the hint to give, the lesson section to teach again and the quiz
    concept it maps to; then how the runs ended and the score distribution.
    """
    from tutor.classroom import gradebook, report
    from tutor.render.classroom import render_class_report

    rows = gradebook.composed(gradebook.read(book), str(book))  # one name in two Unicode forms is one student
    if exercise is not None:
        from tutor.grading import catalogue

        wanted = exercise.strip()
        if wanted not in {r.exercise for r in rows}:
            catalogue.find(wanted)  # an unknown id gets the catalogue's one-line error
            raise TutorError(f"{book} has no rows for exercise {wanted!r}")
        rows = [r for r in rows if r.exercise == wanted]
    if not rows:
        raise TutorError(f"{book} has no rows yet: grade a class into it first")
    if save_plot is not None:
        from tutor.fsutil import check_output_file
        from tutor.paths import expand_user

        save_plot = expand_user(save_plot)
        if save_plot.suffix.lower() != ".png":
            raise TutorError(f"--save-plot writes a PNG: give a file name ending in .png, not {save_plot.name!r}")
        check_output_file(save_plot, option="--save-plot", force=force)
    reports = report.build(rows)
    if save_plot is not None:
        from tutor.classroom.gradebook import atomic_write_bytes
        from tutor.render.classroom import plot_png

        atomic_write_bytes(save_plot, plot_png(reports))
    if as_json:
        data = {"gradebook": str(book), "exercises": [r.to_dict() for r in reports], "plot": str(save_plot) if save_plot else None,
                "uses_torch": [{"student": s, "exercise": r.exercise} for r in reports for s in r.uses_torch]}
        console.write_out(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    console.out(render_class_report(reports))
    if save_plot is not None:
        from rich.text import Text

        from tutor.render.classroom import visible

        console.out(Text(f"chart saved to {visible(str(save_plot))}", style="dim"))
