"""Renderers for lessons, the lesson table and the home screen. They return rich objects."""

from __future__ import annotations

import re

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.padding import Padding
from rich.cells import cell_len
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from tutor.console import KEPT_SPACE
from tutor.lessons import Block, Lesson, ReadingState, Section, section_ranges
from tutor.progress import Dashboard, LessonStatus
from tutor.quiz.bank import plural

CODE_THEME = "monokai"
_QUOTE_RE = re.compile(r"^\s{0,3}>\s?")

_BLOCK_STYLE = {
    "demo": ("▶ demo", "cyan", "Watch it learn"),
    "exercise": ("✎ exercise", "magenta", "Write it yourself"),
    "checkpoint": ("? checkpoint", "yellow", "Check yourself"),
}


def command_text(block: Block) -> str:
    return "dnn-tutor " + " ".join(block.command)


def _markdown_class():
    """rich's Markdown, except that nothing is cropped: table cells fold, code wraps with marks."""
    from rich.cells import cell_len
    from rich.markdown import CodeBlock, Markdown, TableElement  # markdown-it, pygments: only for lessons

    class FoldingTable(TableElement):
        def __rich_console__(self, console, options):
            for table in super().__rich_console__(console, options):
                columns = getattr(table, "columns", [])
                for column in columns:
                    column.overflow = "fold"
                # Where every column can hold its longest word, none is broken inside a word
                # ("binary/multi-la / bel" at 60 columns); only a word wider than the page still folds.
                texts = [[str(cell) for cell in (column.header, *column._cells)] for column in columns]
                longest = [max((cell_len(word) for cell in cells for word in cell.split()), default=1) for cells in texts]
                widths = [max((cell_len(cell) for cell in cells), default=1) for cells in texts]
                room = options.max_width - 2 * len(columns)  # one space either side of every column
                if columns and sum(widths) > room and sum(longest) <= room:
                    while sum(widths) > room:  # narrow the widest column that is still wider than its longest word
                        i = max(range(len(widths)), key=lambda k: (widths[k] > longest[k], widths[k]))
                        widths[i] -= 1
                    for column, width in zip(columns, widths):
                        column.width = width
                yield table

    class MarkedCode(CodeBlock):
        def __rich_console__(self, console, options):
            yield Padding(WrappedCode(str(self.text).rstrip(), self.lexer_name or "text"), (0, 0, 0, 1))

    class TutorMarkdown(Markdown):
        elements = {**Markdown.elements, "table_open": FoldingTable, "fence": MarkedCode, "code_block": MarkedCode}

    return TutorMarkdown


_INLINE_CODE_RE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")


def keep_inline_code(text: str, width: int) -> str:
    """Spaces inside `inline code` that fits the ``width`` it is laid out in made unbreakable, so a command
    a learner will copy (`dnn-tutor lesson practice --section adamw-...`) or a short formula (`p = 0.5`)
    moves to the next line whole instead of breaking at a space. Longer code still breaks at its spaces
    (better than in the middle of a word). The stand-in character (:data:`tutor.console.KEPT_SPACE`) is
    written as a plain space, so what is copied is what was meant. Fenced code and table rows are left
    as they are (code wraps with its own marks; cells fold)."""
    out: list[str] = []
    fenced = False
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and not stripped.startswith("|") and "`" in line:
            line = _INLINE_CODE_RE.sub(
                lambda m: m.group(0).replace(" ", KEPT_SPACE) if cell_len(m.group(1)) + 1 <= width else m.group(0), line)
        out.append(line)
    return "\n".join(out)


class _Prose:
    """Markdown laid out at the width it is given, with its short inline code kept whole (:func:`keep_inline_code`)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __rich_console__(self, console, options):
        yield _markdown_class()(keep_inline_code(self.text, options.max_width), code_theme=CODE_THEME, hyperlinks=False)


def _markdown_parts(text: str) -> list[RenderableType]:
    """Markdown, with block quotes turned into tip panels."""
    parts: list[RenderableType] = []
    prose: list[str] = []
    quote: list[str] = []

    def flush_prose() -> None:
        if "\n".join(prose).strip():
            parts.append(_Prose("\n".join(prose)))
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
                Panel(_Prose(body), title=title, title_align="left",
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


CONTINUED = "↩"  # ends a code line that goes on below (ASCII terminals: '\\')
CONTINUATION = "↪ "  # starts the rest of a wrapped code line


class WrappedCode:
    """A code block that never crops and never soft-wraps silently.

    A line wider than the space available is cut with a dim ``↩`` at the end
    and continues on the next line after a dim ``↪``, so a learner who copies
    it sees where the line was wrapped.
    """

    def __init__(self, code: str, lexer: str = "", theme: str = CODE_THEME):
        self.code = code.rstrip("\n")
        self.lexer = lexer
        self.theme = theme

    def _highlighted(self) -> Text:
        if self.lexer in ("", "text", "txt", "plain"):
            return Text(self.code)
        from rich.syntax import Syntax

        try:
            text = Syntax(self.code, self.lexer, theme=self.theme, background_color="default").highlight(self.code)
        except Exception:  # an unknown lexer or theme: show the code as it is
            return Text(self.code)
        text.rstrip()
        return text

    def wrapped_lines(self, width: int) -> list[Text]:
        width = max(width, 8)
        out: list[Text] = []
        for line in self._highlighted().split("\n", allow_blank=True):
            line.rstrip()
            first = True
            while line.cell_len > width or (not first and line.cell_len > width - len(CONTINUATION)):
                room = (width if first else width - len(CONTINUATION)) - 1
                space = line.plain.rfind(" ", 0, room)
                cut = space + 1 if space >= room // 2 else room  # after a space when one is near
                head, line = line.divide([cut])
                out.append(self._piece(head, first, more=True))
                first = False
            out.append(self._piece(line, first, more=False))
        return out

    @staticmethod
    def _piece(text: Text, first: bool, more: bool) -> Text:
        piece = Text()
        if not first:
            piece.append(CONTINUATION, style="dim")
        piece.append_text(text)
        if more:
            piece.append(CONTINUED, style="dim")
        piece.no_wrap = True
        piece.overflow = "ignore"
        piece.end = "\n"
        return piece

    def __rich_console__(self, console, options):
        lines = self.wrapped_lines(options.max_width)
        widest = max((cell_len(line) for line in self.code.splitlines()), default=0)
        if widest > options.max_width:
            yield Text(f"(this block is {widest} columns wide: {CONTINUED} marks where a line goes on below)", style="dim")
        yield from lines

    def __rich_measure__(self, console, options):
        from rich.measure import Measurement

        longest = max((len(l) for l in self.code.splitlines()), default=1)
        return Measurement(min(8, longest), longest)


def render_block(block: Block) -> RenderableType | list[RenderableType]:
    if block.kind == "markdown":
        return _markdown_parts(block.text)
    if block.kind == "code":
        return Padding(WrappedCode(block.text, block.ref or "text"), (0, 0, 0, 2))
    label, colour, title = _BLOCK_STYLE[block.kind]
    body = Text()
    if block.text:
        body.append(block.text.strip() + "\n\n")
    body.append("Run: ", style="bold")
    body.append(command_text(block), style=f"bold {colour}")
    return Panel(body, title=f"{label} · {title}", title_align="left", border_style=colour, box=box.ROUNDED, padding=(0, 1))


class SectionHeading:
    """A section's title on a rule; a title too long for the rule wraps above a plain rule instead of being cut."""

    def __init__(self, heading: Text):
        self.heading = heading

    def __rich_console__(self, console, options):
        if self.heading.cell_len + 6 <= options.max_width:
            yield Rule(self.heading, align="left", style="blue")
        else:
            yield self.heading
            yield Rule(style="blue")


def render_section(lesson: Lesson, section: Section, *, show_position: bool = True) -> RenderableType:
    parts: list[RenderableType] = []
    heading = Text()
    heading.append(f"{section.index}. {section.title}", style="bold")
    if show_position:
        heading.append(f"   section {section.index}/{len(lesson.sections)}", style="dim")
    parts.append(SectionHeading(heading))
    for block in section.blocks:
        rendered = render_block(block)
        for item in rendered if isinstance(rendered, list) else [rendered]:
            parts.extend([item, Text("")])
    return Group(*parts)


CODE_NOTE = "Python blocks build on each other: run them in order, in one session."


def has_python(lesson: Lesson) -> bool:
    return any(b.kind == "code" and b.ref.startswith("python") for s in lesson.sections for b in s.blocks)


def render_lesson_header(lesson: Lesson) -> RenderableType:
    goals = Table.grid(padding=(0, 1))
    goals.add_column(no_wrap=True)
    goals.add_column(ratio=1)
    for objective in lesson.objectives:
        goals.add_row("  •", objective)  # wrapped lines stay under the text, not the bullet
    footer = Text(f"\nAbout {lesson.minutes} minutes · {len(lesson.sections)} sections", style="dim")
    if has_python(lesson):
        footer.append(f"\n{CODE_NOTE}", style="dim")
    body = Group(
        Text(lesson.summary + "\n", style="italic"),
        Text("You will be able to:", style="bold"),
        goals,
        footer,
    )
    return Panel(body, title=f"Lesson {lesson.number} · {lesson.title}", title_align="left", border_style="blue", box=box.HEAVY, padding=(0, 1))


def render_lesson_title(lesson: Lesson) -> RenderableType:
    """One line naming the lesson: what a section printed on its own (``--section K``) opens with, in place
    of the lesson's title panel (the section's heading below it gives its place in the lesson)."""
    return Text(f"Lesson {lesson.number} · {lesson.title}", style="bold")


COURSE_MAP = "dnn-tutor (the course map and your next step)"


def render_reading_state(state: ReadingState) -> Text:
    """What the reader leaves behind: the lesson's state in the words of `dnn-tutor lessons` and the home
    screen (sections read, which are left), then the command to run next. Each line fits 60 columns."""
    text = Text()
    if state.complete:
        text.append(f"Lesson {state.number} complete ✓", style="green")
        if len(state.read) >= state.total > 1:
            text.append(f" (all {plural(state.total, 'section')} read)")
    elif state.read:
        text.append(f"Lesson {state.number}: {len(state.read)} of {plural(state.total, 'section')} read", style="yellow")
        text.append(f"; not read yet: {section_ranges(state.unread)}")
    else:
        text.append(f"Lesson {state.number}: no section read yet ({plural(state.total, 'section')})", style="yellow")
    text.append("\nnext: ", style="dim")
    text.append(COURSE_MAP if state.next_command == "dnn-tutor" else state.next_command, style="bold cyan")
    return text


def render_not_recorded(lesson: Lesson, again: str) -> Text:
    """The note for output that went to a file: nobody was seen reading it, so nothing was recorded (a pipe
    gets no note: a pager there shares the terminal). Two lines of at most 60 columns."""
    text = Text(f"note: lesson {lesson.number} not marked read: it went to a file\n")
    text.append("to record it, read it here: ")
    text.append(again, style="bold cyan")
    return text


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
    # one line at 60 columns (demo runs are in `dnn-tutor progress`)
    intro.append(f"{done}/{len(dashboard.lessons)} lessons done", style="green" if done else "")
    exercises_done = sum(e.done for e in dashboard.exercises)
    due_text = f"{plural(dashboard.due_now, 'quiz card')} due now"  # "due" means due now, as `quiz --review` counts it
    intro.append(f" · {exercises_done}/{len(dashboard.exercises)} exercises · {due_text}")

    course_map = Table(box=None, show_header=False, padding=(0, 1))
    course_map.add_column(justify="right", style="bold")
    course_map.add_column()
    course_map.add_column(style="dim")
    course_map.add_column()
    for status in dashboard.lessons:
        course_map.add_row(str(status.number), status.title, f"{status.minutes} min", _status_text(status))

    # one wrapped line rather than a table of eight: the whole screen fits 80x24 with its title in view
    commands = Text("more: ", style="dim")
    for i, cmd in enumerate(["lessons", "lesson N", "exercises", "demos", "quiz", "progress", "doctor", "--help"]):
        if i:
            commands.append(" · ", style="dim")
        commands.append(f"dnn-tutor {cmd}" if i == 0 else cmd, style="cyan")
    return Group(
        intro,
        Panel(course_map, title="course map", title_align="left", border_style="blue", box=box.ROUNDED),
        render_next_steps(dashboard),
        commands,
    )
