"""Entry point: imports every command module so its commands register on ``app``.

Importing this module changes no process-wide state; :func:`main` (the
``dnn-tutor`` script) installs the signal handlers: SIGTERM and SIGHUP raise
:class:`~tutor.errors.Interrupted` (a ``KeyboardInterrupt``) where the program
is, so every clean-up written for Ctrl-C runs (the cursor comes back, a grading
child is stopped and its folder removed) and the exit code is 143 or 129. It also
holds those signals while torch first imports (:mod:`tutor.import_guard`), and
meanwhile shows "loading PyTorch…" on a terminal's stderr.
"""

from __future__ import annotations

import os
import sys

try:  # from the first import on: Ctrl-C this early is a one-line "interrupted" too, not a traceback
    import signal
    from types import FrameType

    from tutor.app import app
    from tutor.commands import core  # noqa: F401  (home, lessons, lesson, progress, doctor)
    from tutor.commands import exercises  # noqa: F401  (exercises, check, hint, init, reset)
    from tutor.commands import demos  # noqa: F401  (demos, demo, playground, data, bench)
    from tutor.commands import quiz  # noqa: F401  (quiz)
    from tutor.commands import grade  # noqa: F401  (grade, grade merge, grade report)
    from tutor import import_guard
    from tutor.errors import RECEIVED, Interrupted
except KeyboardInterrupt:  # Ctrl-C while the program is still starting: nothing has run yet
    try:
        sys.stderr.write("\ninterrupted\n")
    except (OSError, ValueError, AttributeError):
        pass
    raise SystemExit(130) from None

__all__ = ["app", "main"]

_first_at: list[float] = []  # when the first stop came (RECEIVED holds which)
SAME_STOP_SECONDS = 1.0  # `timeout` signals the program and then its process group: one stop, said twice


def _on_signal(signum: int, frame: FrameType | None) -> None:
    import time

    now = time.monotonic()
    if RECEIVED:
        if now - _first_at[0] < SAME_STOP_SECONDS:
            return  # the same stop again (timeout's second copy): the clean-up goes on, the rows get written
        # A second stop while the clean-up runs ends the program at once.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    _first_at.append(now)
    RECEIVED.append(signum)  # the command's own "stopped by SIGTERM" line and the exit code read it
    raise Interrupted(signum)


def install_signal_handlers() -> None:
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:  # pragma: no cover - Windows has no SIGHUP
            continue
        try:
            if signal.getsignal(signum) is signal.SIG_IGN and name == "SIGHUP":
                continue  # started under nohup: keep ignoring hang-ups
            signal.signal(signum, _on_signal)
        except (ValueError, OSError):  # pragma: no cover - not the main thread
            pass


def _quiet_exit(code: int) -> None:
    """Flush what is left; a reader that has gone away (a closed pipe) is no error.

    The objects alive now are frozen out of the garbage collector first (unless triton is loaded:
    :func:`tutor.import_guard.settle_for_exit`): the collections that Python runs while it shuts down
    then skip them, which takes ~0.4 s off the exit of every command that imported torch (its hundreds
    of thousands of objects were walked, to free nothing).
    """
    _ignore_stops()
    from tutor.import_guard import settle_for_exit

    settle_for_exit()  # frozen, or thawed where triton's nanobind objects must be freed
    _end_fork_server()

    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with that stream closed (`>&-`)
            continue
        try:
            stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
            except (OSError, ValueError, AttributeError):
                pass
    sys.exit(code)


def _tame_size_variables() -> None:
    """COLUMNS or LINES of thousands of digits: rich reads them with int() on every print (Python refuses
    past 4300 digits). They mean "huge", which the console caps anyway: say so in a number it can read."""
    for name, most in (("COLUMNS", "100000"), ("LINES", "100000")):
        text = os.environ.get(name, "").strip()
        if len(text) > 9 and text.isascii() and text.isdecimal():
            os.environ[name] = most


def _ignore_stops() -> None:
    """While the program exits: a late signal would raise inside the final clean-up (a traceback).

    A handler that does nothing, not SIG_IGN: an ignored signal stays ignored in every process started
    after it (through exec), and a handler does not."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            if signal.getsignal(signum) is not signal.SIG_IGN:  # (nohup's SIGHUP stays as it was)
                signal.signal(signum, _noted)
        except (ValueError, OSError):  # pragma: no cover - not the main thread
            pass


def _noted(signum: int, frame: FrameType | None) -> None:
    """A signal that came while the program was already exiting: it is exiting anyway."""


def _end_fork_server() -> None:
    """End the fork server `grade` started (its workers are already stopped). Left to notice our exit by
    itself, it lingered for seconds (busy importing torch after a Ctrl-C), and a worker asked for just
    before the Ctrl-C could still be forked after dnn-tutor had exited."""
    forkserver = sys.modules.get("multiprocessing.forkserver")
    server = getattr(forkserver, "_forkserver", None)
    pid = getattr(server, "_forkserver_pid", None)
    if not isinstance(pid, int) or pid <= 0:
        return
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (OSError, ChildProcessError):
        pass


def main() -> None:
    install_signal_handlers()
    _tame_size_variables()
    from tutor import console

    # Ctrl-C during `import torch` would abort the process; and its seconds get a "loading PyTorch…" line
    import_guard.install(notice=console.loading_notice)
    try:
        app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if RECEIVED and code == 130:  # a signal that arrived while the arguments were read
            code = 128 + RECEIVED[0]
        _quiet_exit(code)
    except KeyboardInterrupt as exc:  # Ctrl-C or a signal outside a command (e.g. during start-up)
        try:
            from tutor.terminal_menu import show_cursor

            show_cursor()
            sys.stderr.write("\ninterrupted\n")
        except (OSError, ValueError, ImportError, KeyboardInterrupt):
            pass
        _quiet_exit(int(getattr(exc, "exit_code", 130)))
    except Exception as exc:  # a bug in dnn-tutor: one line, and the traceback on request
        if os.environ.get("DNN_TUTOR_DEBUG"):
            raise
        said = " ".join(str(exc).split())
        code = 1
        if isinstance(exc, ValueError) and "integer string conversion" in said:  # Python's 4300-digit limit
            line = "error: a number in the arguments or the environment has thousands of digits: give a usable one"
            code = 2
        elif isinstance(exc, OSError):  # --help or --version written to a full disk, say: not a bug
            from tutor.errors import os_error_message

            line = "error: " + os_error_message(exc)
        elif _out_of_memory(exc):  # settings larger than the machine: not a bug
            line = (f"error: out of memory ({said[:120]}): these settings need more memory than this machine can give; "
                    "try smaller ones (fewer points, a smaller batch or network)")
        else:
            line = (f"error: internal error ({type(exc).__name__}: {said[:200]}); this is a bug in dnn-tutor: "
                    "run again with DNN_TUTOR_DEBUG=1 to see where it happened")
        try:
            sys.stderr.write(line + "\n")
        except (OSError, ValueError):
            pass
        _quiet_exit(code)


def _out_of_memory(exc: BaseException) -> bool:
    """numpy's and torch's ways of saying an allocation failed (MemoryError; "can't allocate memory")."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        words in text for words in ("can't allocate memory", "out of memory", "not enough memory", "unable to allocate"))
