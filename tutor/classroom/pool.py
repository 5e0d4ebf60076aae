"""Grading worker processes: N at a time, each grading one submission after another.

A worker loads the grader and torch once and then grades one task after
another; every submission is still run by the grader in its own contained
child. Workers are forked from a multiprocessing fork server that imported the
grader and torch once, so N workers cost one torch import, not N (on a busy
machine that import dominates a small class). Where there is no fork server, a
worker is its own ``python -m tutor.classroom.pool`` reading one JSON task per
line on stdin and answering on a private copy of its stdout (the notebook uses
that kind). The parent (:func:`run`) hands out tasks, enforces a backstop
deadline per task, replaces a worker that dies or hangs, and calls back with
each finished row, so the caller can save it at once. Workers end when their
input closes, when their parent dies (Linux: a parent-death signal), and on
Ctrl-C or SIGTERM, after stopping their grading child. Nothing here prints.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tutor.classroom import gradebook
from tutor.classroom.gradebook import Row
from tutor.classroom.worker_process import _die_with_parent, _handle, _stop, main  # noqa: F401  (main: `python -m tutor.classroom.pool`)
from tutor.errors import TutorError
from tutor.pyproc import module_argv

LOG_PREFIX = "dnn-tutor-grade-"  # the fork workers' logs in the temporary folder: dnn-tutor-grade-<pid>-….log

MAX_FAILED_STARTS = 3
STARTUP_ALLOWANCE = 150.0  # a fresh worker loads numpy and torch; a busy machine is slow
TASK_MARGIN = 90.0  # on top of --timeout: the grader's own start-up allowance and references
MAX_LINE = 64 * 1024 * 1024


@dataclass
class Task:
    student: str
    exercise: str
    path: str
    seed: int
    timeout: float
    mode: str = "grade"  # "grade": a gradebook row; "check": grade and record, the full report
    own: str = ""  # "grade": what the student handed in (their folder, or their one file); the only thing of theirs it may read
    # (several paths joined by NUL for a Canvas submission graded from a copy: the copy's folder and the uploads)

    def to_json(self) -> str:
        return json.dumps(self.__dict__)


def _worker_env() -> dict:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class Worker:
    def __init__(self) -> None:
        self.log = tempfile.TemporaryFile(prefix="dnn-tutor-grade-")
        self.proc = subprocess.Popen(
            module_argv("tutor.classroom.pool"),  # never the notebook's folder first on its path
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=_worker_env(),
            close_fds=True,
        )
        self.started = time.monotonic()
        self.fresh = True
        self.task: Task | None = None
        self.deadline = 0.0
        self.buffer = b""

    def send(self, task: Task) -> None:
        self.task = task
        allowance = STARTUP_ALLOWANCE if self.fresh else 0.0
        self.deadline = time.monotonic() + task.timeout + TASK_MARGIN + allowance
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((task.to_json() + "\n").encode())
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass  # the worker is gone: its closed output reports it, with this task still assigned

    def fileno(self) -> int:
        assert self.proc.stdout is not None
        return self.proc.stdout.fileno()

    def terminate(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.terminate()
            except OSError:
                pass

    def read_available(self) -> list[dict] | None:
        """Answers complete so far; None once the worker has closed its output."""
        assert self.proc.stdout is not None
        try:
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
        except BlockingIOError:
            return []
        if not chunk:
            return None
        self.buffer += chunk
        if len(self.buffer) > MAX_LINE:
            return None
        answers = []
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            try:
                answers.append(json.loads(line))
            except ValueError:
                continue
        return answers

    def last_error_line(self) -> str:
        try:
            self.log.seek(0)
            return _last_line(self.log.read())
        except (OSError, ValueError):
            return ""

    def stop(self, kill: bool = False) -> None:
        """End the worker: close its input (it finishes and exits), or with ``kill`` ask it to stop now.

        A worker asked to stop first stops its grading child (SIGTERM), so no
        learner process is left behind; only one that does not exit within a
        few seconds is killed outright.
        """
        if self.proc.poll() is None:
            try:
                if kill:
                    self.terminate()
                else:
                    assert self.proc.stdin is not None
                    self.proc.stdin.close()
            except (OSError, ValueError):
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        self.log.close()


PRELOAD = ("tutor.classroom.preload", "tutor.grading.service", "tutor.classroom.adapter")  # preload: torch, GC paused
_fork_server: Any = None


def _fork_context():
    """A fork-server context that has imported the grader and torch once, or None where there is none."""
    global _fork_server
    if _fork_server is None:
        import multiprocessing

        if "forkserver" in multiprocessing.get_all_start_methods():
            _fork_server = multiprocessing.get_context("forkserver")
            _fork_server.set_forkserver_preload(list(PRELOAD))
        else:
            _fork_server = False
    return _fork_server or None


def _start_fork_server() -> None:
    """Start the fork server (once) with Ctrl-C ignored, a disposition it keeps across ``exec``.

    It imports torch first, for seconds; a Ctrl-C meant for ``grade`` reaches it too, and raised
    there it printed a traceback on the teacher's terminal (or aborted inside torch's start-up).
    CPython's fork server ignores Ctrl-C itself, but only once its imports are done. Workers forked
    from it set their own handler (:func:`_serve`); ``grade`` stops them and the server on Ctrl-C.
    """
    import threading
    from multiprocessing import forkserver

    main = threading.current_thread() is threading.main_thread()  # elsewhere there are no handlers to change
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    here, safe_path = os.getcwd(), os.environ.get("PYTHONSAFEPATH")
    # The server runs `python -c ...`, which puts its working directory first on sys.path (and CPython
    # 3.11's server ignores the path it is sent): started in the class folder, a student's numpy.py
    # or tutor/ would be imported by the process that grades everyone, outside any sandbox. So it
    # starts in an empty folder of its own, and without that entry where Python knows PYTHONSAFEPATH.
    os.chdir(_server_home())
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        forkserver.ensure_running()
    finally:
        os.chdir(here)
        if safe_path is None:
            os.environ.pop("PYTHONSAFEPATH", None)
        else:
            os.environ["PYTHONSAFEPATH"] = safe_path
        if main:
            signal.signal(signal.SIGINT, previous)


_SERVER_HOME: list[str] = []


def _server_home() -> str:
    """An empty folder, made once and removed at exit: the fork server's working directory."""
    if not _SERVER_HOME:
        import atexit
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="dnn-tutor-forkserver-")
        os.chmod(folder, 0o500)  # nothing can be put in it
        _SERVER_HOME.append(folder)
        atexit.register(shutil.rmtree, folder, True)
    return _SERVER_HOME[0]


class ForkWorker:
    """A worker forked from the fork server: N workers cost one import of torch, not N.

    Same interface as :class:`Worker`; tasks and answers are pickled over a
    multiprocessing pipe between this process and ours.
    """

    def __init__(self, context) -> None:
        from tutor.grading.containment import remove_stale_dirs

        remove_stale_dirs(LOG_PREFIX)  # logs of a grade that was killed before it could remove them
        # Named after this process, so a later grade can tell the log is stale.
        log = tempfile.NamedTemporaryFile(prefix=f"{LOG_PREFIX}{os.getpid()}-", suffix=".log", delete=False)  # noqa: SIM115
        log.close()
        self.log_path = log.name
        self.conn, child_end = context.Pipe()
        # A parent that ignores Ctrl-C (started in the background by a script) has workers that ignore it too.
        ignore_sigint = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        self.proc = context.Process(target=_serve, args=(child_end, self.log_path, ignore_sigint), daemon=True, name="dnn-tutor-grader")
        try:
            with _plain_main():
                _start_fork_server()
                self.proc.start()
        except BaseException:
            self.conn.close()
            _unlink(self.log_path)
            raise
        finally:
            child_end.close()
        self.fresh = True
        self.task: Task | None = None
        self.deadline = 0.0

    def fileno(self) -> int:
        return self.conn.fileno()

    def terminate(self) -> None:
        if self.proc.is_alive():
            try:
                self.proc.terminate()
            except OSError:
                pass

    def send(self, task: Task) -> None:
        self.task = task
        allowance = STARTUP_ALLOWANCE if self.fresh else 0.0
        self.deadline = time.monotonic() + task.timeout + TASK_MARGIN + allowance
        try:
            self.conn.send(dict(task.__dict__))
        except (OSError, ValueError):
            pass  # the worker is gone: its closed end reports it, with this task still assigned

    def read_available(self) -> list[dict] | None:
        answers = []
        try:
            while self.conn.poll():
                answers.append(self.conn.recv())
        except (EOFError, OSError):
            return None
        return answers

    def last_error_line(self) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                return _last_line(handle.read())
        except OSError:
            return ""

    def stop(self, kill: bool = False) -> None:
        if self.proc.is_alive():
            if kill:
                self.terminate()
            else:
                self.conn.close()  # the worker finishes and exits
            self.proc.join(5)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join()
        self.conn.close()
        try:
            self.proc.close()
        except ValueError:
            pass
        _unlink(self.log_path)


def _last_line(log: bytes) -> str:
    """The last non-blank line of a worker's log (what it said before it died), cut to 200 characters."""
    lines = [ln for ln in log[-4000:].decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


class _plain_main:
    """Hide the program's ``__main__`` while a worker starts.

    multiprocessing would otherwise re-run the main script in every worker to
    rebuild ``__main__`` (and fail for a program read from stdin); the worker
    needs nothing from it.
    """

    def __enter__(self) -> None:
        import types

        self._saved = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")

    def __exit__(self, *exc_info) -> None:
        if self._saved is not None:
            sys.modules["__main__"] = self._saved


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _release_fork_server() -> None:
    """Drop this worker's copy of the fork server's "parent alive" pipe.

    Every forked worker inherits it; while any worker holds it, the fork server
    cannot see that our parent died (kill -9), so it would not exit and the
    workers, whose parent it is, would get no parent-death signal.
    """
    try:
        from multiprocessing import forkserver

        server: Any = getattr(forkserver, "_forkserver", None)
        fd = getattr(server, "_forkserver_alive_fd", None)
        if fd is not None:
            os.close(fd)
            server._forkserver_alive_fd = None
    except (ImportError, AttributeError, OSError):
        pass


def _serve(conn, log_path: str, ignore_sigint: bool = False) -> None:
    """A forked worker: one task in, one answer out, until the parent closes the pipe."""
    try:
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND)
    except OSError:  # the parent gave up on this worker before the fork server got to it (Ctrl-C)
        os._exit(0)
    os.dup2(fd, 1)  # what a library prints goes to the log, never to the teacher's terminal
    os.dup2(fd, 2)
    os.close(fd)
    _release_fork_server()
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN if ignore_sigint else _stop)
    signal.signal(signal.SIGTERM, _stop)  # last: once SIGTERM is caught, every handler is in place
    try:
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                break
            conn.send(_handle(task))
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    os._exit(0)  # the grading child is already stopped; skip the tear-down


def _failed_row(task: Task, status: str, code: str, seconds: float, note: str = "") -> Row:
    from tutor.classroom.submissions import file_sha256

    try:
        digest = file_sha256(Path(task.path))
    except OSError:
        digest = ""
    return Row(task.student, task.exercise, 0, 0, status, [code], seconds, digest, task.seed, note=gradebook.note_line(note))


def run(
    tasks: list[Task],
    jobs: int,
    on_row: Callable[[Row], None],
    on_warning: Callable[[str], None] | None = None,
    fork: bool = True,
) -> None:
    """Grade every task with up to ``jobs`` workers, calling ``on_row`` in this thread as each finishes.

    On KeyboardInterrupt (or any exception) every worker is stopped before it
    propagates; rows already handed to ``on_row`` are the caller's to keep.
    """
    if not tasks:
        return  # nothing to grade: start no worker (each one loads torch)
    pending = deque(tasks)
    workers: list = []
    selector = selectors.DefaultSelector()
    failed_starts = 0  # workers in a row that died before their first answer

    context = _fork_context() if fork else None

    def add_worker():
        nonlocal context
        worker: Worker | ForkWorker | None = None
        if context is not None:
            try:
                worker = ForkWorker(context)
            except (OSError, ValueError, RuntimeError, EOFError):
                context = None  # no fork server here: one process per worker
        if worker is None:
            worker = Worker()
            os.set_blocking(worker.fileno(), False)
        selector.register(worker.fileno(), selectors.EVENT_READ, worker)
        workers.append(worker)
        return worker

    def retire(worker, kill: bool) -> None:
        try:
            selector.unregister(worker.fileno())
        except (KeyError, ValueError, OSError):
            pass
        workers.remove(worker)
        worker.stop(kill=kill)

    def give_work(worker) -> None:
        if pending:
            worker.send(pending.popleft())
        else:
            worker.task = None

    try:
        for _ in range(max(1, min(jobs, len(pending)))):
            give_work(add_worker())
        while any(w.task is not None for w in workers):
            events = selector.select(timeout=0.2)
            for key, _ in events:
                worker = key.data
                answers = worker.read_available()
                if answers is None:  # the worker died
                    task = worker.task
                    why = worker.last_error_line()
                    fresh = worker.fresh
                    retire(worker, kill=True)
                    failed_starts = failed_starts + 1 if fresh else 0
                    if failed_starts >= MAX_FAILED_STARTS:
                        raise TutorError(f"the grader cannot start{': ' + why if why else ''}", exit_code=1)
                    if task is not None:
                        if on_warning:
                            on_warning(f"the grader stopped while grading {task.student} ({task.exercise}){': ' + why if why else ''}")
                        on_row(_failed_row(task, gradebook.ERROR, "grader-crash", 0.0, f"the grader stopped{': ' + why if why else ''}"))
                        if pending:
                            give_work(add_worker())
                    continue
                for answer in answers:
                    task = worker.task
                    if task is None:
                        continue
                    row = Row(**answer["row"]) if "row" in answer else _failed_row(task, gradebook.ERROR, "grader-error", 0.0)
                    worker.fresh = False
                    on_row(row)
                    give_work(worker)
            now = time.monotonic()
            for worker in list(workers):
                if worker.task is not None and now > worker.deadline:
                    task = worker.task
                    retire(worker, kill=True)
                    on_row(_failed_row(task, "timeout", "timeout", task.timeout, "the grader gave no answer in time"))
                    if pending:
                        give_work(add_worker())
            for worker in list(workers):
                if worker.task is None:
                    retire(worker, kill=False)
    finally:
        for worker in workers:  # ask every worker at once; each stops its grading child
            worker.terminate()
        for worker in list(workers):
            retire(worker, kill=True)
        selector.close()


if __name__ == "__main__":
    main()
