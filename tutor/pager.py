"""The lesson reader's pager: one section on a clean screen, paged like ``less``.

:class:`Pager` holds the state (section, first line shown, mode) and draws it;
:func:`pager_app` binds the keys in a full-screen prompt_toolkit application.
See :mod:`tutor.reader` for the keys and what counts as read.

The footer is two lines: where you are (or what just happened: a search's
result, "not found", the lesson completed), then the keys, always in one format
("key what" items two spaces apart, in a fixed order). Where the terminal is too
narrow for every key, the least needed are left out (``?`` lists them all):
``q``, ``?``, ``/``, ``n``, ``space`` and ``b`` are always there.
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
MAX_QUERY = 200  # characters a search may have
KEY_GAP = "  "  # between the footer's "key what" items

# The reader's keys, as the help screen (? or h) lists them: (keys, what they do).
HELP = (
    ("space f PgDn", "a page down; at a section's end, the next section"),
    ("b PgUp", "a page up; at a section's top, the previous section"),
    ("{arrows} Enter", "a line up or down (Enter: down; at a section's end, the next)"),
    ("g G Home End", "the section's top or end"),
    ("n", "the next section (the last one: finish the lesson)"),
    ("j", "jump to a section (number, or arrows and Enter)"),
    ("r", "run the section's demo, exercise or checkpoint"),
    ("/", "search the lesson: type, Enter; Esc cancels"),
    ("/ Enter", "Enter on an empty search: the next match"),
    ("? h", "these keys"),
    ("q", "quit (sections read so far are kept)"),
)


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
    text = buffer.getvalue().replace(console.KEPT_SPACE, " ")  # kept together while laid out; a space on screen
    if not unicode_ok:
        text = console.to_ascii(text, getattr(sys.stdout, "encoding", None) or "ascii")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# -- the pager ------------------------------------------------------------------------------


def _words(lines: list[str]) -> list[tuple[int, str]]:
    """(line index, word) for every word of the lines: what re-wrapping keeps (borders, padding and the
    marks of wrapped code change with the width)."""
    import re

    return [(i, word) for i, line in enumerate(lines) for word in re.findall(r"\w+", line)]


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
    mode: str = "read"  # "read", "jump", "run", "search" (typing a search) or "help"
    pick: int = 0  # highlighted entry in jump/run mode
    message: str = ""  # stays until another section opens (the lesson completed)
    note: str = ""  # a search's result: gone at the next move
    read: set[int] = field(default_factory=set)
    cover: bool = True  # the lesson's title panel above section 1, on the first screen only
    jumped_at: float = -1.0  # when a digit picked a section: the Enter typed after it (6 Enter) is not a scroll
    query: str = ""  # the search being typed
    last_search: str = ""  # the last text searched for: highlighted, and what "/ Enter" finds again
    hit: tuple[int, int, int] | None = None  # (section, line, columns) of the last match
    _cache: dict = field(default_factory=dict)
    _plain: dict = field(default_factory=dict)

    # geometry ---------------------------------------------------------------
    @property
    def body_rows(self) -> int:
        return max(self.rows - 2, 3)

    def lines(self) -> list[str]:
        return self._lines_of(self.index, self.cover and self.index == 1)

    def _lines_of(self, index: int, cover: bool) -> list[str]:
        key = (index, self.cols, cover)
        if key not in self._cache:
            from rich.console import Group
            from rich.text import Text

            from tutor.render.lessons import render_lesson_header, render_section

            section = self.lesson.sections[index - 1]
            parts = [render_section(self.lesson, section)]
            if cover:
                parts = [render_lesson_header(self.lesson), Text(""), *parts]
            self._cache[key] = render_lines(Group(*parts), max(self.cols - 1, 20))
        return self._cache[key]

    def _plain_of(self, index: int, cover: bool) -> list[str]:
        """The lines of section ``index`` as shown, without their colours: what a search looks in."""
        from prompt_toolkit.formatted_text import ANSI, fragment_list_to_text, to_formatted_text

        key = (index, self.cols, cover)
        if key not in self._plain:
            self._plain[key] = [fragment_list_to_text(to_formatted_text(ANSI(line))) for line in self._lines_of(index, cover)]
        return self._plain[key]

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
        self.note = ""
        self.seen()

    def open(self, index: int) -> None:
        """Show section ``index`` from its heading (the title panel only opened the lesson)."""
        self.cover = False
        self.index = min(max(index, 1), len(self.lesson.sections))
        self.top = 0
        self.mode = "read"
        self.message = ""
        self.note = ""
        self.seen()

    # searching --------------------------------------------------------------
    def search(self, text: str) -> bool:
        """Go to the next line of the lesson that contains ``text`` (any case): after the last match when it
        is on the screen, else from the first line shown; on through the later sections, then from the
        lesson's start. The match shows highlighted; the footer says where, or that there is none."""
        text = text.strip()
        if not text:
            return False
        self.last_search = text
        needle = text.casefold()
        n = len(self.lesson.sections)
        hit = self.hit
        on_screen = hit is not None and hit[0] == self.index and hit[2] == self.cols and self._shown(hit[1])
        start = hit[1] + 1 if hit is not None and on_screen else self.top
        here = self.cover and self.index == 1
        # (section, cover, first line, last line + 1, wrapped): this section on, the later ones, the earlier ones,
        # and this one's lines above where the search began
        order: list[tuple[int, bool, int, int | None, bool]] = [(self.index, here, start, None, False)]
        order += [(i, False, 0, None, i < self.index) for i in [*range(self.index + 1, n + 1), *range(1, self.index)]]
        order.append((self.index, here, 0, start, True))
        for index, cover, first, stop, wrapped in order:
            lines = self._plain_of(index, cover)
            for number in range(first, len(lines) if stop is None else min(stop, len(lines))):
                if needle in lines[number].casefold():
                    self._show_match(index, number)
                    again = " (from the top)" if wrapped else ""
                    found = f"found {_quoted(text, 16)}{again}: section {index}, line {number + 1}"
                    tail = " · / Enter: next"  # where it fits
                    self.note = found + tail if len(found + tail) <= max(self.cols - 1, 10) else found
                    return True
        self.hit = None
        self.note = f"not found: no line of lesson {self.lesson.number} has {_quoted(text, 16)}"
        return False

    def _shown(self, line: int) -> bool:
        return self.top <= line < self.top + self.body_rows

    def _show_match(self, index: int, line: int) -> None:
        if index != self.index:
            self.open(index)
        if not self._shown(line):
            self.scroll(line - self.top)  # the match at the top, or as near as the section's end allows
        self.hit = (index, line, self.cols)

    def resize(self, rows: int, cols: int) -> None:
        """Lay the section out for a new terminal size with the same text at the top of the screen: the line
        holding the first word that was there (wrapping moves lines, so the old line number would not; a
        narrow screen also adds a note above a wide code block, so the words are matched, not counted)."""
        import difflib

        cover = self.cover and self.index == 1
        old = _words(self._plain_of(self.index, cover))
        first = sum(1 for line, _ in old if line < self.top)  # the first word on the screen
        hit = self.hit
        hit_shown = hit is not None and hit[0] == self.index and hit[2] == self.cols and self._shown(hit[1])
        self.rows, self.cols = rows, cols
        top = 0
        if first:
            new = _words(self._plain_of(self.index, cover))
            top = new[-1][0] + 1 if new else 0
            matcher = difflib.SequenceMatcher(a=[w for _, w in old], b=[w for _, w in new], autojunk=False)
            for a, b, size in matcher.get_matching_blocks():
                if first < a + size:  # in this block, or in a gap before it: its first word then
                    top = new[b + max(first - a, 0)][0] if size else top
                    break
        self.top = min(top, self.last_top)
        if hit_shown and self.last_search:
            self._keep_hit_in_view(self.last_search.casefold(), cover)
        self.seen()

    def _keep_hit_in_view(self, needle: str, cover: bool) -> None:
        """After a resize, the search hit that was on the screen is on it again (reflowed text moved it), and
        highlighted where it is now: the least scrolling from the text kept at the top."""
        lines = self._plain_of(self.index, cover)
        for number in range(max(self.top - self.body_rows, 0), len(lines)):
            if needle in lines[number].casefold():
                if number < self.top:
                    self.top = number
                elif number >= self.top + self.body_rows:
                    self.top = min(number - self.body_rows + 1, self.last_top)
                self.hit = (self.index, number, self.cols)
                return

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
        if self.mode == "help":
            return self._help_view()
        out: list = []
        shown = self.lines()[self.top : self.top + self.body_rows]
        for line in shown:
            out += self._marked(to_formatted_text(ANSI(line)))
            out.append(("", "\n"))
        out.append(("", "\n" * (self.body_rows - len(shown))))
        out += self._prompt() if self.mode == "search" else self._footer()
        return out

    def _marked(self, fragments: list) -> list:
        """A line's fragments with every match of the last search in reverse video (a mark that needs no
        colour, so it shows under NO_COLOR too)."""
        from prompt_toolkit.layout.utils import explode_text_fragments

        if not self.last_search:
            return fragments
        chars = explode_text_fragments(fragments)
        text = "".join(c[1] for c in chars)
        folded, needle = text.lower(), self.last_search.lower()
        if len(folded) != len(text) or needle not in folded:  # (a letter whose lower case is longer: not marked)
            return fragments
        at = folded.find(needle)
        while at >= 0:
            for i in range(at, at + len(needle)):
                chars[i] = (chars[i][0] + " class:match", chars[i][1])
            at = folded.find(needle, at + len(needle))
        return list(chars)

    @staticmethod
    def _arrows() -> str:
        """How the footer names the arrow keys: glyphs, or words where the output is ASCII ("^v" was cryptic)."""
        return "↑↓" if console.encodes_unicode() else "up/down"

    def _fit(self, text: str) -> str:
        text = console.for_stream(text, sys.stdout)
        width = max(self.cols - 1, 10)
        return text if len(text) <= width else text[: width - 3] + "..."

    def _status(self) -> str:
        total = len(self.lines())
        if total <= self.body_rows:
            where = "all shown"
        else:
            bottom = min(self.top + self.body_rows, total)
            where = f"lines {self.top + 1}-{bottom} of {total}" + (" (end)" if self.at_end else "")
        return self.note or self.message or f"Lesson {self.lesson.number} · section {self.index}/{len(self.lesson.sections)} · {where}"

    def keys(self) -> str:
        """The footer's keys: "key what" items two spaces apart, always in this order. Where not all fit the
        width, the least needed are left out, never the format changed: q, ?, / and n always fit (60 columns,
        ASCII too), then space and b where they do something, then r, j, b's longer name and the arrows."""
        n = len(self.lesson.sections)
        b_short = b_long = ""
        if self.top > 0:
            b_short = b_long = "b page up"
        elif self.index > 1:
            b_short, b_long = "b prev", "b prev section"
        # (slot in the line, priority: lower is kept first, text)
        items = [(8, 0, "q quit"), (7, 1, "? help"), (6, 2, "/ search"), (3, 3, "n next" if self.index < n else "n finish")]
        if not self.at_end:
            items.append((0, 4, "space more"))
        if b_short:
            items.append((2, 5, b_short))
        if self.runnable():
            items.append((5, 6, "r run"))
        items.append((4, 7, "j jump"))
        if b_long != b_short:
            items.append((2, 8, b_long))  # replaces the short name where it fits
        if self.top > 0 or not self.at_end:
            items.append((1, 9, f"{self._arrows()} g G"))
        width = max(self.cols - 1, 10)
        chosen: dict[int, str] = {}
        for slot, _, text in sorted(items, key=lambda item: item[1]):
            trial = {**chosen, slot: text}
            line = KEY_GAP.join(trial[k] for k in sorted(trial))
            if len(console.for_stream(line, sys.stdout)) > width:
                break
            chosen = trial
        return KEY_GAP.join(chosen[k] for k in sorted(chosen))

    def _footer(self):
        return [("class:status", self._fit(self._status()) + "\n"), ("class:keys", self._fit(self.keys()))]

    def _prompt(self):
        """The search prompt on the footer's lines: what Enter and Esc do, then what is typed, a block cursor."""
        if self.last_search:
            title = f"Search: Enter alone finds {_quoted(self.last_search, 12)} again; Esc cancels"
        else:
            title = f"Search lesson {self.lesson.number}: type the text, then Enter; Esc cancels"
        room = max(self.cols - 3, 8)  # the slash, the cursor and the spare column
        typed = console.for_stream(self.query, sys.stdout)[-room:]
        return [("class:status", self._fit(title) + "\n"), ("class:keys", "/" + typed), ("reverse", " ")]

    def _help_view(self):
        import textwrap

        width = max(self.cols - 1, 20)
        label = max(len(keys.format(arrows=self._arrows())) for keys, _ in HELP) + 2
        out = [("class:status", self._fit("Keys in the lesson reader (any key goes back)") + "\n"), ("", "\n")]
        for keys, what in HELP:
            lines = textwrap.wrap(what, max(width - label, 10)) or [""]
            out.append(("class:keys", self._fit(keys.format(arrows=self._arrows()).ljust(label))))
            out.append(("", self._fit(lines[0]) + "\n"))
            out += [("", self._fit(" " * label + more) + "\n") for more in lines[1:]]
        return out

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


def _quoted(text: str, longest: int = 24) -> str:
    """``text`` in quotes for a footer, shortened where long."""
    return '"' + (text if len(text) <= longest else text[: longest - 3] + "...") + '"'


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
            pager.resize(got.rows, got.columns)
        return pager.view()

    control = FormattedTextControl(fragments, focusable=True, show_cursor=False)
    app: Application = Application(
        layout=Layout(Window(control, wrap_lines=False)),
        key_bindings=merge_key_bindings(
            [_reading_keys(pager), _menu_keys(pager), _search_keys(pager), control_keys(), common]
        ),
        style=Style.from_dict({"status": "reverse", "keys": "bold", "here": "bold reverse", "match": "reverse"}),
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

    @kb.add("/", filter=reading)
    def _search(event):
        pager.mode, pager.query = "search", ""

    @kb.add("?", filter=reading)
    @kb.add("h", filter=reading)
    def _help(event):
        pager.mode = "help"

    return kb


def _search_keys(pager: Pager):
    """Typing a search (Enter searches, Enter alone the last search again, Esc cancels); the help screen."""
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.keys import Keys

    kb = KeyBindings()
    typing = Condition(lambda: pager.mode == "search")
    helping = Condition(lambda: pager.mode == "help")

    @kb.add(Keys.Any, filter=typing)
    @kb.add(Keys.BracketedPaste, filter=typing)
    def _type(event):
        text = "".join(ch for ch in event.data.replace("\n", " ").replace("\r", " ") if ch.isprintable())
        pager.query = (pager.query + text)[:MAX_QUERY]

    @kb.add("backspace", filter=typing)
    def _erase(event):
        pager.query = pager.query[:-1]

    @kb.add("c-u", filter=typing)
    def _erase_all(event):
        pager.query = ""

    @kb.add("enter", filter=typing)
    def _find(event):
        pager.mode = "read"
        text = pager.query.strip() or pager.last_search  # Enter alone: the last search again
        if text:
            pager.search(text)

    @kb.add("escape", filter=typing, eager=True)
    def _cancel(event):
        pager.mode = "read"

    @kb.add(Keys.Any, filter=helping)
    @kb.add("escape", filter=helping, eager=True)
    def _back(event):
        pager.mode = "read"

    return kb


def _menu_keys(pager: Pager):
    """The jump and run lists: digits, arrows and Enter; Esc, c or q cancel."""
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.key_binding import KeyBindings

    kb = KeyBindings()
    in_menu = Condition(lambda: pager.mode in ("jump", "run"))

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
