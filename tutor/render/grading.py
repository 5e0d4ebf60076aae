"""Renderers for ``exercises``, ``check``, ``hint``, ``init`` and ``reset``. They return rich objects."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

OUTPUT_LINES = 15  # learner prints shown under the report
OUTPUT_CHARS = 2000


def render_exercise_table(rows: list[dict]) -> RenderableType:
    table = Table(title="Exercises", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("lesson", justify="right", no_wrap=True)
    table.add_column("file", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for row in rows:
        status = row["status"]
        style = "green" if status == "done" else ("dim" if status == "not started" else "yellow")
        mark = "✓ " if status == "done" else ""
        table.add_row(row["id"], str(row["lesson"]), row["file"], Text(mark + status, style=style))
    footer = Text("grade one: dnn-tutor check exercises/<id>.py   ·   a nudge: dnn-tutor hint <id>", style="dim")
    return Group(table, footer)


def render_report(report, info) -> RenderableType:
    parts: list[RenderableType] = []
    head = Text()
    head.append(f"{info.id}", style="bold cyan")
    head.append(f" — {info.title}  ")
    head.append(report.file, style="dim")
    parts.append(head)
    if report.fatal:
        parts.append(_fatal(report.fatal))
    nothing_ran = report.fatal is not None and all(c.code == "not-run" for c in report.checks)
    if report.not_started:
        first = report.checks[0].function if report.checks else ""
        parts.append(Text(f"Every function still raises NotImplementedError. Start with {first}: replace its `raise` with your code at the TODO.", style="dim"))
    elif not nothing_ran:
        parts.extend(_checks(report))
    trace = next((c.trace for c in report.checks if not c.passed and c.trace), None)
    if trace:
        parts.append(_traceback(trace))
    elif report.fatal and report.fatal.get("error"):
        parts.append(_learner_error(report.fatal["error"]))
    parts.append(_score(report, info))
    if report.output.strip():
        parts.append(_output(report.output, report.output_truncated))
    return Group(*parts)


def _checks(report) -> list[RenderableType]:
    parts: list[RenderableType] = []
    table = Table(box=box.SIMPLE, show_header=True, expand=False, pad_edge=False)
    table.add_column("", width=1)
    table.add_column("function", style="cyan", no_wrap=True)
    table.add_column("check")
    table.add_column("error / limit", justify="right", no_wrap=True)
    table.add_column("result", no_wrap=True)
    for check in report.checks:
        mark = Text("✓", style="green") if check.passed else Text("✗", style="red")
        error = ""
        if check.error is not None:
            error = f"{check.error:.1e}"
            if check.threshold is not None:
                error += f" / {check.threshold:.0e}"
        if check.passed:
            result = Text("ok", style="green")
        elif check.not_started:
            result = Text("not started", style="dim")
        else:
            result = Text(check.code or "failed", style="red")
        table.add_row(mark, check.function, check.title, error, result)
    parts.append(table)
    failures = [c for c in report.checks if not c.passed]
    idle = []
    for check in failures:
        if check.not_started:
            if check.function not in idle:
                idle.append(check.function)
            continue
    shown = Text()
    seen_messages = set()
    for check in failures:
        if check.not_started or check.message in seen_messages or check.code == "not-run":
            continue
        seen_messages.add(check.message)
        shown.append("✗ ", style="red")
        shown.append(f"{check.function}: ", style="cyan")
        shown.append(check.message + "\n")
    if idle and not report.fatal:
        shown.append("not started yet (they raise NotImplementedError): " + ", ".join(idle) + "\n", style="dim")
    if shown:
        parts.append(shown)
    return parts


def _score(report, info) -> RenderableType:
    score = Text()
    style = "bold green" if report.ok else ("dim" if report.not_started else "bold yellow")
    score.append(f"{report.passed}/{report.total} checks", style=style)
    if report.ok:
        score.append("  — all checks pass. Well done!", style="green")
    elif report.not_started:
        score.append("  — not started: fill in the TODOs, starting with the first function", style="dim")
    else:
        score.append(f"  — stuck? dnn-tutor hint {info.id}", style="dim")
    score.append(f"   seed {report.seed} (--seed repeats these inputs)", style="dim")
    return score


def _fatal(fatal: dict) -> RenderableType:
    return Panel(Text(fatal["message"]), title=f"stopped: {fatal['kind']}", title_align="left", border_style="red", box=box.ROUNDED)


def _traceback(frames: list[dict]) -> RenderableType:
    text = Text()
    for frame in frames[-6:]:
        text.append(f'  File "{frame["file"]}", line {frame["line"]}, in {frame["function"]}\n', style="dim")
        if frame.get("code"):
            text.append(f"    {frame['code']}\n")
    return Panel(text, title="where it failed (your code)", title_align="left", border_style="red", box=box.ROUNDED)


def _learner_error(error: dict) -> RenderableType:
    if error.get("kind") == "syntax":
        text = Text(f'  File "{error.get("file")}", line {error.get("line")}\n', style="dim")
        code = error.get("code") or ""
        if code:
            text.append(f"    {code.strip()}\n")
            offset = error.get("offset")
            if offset:
                indent = len(code) - len(code.lstrip())
                text.append("    " + " " * max(0, offset - 1 - indent) + "^\n", style="red")
        text.append(f"SyntaxError: {error.get('message')}")
        return Panel(text, title="syntax error", title_align="left", border_style="red", box=box.ROUNDED)
    frames = error.get("frames") or []
    if frames:
        group = _traceback(frames)
        return Group(group, Text(f"{error.get('type')}: {error.get('message')}"))
    return Text(f"{error.get('type')}: {error.get('message')}")


def _output(output: str, truncated: bool) -> RenderableType:
    lines = output.rstrip("\n").splitlines()
    shown = lines[:OUTPUT_LINES]
    text = "\n".join(shown)[:OUTPUT_CHARS]
    more = len(lines) - len(shown)
    note = ""
    if more > 0 or truncated or len(text) < len("\n".join(shown)):
        note = f"\n… ({max(more, 0)} more lines{', output capped' if truncated else ''})"
    return Panel(Text(text + note), title="your prints", title_align="left", border_style="dim", box=box.ROUNDED)


def render_hint(hint, info) -> RenderableType:
    if hint.kind == "tailored":
        title = f"hint for {info.id}: about your last check ({hint.code})"
        footer = "run `dnn-tutor hint` again for the general ladder"
    else:
        title = f"hint {hint.step}/{hint.steps} for {info.id}"
        footer = "that is the last hint: compare with the lesson text, or reset the file" if hint.last else "run it again for a more specific hint"
    return Group(
        Panel(Text(hint.text), title=title, title_align="left", border_style="yellow", box=box.ROUNDED),
        Text(footer, style="dim"),
    )


def render_init(copied: list, directory) -> RenderableType:
    text = Text()
    for item in copied:
        if item.action == "copied":
            text.append("  copied  ", style="green")
        else:
            text.append("  kept    ", style="yellow")
        text.append(str(item.path))
        if item.action == "kept":
            text.append("  (already there: left untouched)", style="dim")
        text.append("\n")
    new = sum(1 for c in copied if c.action == "copied")
    text.append(f"{new} starter(s) copied into {directory}; existing files were not overwritten.\n")
    text.append("next: dnn-tutor check exercises/backprop.py", style="dim")
    return text


def render_reset(file, backup) -> RenderableType:
    text = Text()
    text.append(f"restored the starter into {file}\n", style="green")
    if backup:
        text.append(f"your previous file is kept at {backup}")
    else:
        text.append("(there was no previous file)", style="dim")
    return text
