"""Renderers for ``grade``, ``grade merge`` and ``grade report``; they return rich objects.

:func:`plot_png` draws the mistakes chart with matplotlib (imported only there).
Student ids come from folder names, and a gradebook's exercise ids, codes
and statuses from a file anyone can edit, so every one of them (and every file
name) is shown with control characters made visible, in the terminal and in
the chart.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from tutor.grading.text import visible
from tutor.quiz.bank import plural
from tutor.render.grading import ByWidth

STATUS_STYLE = {"done": "green", "partial": "yellow", "failed": "red", "not started": "dim", "missing": "dim"}


def _status(status: str) -> Text:
    return Text(visible(status), style=STATUS_STYLE.get(status, "red"))


def _shown(text: object, style: str = "") -> Text:
    """A student id, exercise id, code or file name from a file as a table cell: control characters made
    visible, and never read as rich markup (a code ``[/x]`` is shown as it is, not an error)."""
    return Text(visible(text), style=style)


ID_CELLS = 24  # a student id in a list of names is cut to this many cells
NAMES_SHOWN = 6  # a mistake names this many students, then "and N more" (--json names them all)


def short_id(text: object, width: int = ID_CELLS) -> str:
    """A student id (or any text from a file) on one line of at most ``width`` cells: control characters made
    visible, and a longer one cut, ending in ``…``. Only the screen is cut: the gradebook and --json keep it whole."""
    from rich.cells import cell_len, set_cell_size

    shown = visible(text)
    if cell_len(shown) <= width:
        return shown
    return set_cell_size(shown, max(0, width - 1)).rstrip(" ") + "…"


def name_list(ids: list, most: int = NAMES_SHOWN) -> str:
    """``amy, bob, cat``; past ``most`` names (and one more), the first ``most`` and ``and N more``."""
    if len(ids) <= most + 1:
        return ", ".join(short_id(s) for s in ids)
    return ", ".join(short_id(s) for s in ids[:most]) + f" and {len(ids) - most} more"


def students(count: int) -> str:
    """``1 student``, ``9 students``."""
    return plural(count, "student")


def _id_width(width: int) -> int:
    """The most cells a student id takes in the grade table at this terminal width."""
    return max(12, min(40, width // 3))


class _RunTable:
    """The run's rows; each row's codes on one line where the whole table fits the width, else one code per
    line (and the exercise under the student), with narrower gaps: codes wrap between codes, never inside one
    (``backward-vs-for`` / ``ward`` at 60 columns). A student id takes one line, cut with ``…`` where it is
    longer than a third of the width or than the room the other columns leave (a 200-character folder name
    once took 8 rows at 80 columns, 40 at 60); the gradebook and --json keep it whole."""

    def __init__(self, run) -> None:
        self.run = run

    def table(self, narrow: bool, width: int = 80) -> Table:
        many = len(self.run.exercises) > 1
        if narrow:  # two cells between columns instead of three, and no blank edge
            table = Table(box=box.SIMPLE, title_justify="left", pad_edge=False, show_edge=False, padding=(0, 1, 0, 0))
        else:
            table = Table(box=box.SIMPLE, title_justify="left", pad_edge=False)
        # the student column is the one that gives way: it may be narrowed, and its cells are cut, never wrapped
        table.add_column("student" + (" / exercise" if many and narrow else ""), style="cyan", max_width=_id_width(width))
        if many and not narrow:
            table.add_column("exercise", no_wrap=True, max_width=_id_width(width))
        table.add_column("checks", justify="right", no_wrap=True)
        table.add_column("score", justify="right", no_wrap=True)
        table.add_column("status", no_wrap=not narrow)  # narrow: "not started" on two lines
        table.add_column("diagnoses", overflow="fold", no_wrap=narrow)
        for row in self.run.rows:
            student = _shown(row.student)
            if many and narrow:
                student.append("\n").append(visible(row.exercise), style="default")
            student.no_wrap, student.overflow = True, "ellipsis"
            cells: list[RenderableType] = [student]
            if many and not narrow:
                cells.append(Text(visible(row.exercise), no_wrap=True, overflow="ellipsis"))
            cells += [f"{row.passed}/{row.total}", f"{row.score:.0%}"]
            table.add_row(*cells, _status(row.status), Text(("\n" if narrow else " ").join(visible(code) for code in row.codes)))
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = self.table(narrow=False, width=options.max_width)
        natural = Measurement.get(console, options.update_width(10_000), wide).maximum
        if natural <= options.max_width:
            yield wide
        else:  # the blank lines the wide table's edge gives it, above and below
            yield Padding(self.table(narrow=True, width=options.max_width), (1, 0, 1, 0))


def render_class_run(run) -> RenderableType:
    parts: list[RenderableType] = []
    if run.rows:
        parts.append(_RunTable(run))
    summary = Text()
    done = sum(1 for r in run.rows if r.status == "done")
    left = max(0, run.to_grade - run.graded) if run.interrupted else 0
    # "done" read as "graded" beside "graded 2": it is the status, every check passed
    summary.append(f"{done} of {len(run.rows)} pass every check" + (f", {left} not graded yet" if left else ""),
                   style="bold")
    summary.append(f"  ·  graded {run.graded} this run, skipped {run.skipped} unchanged")
    if run.shard:
        summary.append(f"  ·  shard {run.shard}")
    summary.append(f"  ·  {run.seconds:.1f} s", style="dim")
    seeds = ", ".join(f"{seed} ({visible(ex)})" for ex, seed in run.seeds.items())
    lines = [Text(f"gradebook: {visible(run.out)}  ·  seed {seeds}", style="dim")]
    absent = getattr(run, "absent", ())
    if absent:  # why `grade report` counts more students than this summary
        lines.append(Text(
            f"the gradebook also keeps the rows of {len(absent)} student(s) no longer in the folder "
            f"({', '.join(short_id(s) for s in absent[:3])}{', …' if len(absent) > 3 else ''}): "
            "grade report counts them",
            style="yellow",
        ))
    timed_out = [r for r in run.rows if r.status == "timeout"]
    if timed_out:  # a busy machine (or --jobs above the cores) stops correct code too
        longest = max((r.timeout for r in timed_out if isinstance(r.timeout, (int, float))), default=0) or 20
        lines.append(Text(
            f"{len(timed_out)} submission(s) ran out of time under --timeout {longest:g}: if the machine was busy or "
            f"the code is just slow, run again with a longer one (e.g. --timeout {min(3600, 2 * longest):g}); only "
            "those are graded again",
            style="yellow",
        ))
    if not run.interrupted:  # else the line on stderr (render_interrupted) says what to do next, once
        lines.append(Text(f"next: dnn-tutor grade report {visible(run.out)}", style="dim"))
    for line in lines:
        summary.append("\n").append_text(line)
    parts.append(summary)
    return Group(*parts)


def render_interrupted(run) -> Text:
    """The one line that says what a stopped run saved and what to do next (the summary above it does not)."""
    from tutor.errors import interrupt_name

    left = max(0, run.to_grade - run.graded)
    code = run.exit_code or 130
    how = "interrupted" if code == 130 else f"stopped by {interrupt_name(code)}"
    saved = f"{how}: {run.graded} graded row(s) are saved in {visible(run.out)}"
    if not left:
        return Text(f"{saved}; every submission is graded: next, dnn-tutor grade report {visible(run.out)}")
    return Text(f"{saved}; run the same command again to grade the {left} left (graded files are skipped).")


def render_merged(merged, out: Path, backup: Path | None) -> RenderableType:
    text = Text()
    students = len({r.student for r in merged.rows})
    text.append(f"merged {merged.parts} part(s): {len(merged.rows)} row(s), {students} student(s)", style="bold")
    if merged.seeds:
        text.append("  ·  " + ", ".join(f"{visible(ex)} seed {s}" for ex, s in merged.seeds.items()), style="dim")
    text.append(f"\ngradebook: {visible(out)}", style="dim")
    if backup:
        text.append(f"\nthe previous {visible(out.name)} is kept at {visible(backup)}", style="dim")
    return text


def _bar(count: int, most: int, width: int = 20) -> str:
    if most <= 0 or count <= 0:
        return ""
    return "█" * max(1, round(width * count / most))


WIDE_REPORT = 90  # narrower than this, the mistakes are listed one block each instead of as a table


def _first_ranks(mistakes: list) -> dict:
    """student -> the rank (1, 2, ...) of the mistake that is their first."""
    ranks: dict = {}
    for rank, m in enumerate(mistakes, start=1):
        for student in m.first_student_ids:
            ranks.setdefault(student, rank)
    return ranks


def _who(m, rank: int, ranks: dict) -> Text:
    """Which students have mistake ``m``: those whose first mistake it is, then those who have it after another
    first mistake, which the report counts there (above or below). Empty where the mistake names nobody."""
    text = Text()
    firsts, later = list(m.first_student_ids), list(m.later_student_ids)
    if firsts:
        text.append(f"{'student' if len(firsts) == 1 else 'students'}: ", style="bold")
        text.append(name_list(firsts), style="cyan")
    count = max(len(later), m.students - m.first)
    if count:
        found = [ranks.get(s) for s in later]
        where = [r for r in found if r is not None]
        if where and len(where) == len(found) and max(where) < rank:
            place = "above"
        elif where and len(where) == len(found) and min(where) > rank:
            place = "below"
        else:
            place = "another one"
        if text:
            text.append("\n")
        text.append(f"also in {students(count)} whose first mistake is {place}" + (": " if later else ""), style="dim")
        text.append(name_list(later), style="cyan")
    return text


def _stacked_mistakes(mistakes: list) -> RenderableType:
    blocks: list[RenderableType] = [Text("The class's mistakes, most shared first", style="italic")]
    ranks = _first_ranks(mistakes)
    grid = Table.grid(padding=(0, 1))  # a hanging indent: every line of a mistake starts under its code
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column()
    for rank, m in enumerate(mistakes, start=1):
        head = Text(visible(m.code), style="red")
        if m.first:
            head.append(f"  the first mistake of {students(m.first)} ({m.share:.0%} of the class)")
        else:
            head.append("  nobody's first mistake")
        body = _who(m, rank, ranks)
        if body:
            body.append("\n")
        body.append(m.meaning)
        if m.section_title:
            body.append(f"\nteach again: {m.section_title}")
        if m.teach:
            body.append(f"\n{m.teach}", style="dim")
        if m.concept:
            body.append(f"\nquiz: {m.concept}", style="magenta")
        grid.add_row(Text(f"{rank}.", style="bold"), Group(head, body))
    blocks.append(grid)
    return Group(*blocks)


def render_class_report(reports: list) -> RenderableType:
    parts: list[RenderableType] = []
    for rep in reports:
        head = Text()
        head.append(visible(rep.exercise), style="bold cyan")
        head.append(f" — {visible(rep.title)}: {students(rep.students)}")
        head.append(_scores_line(rep))
        if rep.seed is not None:
            head.append(f"  (seed {rep.seed})", style="dim")
        parts.append(head)
        if rep.uses_torch:
            parts.append(_torch_warning(rep))
        if rep.mistakes:
            table = Table(title="The class's mistakes, most shared first", title_justify="left", box=box.SIMPLE, pad_edge=False)
            table.add_column("#", justify="right", no_wrap=True)
            table.add_column("diagnosis", style="red", no_wrap=True)
            table.add_column("first mistake of", justify="right", no_wrap=True)
            table.add_column("what it means", overflow="fold", ratio=3)
            table.add_column("teach again / quiz", overflow="fold", ratio=2)
            ranks = _first_ranks(rep.mistakes)
            for rank, m in enumerate(rep.mistakes, start=1):
                count = Text(f"{m.first} ({m.share:.0%})")
                if m.students > m.first:
                    count.append(f"\n+{m.students - m.first} not first", style="dim")
                meaning = Text(m.meaning)
                who = _who(m, rank, ranks)
                if who:
                    meaning.append("\n").append_text(who)
                where = Text(m.section_title or "")
                if m.teach:
                    where.append(f"\n{m.teach}", style="dim")
                if m.concept:
                    where.append(f"\nquiz: {m.concept}", style="magenta")
                table.add_row(str(rank), _shown(m.code), count, meaning, where)
            parts.append(ByWidth(table, _stacked_mistakes(rep.mistakes), WIDE_REPORT))
            given = [(rank, m) for rank, m in enumerate(rep.mistakes[:5], start=1) if m.hint]
            if given:
                parts.append(Text("Hints to give (dnn-tutor hint shows the same after a failing check):", style="bold"))
                for rank, m in given:  # a hanging indent: wrapped lines start under the hint, not at the margin
                    hint = Text()
                    hint.append(f"{visible(m.code)}: ", style="red")
                    hint.append(m.hint)
                    grid = Table.grid(padding=(0, 1))
                    grid.add_column(no_wrap=True)
                    grid.add_column()
                    grid.add_row(f"{rank}.", hint)
                    parts.append(Padding(grid, (0, 0, 0, 2)))
        else:
            parts.append(Text("No diagnosis in this class: every run passed, stopped early or was not started (see how the runs ended).", style="dim"))
        statuses = Text("how the runs ended: ", style="bold")
        statuses.append("  ".join(f"{visible(s)} {n}" for s, n in rep.statuses))
        parts.append(statuses)
        shown, title = _distribution(rep)
        dist = Table(title=title, title_justify="left", box=box.SIMPLE, pad_edge=False, show_header=False)
        dist.add_column("range", justify="right", no_wrap=True)
        dist.add_column("students", justify="right", no_wrap=True)
        dist.add_column("bar", style="cyan", no_wrap=True)
        most = max((n for _, n in shown), default=0)
        for label, n in shown:
            dist.add_row(Text(label), str(n), _bar(n, most))
        for label, n in (("missing", rep.missing), ("no grade", rep.ungraded)):
            if n:
                dist.add_row(Text(label, style="dim"), Text(str(n), style="dim"), "")
        parts.append(dist)
    return Group(*parts)


def _without_grade(rep, short: bool = False) -> str:
    """"25 missing", "25 missing, 1 with no grade (unreadable, ...)" or ""."""
    said = [f"{rep.missing} missing"] if rep.missing else []
    if rep.ungraded:
        said.append(f"{rep.ungraded} with no grade" + ("" if short else " (unreadable, ambiguous or a grader error)"))
    return ", ".join(said)


def _scores_line(rep) -> str:
    """The mean and median over the graded rows, with how many rows have no grade beside it; the old figure
    (every row, a missing one as 0) in brackets where it differs."""
    if rep.graded_mean is None and not rep.graded:  # a report built without the graded figures
        if rep.missing or rep.ungraded:
            return f": no row holds a grade ({_without_grade(rep)})"
        return f", mean score {rep.mean:.0%}, median {rep.median:.0%}"
    line = f", mean score {rep.graded_mean:.0%}, median {rep.graded_median:.0%}"
    others = _without_grade(rep)
    if others:
        line += f" over the {rep.graded} graded ({others}; {rep.mean:.0%} counting them as 0)"
    return line


def _torch_warning(rep) -> Text:
    """The students whose file of a numpy exercise imports torch: their checks cannot tell their gradients
    from autograd's, so a `done` there proves nothing."""
    text = Text("⚠ uses torch: ", style="bold red")
    text.append(", ".join(f"{visible(s)} ({visible(rep.exercise)})" for s in rep.uses_torch), style="bold")
    text.append(
        f" — {'this file imports' if len(rep.uses_torch) == 1 else 'these files import'} torch, and the checks cannot "
        "tell gradients derived by hand from autograd's: read the file before you count the grade"
    )
    return text


def _distribution(rep) -> tuple[list, str]:
    """The score distribution to show, and its title: over the graded rows where there are rows without a grade."""
    if (rep.missing or rep.ungraded) and rep.graded_distribution:
        return rep.graded_distribution, "Score distribution (graded rows)"
    return rep.distribution, "Score distribution"


def _label(text: object) -> str:
    """``text`` from a gradebook as a chart label: control characters made visible (a font has no glyph for
    ESC), and every ``$`` kept a dollar sign (matplotlib would read ``$...$`` as mathtext, and fail on a bad one)."""
    return visible(text).replace("$", r"\$")


def plot_png(reports: list) -> bytes:
    """PNG bytes: per exercise, the mistakes as horizontal bars (most shared on top) and the score distribution.

    matplotlib's own warnings (a glyph missing from the font, say) are kept off the terminal: the command
    says what it has to say in its own lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = max(1, len(reports))
        fig, axes = plt.subplots(rows, 2, figsize=(12, 1.5 + 3.2 * rows), squeeze=False, gridspec_kw={"width_ratios": [3, 2]})
        try:
            for (left, right), rep in zip(axes, reports):
                _draw(left, right, rep)
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=110)
            return buffer.getvalue()
        finally:
            plt.close(fig)


def _draw(left, right, rep) -> None:
    """One exercise's row of the chart: its mistakes on the left, its score distribution on the right."""
    shown = rep.mistakes[:12]
    if shown:
        # bars at positions, the codes as tick labels: two codes alike once made visible stay two bars
        where = list(range(len(shown)))
        labels = [_label(m.code) for m in shown][::-1]
        firsts = [m.first for m in shown][::-1]
        later = [m.students - m.first for m in shown][::-1]
        left.barh(where, firsts, color="#c0392b", label="first mistake")
        bars = left.barh(where, later, left=firsts, color="#f5b7b1", label="also, after another")
        left.set_yticks(where, labels)
        left.bar_label(bars, labels=[str(f + x) for f, x in zip(firsts, later)], padding=3)
        left.set_xlim(0, max(f + x for f, x in zip(firsts, later)) * 1.15 + 0.5)
        left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8, frameon=False)
        left.xaxis.get_major_locator().set_params(integer=True)
        left.set_xlabel("students")
    else:
        left.text(0.5, 0.5, "no diagnosis: every run passed or stopped early", ha="center", va="center", transform=left.transAxes)
        left.set_yticks([])
        left.set_xticks([])
    left.set_title(f"{_label(rep.exercise)}: mistakes ({rep.students} students)", loc="left")
    dist, _ = _distribution(rep)
    labels = [label for label, _ in dist]
    counts = [n for _, n in dist]
    bars = right.bar(labels, counts, color="#2e86c1")
    right.bar_label(bars, padding=2)
    if dist is rep.distribution:
        right.set_title(f"scores (mean {rep.mean:.0%})", loc="left")
    else:
        mean = f"{rep.graded_mean:.0%}" if rep.graded_mean is not None else "-"
        right.set_title(f"scores of the {rep.graded} graded (mean {mean}; {_without_grade(rep, short=True)})", loc="left")
    right.set_ylabel("students")
    right.set_ylim(0, max(counts + [1]) * 1.2)
    right.yaxis.get_major_locator().set_params(integer=True)
    right.tick_params(axis="x", labelsize=8)


# ---------------------------------------------------------------- the progress bar of `grade`


def clock(seconds: float) -> str:
    """``0:07``, ``12:30``, ``1:02:03``."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def time_left(now: float, started: float, last_at: float | None, done: int, total: int, workers: int = 1) -> float | None:
    """Seconds left to grade, estimated from the pace so far (the graders' start-up included, so it errs long);
    None where no estimate is worth showing: before the first row, when none is left, and when the estimate is
    known to be wrong, that is once it has run out with submissions still running, or once no row has come for
    far longer than a submission has taken so far (one is running into its --timeout)."""
    if done <= 0 or total <= done or last_at is None:
        return None
    pace = (last_at - started) / done  # seconds per submission with ``workers`` at a time
    if pace <= 0:
        return None
    waited = max(0.0, now - last_at)
    if waited > 2 * pace * max(1, workers) + 2:
        return None
    left = (total - done) * pace - waited
    return left if left > 0 else None


def class_progress(label: str, console: Console, workers: int = 1):
    """The progress display of ``grade``: ``grading backprop ━━━━╸━━━ 3/8 0:07 elapsed, ~0:12 left amy: done``.

    Student ids and the exercise are shown as text (never read as markup), the last row's text gives way first
    where the line is short, and the line stays two cells short of the terminal: a ``^C`` echoed after a line
    that fills it wraps, and the bar left above it would stay on the screen. Update a task with ``last`` (the
    text at the end) and ``last_at`` (``progress.get_time()`` when a row came)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn
    from rich.table import Column

    class Plain(ProgressColumn):
        def __init__(self, field: str, style: str = "", gives_way: bool = False) -> None:
            self.field, self.style, self.gives_way = field, style, gives_way
            super().__init__(table_column=Column(overflow="ellipsis") if gives_way else Column(no_wrap=True))

        def render(self, task) -> Text:
            value = task.description if self.field == "description" else task.fields.get(self.field, "")
            return Text(str(value), style=self.style, no_wrap=True, overflow="ellipsis")

    class Timing(ProgressColumn):
        def __init__(self) -> None:
            super().__init__(table_column=Column(no_wrap=True))

        def render(self, task) -> Text:
            text = Text(f"{clock(task.elapsed or 0.0)} elapsed", style="progress.elapsed")
            left = None
            if task.start_time is not None:
                left = time_left(task.get_time(), task.start_time, task.fields.get("last_at"), int(task.completed),
                                 int(task.total or 0), workers)
            if left is not None:
                text.append(f", ~{clock(left + 0.999)} left", style="progress.remaining")
            return text

    class ClassProgress(Progress):
        def get_renderables(self):
            yield _Narrower(self.make_tasks_table(self.tasks), 2)

    width = console.width
    return ClassProgress(
        Plain("description"),
        BarColumn(bar_width=max(6, min(30, width - 64)), table_column=Column(no_wrap=True)),
        MofNCompleteColumn(table_column=Column(no_wrap=True)),
        Timing(),
        Plain("last", style="dim", gives_way=True),
        console=console,
        transient=True,
    )


class _Narrower:
    """``inner`` laid out ``by`` cells narrower than the width it is given."""

    def __init__(self, inner: RenderableType, by: int) -> None:
        self.inner, self.by = inner, by

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from console.render(self.inner, options.update_width(max(1, options.max_width - self.by)))
