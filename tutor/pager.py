"""The lesson reader's pager: one section on a clean screen, paged like ``less``.

:class:`Pager` holds the state (section, first line shown, mode) and draws it;
:func:`pager_app` binds the keys in a full-screen prompt_toolkit application.
See :mod:`tutor.reader` for the keys and what counts as read.
"""

from __future__ import annotations

import io
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from tutor import console
from tutor.lessons import Block, Lesson

SPECIAL_COMMANDS = {"demo", "check", "quiz"}
ENTER_AFTER_DIGIT = 1.5  # seconds: an Enter this soon after a digit picked a section confirms it, it does not scroll


def runnable_blocks(blocks: tuple[Block, ...], available: set[str] | None = None) -> list[Block]:
    """Special blocks whose command exists (``available``: command names; default: demo, check, quiz)."""
    available = SPECIAL_COMMANDS if available is None else available
    return [b for b in blocks if b.command and b.command[0] in available]


# -- rendering a section to terminal lines -------------------------------------------------


class _Capture(io.StringIO):
    """A string buffer that tells rich which encoding the real terminal has."""

    def __init__(self, encoding: str):
        super().__init__()
        self._enc = encoding

    @property
    def encoding(self):  # type: ignore[override]
        return self._enc

    def isatty(self) -> bool:
        return True


def render_lines(renderable, width: int) -> list[str]:
    """``renderable`` as ANSI-coloured lines ``width`` columns wide."""
    from rich.console import Console

    unicode_ok = console.encodes_unicode()
    buffer = _Capture("utf-8" if unicode_ok else "ascii")
    rich_console = Console(
        file=buffer, width=width, force_terminal=True, color_system="256",
        no_color=bool(os.environ.get("NO_COLOR")), highlight=False, emoji=False, legacy_windows=False,
    )
    rich_console.print(renderable)
    text = buffer.getvalue()
    if not unicode_ok:
        text = console.to_ascii(text, getattr(sys.stdout, "encoding", None) or "ascii")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# -- the pager ------------------------------------------------------------------------------


@dataclass
class Pager:
    """The state of the reader; key handlers change it, :meth:`view` draws it."""

    lesson: Lesson
    index: int  # 1-based section
    mark_read: Callable[[int], bool]  # records a section; True when the lesson became complete
    available: set[str] | None = None
    top: int = 0
    rows: int = 24
    cols: int = 80
    mode: str = "read"  # "read", "jump" or "run"
    pick: int = 0  # highlighted entry in jump/run mode
    message: str = ""
    read: set[int] = field(default_factory=set)
    cover: bool = True  # the lesson's title panel above section 1, on the first screen only
    jumped_at: float = -1.0  # when a digit picked a section: the Enter typed after it (6 Enter) is not a scroll
    _cache: dict = field(default_factory=dict)

    # geometry ---------------------------------------------------------------
    @property
    def body_rows(self) -> int:
        return max(self.rows - 2, 3)

    def lines(self) -> list[str]:
        cover = self.cover and self.index == 1
        key = (self.index, self.cols, cover)
        if key not in self._cache:
            from rich.console import Group
            from rich.text import Text

            from tutor.render.lessons import render_lesson_header, render_section

            section = self.lesson.sections[self.index - 1]
            parts = [render_section(self.lesson, section)]
            if cover:
                parts = [render_lesson_header(self.lesson), Text(""), *parts]
            self._cache[key] = render_lines(Group(*parts), max(self.cols - 1, 20))
        return self._cache[key]

    @property
    def last_top(self) -> int:
        return max(len(self.lines()) - self.body_rows, 0)

    @property
    def at_end(self) -> bool:
        return self.top >= self.last_top

    @property
    def section(self):
        return self.lesson.sections[self.index - 1]

    def runnable(self) -> list[Block]:
        return runnable_blocks(self.section.blocks, self.available)

    # movement ---------------------------------------------------------------
    def scroll(self, delta: int) -> None:
        self.top = min(max(self.top + delta, 0), self.last_top)
        self.seen()

    def open(self, index: int) -> None:
        """Show section ``index`` from its heading (the title panel only opened the lesson)."""
        self.cover = False
        self.index = min(max(index, 1), len(self.lesson.sections))
        self.top = 0
        self.mode = "read"
        self.message = ""
        self.seen()

    def seen(self) -> None:
        """Record the section once its end has been on the screen."""
        if self.at_end and self.index not in self.read:
            self.read.add(self.index)
            if self.mark_read(self.index):
                self.message = f"✓ you have read every section: lesson {self.lesson.number} is complete"

    def page_down(self) -> str | None:
        if not self.at_end:
            self.scroll(self.body_rows - 1)
            return None
        if self.index < len(self.lesson.sections):
            self.open(self.index + 1)
        return None

    def back(self) -> None:
        if self.top > 0:
            self.scroll(-(self.body_rows - 1))
        elif self.index > 1:
            self.open(self.index - 1)

    # drawing ----------------------------------------------------------------
    def view(self):
        """prompt_toolkit fragments for the whole screen."""
        from prompt_toolkit.formatted_text import ANSI, to_formatted_text

        if self.mode in ("jump", "run"):
            return self._menu_view()
        out: list = []
        shown = self.lines()[self.top : self.top + self.body_rows]
        for line in shown:
            out += to_formatted_text(ANSI(line))
            out.append(("", "\n"))
        out.append(("", "\n" * (self.body_rows - len(shown))))
        out += self._footer()
        return out

    @staticmethod
    def _arrows() -> str:
        """How the footer names the arrow keys: glyphs, or words where the output is ASCII ("^v" was cryptic)."""
        return "↑↓" if console.encodes_unicode() else "up/down"

    def _fit(self, text: str) -> str:
        text = console.for_stream(text, sys.stdout)
        width = max(self.cols - 1, 10)
        return text if len(text) <= width else text[: width - 3] + "..."

    def _footer(self):
        total = len(self.lines())
        n = len(self.lesson.sections)
        if total <= self.body_rows:
            where = "all shown"
        else:
            bottom = min(self.top + self.body_rows, total)
            where = f"lines {self.top + 1}-{bottom} of {total}" + (" (end)" if self.at_end else "")
        status = self.message or f"Lesson {self.lesson.number} · section {self.index}/{n} · {where}"
        keys = []
        if not self.at_end:
            keys.append("space more")
        if self.top > 0:
            keys.append("b page up")
        elif self.index > 1:
            keys.append("b prev section")
        keys.append("n next" if self.index < n else "n finish")
        keys.append("j jump")
        if self.runnable():
            keys.append("r run")
        keys.append("q quit")
        if self.top > 0 or not self.at_end:
            keys.insert(1 if not self.at_end else 0, f"{self._arrows()} g G")
        line = " · ".join(keys)
        if len(line) > self.cols - 1:
            line = line.replace(" · ", " ")
        if len(line) > self.cols - 1:  # "b prev" beside "n next" says it still, before a key is cut off
            line = line.replace("b prev section", "b prev")
        return [("class:status", self._fit(status) + "\n"), ("class:keys", self._fit(line))]

    def _menu_view(self):
        if self.mode == "jump":
            title = f"Jump to section (number, or {self._arrows()} and Enter; Esc cancels)"
            entries = [
                f"{s.index}. {s.title}" + ("  ✓" if s.index in self.read else "") for s in self.lesson.sections
            ]
        else:
            title = f"Run (number, or {self._arrows()} and Enter; Esc cancels)"
            entries = [f"{i}. dnn-tutor {' '.join(b.command)}" for i, b in enumerate(self.runnable(), start=1)]
        out = [("class:status", self._fit(title) + "\n"), ("", "\n")]
        for i, entry in enumerate(entries):
            style = "class:here" if i == self.pick else ""
            out.append((style, self._fit(("› " if i == self.pick else "  ") + entry) + "\n"))
        return out


def pager_app(pager: Pager):
    """The full-screen application; ``run()`` returns ``("quit", None)`` or ``("run", block)``."""
    from prompt_toolkit.application import Application
    from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings
    from prompt_toolkit.layout import Layout, Window
    from prompt_toolkit.layout.controls import FormattedTextControl
    from prompt_toolkit.styles import Style

    from tutor.terminal_menu import control_keys

    common = KeyBindings()

    @common.add("c-d")  # after control_keys(), so it wins there: Ctrl-D closes the reader like q
    def _eof(event):
        event.app.exit(result=("quit", None))

    def fragments():
        got = app.output.get_size()
        if (got.rows, got.columns) != (pager.rows, pager.cols):  # resized: lay the section out again
            pager.rows, pager.cols = got.rows, got.columns
            pager.top = min(pager.top, pager.last_top)
            pager.seen()
        return pager.view()

    control = FormattedTextControl(fragments, focusable=True, show_cursor=False)
    app: Application = Application(
        layout=Layout(Window(control, wrap_lines=False)),
        key_bindings=merge_key_bindings([_reading_keys(pager), _menu_keys(pager), control_keys(), common]),
        style=Style.from_dict({"status": "reverse", "keys": "bold", "here": "bold reverse"}),
        full_screen=True,
        mouse_support=False,
    )
    return app


def _reading_keys(pager: Pager):
    """less-like paging, plus n/b/j/r/q."""
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.key_binding import KeyBindings

    kb = KeyBindings()
    reading = Condition(lambda: pager.mode == "read")
    last = lambda: pager.index >= len(pager.lesson.sections)  # noqa: E731

    @kb.add("space", filter=reading)
    @kb.add("pagedown", filter=reading)
    @kb.add("f", filter=reading)
    def _more(event):
        pager.page_down()

    @kb.add("b", filter=reading)
    @kb.add("pageup", filter=reading)
    def _back(event):
        pager.back()

    @kb.add("down", filter=reading)
    @kb.add("enter", filter=reading)
    def _down(event):
        if event.key_sequence[0].key != "down" and time.monotonic() - pager.jumped_at < ENTER_AFTER_DIGIT:
            pager.jumped_at = -1.0  # "6 Enter" in the jump list: the 6 opened section 6 at its top; keep it there
            return
        if pager.at_end and event.key_sequence[0].key != "down":  # Enter at the end moves on
            if last():
                event.app.exit(result=("quit", None))
            else:
                pager.open(pager.index + 1)
        else:
            pager.scroll(1)

    @kb.add("up", filter=reading)
    def _up(event):
        pager.scroll(-1)

    @kb.add("g", filter=reading)
    @kb.add("home", filter=reading)
    def _top(event):
        pager.scroll(-pager.top)

    @kb.add("G", filter=reading)
    @kb.add("end", filter=reading)
    def _bottom(event):
        pager.scroll(pager.last_top)

    @kb.add("n", filter=reading)
    def _next(event):
        if last():
            event.app.exit(result=("quit", None))
        else:
            pager.open(pager.index + 1)

    @kb.add("j", filter=reading)
    def _jump(event):
        pager.mode, pager.pick = "jump", pager.index - 1

    @kb.add("r", filter=reading)
    def _run(event):
        blocks = pager.runnable()
        if len(blocks) == 1:
            event.app.exit(result=("run", blocks[0]))
        elif blocks:
            pager.mode, pager.pick = "run", 0

    @kb.add("q", filter=reading)
    def _quit(event):
        event.app.exit(result=("quit", None))

    return kb


def _menu_keys(pager: Pager):
    """The jump and run lists: digits, arrows and Enter; Esc, c or q cancel."""
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.key_binding import KeyBindings

    kb = KeyBindings()
    in_menu = Condition(lambda: pager.mode != "read")

    def entries() -> int:
        return len(pager.lesson.sections) if pager.mode == "jump" else len(pager.runnable())

    def choose(event, i: int) -> None:
        if pager.mode == "jump":
            if i + 1 == pager.index:
                pager.mode = "read"
            else:
                pager.open(i + 1)
        else:
            pager.mode = "read"
            event.app.exit(result=("run", pager.runnable()[i]))

    @kb.add("up", filter=in_menu)
    def _menu_up(event):
        pager.pick = (pager.pick - 1) % entries()

    @kb.add("down", filter=in_menu)
    def _menu_down(event):
        pager.pick = (pager.pick + 1) % entries()

    @kb.add("enter", filter=in_menu)
    def _menu_enter(event):
        choose(event, pager.pick)

    for digit in "123456789":

        @kb.add(digit, filter=in_menu)
        def _digit(event, digit=digit):
            i = int(digit) - 1
            if i < entries():
                pager.jumped_at = time.monotonic() if pager.mode == "jump" else -1.0
                choose(event, i)

    @kb.add("escape", filter=in_menu, eager=True)
    @kb.add("c", filter=in_menu)
    @kb.add("q", filter=in_menu)
    def _cancel(event):
        pager.mode = "read"

    return kb
