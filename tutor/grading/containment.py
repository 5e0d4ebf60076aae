"""The parent's side of containing a learner's code (Linux; best effort elsewhere).

- :func:`guarded` makes this process a *child subreaper* (orphans of the
  learner's processes are re-parented here, not to init) and *non-dumpable*
  (the child cannot read ``/proc/<parent>/environ`` or its memory) while a
  grade runs; both are restored when the last concurrent grade ends.
- :func:`end_tree` kills the worker's process group, every process descended
  from it, and every orphan it left that was re-parented here (a plain
  ``fork()``, a ``setsid()`` grandchild, a double fork), and reaps them.
- :func:`remove_stale_dirs` removes the temporary folders of grading runs
  whose parent died without cleaning up (``kill -9``).

The child's own side (hard limits, Landlock, dropped capabilities, the
parent-death signal) is in :mod:`tutor.grading.worker`. No printing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tutor.fsutil import remove_tree

DIR_PREFIX = "dnn-tutor-check-"
PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int] | None = None
_workers: set[int] = set()


def _prctl(option: int, value: int = 0) -> int:
    if not sys.platform.startswith("linux"):
        return -1
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if option == PR_GET_CHILD_SUBREAPER:
            out = ctypes.c_int(0)
            libc.prctl(option, ctypes.byref(out), 0, 0, 0)
            return out.value
        return int(libc.prctl(option, value, 0, 0, 0))
    except (OSError, AttributeError):
        return -1


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Subreaper and non-dumpable for as long as any grade in this process runs."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = (_prctl(PR_GET_DUMPABLE), _prctl(PR_GET_CHILD_SUBREAPER))
            _prctl(PR_SET_CHILD_SUBREAPER, 1)
            _prctl(PR_SET_DUMPABLE, 0)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                dumpable, subreaper = _saved
                if dumpable >= 0:
                    _prctl(PR_SET_DUMPABLE, dumpable)
                if subreaper >= 0:
                    _prctl(PR_SET_CHILD_SUBREAPER, subreaper)
                _saved = None


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """While grading, SIGTERM and SIGHUP raise like Ctrl-C, so the child's tree is ended and its folder removed.

    Only in the main thread (signal handlers live there); elsewhere a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: object) -> None:
        try:
            from tutor.errors import Interrupted
        except ImportError:  # pragma: no cover - an older errors module
            raise KeyboardInterrupt from None
        raise Interrupted(signum)

    saved = {}
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is None:
            continue
        try:
            previous = signal.getsignal(number)
            if previous in (signal.SIG_DFL, None):  # keep handlers the program installed itself
                saved[number] = previous
                signal.signal(number, interrupt)
        except (ValueError, OSError):
            continue
    try:
        yield
    finally:
        for number, previous in saved.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(number, previous if previous is not None else signal.SIG_DFL)


def register(pid: int) -> None:
    with _lock:
        _workers.add(pid)


def unregister(pid: int) -> None:
    with _lock:
        _workers.discard(pid)


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgid: int
    sid: int
    start: int  # clock ticks after boot


def read_proc(pid: int) -> Proc | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()
    try:
        # fields[0] is the state; then ppid, pgrp, session ... starttime is field 22 overall
        return Proc(pid, int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19]))
    except (IndexError, ValueError):
        return None


def snapshot() -> dict[int, Proc]:
    found: dict[int, Proc] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if entry.isdecimal():
            proc = read_proc(int(entry))
            if proc is not None:
                found[proc.pid] = proc
    return found


def _victims(worker: int, worker_start: int, procs: dict[int, Proc]) -> set[int]:
    me = os.getpid()
    with _lock:
        others = _workers - {worker}
    mine = os.getsid(0)
    roots: set[int] = set()
    for proc in procs.values():
        if proc.pid in (me, worker) or proc.pid in others:
            continue
        if proc.start < worker_start:
            continue
        if proc.sid == worker or proc.pgid == worker:
            roots.add(proc.pid)  # still in the worker's session: forked, never detached
        elif proc.ppid == me and proc.sid != mine:
            roots.add(proc.pid)  # detached (setsid) and orphaned: re-parented to us, the subreaper
    children: dict[int, list[int]] = {}
    for proc in procs.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    found: set[int] = set()
    stack = list(roots) + children.get(worker, [])
    while stack:
        pid = stack.pop()
        if pid in found or pid == me or pid in others or pid == worker:
            continue
        found.add(pid)
        stack.extend(children.get(pid, []))
    return found


def count_tree(worker: int, worker_start: int) -> int:
    """How many processes the worker has started that are still around (itself not counted)."""
    return len(tree(worker, worker_start))


def tree(worker: int, worker_start: int) -> set[int]:
    """The processes the worker has started that are still around (itself not included)."""
    return _victims(worker, worker_start, snapshot())


def start_time(pid: int) -> int:
    proc = read_proc(pid)
    return proc.start if proc else 0


def end_tree(worker: int, worker_start: int, *, budget: float = 3.0) -> int:
    """Kill the worker's group and every process it left behind; reap those re-parented here.

    Returns how many processes besides the worker were killed.
    """
    if not sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.killpg(worker, signal.SIGKILL)
        return 0
    with contextlib.suppress(OSError):
        os.killpg(worker, signal.SIGKILL)
    me = os.getpid()
    killed: set[int] = set()
    deadline = time.monotonic() + budget
    quiet = 0
    while time.monotonic() < deadline:
        procs = snapshot()
        victims = _victims(worker, worker_start, procs)
        for pid in victims:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        killed |= victims
        for pid in victims:
            if procs[pid].ppid == me:
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(pid, os.WNOHANG)
        alive = [pid for pid in victims if _exists(pid)]
        if not victims or not alive:
            quiet += 1
            if quiet >= 2:  # two scans in a row found nothing left: a fork in flight had time to show
                break
        else:
            quiet = 0
        time.sleep(0.005)
    return len(killed)


def process_state(pid: int) -> str:
    """The one-letter state of a process (``R`` running, ``S`` sleeping, ``T`` stopped, ``Z`` zombie...),
    or "" when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0].decode("ascii", "replace")
    except (OSError, IndexError):
        return ""


def cpu_seconds(pid: int) -> float | None:
    """CPU time process ``pid`` has used so far (user and system, all its threads), or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _exists(pid: int) -> bool:
    """Alive and not a zombie."""
    return process_state(pid) not in ("", "Z", "X")


class RunDir:
    """A private temporary folder for one run, named after this process so a later run can tell it is stale.

    :meth:`cleanup` removes it however the learner's code filled it (3,000 nested folders, no
    permissions, links) and never raises: a folder it cannot remove is left for the next run.
    """

    def __init__(self) -> None:
        self.name = tempfile.mkdtemp(prefix=f"{DIR_PREFIX}{os.getpid()}-")

    def cleanup(self) -> None:
        remove_tree(self.name)


def new_dir() -> RunDir:
    return RunDir()


def remove_stale_dirs(prefix: str = DIR_PREFIX) -> int:
    """Remove run folders (and log files) named ``<prefix><pid>-…`` whose process no longer exists. Returns how many."""
    base = Path(tempfile.gettempdir())
    removed = 0
    try:
        entries = list(base.iterdir())
    except OSError:
        return 0
    uid = os.getuid()
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        owner = entry.name[len(prefix) :].split("-", 1)[0]
        if not owner.isdecimal() or int(owner) == os.getpid():
            continue
        try:
            if entry.is_symlink() or entry.stat().st_uid != uid:
                continue
            os.kill(int(owner), 0)
            continue  # its owner is alive
        except ProcessLookupError:
            pass
        except OSError:
            continue
        if remove_tree(entry):
            removed += 1
    return removed
