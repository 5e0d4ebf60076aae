"""A small arrow-key and digit-key menu for real terminals (prompt_toolkit).

Every option is shown in full: long options wrap at the terminal width with a
hanging indent under their label, so nothing is cut mid-word at 60 columns.
Options are numbered (or lettered); the label key picks an option at once
(single choice) or ticks it (several choices); q (where it is no label) leaves the
menu with nothing picked; any other character typed shows one short line naming
the keys that work (``1 means nothing here: press t or f (q stops)``). The menu is erased when done so the caller can print
the answer as ordinary, wrapped text. :func:`ask_line` is the typed prompt (numbers and shapes): text it does
not take is emptied from the line, and the line right under it says what was refused and why.

Only used when stdin and stdout are terminals and ``TERM`` is not ``dumb``
(:func:`tutor.console.is_interactive`). Ctrl-C raises KeyboardInterrupt,
Ctrl-D EOFError. SIGTERM/SIGHUP while the menu is up end the program as a
``SystemExit`` (143/129) after the terminal is restored (cursor shown, cooked
mode), unless the program already installed its own handlers.
"""

from __future__ import annotations

import contextlib
import signal
import textwrap
from typing import Any, Iterator, Sequence

QUIT_KEY = "q"  # leaves a menu with nothing picked (the quiz stops), where it is not an option's label


def wrap_option(text: str, prefix: str, width: int) -> list[str]:
    """``prefix`` + ``text`` wrapped to ``width`` columns, continuation lines indented under the text; under a
    prefix wider than a third of the line (a long prompt at 60 columns), two spaces in instead."""
    if len(prefix) > width // 3 and len(prefix) + len(text) >= width:
        wrapped: list[str] = []
        for n, paragraph in enumerate(text.splitlines() or [""]):
            wrapped += textwrap.wrap(paragraph, max(width - 1, 12), initial_indent=prefix if n == 0 else "  ",
                                     subsequent_indent="  ", break_long_words=True, break_on_hyphens=False) or [""]
        return wrapped
    room = max(width - len(prefix) - 1, 12)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(paragraph, room, break_long_words=True, break_on_hyphens=False) or [""]
    indent = " " * len(prefix)
    return [(prefix if i == 0 else indent) + line for i, line in enumerate(lines)]


def label_keys(labels: Sequence[str]) -> str:
    """The keys that pick an option, as the help line names them: ``t or f``, ``1-4``."""
    keys = [label for label in labels if len(label) == 1]
    if not keys:
        return ""
    if len(keys) <= 2:
        return " or ".join(keys)
    return f"{keys[0]}-{keys[-1]}"


def menu_help(labels: Sequence[str], *, multi: bool = False, ascii_only: bool = False) -> str:
    """The line under a menu's title that says which keys work."""
    keys = label_keys(labels)
    if multi:
        line = f"(↑/↓ move, space or {keys} ticks, Enter when done" if keys else "(↑/↓ move, space ticks, Enter when done"
    else:
        line = f"(↑/↓ and Enter, or press {keys}" if keys else "(↑/↓ and Enter"
    line += ")" if QUIT_KEY in labels else f"; {QUIT_KEY} stops)"
    return line.replace("↑/↓", "up/down") if ascii_only else line


def stray_key_hint(labels: Sequence[str], *, multi: bool = False) -> str:
    """What the menu says when a key that means nothing there is pressed: the keys that do, in short
    (``press t or f (q stops)``, ``tick with 1-4 or space, then Enter (q stops)``)."""
    keys = label_keys(labels)
    if multi:
        line = f"tick with {keys} or space, then Enter" if keys else "tick with space, then Enter"
    else:
        line = f"press {keys}" if keys else "move with the arrows, then Enter"
    return line if QUIT_KEY in labels else f"{line} ({QUIT_KEY} stops)"


def _stray(key) -> str | None:
    """The printable character a key press typed (``1``, ``Q``), or None for a key that types none (an arrow,
    a terminal's reply): only a typed character earns the hint."""
    from prompt_toolkit.keys import Keys

    if isinstance(key, Keys) or not isinstance(key, str) or len(key) != 1 or not key.isprintable():
        return None
    return key


@contextlib.contextmanager
def signals_end_cleanly() -> Iterator[None]:
    """While a prompt runs: SIGTERM/SIGHUP raise SystemExit(128+n) so ``finally`` blocks restore the terminal.

    Handlers the program installed itself are left alone.
    """
    saved = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            current = signal.getsignal(signum)
            if current in (signal.SIG_DFL, None):
                saved[signum] = current
                signal.signal(signum, _raise_exit)
        except (ValueError, OSError):  # not the main thread
            pass
    try:
        yield
    finally:
        for signum, handler in saved.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _raise_exit(signum, _frame):
    raise SystemExit(128 + signum)


def show_cursor() -> None:
    """Make sure the cursor is visible again (after an interrupted full-screen or menu prompt)."""
    import os
    import sys

    try:
        if sys.stdout.isatty() and os.environ.get("TERM", "") != "dumb":
            sys.stdout.write("\x1b[?25h")
            sys.stdout.flush()
    except (OSError, ValueError):
        pass


def choose_one(title: str, options: Sequence[str], labels: Sequence[str], *, ascii_only: bool = False) -> int | None:
    """The index of the option picked; None when q was pressed."""
    picked = choose(title, options, labels, ascii_only=ascii_only)
    return None if picked is None else int(picked)  # type: ignore[arg-type]


def choose_many(
    title: str, options: Sequence[str], labels: Sequence[str], *, ascii_only: bool = False
) -> list[int] | None:
    """The sorted indices of the options ticked (possibly none); None when q was pressed."""
    picked = choose(title, options, labels, multi=True, ascii_only=ascii_only)
    return picked if isinstance(picked, list) or picked is None else [picked]


def choose(
    title: str,
    options: Sequence[str],
    labels: Sequence[str],
    *,
    multi: bool = False,
    ascii_only: bool = False,
) -> int | list[int] | None:
    """The index of the option picked (or, with ``multi``, the sorted indices ticked); None when q was pressed
    (unless q is one of the labels)."""
    from prompt_toolkit.application import Application
    from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings
    from prompt_toolkit.keys import Keys
    from prompt_toolkit.layout import HSplit, Layout, Window
    from prompt_toolkit.layout.controls import FormattedTextControl
    from prompt_toolkit.styles import Style

    from tutor.console import to_ascii

    state: dict = {"at": 0, "ticked": set(), "moved": False}
    if ascii_only:  # an output that cannot take Unicode: ASCII stand-ins for the glyphs
        title, options = to_ascii(title), [to_ascii(o) for o in options]
    pointer = ">" if ascii_only else "›"
    help_line = menu_help(labels, multi=multi, ascii_only=ascii_only)

    def width() -> int:
        try:
            return max(app.output.get_size().columns, 20)
        except Exception:  # pragma: no cover - no size: assume a classic terminal
            return 80

    def fragments():
        cols = width()
        out = []
        for line in wrap_option(help_line, "? " + title + " ", cols):
            out.append(("class:title", line + "\n"))
        if state.get("nothing") and not state["ticked"]:
            for line in wrap_option("nothing is ticked yet: tick at least one option, then Enter", "  ", cols):
                out.append(("class:here", line + "\n"))
        elif state.get("confirm"):  # an Enter before any choice: perhaps meant for the question before
            said = f"Enter again to answer {labels[state['at']]}), or pick with ↑/↓ or {label_keys(labels)}"
            for line in wrap_option(to_ascii(said) if ascii_only else said, "  ", cols):
                out.append(("class:here", line + "\n"))
        elif state.get("stray"):  # a key that means nothing here: say which keys do, in short
            said = f"{state['stray']} means nothing here: {stray_key_hint(labels, multi=multi)}"
            for line in wrap_option(said, "  ", cols):
                out.append(("class:here", line + "\n"))
        for i, (label, text) in enumerate(zip(labels, options)):
            here = i == state["at"]
            box = ("[x] " if i in state["ticked"] else "[ ] ") if multi else ""
            prefix = f"{pointer if here else ' '} {box}{label}) "
            style = "class:here" if here else ""
            first = sum(text.count("\n") for _, text in out)
            for line in wrap_option(text, prefix, cols):
                out.append((style, line + "\n"))
            if here:  # kept on screen when the menu is taller than the terminal: the edge it moved towards
                last = sum(text.count("\n") for _, text in out) - 1
                state["line"] = last if state.get("down", True) else (0 if i == 0 else first)
        return out

    bindings = KeyBindings()

    @bindings.add(Keys.Any)
    def _other(event):
        state["stray"] = _stray(event.key_sequence[0].key) or state.get("stray")

    @bindings.add("up")
    @bindings.add("s-tab")
    def _up(event):
        state["moved"], state["confirm"] = True, False
        state["stray"] = None
        state["down"] = state["at"] == 0  # wrapping round to the last option moves down the screen
        state["at"] = (state["at"] - 1) % len(options)

    @bindings.add("down")
    @bindings.add("tab")
    def _down(event):
        state["moved"], state["confirm"] = True, False
        state["stray"] = None
        state["down"] = state["at"] != len(options) - 1
        state["at"] = (state["at"] + 1) % len(options)

    @bindings.add("home")
    def _home(event):
        state["moved"], state["confirm"] = True, False
        state["down"] = False
        state["at"] = 0

    @bindings.add("end")
    def _end(event):
        state["moved"], state["confirm"] = True, False
        state["down"] = True
        state["at"] = len(options) - 1

    def toggle(index: int) -> None:
        state["stray"] = None
        state["ticked"] ^= {index}

    for index, label in enumerate(labels):
        if len(label) != 1:
            continue  # beyond 9 options: arrows only for the rest

        @bindings.add(label, eager=True)
        def _label(event, index=index):
            state["at"] = index
            if multi:
                toggle(index)
            else:
                event.app.exit(result=index)

    @bindings.add("space")
    def _space(event):
        if multi:
            toggle(state["at"])

    if QUIT_KEY not in labels:

        @bindings.add(QUIT_KEY)
        def _quit(event):
            event.app.exit(result=None)

    @bindings.add("enter")
    def _enter(event):
        if multi and not state["ticked"]:  # a stray Enter is not an answer: say what to do instead
            state["nothing"] = True
            return
        if not multi and not state["moved"] and not state.get("confirm"):
            # The pointer starts on the first option: an Enter pressed by habit to go on from the last
            # question's feedback answered this one with it, unseen. Asked once more instead.
            state["confirm"] = True
            return
        event.app.exit(result=sorted(state["ticked"]) if multi else state["at"])


    from prompt_toolkit.data_structures import Point

    control = FormattedTextControl(fragments, focusable=True, show_cursor=False,
                                   get_cursor_position=lambda: Point(x=0, y=state.get("line", 0)))
    app: Application = Application(
        layout=Layout(HSplit([Window(control, wrap_lines=False, dont_extend_height=True)])),
        key_bindings=merge_key_bindings([bindings, control_keys()]),
        style=Style.from_dict({"title": "bold", "here": "bold reverse"}),
        full_screen=False,
        erase_when_done=True,
        mouse_support=False,
    )
    return _run(app)


def wait_for_next(text: str, *, ascii_only: bool = False) -> bool:
    """One line (``text``) until Enter or space (True: go on) or q or Esc (False); other keys do nothing.

    Ctrl-C raises KeyboardInterrupt, Ctrl-D EOFError, Ctrl-Z suspends; the line is erased when done.
    Keys typed ahead (a second Enter, key repeat) are dropped: they would answer the next question
    before it was seen.
    """
    from prompt_toolkit.application import Application
    from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings
    from prompt_toolkit.keys import Keys
    from prompt_toolkit.layout import HSplit, Layout, Window
    from prompt_toolkit.layout.controls import FormattedTextControl
    from prompt_toolkit.styles import Style

    if ascii_only:
        from tutor.console import to_ascii

        text = to_ascii(text)
    bindings = KeyBindings()

    @bindings.add("q")
    @bindings.add("Q")
    @bindings.add("escape", eager=True)
    def _stop(event):
        event.app.exit(result=False)

    @bindings.add("enter")
    @bindings.add("space")
    def _next(event):
        event.app.exit(result=True)

    @bindings.add(Keys.Any)
    def _other(event):
        pass


    def fragments():
        try:
            cols = max(app.output.get_size().columns, 20)
        except Exception:  # pragma: no cover - no size: assume a classic terminal
            cols = 80
        return [("class:hint", "\n".join(wrap_option(text, "", cols)))]

    app: Application = Application(
        layout=Layout(HSplit([Window(FormattedTextControl(fragments, show_cursor=False), wrap_lines=False,
                                     dont_extend_height=True)])),
        key_bindings=merge_key_bindings([bindings, control_keys()]),
        style=Style.from_dict({"hint": "reverse"}),
        full_screen=False,
        erase_when_done=True,
        mouse_support=False,
    )
    return bool(_run(app))


REFUSED_SHOWN = 24  # characters of a refused answer quoted in the line that says why it was not taken


def refused_line(text: str, reason: str, *, ascii_only: bool = False) -> str:
    """The line under a typed prompt after Enter on text it does not take: what was typed, why, and that
    up brings it back (the line itself is emptied), e.g. ``"abc" was not taken: type a number ... (up edits it)``."""
    shown = "".join(ch if ch.isprintable() else "?" for ch in text.strip())
    if len(shown) > REFUSED_SHOWN:
        shown = shown[: REFUSED_SHOWN - 1] + "…"
    line = f'"{shown}" was not taken: {reason} (↑ edits it)' if shown else reason
    if ascii_only:
        from tutor.console import to_ascii

        line = to_ascii(line.replace("↑", "up").replace("…", "..."))
    return line


def ask_line(title: str, check, *, instruction: str | None = None, ascii_only: bool = False) -> str:
    """One line typed at ``? title (instruction)``; ``check(text)`` returns None to take it, or a one-line reason.

    Enter on text that is not taken empties the line (so the next keys start a fresh answer) and shows, on
    the line right under it, what was typed and why it was not taken (:func:`refused_line`); that line stays
    until the next Enter, and up (history) brings the refused text back to be edited. Done, the prompt
    keeps the answer on its line and the reason is gone. Ctrl-C raises KeyboardInterrupt, Ctrl-D on an
    empty line EOFError (elsewhere it deletes a character), Ctrl-Z suspends.
    """
    from prompt_toolkit.application import Application, get_app
    from prompt_toolkit.buffer import Buffer
    from prompt_toolkit.filters import Condition, is_done
    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.layout import ConditionalContainer, HSplit, Layout, Window
    from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
    from prompt_toolkit.layout.processors import BeforeInput
    from prompt_toolkit.styles import Style

    if ascii_only:
        from tutor.console import to_ascii

        title = to_ascii(title)
        instruction = to_ascii(instruction) if instruction else instruction
    state: dict = {"said": ""}  # the line under the prompt: why the last Enter was not taken
    buffer = Buffer(multiline=False, history=InMemoryHistory())

    def before():
        parts = [("class:qmark", "? "), ("class:question", title), ("", " ")]
        if instruction and not get_app().is_done:
            parts += [("class:instruction", instruction), ("", " ")]
        return parts

    def said():
        try:
            cols = max(app.output.get_size().columns, 20)
        except Exception:  # pragma: no cover - no size: assume a classic terminal
            cols = 80
        mark = "-> " if ascii_only else "↳ "
        return [("class:refused", "\n".join(wrap_option(state["said"], "  " + mark, cols)))]

    bindings = KeyBindings()

    @bindings.add("enter", eager=True)
    def _enter(event):
        text = buffer.text
        reason = check(text)
        if reason is None:
            event.app.exit(result=text)
            return
        state["said"] = refused_line(text, reason, ascii_only=ascii_only)
        buffer.reset(append_to_history=bool(text.strip()))  # emptied; up brings it back

    @bindings.add("c-c", eager=True)
    def _interrupt(event):
        buffer.reset()  # what was typed is no answer: the prompt's line must not read as if it were
        event.app.exit(exception=KeyboardInterrupt())

    @bindings.add("c-d", filter=Condition(lambda: not buffer.text), eager=True)
    def _eof(event):
        event.app.exit(exception=EOFError())

    @bindings.add("c-z")
    def _suspend(event):
        event.app.suspend_to_background()

    app: Application = Application(
        layout=Layout(HSplit([
            Window(BufferControl(buffer, input_processors=[BeforeInput(before)]), wrap_lines=True,
                   dont_extend_height=True),
            ConditionalContainer(
                Window(FormattedTextControl(said, show_cursor=False), wrap_lines=False, dont_extend_height=True),
                filter=Condition(lambda: bool(state["said"])) & ~is_done,
            ),
        ])),
        key_bindings=bindings,
        style=Style.from_dict({"qmark": "fg:ansiblue bold", "question": "bold", "refused": "fg:ansiyellow"}),
        full_screen=False,
        erase_when_done=False,
        mouse_support=False,
    )
    return _run(app)


def _run(app) -> Any:
    """Run a prompt_toolkit application as every prompt here runs: keys typed before it was drawn are dropped
    (a double Enter on the command line), Ctrl-C and SIGTERM end it cleanly, and afterwards the cursor shows
    and keys typed meanwhile are dropped too (a double press must not answer what comes next, unseen)."""
    drop_typeahead(app)
    with signals_end_cleanly():
        try:
            return app.run()
        finally:
            show_cursor()
            drop_typeahead(app)


def drop_typeahead(app) -> None:
    """Forget keys typed before the next prompt is shown: prompt_toolkit keeps what it read but did not
    use for the next application, and the terminal holds what was not read yet."""
    import sys

    try:
        from prompt_toolkit.input.typeahead import clear_typeahead

        clear_typeahead(app.input)
    except Exception:  # noqa: BLE001 - best effort
        pass
    try:
        import termios

        termios.tcflush(sys.stdin.fileno(), termios.TCIFLUSH)
    except Exception:  # noqa: BLE001 - termios.error is no OSError; not a terminal: nothing typed ahead
        pass


def control_keys():
    """Ctrl-C raises KeyboardInterrupt, Ctrl-D EOFError, and Ctrl-Z suspends (the shell's job control,
    as in any full-screen program: `fg` comes back here)."""
    from prompt_toolkit.key_binding import KeyBindings

    keys = KeyBindings()

    @keys.add("c-c")
    def _interrupt(event):
        event.app.exit(exception=KeyboardInterrupt())

    @keys.add("c-d")
    def _eof(event):
        event.app.exit(exception=EOFError())

    @keys.add("c-z")
    def _suspend(event):
        event.app.suspend_to_background()

    return keys
