"""The parent side of the child process: start it, feed it jobs, collect results.

:func:`start` launches ``python -I -B worker.py`` at once, so the child's numpy
import overlaps the parent's torch import. The learner's code itself runs only
after :meth:`Child.release` (the parent has imported everything it will run)
or, when the child reports that Landlock keeps it from writing outside its
temporary folder, as soon as it is ready. From that moment one absolute
deadline runs; nothing the child sends can move it.

:meth:`Child.wait` collects what came back, ends the child's whole process tree
(:mod:`~tutor.grading.containment`) and removes its folder, and turns every way
a child can go wrong into a :class:`~tutor.grading.model.Fatal`
(:mod:`~tutor.grading.failures` words it). Frames are capped before they are
buffered and unpickled with an allow-list, so a learner can neither exhaust
the parent's memory nor smuggle objects into it.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from tutor.fsutil import tree_over
from tutor.grading import containment, failures
from tutor.grading.model import Fatal, LearnerError, Recursion, safe_text

WORKER = Path(__file__).with_name("worker.py")
MiB = 1024 * 1024

# The child's data segment (heap and private anonymous mappings, where numpy
# arrays live). Limiting it rather than the address space leaves room for
# torch's large shared libraries (the transfer exercise, or a learner who
# imports torch to compare) while still stopping a memory hog.
DATA_LIMIT = 2048 * MiB
OUTPUT_CHARS = failures.OUTPUT_CHARS  # learner prints kept (and the most they may print)
FILE_SIZE_LIMIT = 4 * MiB  # backstop for writes that bypass sys.stdout
STARTUP_ALLOWANCE = 60.0  # seconds for the worker's own imports (numpy, torch), before the learner's time starts
MAX_FRAME = 32 * MiB  # a frame header announcing more is refused before a byte of it is read
MAX_CHANNEL = 96 * MiB  # everything the child may send in one run (real results are kilobytes)
EXTRA_PROCESSES = 64  # RLIMIT_NPROC head-room over the user's current count (not enforced for root)
MAX_PROCESSES = 32  # processes the learner's code may start before the run is stopped (fork bombs)
PROCESS_SCAN_SECONDS = 0.25
DISK_LIMIT = 64 * MiB  # what the run's folder may hold (each file is capped at FILE_SIZE_LIMIT; this caps them all)
MAX_FILES = 10_000  # files and folders in the run's folder (a learner's loop of tiny files fills the disk's inodes)
ALWAYS_GATE = False  # hold the learner's code until release() even under Landlock (tests)

_ALLOWED = {
    ("builtins", "complex"),
}
_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
_SCALAR = {("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar")}
_NUMERIC_DTYPE_CLASS = re.compile(r"(Bool|U?Int(8|16|32|64)|Float(16|32|64)|Complex(64|128)|U?Byte|U?Short|U?Int|U?Long|U?LongLong|Half|Float|Double|CFloat|CDouble)DType")
MAX_DEPTH = 24  # a real message nests about a dozen levels (the worker's sanitize stops at five)
MAX_NODES = 200_000  # values visited in one message, shared ones each time they are reached
MAX_INT_BITS = 128


class _NdarrayToken:
    """What a frame gets for ``numpy.ndarray``: usable only as the type ``_reconstruct`` is asked for.

    Called directly, ``numpy.ndarray(shape, dtype)`` would allocate any size in this process from a
    frame of a hundred bytes; an array's data must come from the frame itself (``__setstate__``).
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise pickle.UnpicklingError("refused numpy.ndarray called from a frame")


_NDARRAY = _NdarrayToken()


def _numeric(dtype: Any) -> bool:
    import numpy as np

    return (isinstance(dtype, np.dtype) and dtype.kind in "biufc" and dtype.itemsize <= 16
            and dtype.subdtype is None and dtype.fields is None)


def _dtype(obj: Any, align: Any = False, copy: Any = False) -> Any:
    """``numpy.dtype`` as a frame may call it: a plain numeric type code only (a void type of two
    gigabytes, made into a scalar, was allocated in full before anything could look at it)."""
    import numpy as np

    if not isinstance(obj, str) or len(obj) > 4:
        raise pickle.UnpicklingError("refused a dtype that is not a plain number type")
    made = np.dtype(obj, bool(align), bool(copy))
    if not _numeric(made):
        raise pickle.UnpicklingError(f"refused the dtype {obj!r}")
    return made


def _scalar(dtype: Any, data: Any = None) -> Any:
    from numpy._core.multiarray import scalar

    if not _numeric(dtype) or not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise pickle.UnpicklingError("refused a numpy scalar that is not a plain number")
    return scalar(dtype, data)


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> Any:
    import numpy as np

    if subtype is not _NDARRAY or not isinstance(shape, tuple) or len(shape) != 1 or shape[0] not in (0, 1):
        raise pickle.UnpicklingError("refused an array made other than numpy's own way")
    return np.ndarray.__new__(np.ndarray, (0,), dtype)


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _RECONSTRUCT:
            return _reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return _NDARRAY
        if (module, name) == ("numpy", "dtype"):
            return _dtype
        if (module, name) in _SCALAR:
            return _scalar
        if (module, name) in _ALLOWED or (module == "numpy.dtypes" and _NUMERIC_DTYPE_CLASS.fullmatch(name)):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused {module}.{name}")


def safe_loads(data: bytes) -> Any:
    """A frame's message: only plain data (see :func:`check_plain`) is accepted."""
    message = _SafeUnpickler(io.BytesIO(data)).load()
    check_plain(message)
    return message


def check_plain(value: Any) -> None:
    """Refuse (``pickle.UnpicklingError``) anything but plain, bounded data.

    None, bools, ints (up to 128 bits), floats, complex numbers, strings, bytes, numeric numpy arrays
    and scalars, and tuples, lists and dicts (string keys) of them, nested at most MAX_DEPTH deep
    with at most MAX_NODES values in all. A structure that holds the same list twice at every level
    pickles in a few bytes but has 2**80 paths: walking it (to compare, to print) would never end.
    """
    import numpy as np

    budget = MAX_NODES
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        budget -= 1
        if budget < 0:
            raise pickle.UnpicklingError(f"a message of more than {MAX_NODES} values")
        if depth > MAX_DEPTH:
            raise pickle.UnpicklingError(f"a message nested more than {MAX_DEPTH} deep")
        kind = type(item)
        if item is None or kind in (bool, float, complex, str, bytes):
            continue
        if kind is int:
            if item.bit_length() > MAX_INT_BITS:
                raise pickle.UnpicklingError("an integer too large for a result")
            continue
        if kind is np.ndarray or isinstance(item, np.generic):
            if item.dtype.kind not in "biufc":
                raise pickle.UnpicklingError(f"an array of dtype {item.dtype}")
            continue
        if kind in (tuple, list):
            stack.extend((v, depth + 1) for v in item)
            continue
        if kind is dict:
            for key, v in item.items():
                if type(key) is not str:
                    raise pickle.UnpicklingError("a dict key that is not a string")
                stack.append((v, depth + 1))
            continue
        raise pickle.UnpicklingError(f"a value of type {kind.__name__}")


@dataclass
class ChildResult:
    """The child's raw results: per job, per step, {"ok": True, "value": ...} or {"ok": False, "error": {...}}."""

    jobs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    fatal: Fatal | None = None
    started_job: str | None = None
    calling: str | None = None  # the learner function the worker called last in the job under way
    stuck_at: tuple[str, int] | None = None  # (function, line) the learner's code was at when the deadline came
    stuck_in: Recursion | None = None  # the recursion it was deep in then (the code quoted from the parent's own copy)
    output: str = ""
    output_truncated: bool = False
    seconds: float = 0.0
    containment: tuple[str, ...] = ()
    torch_loaded: bool = False  # libtorch was seen mapped in the child (however the learner's code imported it)


@dataclass(frozen=True)
class Running:
    """What the learner's code is doing while it runs, for a status line (see :meth:`Child.wait`).

    ``function``: the learner function running now, as the worker announced it (the one it called last in the
    check under way, else that check's own function; None before the first check); ``importing``: the file's
    top level is still running (its import, before any function); ``elapsed``: seconds since the learner's
    code was let go; ``timeout``: the seconds after which it is stopped.
    """

    function: str | None
    importing: bool
    elapsed: float
    timeout: float


Progress = Callable[[Running], None]


def torch_mapped(pid: int) -> bool:
    """Whether libtorch (a ``libtorch*.so`` file) is mapped into process ``pid``: true once any code in it imported
    torch, by any route (a helper module, ``importlib``, ``exec``), and no code can unmap it again. A process
    whose maps we may not read (it made itself non-dumpable) counts as one; one that is gone does not."""
    try:
        with open(f"/proc/{pid}/maps", "rb") as maps:
            for line in maps:
                name = line.rstrip(b"\n").rsplit(b"/", 1)[-1] if b"/" in line else b""
                if name.startswith(b"libtorch") and b".so" in name:
                    return True
    except PermissionError:
        return True
    except OSError:
        return False
    return False


class Child:
    """One contained run of the learner's code."""

    def __init__(self, learner: Path, source: bytes, jobs: list[dict[str, Any]], *, timeout: float, needs_torch: bool = False,
                 read_only: list[str] | None = None, signatures: dict[str, list[str]] | None = None):
        self.learner = Path(learner)
        self.read_only = read_only
        self.signatures = signatures or {}
        self.timeout = float(timeout)
        self.needs_torch = needs_torch
        containment.remove_stale_dirs()
        self._dir = containment.new_dir()
        self._closed = False
        self._guard = containment.guarded()
        self._guard.__enter__()
        try:
            self._spawn(source, jobs)
        except BaseException:
            self._guard.__exit__(None, None, None)
            self._dir.cleanup()
            raise

    def _spawn(self, source: bytes, jobs: list[dict[str, Any]]) -> None:
        workdir = Path(self._dir.name)
        limits: dict[str, Any] = {
            "fsize": FILE_SIZE_LIMIT,
            "output_chars": OUTPUT_CHARS + 1,  # one past what we keep: a flood shows even where the learner catches it
            "cpu_seconds": int(min(self.timeout, 1e6)) + (40 if self.needs_torch else 10),
            "data": DATA_LIMIT,
            "nproc_extra": EXTRA_PROCESSES,
        }
        if self.read_only is not None:  # a class: the student may read only their own files (and the system's)
            limits["read_only"] = [str(p) for p in self.read_only]
        self._job_names = [str(job.get("name")) for job in jobs]
        self._functions = set(_functions_called(jobs))
        self._source_lines = source.decode("utf-8", "replace").splitlines()
        plan = {"learner": str(self.learner), "source": source, "parent": os.getpid(), "limits": limits, "needs_torch": self.needs_torch, "jobs": jobs,
                "signatures": self.signatures}
        jobs_path = workdir / "jobs.pkl"
        jobs_path.write_bytes(pickle.dumps(plan, protocol=4))
        self._capture_path = workdir / "output.txt"
        result_read, result_write = os.pipe()
        go_read, go_write = os.pipe()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "PYTHONIOENCODING": "utf-8",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self._lock = threading.Lock()
        self._messages: list[tuple[Any, ...]] = []
        self._protocol_error: str | None = None
        self._broken = threading.Event()  # the channel was abused: end the run now
        self._too_many = False  # the learner's code started more than MAX_PROCESSES processes
        self._too_much_disk = False  # the run's folder grew past DISK_LIMIT or MAX_FILES
        self._torch_loaded = False  # libtorch seen mapped in the child (a numpy exercise's run; see torch_mapped)
        self._ready = False
        self._now_read = 0  # messages read so far by running()
        self._now_job: str | None = None
        self._now_calling: str | None = None
        self._now_imported = False
        self._sandboxed = False
        self._released = False
        self._go_fd: int | None = go_write
        self._go_at: float | None = None
        self._cpu_at_go: float | None = None  # the child's CPU time when the learner's code was let go
        self._cpu_used: float | None = None  # its CPU time from then to the deadline (a timed-out run)
        self._containment: tuple[str, ...] = ()
        self.started = time.monotonic()
        # The parent keeps its own descriptor on the capture file: whatever the
        # child does to the folder (a FIFO or a link in its place), we read the
        # inode it was given.
        self._capture = open(self._capture_path, "w+b")  # noqa: SIM115 - closed in close()
        capture = self._capture
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-B", str(WORKER), str(jobs_path), str(result_write), str(go_read)],
                stdin=subprocess.DEVNULL,
                stdout=capture,
                stderr=capture,
                pass_fds=(result_write, go_read),
                cwd=str(workdir),
                env=env,
                start_new_session=True,  # Ctrl-C reaches us; we end the child ourselves
            )
        except BaseException:
            os.close(result_read)
            os.close(go_write)
            capture.close()
            raise
        finally:
            os.close(result_write)
            os.close(go_read)
        containment.register(self.proc.pid)
        self._proc_start = containment.start_time(self.proc.pid)
        self._reader = threading.Thread(target=self._read, args=(result_read,), daemon=True)
        self._reader.start()
        if not self.needs_torch:  # from the start: under Landlock the learner's code runs while we load the references
            threading.Thread(target=self._watch_for_torch, daemon=True).start()

    def _watch_for_torch(self) -> None:
        """Until the worker ends, look for libtorch in it: importing torch takes seconds, so a look every
        0.1 s sees it however the learner's code imported it (see :func:`torch_mapped`)."""
        while not self._closed and self.proc.poll() is None and not self._torch_loaded:
            if torch_mapped(self.proc.pid):  # the processes it started are looked at by wait()'s scans
                self._torch_loaded = True
                return
            time.sleep(0.1)

    # -- the result channel (reader thread) ----------------------------------

    def _read(self, fd: int) -> None:
        total = 0
        with os.fdopen(fd, "rb") as stream:
            while True:
                header = stream.read(4)
                if len(header) < 4:
                    return
                (size,) = struct.unpack(">I", header)
                total += size + 4
                if size > MAX_FRAME or total > MAX_CHANNEL:
                    self._protocol(f"a frame of {size} bytes was refused")
                    return
                data = stream.read(size)
                if len(data) < size:
                    return
                try:
                    message = safe_loads(data)
                except Exception as exc:  # noqa: BLE001 - anything odd on the channel
                    self._protocol(str(exc)[:200])
                    return
                if not isinstance(message, tuple) or not message or not isinstance(message[0], str):
                    self._protocol("a frame that is not a message")
                    return
                if not self._accept(message):
                    return

    def _accept(self, message: tuple[Any, ...]) -> bool:
        with self._lock:
            first = not self._ready
            if (message[0] == "ready") != first:
                # "ready" comes once, first, from the worker before any learner code runs.
                self._protocol_error = self._protocol_error or "an unexpected ready frame"
                self._broken.set()
                return False
            if first:
                self._ready = True
                applied = message[1] if len(message) > 1 and isinstance(message[1], list) else []
                self._containment = tuple(str(x) for x in applied)
                self._sandboxed = "landlock" in self._containment and not ALWAYS_GATE
                go = self._sandboxed or self._released
            else:
                self._messages.append(message)
                go = False
        if go:
            self._go()
        return True

    def _protocol(self, why: str) -> None:
        with self._lock:
            self._protocol_error = self._protocol_error or why
        self._broken.set()

    def _go(self) -> None:
        """Let the learner's code run; the run's only deadline is fixed now.

        The descriptor stays open until the run ends: the child's watchdog
        ends its process group when it closes (or when this process dies).
        """
        with self._lock:
            if self._go_fd is None or self._go_at is not None:
                return
            self._go_at = time.monotonic()
            fd = self._go_fd
        self._cpu_at_go = containment.cpu_seconds(self.proc.pid)
        try:
            os.write(fd, b"g")
        except OSError:
            pass

    def release(self) -> None:
        """The parent has imported all it will run: the learner's code may start."""
        with self._lock:
            self._released = True
            ready = self._ready
        if ready:
            self._go()

    def running(self) -> Running | None:
        """What the learner's code is doing now (None before it was let go), read from the worker's messages
        so far: only names of the plan's own jobs and functions are ever quoted back, as in the verdict."""
        with self._lock:
            go_at = self._go_at
            new = self._messages[self._now_read:]
            self._now_read += len(new)
        for message in new:
            tag = message[0]
            if tag == "imported":
                self._now_imported = True
            elif tag == "begin" and len(message) > 1:
                name = safe_text(message[1], 200)
                if name in self._job_names:
                    self._now_job, self._now_calling = name.split("#")[0], None
            elif tag == "job":
                self._now_job = self._now_calling = None
            elif tag == "calling" and len(message) > 1:
                name = safe_text(message[1], 200)
                if name in self._functions:
                    self._now_calling = name
        if go_at is None:
            return None
        return Running(self._now_calling or self._now_job, not self._now_imported, time.monotonic() - go_at, self.timeout)

    # -- ending ----------------------------------------------------------------

    def _deadline(self) -> float:
        with self._lock:
            go_at = self._go_at
        if go_at is None:
            return self.started + STARTUP_ALLOWANCE + (30.0 if self.needs_torch else 0.0)
        return go_at + self.timeout

    def _ask_where(self, wait: float = 0.3) -> None:
        """At the deadline, ask the learner's code where it is (SIGUSR1) and give the answer a moment to arrive."""
        if self._go_at is None:  # the learner's code never started: there is nothing of theirs to point at
            return
        try:
            os.kill(self.proc.pid, signal.SIGUSR1)
        except OSError:
            return
        until = time.monotonic() + wait
        while time.monotonic() < until and not self._broken.is_set():
            with self._lock:
                if any(message[0] == "where" for message in self._messages):
                    return
            time.sleep(0.01)

    def _end(self) -> None:
        """Kill the child's whole tree, reap it, and stop the parent-side guards (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            containment.end_tree(self.proc.pid, self._proc_start)
            self.proc.wait()
            containment.end_tree(self.proc.pid, self._proc_start, budget=0.5)  # anything the group forked last
        finally:
            containment.unregister(self.proc.pid)
            with self._lock:
                fd, self._go_fd = self._go_fd, None
            if fd is not None:
                os.close(fd)
            self._guard.__exit__(None, None, None)

    def close(self) -> None:
        try:
            self._end()
        finally:
            self._capture.close()
            self._dir.cleanup()

    def wait(self, progress: Progress | None = None) -> ChildResult:
        """Wait for the run to end (or its deadline) and collect it. ``progress`` is told what the learner's code
        is doing (:class:`Running`) about twenty times a second while it runs, from this thread; an error it
        raises (other than an interrupt) only ends the telling."""
        self.release()
        timed_out = False
        self._suspended = False
        try:
            next_scan = time.monotonic() + PROCESS_SCAN_SECONDS
            while not self._broken.is_set():
                remaining = self._deadline() - time.monotonic()
                if remaining <= 0:
                    timed_out = self.proc.poll() is None
                    if timed_out and containment.count_tree(self.proc.pid, self._proc_start) > MAX_PROCESSES:
                        # a fork bomb whose children sleep reached the deadline before a scan saw it (a busy
                        # machine): call it what it is, as on a quiet one
                        self._too_many, timed_out = True, False
                    elif timed_out:
                        self._suspended = containment.process_state(self.proc.pid) in ("T", "t")  # stopped by a signal, not looping
                        cpu = containment.cpu_seconds(self.proc.pid)
                        if cpu is not None and self._cpu_at_go is not None:
                            self._cpu_used = max(0.0, cpu - self._cpu_at_go)
                        self._ask_where()
                    break
                try:
                    self.proc.wait(timeout=min(remaining, 0.05))
                    break
                except subprocess.TimeoutExpired:
                    pass
                if progress is not None:
                    try:
                        now = self.running()
                        if now is not None:
                            progress(now)
                    except Exception:  # noqa: BLE001 - a status line must never stop a grade
                        progress = None
                if time.monotonic() >= next_scan:
                    next_scan = time.monotonic() + PROCESS_SCAN_SECONDS
                    tree = containment.tree(self.proc.pid, self._proc_start)
                    if len(tree) > MAX_PROCESSES:
                        self._too_many = True
                        break
                    if not self.needs_torch and not self._torch_loaded and any(torch_mapped(pid) for pid in tree):
                        self._torch_loaded = True  # a process the learner's code forked imported torch for it
                    if tree_over(self._dir.name, DISK_LIMIT, MAX_FILES):
                        self._too_much_disk = True
                        break
            if (not self._too_many and not timed_out
                    and containment.count_tree(self.proc.pid, self._proc_start) > MAX_PROCESSES):
                self._too_many = True  # forked between two scans, by a run that ended before the next one
            self._end()
            if not self._too_many and tree_over(self._dir.name, DISK_LIMIT, MAX_FILES):
                self._too_much_disk = True  # written between two scans, by a run that ended before the next one
            self._reader.join(timeout=2)
            return self._collect(timed_out)
        finally:
            self.close()

    def _collect(self, timed_out: bool) -> ChildResult:
        result = ChildResult(seconds=time.monotonic() - self.started)
        result.output, result.output_truncated = self._read_output()
        result.torch_loaded = self._torch_loaded
        with self._lock:
            messages = list(self._messages)
            protocol_error = self._protocol_error
            started = self._go_at is not None
            result.containment = self._containment
        done = imported = False
        for message in messages:
            tag = message[0]
            if tag == "imported":
                imported = True
            elif tag == "begin" and len(message) > 1:
                name = safe_text(message[1], 200)
                if name not in self._job_names:  # only the worker's own job names are ever quoted back
                    protocol_error = protocol_error or f"a start of an unknown job {name[:60]!r}"
                    continue
                result.started_job, result.calling = name, None
            elif tag == "job" and len(message) > 2 and isinstance(message[2], dict):
                name = safe_text(message[1], 200)
                if name in result.jobs or name not in self._job_names:  # the worker sends each job once
                    protocol_error = protocol_error or f"a second or unknown result for {name[:60]!r}"
                    continue
                result.jobs[name] = message[2]
                result.started_job = result.calling = None
            elif tag == "calling" and len(message) > 1:
                name = safe_text(message[1], 200)
                if name in self._functions:  # only names the plan calls are ever quoted back
                    result.calling = name
            elif tag == "where" and len(message) > 1 and isinstance(message[1], dict):
                function, line = message[1].get("function"), message[1].get("line")
                if (isinstance(function, str) and (function.isidentifier() or re.fullmatch(r"<[a-z]+>", function) is not None)
                        and len(function) <= 100
                        and type(line) is int and 1 <= line <= len(self._source_lines)):
                    result.stuck_at = (function, line)
                    result.stuck_in = self._recursion(message[1].get("recursion"))
            elif tag == "done":
                done = True
            elif tag == "import-error" and len(message) > 1:
                result.fatal = failures.at_import(LearnerError.from_wire(message[1]), self.learner.name,
                                                  reads_limited=self.read_only is not None,
                                                  own=[str(self.learner.parent), *(self.read_only or [])])
            elif tag == "fatal" and len(message) > 1 and isinstance(message[1], dict) and message[1].get("kind") == "broken":
                result.fatal = result.fatal or failures.grader_broken(safe_text(message[1].get("message"), 200))
            elif tag == "fatal":
                result.fatal = failures.output_flood()
        if self._too_many:
            result.fatal = failures.too_many_processes(MAX_PROCESSES)
        elif self._too_much_disk:
            result.fatal = failures.too_much_disk(DISK_LIMIT // MiB, MAX_FILES)
        if result.fatal is None:
            result.fatal = self._step_fatal(result)
        if result.output_truncated and (result.fatal is None or result.fatal.kind in ("import", "exit", "crash", "disk")):
            result.fatal = failures.output_flood()
        if result.fatal is None and protocol_error:
            result.fatal = failures.protocol(protocol_error)
        if result.fatal is None and done and any(name not in result.jobs for name in self._job_names):
            # only the worker sends "done", after every job: one that comes early was written by the learner's code
            result.fatal = failures.protocol("a message said the run was done before every check had run")
        if result.fatal is None and not done:
            running = result.calling or (result.started_job.split("#")[0] if result.started_job else None)
            where = None
            recursion = None
            if timed_out and result.stuck_at is not None:
                function, line = result.stuck_at
                where = (function, line, safe_text(self._source_lines[line - 1].strip(), 80))
                recursion = result.stuck_in
            result.fatal = failures.stopped(
                failures.Ending(
                    timed_out=timed_out,
                    suspended=self._suspended,
                    cpu=self._cpu_used,
                    started=started,
                    imported=imported,
                    running=running,
                    where=where,
                    returncode=self.proc.returncode,
                    timeout=self.timeout,
                    startup_allowance=STARTUP_ALLOWANCE,
                    output_truncated=result.output_truncated,
                    memory_error_printed="MemoryError" in result.output,
                    limit_mb=DATA_LIMIT // MiB,
                    recursion=recursion,
                )
            )
        return result

    def _recursion(self, data: Any) -> Recursion | None:
        """The recursion a "where" answer says the learner's code was deep in, checked against the file: its
        functions are names, its line one of the file's (quoted from the parent's own copy of it)."""
        recursion = Recursion.from_wire(data)
        if recursion is None or recursion.line > len(self._source_lines) or recursion.depth < 2:
            return None
        if not all(name.isidentifier() or re.fullmatch(r"<[a-z]+>", name) for name in recursion.functions):
            return None
        code = safe_text(self._source_lines[recursion.line - 1].strip(), 80)
        return Recursion(recursion.functions, recursion.line, code, recursion.depth)

    def _step_fatal(self, result: ChildResult) -> Fatal | None:
        """A step error that stops the run as a whole: out of memory first, then a file past the size cap."""
        errors = [(LearnerError.from_wire(step["error"]), name.split("#")[0])
                  for name, job in result.jobs.items() for step in job.values()
                  if isinstance(step, dict) and not step.get("ok") and isinstance(step.get("error"), dict)]
        for error, job in errors:
            if error.kind == "memory":
                return failures.memory(f" in {error.function or job}()", DATA_LIMIT // MiB, error)
        for error, job in errors:
            if failures.too_large(error):
                return failures.file_too_large(f" in {error.function or job}()", error, stopped=False)
        return None

    def _read_output(self) -> tuple[str, bool]:
        try:
            fd = self._capture.fileno()
            data = os.pread(fd, OUTPUT_CHARS * 4 + 1, 0)
            size = os.fstat(fd).st_size
        except (OSError, ValueError):
            return "", False
        text = data.decode("utf-8", errors="replace")
        # print() stops at OUTPUT_CHARS characters (at most 4 bytes each);
        # anything beyond came from writes that bypassed sys.stdout.
        # print() lets one character past OUTPUT_CHARS through before it raises, so a flood shows even when the
        # learner's code catches OutputLimit and goes on; exactly OUTPUT_CHARS is honest output.
        truncated = size > OUTPUT_CHARS * 4 or len(text) > OUTPUT_CHARS
        return text[:OUTPUT_CHARS], truncated


def start(learner: Path, source: bytes, jobs: list[dict[str, Any]], *, timeout: float, needs_torch: bool = False,
          read_only: list[str] | None = None, signatures: dict[str, list[str]] | None = None) -> Child:
    """``signatures``: each graded function's parameter names in the starter, for the worker to place a
    keyword argument where the learner renamed that parameter."""
    return Child(learner, source, jobs, timeout=timeout, needs_torch=needs_torch, read_only=read_only,
                 signatures=signatures)


def _functions_called(value: Any) -> Iterator[str]:
    """Every learner function a plan's steps name (each step's "fn" and "fns", nested steps included)."""
    if isinstance(value, dict):
        if isinstance(value.get("fn"), str):
            yield value["fn"]
        if isinstance(value.get("fns"), list):
            yield from (name for name in value["fns"] if isinstance(name, str))
        for item in value.values():
            yield from _functions_called(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _functions_called(item)
