"""One long-lived grading worker for a notebook session (``%%dnn_check``)."""

from __future__ import annotations

import os
import selectors
import threading
import time

from tutor.classroom.pool import TASK_MARGIN, Task, Worker


class NotebookWorker:
    """One long-lived worker for a notebook session: grade-and-record requests, one at a time."""

    def __init__(self) -> None:
        self.worker: Worker | None = None
        # One request at a time: two cells graded at once (threads in one kernel) read each other's
        # answers off the one pipe, and swapped their verdicts.
        self._lock = threading.Lock()

    def request(self, task: Task) -> dict:
        with self._lock:
            return self._request(task)

    def _request(self, task: Task) -> dict:
        if self.worker is None or self.worker.proc.poll() is not None:
            if self.worker is not None:
                self.worker.stop(kill=True)
            self.worker = Worker()
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
