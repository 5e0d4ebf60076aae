"""Reading a lesson: a pager for terminals, and complete plain output for pipes and files.

:func:`read_interactively` (stdin and stdout are terminals): each section opens
at its heading on a clean screen; a section longer than the terminal pages like
``less``:

* ``space``/``PgDn``/``f`` a page down, ``b``/``PgUp`` a page up, ``↑``/``↓``
  (and ``Enter``) a line, ``g``/``Home`` the top, ``G``/``End`` the end;
* ``n`` the next section, ``b`` at the top of a section the previous one (the
  footer always says what ``b`` does; on the first section's top it does
  nothing and is not offered), ``j`` jump to a section, ``r`` run the section's
  demo, exercise or checkpoint, ``q`` quit.

A section counts as read when its end has been on the screen (recorded at once,
so Ctrl-C keeps it); sections read in earlier sessions are ticked in the jump list.

:func:`read_plainly` (a terminal without cursor keys, ``TERM=dumb``): one section
at a time, a screenful at a time, Enter for more; a section counts as read once
its end was written.

:func:`print_lesson` (plain or piped): the sections are written one by one and
count as read only when the output was written completely: a closed pipe
(``dnn-tutor lesson 5 | head -3``) records nothing, and a pager still reading
records the sections it has taken in. Printing starts with the lesson's title
panel, or with a one-line title when it starts further in (``--section 2``).

This module is part of the command layer's toolkit: it prints, and it is
imported only by ``tutor.commands``. It imports neither ``tutor.commands`` nor
``tutor.app``.
"""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from tutor import console
from tutor.lessons import Block, Lesson
from tutor.pager import Pager, pager_app, runnable_blocks  # noqa: F401  (runnable_blocks: re-exported)

def _default_store():
    from tutor.store import Store

    return Store()


def _run_block(block: Block) -> None:
    from rich.markup import escape

    command = block.command
    if block.kind == "exercise":
        from tutor.grading.workspace import find_elsewhere, is_shipped

        target = Path(command[1])
        found = find_elsewhere(target) if not target.exists() or is_shipped(target) else None
        if found is not None:  # e.g. the workspace `init` made in another folder
            command = [command[0], _shown(found)]
            console.out(f"[dim]your {escape(str(target))} is not in this folder: grading {escape(command[1])}[/dim]")
        elif not target.exists():
            console.warning_line(f"{target} is not here; run 'dnn-tutor init' to copy the starter exercises first")
            return
    argv = [sys.executable, "-m", "tutor", *command]
    console.out(f"[dim]$ dnn-tutor {escape(shlex.join(command))}[/dim]")
    saved = _terminal_state()
    proc = subprocess.Popen(argv)
    try:
        proc.wait()
    except KeyboardInterrupt as exc:
        # Ctrl-C reached the child too (it shares the terminal) and ends it as Ctrl-C does. SIGTERM or
        # SIGHUP sent to the reader alone is passed on, so the child restores the terminal itself
        # (a child killed outright left it raw, the cursor hidden); then the reader ends by it too.
        signum = getattr(exc, "signum", None)
        if signum is not None and proc.poll() is None:
            proc.send_signal(signum)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        _restore_terminal(saved)
        if signum is not None:
            raise
        console.out("[dim](stopped)[/dim]")
    else:
        _restore_terminal(saved)


def _shown(path: Path) -> str:
    """``path`` relative to the current folder where it is inside it, else as it is."""
    try:
        return str(path.relative_to(Path.cwd()))
    except (OSError, ValueError):
        return str(path)


def _terminal_state() -> Any:
    """The terminal's settings, to put back if a child ends without restoring them (None off a terminal)."""
    try:
        import termios

        return termios.tcgetattr(sys.stdin.fileno())
    except (ImportError, OSError, ValueError, AttributeError):
        return None


def _restore_terminal(saved: Any) -> None:
    from tutor.terminal_menu import show_cursor

    if saved is not None:
        try:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)
        except (ImportError, OSError, ValueError, AttributeError):
            pass
    show_cursor()


BACK_PROMPT = "Press Enter to go back to the lesson. "


def _wait_for_enter() -> None:
    """Wait for Enter below what the run printed, then take the prompt off the screen: answered, it was left
    behind above the shell's next prompt once the reader closed (the reader's own screen is drawn elsewhere)."""
    console.out(f"[dim]{BACK_PROMPT}[/dim]", end="")
    try:
        line = sys.stdin.readline()
    except (OSError, ValueError):
        line = ""
    if console.stdout_is_terminal():
        typed = len(BACK_PROMPT) + len(line.rstrip("\r\n"))  # the prompt and the echo of what was typed
        up = (typed - 1) // _terminal_size()[1] + line.endswith("\n")  # lines to go back up to the prompt's first
        sys.stdout.write("\r" + (f"\x1b[{up}A" if up else "") + "\x1b[J")  # ... and clear from there down
        sys.stdout.flush()


NEXT_STEP = "next: dnn-tutor (the course map and your next step)"  # the line left when the reader closes


def read_interactively(
    lesson: Lesson,
    start: int | None = None,
    *,
    store_factory: Callable = _default_store,
    available: set[str] | None = None,
) -> None:
    """Page through ``lesson`` from section ``start`` (default: the first unread one)."""
    from tutor.terminal_menu import show_cursor, signals_end_cleanly

    total = len(lesson.sections)
    with store_factory() as store:
        done = store.sections_read(lesson.id).get(lesson.id, set())
    if start is None:
        start = next((i for i in range(1, total + 1) if i not in done), 1)

    def mark(index: int) -> bool:
        with store_factory() as store:
            return store.mark_section_read(lesson.id, index, total)

    # sections read in earlier sessions carry their ✓ in the jump list from the start
    pager = Pager(lesson, start, mark, available, read={i for i in done if 1 <= i <= total})
    pager.rows, pager.cols = _terminal_size()
    pager.seen()
    with signals_end_cleanly():
        while True:
            try:
                action, block = pager_app(pager).run()
            finally:
                show_cursor()
            if action != "run":
                break
            _run_block(block)
            _wait_for_enter()
    console.out(f"[dim]{NEXT_STEP}[/dim]")


def _terminal_size() -> tuple[int, int]:
    """(lines, columns): LINES and COLUMNS where set, else the terminal's own size, else 24x80. As for the
    console, a LINES or COLUMNS too small to lay anything out is ignored (LINES=2 paged one line at a time)."""
    import shutil

    from tutor.console import MAX_COLUMNS, MIN_COLUMNS, MIN_LINES

    size = shutil.get_terminal_size((80, 24))
    lines, columns = size.lines, size.columns
    if lines < MIN_LINES or columns < MIN_COLUMNS:
        try:
            real = os.get_terminal_size(sys.stdout.fileno())
            own = (real.lines, real.columns) if real.lines > 0 and real.columns > 0 else (24, 80)
        except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
            own = (24, 80)
        if lines < MIN_LINES:
            lines = max(own[0], MIN_LINES)
        if columns < MIN_COLUMNS:
            columns = max(own[1], MIN_COLUMNS)
    return min(lines, 1000), min(columns, MAX_COLUMNS)


# -- plain output ---------------------------------------------------------------------------


def read_plainly(lesson: Lesson, start: int | None = None, *, store_factory: Callable = _default_store) -> bool:
    """A terminal that takes no cursor keys (TERM=dumb): one section at a time, Enter for the next and
    q to stop. A section longer than the screen stops after each screenful (Enter for more), so its start,
    and the lesson's title panel above the first one, are read before they scroll away. A section is
    recorded once its end was written. Returns True when the lesson became complete.

    (Printed in one go, the whole lesson counted as read there, though the learner saw its end.)
    """
    total = len(lesson.sections)
    with store_factory() as store:
        done = store.sections_read(lesson.id).get(lesson.id, set())
    if start is None:
        start = next((i for i in range(1, total + 1) if i not in done), 1)
    paged = console.stdin_is_terminal()  # off a terminal nobody answers "more": sections come whole
    completed = False
    for number in range(start, total + 1):
        sections = [lesson.sections[number - 1]]
        if paged:
            out = console.stdout_console()
            rows, cols = _terminal_size()
            out.size = (cols, rows)  # lines that fit the screen, or counting them per screenful is off
            text = "".join(_rendered(out, piece) for _, piece in _pieces(lesson, sections, header=number == start))
            if not _write_paged(out, text, f"-- section {number}/{total} continues: Enter for more, q to stop -- "):
                break  # stopped before the section's end: not recorded
            with store_factory() as store:
                completed = store.mark_section_read(lesson.id, number, total) or completed
        else:
            completed = print_lesson(lesson, sections, store_factory=store_factory, header=number == start) or completed
        if number == total:
            break
        if not _go_on(f"-- section {number}/{total}: Enter for the next, q to stop -- "):
            break
    return completed


def _write_paged(out, text: str, prompt: str) -> bool:
    """Write ``text`` a screenful at a time (the screen's height less a line for ``prompt``), waiting for
    Enter in between. False when the learner stopped before the end."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    shown = 0
    while True:
        room = _terminal_size()[0] - 1  # asked again for each page: the terminal may have been resized
        page = lines[shown : shown + room]
        out.file.write("".join(line + "\n" for line in page))
        out.file.flush()
        shown += len(page)
        if shown >= len(lines):
            return True
        if not _go_on(prompt):
            return False


def _go_on(prompt: str) -> bool:
    """Show ``prompt`` and wait for a line: True for Enter, False for q, Ctrl-D or a terminal gone."""
    try:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        line = sys.stdin.readline()
    except (OSError, ValueError):
        return False
    if not line:
        sys.stdout.write("\n")  # Ctrl-D: the shell's prompt on a line of its own
        return False
    return line.strip().lower() not in ("q", "quit")


def _pieces(lesson: Lesson, sections, header: bool) -> list[tuple[int | None, Any]]:
    """(section index or None, renderable) in the order printed. The lesson's title panel opens the
    lesson; a run that starts further in (``--section 2``) opens with a one-line title instead."""
    from rich.console import Group
    from rich.text import Text

    from tutor.render.lessons import render_lesson_header, render_lesson_title, render_section

    pieces: list[tuple[int | None, Any]] = []
    if header:
        further_in = bool(sections) and sections[0].index > 1
        pieces.append((None, render_lesson_title(lesson) if further_in else render_lesson_header(lesson)))
    pieces += [(s.index, Group(Text(""), render_section(lesson, s))) for s in sections]
    return pieces


def _rendered(out, renderable) -> str:
    with out.capture() as captured:
        out.print(renderable)
    return captured.get()


def print_lesson(lesson: Lesson, sections, *, store_factory: Callable = _default_store, header: bool = True) -> bool:
    """Write ``sections`` to stdout in full and record those written completely.

    Returns True when the lesson became complete. A closed pipe stops quietly
    and records nothing; a consumer that has not read everything yet (a pager)
    gets only the sections it has taken in recorded.
    """
    if sys.stdout is None:  # started with its output closed (`>&-`): nothing can be shown
        from tutor.errors import TutorError

        raise TutorError("standard output is closed, so the lesson cannot be shown; nothing was marked read", 1)
    out = console.stdout_console()
    ends: list[tuple[int, int]] = []  # (section index, bytes written up to its end)
    written = 0
    try:
        for index, renderable in _pieces(lesson, sections, header):
            text = _rendered(out, renderable)
            out.file.write(text)  # through the console's stream: ASCII stand-ins where needed
            out.file.flush()
            written += len(text.encode(getattr(sys.stdout, "encoding", None) or "utf-8", "replace"))
            if index is not None:
                ends.append((index, written))
    except BrokenPipeError:
        _quiet_stdout()
        return False
    taken = _bytes_taken_in(written)
    if taken is None:
        return False  # the reader went away before the end: what it showed is unknown
    completed = False
    with store_factory() as store:
        for index, end in ends:
            if end <= taken:
                completed = store.mark_section_read(lesson.id, index, len(lesson.sections)) or completed
    return completed


def _quiet_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def _bytes_taken_in(written: int, wait: float = 0.3) -> int | None:
    """How much of what was written the reader has taken in (all of it for files and terminals).

    For a pipe: wait up to ``wait`` seconds for it to drain. None when the reader closed it early.
    """
    import stat
    import time

    try:
        fd = sys.stdout.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return written
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return written
    deadline = time.monotonic() + wait
    while True:
        if _closed(fd):
            return None  # `| head`: the reader stopped early
        pending = _unread(fd)
        if pending == 0 or pending is None:
            return written
        if time.monotonic() >= deadline:
            return written - pending
        time.sleep(0.01)


def _unread(fd: int) -> int | None:
    try:
        import array
        import fcntl
        import termios

        buf = array.array("i", [0])
        fcntl.ioctl(fd, termios.FIONREAD, buf, True)
        return int(buf[0])
    except (ImportError, OSError, AttributeError):
        return None


def _closed(fd: int) -> bool:
    try:
        import select

        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (ImportError, OSError, AttributeError, ValueError):
        return False
