"""Reading a lesson: a pager for terminals, and complete plain output for pipes and files.

:func:`read_interactively` (stdin and stdout are terminals): each section opens
at its heading on a clean screen; a section longer than the terminal pages like
``less``:

* ``space``/``PgDn``/``f`` a page down, ``b``/``PgUp`` a page up, ``↑``/``↓``
  (and ``Enter``) a line, ``g``/``Home`` the top, ``G``/``End`` the end;
* ``n`` the next section, ``b`` at the top of a section the previous one (the
  footer always says what ``b`` does; on the first section's top it does
  nothing and is not offered), ``j`` jump to a section, ``r`` run the section's
  demo, exercise or checkpoint, ``/`` search the lesson (``/`` and Enter alone:
  the next match), ``?`` or ``h`` the keys, ``q`` quit.

What counts as read is one rule everywhere: a section counts once its end has
been on a screen that someone is looking at.

* In the reader: once its last line was on the screen (recorded at once, so
  Ctrl-C keeps it); sections read in earlier sessions are ticked in the jump list.
* :func:`read_plainly` (a terminal without cursor keys, ``TERM=dumb``): one
  section at a time, a screenful at a time, Enter for more; a section counts
  once its end was written to the terminal.
* :func:`print_lesson` (``--plain``, or no keyboard): the sections written to a
  terminal count; written to a pipe or a file (``dnn-tutor lesson 5 | grep``,
  ``> notes.txt``) nothing is recorded, since nobody is seen reading it.
  Printing starts with the lesson's title panel, or with a one-line title when
  it starts further in (``--section 2``).

:func:`reading_state` says where the learner stands afterwards (it prints
nothing): the command hands it to a renderer.

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
from tutor.lessons import Block, Course, Lesson, ReadingState
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
    from tutor.pyproc import module_argv

    argv = module_argv("tutor", *command)  # a numpy.py or random.py in this folder is not imported in place of the real one
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


def reading_state(course: Course, lesson: Lesson, store_factory: Callable = _default_store) -> ReadingState:
    """Where the learner stands in ``lesson`` now, from the same records (and the same next step) as the
    home screen and ``dnn-tutor lessons``. Prints nothing."""
    from tutor.progress import lesson_statuses, next_steps

    with store_factory() as store:
        statuses = lesson_statuses(course, store)
    status = next(s for s in statuses if s.id == lesson.id)
    if status.done:  # the course's next lesson step, as the home screen gives it; the map once all are done
        steps = (s.command for s in next_steps(statuses, 0) if s.command.startswith("dnn-tutor lesson "))
        command = next(steps, "dnn-tutor")
    elif status.started:
        command = f"dnn-tutor lesson {lesson.number} --section {status.next_section}"
    else:
        command = f"dnn-tutor lesson {lesson.number}"
    return ReadingState(lesson.number, status.sections_total, status.sections_read, status.done, command)


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
    recorded once its end was written to the terminal. Returns True when the lesson became complete.

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
            if not _write_paged(out, text, f"-- section {number}/{total} continues: Enter for more, q+Enter stops -- "):
                break  # stopped before the section's end: not recorded
            if console.stdout_is_terminal():  # on the screen, not into a file
                with store_factory() as store:
                    completed = store.mark_section_read(lesson.id, number, total) or completed
        else:
            printed = print_lesson(lesson, sections, store_factory=store_factory, header=number == start)
            completed = printed == COMPLETED or completed
        if number == total:
            break
        if not _go_on(f"-- section {number}/{total}: Enter for the next, q+Enter stops -- "):
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


SHOWN = "shown"  # written to a terminal: the sections written were recorded
COMPLETED = "completed"  # ... and that completed the lesson
UNSEEN = "unseen"  # written in full to a pipe or a file: nothing recorded
CLOSED = "closed"  # the pipe's reader went away before the end (`| head`): nothing recorded


def print_lesson(lesson: Lesson, sections, *, store_factory: Callable = _default_store, header: bool = True) -> str:
    """Write ``sections`` to stdout in full; record them only where a person can see them (a terminal).

    Returns :data:`SHOWN` or :data:`COMPLETED` (on a terminal, recorded), :data:`UNSEEN` (a pipe or a
    file: ``| grep``, ``> notes.txt``, ``>/dev/null``; nothing recorded) or :data:`CLOSED` (the reader
    closed the pipe early; it ends quietly, nothing recorded).
    """
    console.require_stdout("the lesson", "nothing was marked read")  # started with its output closed (`>&-`)
    out = console.stdout_console()
    written: list[int] = []
    try:
        for index, renderable in _pieces(lesson, sections, header):
            out.file.write(_rendered(out, renderable))  # through the console's stream: ASCII stand-ins where needed
            out.file.flush()
            if index is not None:
                written.append(index)
    except BrokenPipeError:
        _quiet_stdout()
        return CLOSED
    if not console.stdout_is_terminal():
        return UNSEEN
    completed = False
    with store_factory() as store:
        for index in written:
            completed = store.mark_section_read(lesson.id, index, len(lesson.sections)) or completed
    return COMPLETED if completed else SHOWN


def _quiet_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass
