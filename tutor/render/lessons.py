"""Renderers for lessons, the lesson table and the home screen. They return rich objects."""

from __future__ import annotations

import re

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from tutor.lessons import Block, Lesson, Section
from tutor.progress import Dashboard, LessonStatus

CODE_THEME = "monokai"
_QUOTE_RE = re.compile(r"^\s{0,3}>\s?")

_BLOCK_STYLE = {
    "demo": ("▶ demo", "cyan", "Watch it learn"),
    "exercise": ("✎ exercise", "magenta", "Write it yourself"),
    "checkpoint": ("? checkpoint", "yellow", "Check yourself"),
}


def command_text(block: Block) -> str:
    return "dnn-tutor " + " ".join(block.command)


def _markdown_parts(text: str) -> list[RenderableType]:
    """Markdown, with block quotes turned into tip panels."""
    from rich.markdown import Markdown  # markdown-it and pygments: only when a lesson is shown

    parts: list[RenderableType] = []
    prose: list[str] = []
    quote: list[str] = []

    def flush_prose() -> None:
        if "\n".join(prose).strip():
            parts.append(Markdown("\n".join(prose), code_theme=CODE_THEME, hyperlinks=False))
        prose.clear()

    def flush_quote() -> None:
        if quote:
            body = "\n".join(quote).strip()
            title = "tip"
            match = re.match(r"^\*{0,2}(Tip|Note|Warning|Remember|Why)\*{0,2}:\s*", body, re.IGNORECASE)
            if match:
                title = match.group(1).lower()
                body = body[match.end() :]
            parts.append(
                Panel(Markdown(body, code_theme=CODE_THEME, hyperlinks=False), title=title, title_align="left",
                      border_style="green", box=box.ROUNDED, padding=(0, 1))
            )
        quote.clear()

    for line in text.splitlines():
        if _QUOTE_RE.match(line):
            if not quote:
                flush_prose()
            quote.append(_QUOTE_RE.sub("", line, count=1))
        else:
            if quote:
                flush_quote()
            prose.append(line)
    flush_quote()
    flush_prose()
    return parts


def render_block(block: Block) -> RenderableType | list[RenderableType]:
    if block.kind == "markdown":
        return _markdown_parts(block.text)
    if block.kind == "code":
        from rich.syntax import Syntax

        lexer = block.ref or "text"
        if lexer in ("text", "txt", "plain", ""):
            return Padding(Text(block.text, no_wrap=True, overflow="fold"), (0, 0, 0, 2))
        return Padding(
            Syntax(block.text, lexer, theme=CODE_THEME, word_wrap=True, background_color="default"),
            (0, 0, 0, 2),
        )
    label, colour, title = _BLOCK_STYLE[block.kind]
    body = Text()
    if block.text:
        body.append(block.text.strip() + "\n\n")
    body.append("Run: ", style="bold")
    body.append(command_text(block), style=f"bold {colour}")
    return Panel(body, title=f"{label} · {title}", title_align="left", border_style=colour, box=box.ROUNDED, padding=(0, 1))


def render_section(lesson: Lesson, section: Section, *, show_position: bool = True) -> RenderableType:
    parts: list[RenderableType] = []
    heading = Text()
    heading.append(f"{section.index}. {section.title}", style="bold")
    if show_position:
        heading.append(f"   section {section.index}/{len(lesson.sections)}", style="dim")
    parts.append(Rule(heading, align="left", style="blue"))
    for block in section.blocks:
        rendered = render_block(block)
        for item in rendered if isinstance(rendered, list) else [rendered]:
            parts.extend([item, Text("")])
    return Group(*parts)


def render_lesson_header(lesson: Lesson) -> RenderableType:
    body = Text()
    body.append(lesson.summary + "\n\n", style="italic")
    body.append("You will be able to:\n", style="bold")
    for objective in lesson.objectives:
        body.append(f"  • {objective}\n")
    body.append(f"\nAbout {lesson.minutes} minutes · {len(lesson.sections)} sections", style="dim")
    return Panel(body, title=f"Lesson {lesson.number} · {lesson.title}", title_align="left", border_style="blue", box=box.HEAVY, padding=(0, 1))


def render_lesson(lesson: Lesson, sections: list[Section]) -> RenderableType:
    parts: list[RenderableType] = [render_lesson_header(lesson)]
    for section in sections:
        parts.extend([Text(""), render_section(lesson, section)])
    return Group(*parts)


def _status_text(status: LessonStatus) -> Text:
    if status.done:
        return Text("✓ done", style="green")
    if status.started:
        filled = round(8 * len(status.sections_read) / max(status.sections_total, 1))
        return Text(f"{'█' * filled}{'░' * (8 - filled)} {len(status.sections_read)}/{status.sections_total}", style="yellow")
    return Text("not started", style="dim")


def render_lessons_table(statuses: tuple[LessonStatus, ...]) -> Table:
    table = Table(title="Lessons", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("#", justify="right", style="bold")
    table.add_column("lesson")
    table.add_column("id", style="cyan")
    table.add_column("min", justify="right")
    table.add_column("status")
    for status in statuses:
        table.add_row(str(status.number), status.title, status.id, str(status.minutes), _status_text(status))
    return table


def render_next_steps(dashboard: Dashboard) -> RenderableType:
    if not dashboard.next_steps:
        return Text("")
    body = Text()
    for index, step in enumerate(dashboard.next_steps):
        if index:
            body.append("\n")
        body.append(step.command, style="bold cyan")
        body.append(f"  {step.reason}", style="dim")
    return Panel(body, title="next", title_align="left", border_style="cyan", box=box.ROUNDED, padding=(0, 1))


def render_home(dashboard: Dashboard, version: str) -> RenderableType:
    done = sum(l.done for l in dashboard.lessons)
    intro = Text()
    intro.append(f"dnn-tutor {version}", style="bold")
    intro.append(" · learn deep neural networks in the terminal\n", style="dim")
    intro.append(f"{done}/{len(dashboard.lessons)} lessons done", style="green" if done else "")
    exercises_done = sum(e.done for e in dashboard.exercises)
    intro.append(f" · {exercises_done} exercise(s) passed · {dashboard.due_today} quiz card(s) due today")
    intro.append(f" · {dashboard.demo_runs} demo run(s)")

    course_map = Table(box=None, show_header=False, padding=(0, 1))
    course_map.add_column(justify="right", style="bold")
    course_map.add_column()
    course_map.add_column(style="dim")
    course_map.add_column()
    for status in dashboard.lessons:
        course_map.add_row(str(status.number), status.title, f"{status.minutes} min", _status_text(status))

    commands = Text()
    for cmd, what in [
        ("lessons", "the lesson table"),
        ("lesson N", "read lesson N in the terminal"),
        ("exercises", "numpy exercises to implement and grade"),
        ("demos", "live training demos"),
        ("quiz", "spaced-repetition questions"),
        ("progress", "your dashboard; --export/--import"),
        ("doctor", "versions, device and data health"),
    ]:
        commands.append(f"  dnn-tutor {cmd:<10}", style="cyan")
        commands.append(f" {what}\n")
    commands.append("  dnn-tutor --help for everything", style="dim")
    return Group(
        intro,
        Text(""),
        Panel(course_map, title="course map", title_align="left", border_style="blue", box=box.ROUNDED),
        render_next_steps(dashboard),
        commands,
    )
