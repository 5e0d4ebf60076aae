"""One long-lived grading worker for a notebook session (``%%dnn_check``)."""

from __future__ import annotations

import os
import queue
import selectors
import threading
import time

from tutor.classroom.pool import TASK_MARGIN, Task, Worker


def _start_worker() -> Worker:
    """A new worker, started from a thread that lives as long as the kernel.

    The worker ends itself when the thread that started it ends (``PR_SET_PDEATHSIG`` follows the
    thread, not the process): started from a short-lived thread (a cell graded from a thread), it
    died with that thread and the next cell paid the grader's start-up again, or lost its answer.
    """
    if threading.current_thread() is threading.main_thread():
        return Worker()
    box: list = []
    done = threading.Event()
    _spawner_requests().put((box, done))
    done.wait()
    ok, value = box[0]
    if not ok:
        raise value
    return value


_requests: queue.SimpleQueue | None = None
_requests_lock = threading.Lock()


def _spawner_requests() -> queue.SimpleQueue:
    global _requests
    with _requests_lock:
        if _requests is None:
            _requests = queue.SimpleQueue()
            threading.Thread(target=_spawn_forever, args=(_requests,), name="dnn-tutor-grader-starter", daemon=True).start()
        return _requests


def _spawn_forever(requests: queue.SimpleQueue) -> None:
    while True:
        box, done = requests.get()
        try:
            box.append((True, Worker()))
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that asked
            box.append((False, exc))
        done.set()


class NotebookWorker:
    """One long-lived worker for a notebook session: grade-and-record requests, one at a time."""

    def __init__(self) -> None:
        self.worker: Worker | None = None
        self.home: str | None = None  # DNN_TUTOR_HOME when the worker started (it records there)
        # One request at a time: two cells graded at once (threads in one kernel) read each other's
        # answers off the one pipe, and swapped their verdicts.
        self._lock = threading.Lock()

    def request(self, task: Task) -> dict:
        with self._lock:
            return self._request(task)

    def _request(self, task: Task) -> dict:
        home = os.environ.get("DNN_TUTOR_HOME")
        if self.worker is not None and home != self.home:  # `%env DNN_TUTOR_HOME=...`: record where the kernel reads
            self.close()
        self.home = home
        if self.worker is None or self.worker.proc.poll() is not None:
            if self.worker is not None:
                self.worker.stop(kill=True)
            self.worker = _start_worker()
        worker = self.worker
        worker.send(task)
        assert worker.proc.stdout is not None
        selector = selectors.DefaultSelector()
        os.set_blocking(worker.proc.stdout.fileno(), False)
        selector.register(worker.proc.stdout, selectors.EVENT_READ)
        try:
            while True:
                remaining = worker.deadline - time.monotonic()
                if remaining <= 0:
                    self.close()
                    return {"error": f"the grader gave no answer within {task.timeout + TASK_MARGIN:g} s"}
                if not selector.select(timeout=min(remaining, 0.5)):
                    continue
                answers = worker.read_available()
                if answers is None:
                    why = worker.last_error_line()
                    self.close()
                    return {"error": "the grader stopped" + (f": {why}" if why else "")}
                if answers:
                    worker.fresh = False
                    worker.task = None
                    return answers[-1]
        except BaseException:
            self.close()
            raise
        finally:
            selector.close()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop(kill=True)
            self.worker = None
