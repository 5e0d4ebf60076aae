"""Renderers for ``exercises``, ``check``, ``hint``, ``init`` and ``reset``. They return rich objects.

Every piece of text that came from a learner's file (prints, exception
messages, code lines, names, paths) goes through :func:`visible`: control
characters are shown as escapes (``\\x1b``), never sent to the terminal, and
rich markup is never interpreted (all text is built as :class:`~rich.text.Text`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tutor.grading.catalogue import ExerciseInfo
from tutor.grading.model import CheckRecord, CheckResult, Fatal, Frame, LearnerError, Report
from tutor.grading.text import visible
from tutor.quiz.bank import plural

if TYPE_CHECKING:
    from tutor.progress import NextStep

OUTPUT_LINES = 15  # learner prints shown under the report
OUTPUT_CHARS = 2000
def _t(text: object, style: str = "", *, multiline: bool = False) -> Text:
    return Text(visible(text, multiline=multiline), style=style)


def render_exercise_table(rows: list[dict[str, Any]], folder: Path | None = None, here: bool = True) -> RenderableType:
    """The exercise list, and how to start: ``folder`` is the learner's exercises folder (None before the first
    ``init``: the last lines say to run it first), ``here`` whether it is ./exercises."""
    # No outer padding: the four columns fit 60 terminal columns whole (ids and paths are never cut).
    table = Table(title="Exercises", box=box.SIMPLE_HEAVY, title_justify="left", pad_edge=False,
                  show_edge=False, collapse_padding=True)
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("lesson", justify="right", no_wrap=True)
    table.add_column("file", no_wrap=True)
    table.add_column("status")  # "✓ done, now 11/15" folds between words at 60 columns
    for row in rows:
        status = row["status"]
        if row.get("file_reset") and not row.get("passed"):  # tried, nothing earned, the starter again: as new
            status = "not started"
        style = "green" if status == "done" else ("dim" if status == "not started" else "yellow")
        mark = "✓ " if status == "done" else ""
        if row.get("file_reset") and status != "not started":  # earned earlier, kept; the file holds the starter again
            status += " before · file reset"
        elif row.get("last_total"):  # earned earlier; the latest check scored less (the file changed since)
            status += f", now {row['last_passed']}/{row['last_total']}"
        table.add_row(_t(row["id"]), _t(row["lesson"]), _t(row["file"]), _t(mark + status, style))
    return Group(table, _start_lines(folder, here))


def _start_lines(folder: Path | None, here: bool) -> Text:
    """The lines under the exercise list: how to grade one, from where the learner is."""
    if folder is None:  # no workspace yet: exercises/<id>.py does not exist until `init` makes it
        return Text("first:     dnn-tutor init  (starters into ./exercises)\n"
                    "then:      dnn-tutor check exercises/<id>.py\n"
                    "a nudge:   dnn-tutor hint <id>", style="dim")
    text = Text(style="dim")
    if not here:
        text.append(f"your exercises are in {visible(folder)}\n")
        text.append(f"grade one: cd {_shell_word(folder.parent)} && dnn-tutor check exercises/<id>.py\n")
    else:
        text.append("grade one: dnn-tutor check exercises/<id>.py\n")
    text.append("a nudge:   dnn-tutor hint <id>")
    return text


HINT_COMMAND = "dnn-tutor hint {id}"  # the notebook passes "%dnn_hint {id}"


def render_report(report: Report, info: ExerciseInfo, hint_command: str = HINT_COMMAND) -> RenderableType:
    parts: list[RenderableType] = []
    head = Text()
    head.append(f"{info.id}", style="bold cyan")
    head.append(f" — {info.title}  ")
    head.append(visible(report.file), style="dim")
    parts.append(head)
    if report.fatal:
        parts.append(_fatal(report.fatal))
    if report.not_started:
        first = report.checks[0].function if report.checks else ""
        parts.append(Text(f"Every function still raises NotImplementedError. Start with {first}: replace its `raise` with your code at the TODO.", style="dim"))
    elif not report.nothing_ran:
        parts.extend(_checks(report))
    trace = report.first_trace()
    if trace:
        # Named: the first failure listed may be another one, without a traceback (a wrong value).
        failed = next((c.function for c in report.checks if not c.passed and c.trace), "")
        parts.append(_traceback(trace, failed))
    elif report.fatal and report.fatal.error:
        parts.append(_learner_error(report.fatal.error))
    parts.append(_score(report, info, hint_command))
    if report.uses_torch:
        parts.append(Text("note: this file imports torch. The exercise asks for numpy: the checks compare numbers, and "
                          "cannot tell numbers you derived from numbers PyTorch's autograd gave you (a teacher's "
                          "gradebook shows it as uses-torch).", style="yellow"))
    if report.ipython_lines:
        where = ", ".join(str(n) for n in report.ipython_lines[:5]) + (", …" if len(report.ipython_lines) > 5 else "")
        parts.append(Text(f"note: line{'s' if len(report.ipython_lines) > 1 else ''} {where}: IPython only (%magic, !shell "
                          "or get_ipython(), as a notebook exports them), graded as `pass` (`%time CODE` as CODE, `x = !cmd` as `x = []`).", style="dim"))
    if report.output.strip():
        parts.append(_output(report.output, report.output_truncated))
    return Group(*parts)


def render_check(record: CheckRecord, next_step: NextStep | None = None) -> RenderableType:
    """The report of ``check``, with the quiz question it brought forward, and after a full pass the
    ``next_step`` (what to do next, and its command)."""
    parts: list[RenderableType] = [render_report(record.report, record.exercise)]
    if record.quiz_scheduled:
        parts.append(Text(f"quiz: question {visible(record.quiz_scheduled)} will come up in your next `dnn-tutor quiz`",
                          style="dim"))
    if next_step is not None:
        parts.append(render_next_step(next_step))
    return parts[0] if len(parts) == 1 else Group(*parts)


def render_next_step(step: NextStep) -> Text:
    """``next: <what>`` and the command on its own line (whole at 60 columns)."""
    text = Text()
    text.append("next: ", style="bold")
    text.append(visible(step.reason) + "\n")
    text.append("  " + visible(step.command), style="bold cyan")
    return text


def _error_cell(check: CheckResult) -> str:
    if check.error is None:
        return ""
    try:
        text = f"{check.error:.1e}"
        if check.threshold is not None:
            text += f" / {check.threshold:.0e}"
    except (TypeError, ValueError):
        return visible(check.error)
    return text


NARROW = 80  # below this width the checks are listed two lines each instead of in a table
CHECK_COLUMN = 24  # the table only where its "check" column gets this many characters (else titles break every word)


def _table_width(report: Report) -> int:
    """The width the check table needs: its fixed columns whole, the titles with at least CHECK_COLUMN characters."""
    longest = {
        "function": max((len(visible(c.function)) for c in report.checks), default=0),
        "title": max((len(visible(c.title)) for c in report.checks), default=0),
        "error": max((len(_error_cell(c)) for c in report.checks), default=0),
        "result": max((len(_idle_result(c) if c.not_started else "ok" if c.passed else visible(c.code or "failed")) for c in report.checks), default=0),
    }
    columns = [1, max(longest["function"], 8), min(longest["title"], CHECK_COLUMN), max(longest["error"], 13), max(longest["result"], 6)]
    return max(NARROW, sum(columns) + 2 * (len(columns) - 1))


class ByWidth:
    """``wide`` where the output is at least ``width`` columns, else ``narrow``: a table where it fits,
    a list where the terminal is narrow (nothing cut off at 60 columns)."""

    def __init__(self, wide: RenderableType, narrow: RenderableType, width: int = NARROW) -> None:
        self.wide, self.narrow, self.width = wide, narrow, width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.wide if options.max_width >= self.width else self.narrow


def _idle_function(check) -> str:
    """The function a not-started check waits for: its own, or one it needs (a forward checked with its backward)."""
    return check.waits_for or check.function


def _idle_result(check) -> str:
    return "not started" if _idle_function(check) == check.function else "waiting"


def _check_list(report: Report) -> Text:
    text = Text()
    for check in report.checks:
        text.append("✓ " if check.passed else "✗ ", style="green" if check.passed else "red")
        text.append(visible(check.function), style="cyan")
        text.append(f" · {visible(check.title)}\n")
        text.append("    ")
        if check.passed:
            text.append("ok", style="green")
        elif check.not_started:
            text.append(_idle_result(check), style="dim")
        else:
            text.append(visible(check.code or "failed"), style="red")
        cell = _error_cell(check)
        if cell:
            text.append(f"   error {cell}", style="dim")
        text.append("\n")
    return text


def _checks(report: Report) -> list[RenderableType]:
    table = Table(box=box.SIMPLE, show_header=True, expand=False, pad_edge=False)
    table.add_column("", width=1)
    table.add_column("function", style="cyan", no_wrap=True)
    table.add_column("check")
    table.add_column("error / limit", justify="right", no_wrap=True)
    table.add_column("result", no_wrap=True)
    for check in report.checks:
        mark = Text("✓", style="green") if check.passed else Text("✗", style="red")
        if check.passed:
            result = Text("ok", style="green")
        elif check.not_started:
            result = Text(_idle_result(check), style="dim")
        else:
            result = _t(check.code or "failed", "red")
        table.add_row(mark, _t(check.function), _t(check.title), _error_cell(check), result)
    parts: list[RenderableType] = [ByWidth(table, _check_list(report), _table_width(report))]
    failures = [c for c in report.checks if not c.passed]
    idle: list[str] = []
    for check in failures:
        if check.not_started and _idle_function(check) not in idle:
            idle.append(_idle_function(check))
    shown = Text()
    seen_messages: set[str] = set()
    for check in failures:
        if check.not_started or check.message in seen_messages or check.code == "not-run":
            continue
        seen_messages.add(check.message)
        shown.append("✗ ", style="red")
        shown.append(f"{visible(check.function)}: ", style="cyan")
        shown.append(visible(check.message) + "\n")
    if idle and not report.fatal:
        waiting = any(c.not_started and _idle_function(c) != c.function for c in failures)
        shown.append("not started yet (they raise NotImplementedError): " + ", ".join(visible(f) for f in idle)
                     + ("; a check marked waiting runs one of them too" if waiting else "") + "\n", style="dim")
    if shown:
        parts.append(shown)
    return parts


def _score(report: Report, info: ExerciseInfo, hint_command: str = HINT_COMMAND) -> RenderableType:
    score = Text()
    style = "bold green" if report.ok else ("dim" if report.not_started else "bold yellow")
    score.append(f"{report.passed}/{report.total} checks", style=style)
    if report.ok and report.uses_torch:
        score.append("  — all checks pass (with torch: see below)", style="green")
    elif report.ok:
        score.append("  — all checks pass. Well done!", style="green")
    elif report.not_started:
        score.append("  — not started: fill in the TODOs, starting with the first function", style="dim")
    elif report.fatal is not None and report.passed == report.total:
        score.append(f"  — but the run was stopped ({visible(report.fatal.kind)}, see above), so it does not count yet", style="yellow")
    else:
        score.append(f"  — stuck? {hint_command.format(id=info.id)}", style="dim")
    if not report.ok:  # repeating the inputs matters where something failed (--json always has the seed)
        score.append(f"\nseed {report.seed} (--seed repeats these inputs)", style="dim")  # its own line: never cut mid-phrase
    return score


def _fatal(fatal: Fatal) -> RenderableType:
    return Panel(_t(fatal.message), title=f"stopped: {visible(fatal.kind)}", title_align="left", border_style="red", box=box.ROUNDED)


def _traceback(frames: Sequence[Frame], function: str = "") -> RenderableType:
    """The innermost frames of the learner's code; a recursion's calls once each (the same line six times over
    shows nothing), with a line that says they repeat."""
    text = Text()
    shown: list[Frame] = []
    seen: set[tuple[str, int, str]] = set()
    for frame in reversed(frames):
        key = (frame.file, frame.line, frame.function)
        if key not in seen:
            seen.add(key)
            shown.append(frame)
    repeats = len(shown) < len(frames)
    for frame in shown[:6][::-1]:
        text.append(visible(f'  File "{frame.file}", line {frame.line}, in {frame.function}') + "\n", style="dim")
        if frame.code:
            text.append(f"    {visible(frame.code)}\n")
    if repeats:
        text.append("  [the calls above repeat: a recursion]\n", style="dim")
    title = f"where {visible(function)} failed (your code)" if function else "where it failed (your code)"
    return Panel(text, title=title, title_align="left", border_style="red", box=box.ROUNDED)


def _learner_error(error: LearnerError) -> RenderableType:
    from tutor.grading.failures import headline

    if error.kind == "syntax":
        text = Text(visible(f'  File "{error.file}", line {error.line}') + "\n", style="dim")
        code = error.source
        if code:
            text.append(f"    {visible(code.strip())}\n")
            if error.offset:
                indent = len(code) - len(code.lstrip())
                text.append("    " + " " * max(0, error.offset - 1 - indent) + "^\n", style="red")
        text.append(visible(headline(error)))
        return Panel(text, title="syntax error", title_align="left", border_style="red", box=box.ROUNDED)
    if error.frames:
        return Group(_traceback(error.frames), _t(headline(error)))
    return _t(headline(error))


def _output(output: str, truncated: bool) -> RenderableType:
    lines = output.rstrip("\n").splitlines()
    shown = lines[:OUTPUT_LINES]
    text = "\n".join(shown)[:OUTPUT_CHARS]
    more = len(lines) - len(shown)
    note = ""
    if more > 0 or truncated or len(text) < len("\n".join(shown)):
        said = [f"{more} more lines"] if more > 0 else ["the rest is not shown"]
        if truncated:
            said.append("output capped")
        note = f"\n… ({', '.join(said)})"
    return Panel(_t(text + note, multiline=True), title="your prints", title_align="left", border_style="dim", box=box.ROUNDED)


def warm_up() -> None:
    """Render a report of every shape once (to nowhere), so each module rich imports lazily is loaded.

    ``check`` calls it before the learner's code may start: nothing the
    renderer imports afterwards can have been changed by that code.
    """
    import io

    from tutor.grading.catalogue import load

    infos = list(load().values())
    if not infos:
        return
    frame = Frame("warm.py", 1, "f", "x = 1")
    error = LearnerError("exception", "ValueError", "warm", (frame,))
    checks = (
        CheckResult("a", "f", "title", True, 1e-9, 1e-7, "ok"),
        CheckResult("b", "f", "title", False, 1.0, 1e-7, "wrong", code="values", trace=(frame,)),
        CheckResult("c", "f", "title", False, None, None, "todo", code="not-started", not_started=True),
    )
    fatal = Fatal("syntax", "warm", LearnerError("syntax", "SyntaxError", "warm", file="warm.py", line=1, offset=2, source="x ="))
    reports = (
        Report("warm", "warm.py", "0", 0, checks, None, "a print\n", False, 0.0),
        Report("warm", "warm.py", "0", 0, checks[1:], fatal, "", True, 0.0),
        Report("warm", "warm.py", "0", 0, checks[:1], Fatal("exit", "warm", error), "", False, 0.0),
    )
    sink = Console(file=io.StringIO(), width=80, color_system="truecolor", force_terminal=True)
    for report in reports:
        sink.print(render_check(CheckRecord(report, infos[0], quiz_scheduled="q")))


def render_hint(hint: Any, info: ExerciseInfo, hint_command: str = HINT_COMMAND) -> RenderableType:
    again = hint_command.format(id=info.id)
    if hint.kind == "tailored":
        title = f"hint for {info.id}: about your last check ({visible(hint.code)})"  # the word its result column showed
        footer = f"run `{again}` again for the general ladder"
    else:
        title = f"hint {hint.step}/{hint.steps} for {info.id}"
        footer = f"that is the last hint: compare with the lesson text, or start again with `dnn-tutor reset {info.id}`" if hint.last else f"run `{again}` again for a more specific hint"
    parts: list[RenderableType] = []
    if hint.all_passed:
        parts.append(Text(f"Your last check of {info.id} passed every check: this hint is for going over it again.", style="green"))
    return Group(
        *parts,
        Panel(_t(hint.text, multiline=True), title=title, title_align="left", border_style="yellow", box=box.ROUNDED),
        Text(footer, style="dim"),
    )


def render_hint_list(infos: Iterable[ExerciseInfo], hint_command: str = HINT_COMMAND) -> RenderableType:
    """``hint`` without an exercise id: the ids with their lessons and titles, and how to ask for one."""
    infos = list(infos)
    table = Table(title="Hints come per exercise: give its id", box=None, show_header=False, title_justify="left",
                  pad_edge=False, collapse_padding=True)
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("lesson", style="dim", no_wrap=True)
    table.add_column("title")
    for info in infos:
        table.add_row(_t(info.id), _t(f"lesson {info.lesson}"), _t(info.title))
    ask = hint_command.format(id="<id>")
    example = hint_command.format(id=infos[0].id) if infos else ask
    footer = Text(f"ask for one: {ask}, e.g. {example} (each time a more specific hint; after a failing check, "
                  "first one about the mistake it found)", style="dim")
    return Group(table, footer)


def render_init(copied: Iterable[Any], directory: Path, todo: str | None) -> RenderableType:
    """What ``init`` did, and the next step: checking ``todo`` (the first exercise file not done yet), or the
    exercise list once every exercise is done (``todo`` None)."""
    copied = list(copied)
    text = Text()
    for item in copied:
        if item.action == "copied":
            text.append("  copied  ", style="green")
        elif item.action == "kept":
            text.append("  kept    ", style="yellow")
        else:
            text.append("  link    ", style="yellow")
        text.append(visible(item.path))
        if item.action == "kept":
            text.append("  (already there: left untouched)", style="dim")
        elif item.action != "copied":
            text.append("  (a link: not followed, left untouched)", style="dim")
        text.append("\n")
    new = sum(1 for c in copied if c.action == "copied")
    left = len(copied) - new
    kept = f"; {plural(left, 'file')} already there {'was' if left == 1 else 'were'} left untouched" if left else ""
    text.append(f"{plural(new, 'starter')} copied into {visible(directory)}{kept}.\n")
    if todo is None:
        text.append("next: dnn-tutor exercises (every exercise is done)", style="dim")
        return text
    where = directory.parent
    step = "" if str(where) in ("", ".") else f"cd {_shell_word(where)} && "
    text.append(f"next: {step}dnn-tutor check exercises/{todo}", style="dim")
    return text


def _shell_word(path: Path) -> str:
    """A path as one word the learner can paste into a shell (quoted when it needs to be)."""
    import shlex

    return visible(shlex.quote(str(path)))


def render_reset(file: Path, backup: Path | None, earned: str | None = None) -> RenderableType:
    """What ``reset`` did; ``earned``: the exercise's recorded status ("done", "7 of 15 checks"), which stays."""
    text = Text()
    text.append(f"restored the starter into {visible(file)}\n", style="green")
    if backup:
        text.append(f"your previous file is kept at {visible(backup)}")
    else:
        text.append("(there was no previous file)", style="dim")
    if earned:
        what = "your earlier pass" if earned == "done" else f"your best check so far ({visible(earned)})"
        shown = f"{visible(earned)} before · file reset"
        text.append(f"\n{what} stays in your progress: the list shows \"{shown}\" until you change the file",
                    style="dim")
    return text


def render_watching(file: Path) -> RenderableType:
    return Text(f"watching {visible(file)}: grading on every save; Ctrl-C stops", style="dim")
