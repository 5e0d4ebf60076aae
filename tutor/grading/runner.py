"""The parent side of the child process: start it, feed it jobs, collect results.

:func:`start` launches ``python -I worker.py`` at once (so its numpy import and
the learner's code overlap with the parent's torch import); :meth:`Child.wait`
collects what came back within the deadline and turns every way a child can
go wrong (a hang, a crash, exit at import, a memory hog, a flood of prints)
into a :class:`Fatal` with one line of explanation. Results are unpickled with
an allow-list, so a learner cannot smuggle objects into the parent.
"""

from __future__ import annotations

import io
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

WORKER = Path(__file__).with_name("worker.py")
MiB = 1024 * 1024

# The child's data segment (heap and private anonymous mappings, where numpy
# arrays live). Limiting it rather than the address space leaves room for
# torch's large shared libraries (the transfer exercise, or a learner who
# imports torch to compare) while still stopping a memory hog.
DATA_LIMIT = 2048 * MiB
OUTPUT_CHARS = 100_000  # learner prints kept (and the most they may print)
FILE_SIZE_LIMIT = 4 * MiB  # backstop for writes that bypass sys.stdout
STARTUP_ALLOWANCE = 60.0  # seconds for the worker's own imports, on top of --timeout

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("builtins", "complex"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED or (module == "numpy.dtypes" and name.endswith("DType")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused {module}.{name}")


def safe_loads(data: bytes):
    return _SafeUnpickler(io.BytesIO(data)).load()


@dataclass
class Fatal:
    """Why the child produced no (complete) verdict, in one line."""

    kind: str  # timeout, memory, output, crash, exit, import, syntax, protocol
    message: str
    error: dict | None = None  # the learner's exception, when there was one


@dataclass
class ChildResult:
    jobs: dict[str, dict] = field(default_factory=dict)
    fatal: Fatal | None = None
    started_job: str | None = None
    output: str = ""
    output_truncated: bool = False
    seconds: float = 0.0


class Child:
    def __init__(self, learner: Path, jobs: list[dict], *, timeout: float, needs_torch: bool = False):
        self.learner = Path(learner)
        self.timeout = timeout
        self.needs_torch = needs_torch
        self._dir = tempfile.TemporaryDirectory(prefix="dnn-tutor-check-")
        workdir = Path(self._dir.name)
        limits = {
            "fsize": FILE_SIZE_LIMIT,
            "output_chars": OUTPUT_CHARS,
            "cpu_seconds": int(timeout) + (40 if needs_torch else 10),
        }
        limits["data"] = DATA_LIMIT
        plan = {"learner": str(self.learner), "limits": limits, "needs_torch": needs_torch, "jobs": jobs}
        jobs_path = workdir / "jobs.pkl"
        jobs_path.write_bytes(pickle.dumps(plan, protocol=4))
        self._capture_path = workdir / "output.txt"
        capture = open(self._capture_path, "wb")
        read_fd, write_fd = os.pipe()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "PYTHONIOENCODING": "utf-8",
        }
        self.started = time.monotonic()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(WORKER), str(jobs_path), str(write_fd)],
                stdin=subprocess.DEVNULL,
                stdout=capture,
                stderr=capture,
                pass_fds=(write_fd,),
                cwd=str(self.learner.parent),
                env=env,
                start_new_session=True,  # Ctrl-C reaches us; we end the child ourselves
            )
        finally:
            os.close(write_fd)
            capture.close()
        self._messages: list[tuple] = []
        self._ready_at: float | None = None
        self._protocol_error: str | None = None
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, args=(read_fd,), daemon=True)
        self._reader.start()

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as stream:
            while True:
                header = stream.read(4)
                if len(header) < 4:
                    return
                (size,) = struct.unpack(">I", header)
                data = stream.read(size)
                if len(data) < size:
                    return
                try:
                    message = safe_loads(data)
                except Exception as exc:  # noqa: BLE001 - anything odd on the channel
                    with self._lock:
                        self._protocol_error = str(exc)
                    return
                with self._lock:
                    if message and message[0] == "ready":
                        self._ready_at = time.monotonic()
                    self._messages.append(message)

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        self.kill()
        self._dir.cleanup()

    def _deadline(self) -> float:
        # The learner's time starts once the worker has loaded its own
        # libraries (numpy, or torch for the transfer exercise), which can be
        # slow on a busy machine; that start-up gets its own allowance.
        with self._lock:
            ready = self._ready_at
        if ready is None:
            return self.started + STARTUP_ALLOWANCE + self.timeout
        return ready + self.timeout

    def wait(self) -> ChildResult:
        timed_out = False
        try:
            while True:
                remaining = self._deadline() - time.monotonic()
                if remaining <= 0:
                    timed_out = self.proc.poll() is None
                    break
                try:
                    self.proc.wait(timeout=min(remaining, 0.05))
                    break
                except subprocess.TimeoutExpired:
                    continue
        finally:
            self.kill()
        self._reader.join(timeout=2)
        result = ChildResult(seconds=time.monotonic() - self.started)
        result.output, result.output_truncated = self._read_output()
        with self._lock:
            messages = list(self._messages)
            protocol_error = self._protocol_error
        done = False
        imported = False
        for message in messages:
            tag = message[0]
            if tag == "imported":
                imported = True
            elif tag == "begin":
                result.started_job = message[1]
            elif tag == "job":
                result.jobs[message[1]] = message[2]
                result.started_job = None
            elif tag == "done":
                done = True
            elif tag == "import-error":
                result.fatal = _import_fatal(message[1], self.learner)
            elif tag == "fatal":
                result.fatal = Fatal("output", f"your code printed more than {OUTPUT_CHARS // 1000} kB; the run was stopped (remove prints inside loops)")
        if result.fatal is None:
            for name, job in result.jobs.items():
                for step in job.values():
                    error = step.get("error") if not step.get("ok") else None
                    if error and error.get("kind") == "memory" and result.fatal is None:
                        where = name.split("#")[0]
                        result.fatal = Fatal("memory", f"your code ran out of memory in {where}() (the limit is {self._memory_mb()} MB)", error)
        if result.output_truncated and (result.fatal is None or result.fatal.kind in ("import", "exit", "crash")):
            result.fatal = Fatal("output", f"your code printed more than {OUTPUT_CHARS // 1000} kB; the run was stopped (remove prints inside loops)")
        if result.fatal is None and protocol_error:
            result.fatal = Fatal("protocol", "the result channel was corrupted (did your code write to file descriptors it does not own?)")
        if result.fatal is None and not done:
            result.fatal = self._why_stopped(timed_out, imported, result)
        self._dir.cleanup()
        return result

    def _memory_mb(self) -> int:
        return DATA_LIMIT // MiB

    def _why_stopped(self, timed_out: bool, imported: bool, result: ChildResult) -> Fatal:
        where = f" while running {result.started_job.split('#')[0]}()" if result.started_job else (" while importing your file" if not imported else "")
        if timed_out:
            return Fatal("timeout", f"no answer within {self.timeout:g} s{where}: is there an infinite loop?")
        code = self.proc.returncode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            if name == "SIGXCPU":
                return Fatal("timeout", f"used more than {self.timeout:g} s of CPU{where}: is there an infinite loop?")
            if name in ("SIGKILL", "SIGSEGV", "SIGBUS") and result.output_truncated is False and "MemoryError" in result.output:
                return Fatal("memory", f"your code ran out of memory{where} (the limit is {self._memory_mb()} MB)")
            return Fatal("crash", f"the Python process running your code crashed with {name}{where} (os.abort, a segfault, or running out of memory)")
        if result.output_truncated:
            return Fatal("output", f"your code printed more than {OUTPUT_CHARS // 1000} kB; the run was stopped (remove prints inside loops)")
        if "MemoryError" in result.output:
            return Fatal("memory", f"your code ran out of memory{where} (the limit is {self._memory_mb()} MB)")
        return Fatal("exit", f"the process running your code exited early with status {code}{where} (does it call sys.exit() or os._exit()?)")

    def _read_output(self) -> tuple[str, bool]:
        try:
            with open(self._capture_path, "rb") as handle:
                data = handle.read(OUTPUT_CHARS * 4 + 1)
                size = os.fstat(handle.fileno()).st_size
        except OSError:
            return "", False
        text = data.decode("utf-8", errors="replace")
        # print() stops at OUTPUT_CHARS characters (at most 4 bytes each);
        # anything beyond came from writes that bypassed sys.stdout.
        truncated = size > OUTPUT_CHARS * 4 or len(text) > OUTPUT_CHARS
        return text[:OUTPUT_CHARS], truncated


def _import_fatal(error: dict, learner: Path) -> Fatal:
    kind = error.get("kind")
    if kind == "syntax":
        return Fatal("syntax", f"syntax error in {error.get('file')}, line {error.get('line')}: {error.get('message')}", error)
    if kind == "exit":
        return Fatal("exit", f"{learner.name} called sys.exit({error.get('message')}) while being imported: remove that call", error)
    if kind == "memory":
        return Fatal("memory", f"{learner.name} ran out of memory while being imported", error)
    where = ""
    frames = error.get("frames") or []
    if frames:
        where = f" (line {frames[-1]['line']})"
    return Fatal("import", f"importing {learner.name} raised {error.get('type')}: {error.get('message')}{where}", error)


def start(learner: Path, jobs: list[dict], *, timeout: float, needs_torch: bool = False) -> Child:
    return Child(learner, jobs, timeout=timeout, needs_torch=needs_torch)
