"""Errors that the command line turns into one line on stderr and an exit code."""

from __future__ import annotations

import errno
import os
import signal


class TutorError(Exception):
    """A problem the learner can fix: printed as one line, never as a traceback.

    ``exit_code`` follows the CLI convention: 2 for usage errors (bad arguments,
    unknown ids, missing files), 1 for a command that ran but did not succeed.
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class StoreError(TutorError):
    """The progress database could not do what was asked (full disk, read-only, locked, damaged).

    Exit 1: the command ran but its result could not be kept as asked. The
    message says exactly what was or was not saved.
    """

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message, exit_code)


class ReaderGone(BrokenPipeError):
    """The reader of stdout went away (a closed pipe) after the command had reached a verdict.

    A closed pipe otherwise ends a command with 0 (``lessons | head -1``); a command whose exit
    code is a verdict (``check``, ``doctor``, ``grade``) keeps it: a failed check piped into a
    reader that stops early still exits 1.
    """

    def __init__(self, exit_code: int):
        super().__init__(errno.EPIPE, "the reader of this output has gone away")
        self.exit_code = int(exit_code)


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program is so ``finally`` blocks run as for Ctrl-C.

    It is a ``KeyboardInterrupt``: every clean-up written for Ctrl-C (restore the
    cursor, stop a grading child) runs for it too. The exit code is 128 + signal
    number (143 for SIGTERM, 129 for SIGHUP); plain Ctrl-C exits 130.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + int(signum)

    @property
    def name(self) -> str:
        try:
            return signal.Signals(self.signum).name
        except ValueError:  # pragma: no cover - an unusual signal number
            return f"signal {self.signum}"


RECEIVED: list[int] = []  # signals this process turned into Interrupted (the command line records them)


def interrupt_exit_code(exc: BaseException) -> int:
    """130 for Ctrl-C, 128 + N for a signal turned into :class:`Interrupted` (also where the interrupt
    reached the command as a plain KeyboardInterrupt, after a clean-up re-raised it)."""
    code = getattr(exc, "exit_code", None)
    if code is None:
        return 128 + RECEIVED[0] if RECEIVED else 130
    return int(code)


def interrupt_name(code: int) -> str:
    """"SIGTERM" for 143, and so on (``code`` from :func:`interrupt_exit_code`)."""
    try:
        return signal.Signals(code - 128).name
    except ValueError:
        return "a signal"


_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "the file name is too long",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.ENOENT: "no such file or folder",
    errno.EEXIST: "it already exists",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.ELOOP: "too many symbolic links",
    errno.EIO: "input/output error",
}


_PATH_GIVEN = (errno.ENAMETOOLONG, errno.ENOTDIR, errno.ELOOP, errno.EISDIR, errno.ENOENT)


def os_error_exit_code(exc: OSError) -> int:
    """2 where the path as given cannot name a usable file (too long, a part not a folder, a link loop, a
    folder, missing): a usage error, as the commands' other path checks say; 1 for the machine's own trouble
    (permission, a full disk, an input/output error)."""
    return 2 if exc.errno in _PATH_GIVEN else 1


def os_error_reason(exc: OSError) -> str:
    """The reason of an operating-system error in plain words ("no space left on the device")."""
    return _REASONS.get(exc.errno or -1) or exc.strerror or str(exc)


def os_error_message(exc: OSError) -> str:
    """One line for an operating-system error: the path and the reason in plain words."""
    reason = os_error_reason(exc)
    where = exc.filename
    if where is not None:
        where = os.fsdecode(where)
        if len(where) > 160:
            where = where[:70] + "…" + where[-70:]
        if exc.filename2 is not None:
            return f"cannot use {where} -> {os.fsdecode(exc.filename2)}: {reason}"
        return f"cannot use {where}: {reason}"
    return f"operating system error: {reason}"
