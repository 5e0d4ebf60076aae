"""How many CPU threads a fit uses: a rule that looks at what else is running right now.

The rule (:func:`auto_threads`), with ``DNN_TUTOR_THREADS`` always winning:

- off the CPU, or with one core, PyTorch's own setting;
- small work (parameters x batch below :data:`SMALL_WORK`): 1 thread, since hand-offs between
  threads cost more than the arithmetic they share;
- else one thread per core that nothing else wants *now*: usable cores minus the threads of other
  processes that are runnable at this moment (``procs_running`` in ``/proc/stat`` less this
  process's own running threads, the median of a few samples over ~20 ms), at least 1.

Why not the load average: it is a one-minute mean that still counts this tool's own previous run,
so it says "busy" on an idle machine and "idle" a few seconds after another job started. Threads
that wait at barriers for a core another process holds stall the whole step (a mnist-mlp epoch
ran 3-10x slower with 2 threads than with 1 on a busy 2-core machine), so the rule only gives a
thread a core that is free. Where ``/proc/stat`` does not exist (macOS, Windows) a ~30 ms matmul
probe times 1 thread against all of them and keeps the faster. During a long fit the choice is
looked at again between epochs (:class:`ThreadPlan`), so a job that starts mid-run costs at most
one epoch.

Reproducibility: the same seed and the same thread count give bit-identical runs. A different
thread count changes the order of some float sums (batch norm statistics), so the losses differ in
the 5th-6th digit; set ``DNN_TUTOR_THREADS`` (or ``fit(threads=...)``) for bit-identical runs
whatever else the machine is doing.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

SMALL_WORK = 5_000_000  # parameters x batch size below which one thread is fastest
_PROC_STAT = Path("/proc/stat")
_OWN_TASKS = Path("/proc/self/task")


MAX_THREADS = 1024  # as --threads: more is a typo (and tens of thousands of threads crash the OpenMP runtime)


def env_threads() -> int | None:
    """``DNN_TUTOR_THREADS`` as an int from 1 to MAX_THREADS, or None when unset or empty.

    Anything else is refused in one line (:class:`~tutor.errors.TutorError`): 99999 made torch's
    OpenMP runtime crash the process, and "abc", 0 or -1 used to be ignored without a word.
    """
    text = os.environ.get("DNN_TUTOR_THREADS", "").strip()
    if not text:
        return None
    if text.isascii() and text.isdecimal() and 1 <= int(text) <= MAX_THREADS:
        return int(text)
    from tutor.errors import TutorError

    raise TutorError(f"DNN_TUTOR_THREADS must be a whole number from 1 to {MAX_THREADS}, not {text[:40]!r} (unset it for the automatic choice)")


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _procs_running() -> int | None:
    try:
        with _PROC_STAT.open() as f:
            for line in f:
                if line.startswith("procs_running"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _own_running() -> int:
    """Threads of this process that are runnable now (this one, and any OpenMP worker still spinning)."""
    count = 0
    try:
        for task in _OWN_TASKS.iterdir():
            try:
                text = (task / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) S ...": the state follows the last ')' (comm may contain spaces or parens)
            if text[text.rfind(")") + 2:text.rfind(")") + 3] == "R":
                count += 1
    except OSError:
        return 1
    return max(1, count)


def other_runnable(samples: int = 5, interval: float = 0.004) -> float | None:
    """Threads of OTHER processes that want a CPU right now: the median over a few samples, or None
    where ``/proc/stat`` is not available."""
    values = []
    for i in range(samples):
        running = _procs_running()
        if running is None:
            return None
        values.append(max(0, running - _own_running()))
        if i + 1 < samples:
            time.sleep(interval)
    return float(statistics.median(values))


def free_cores(samples: int = 5, interval: float = 0.004) -> int | None:
    """Usable cores that no other process is using now (at least 1), or None when unknown."""
    others = other_runnable(samples, interval)
    if others is None:
        return None
    return max(1, usable_cores() - int(round(others)))


def probe_threads(candidates: list[int], seconds: float = 0.03) -> int:
    """The thread count among ``candidates`` with the fastest matmul now (interleaved, median of 3)."""
    import torch

    previous = torch.get_num_threads()
    a = torch.randn(256, 512)
    b = torch.randn(512, 512)
    timings: dict[int, list[float]] = {c: [] for c in candidates}
    per = seconds / (3 * len(candidates))
    try:
        for _ in range(3):
            for c in candidates:
                torch.set_num_threads(c)
                torch.mm(a, b)  # wake the pool
                reps, start = 0, time.perf_counter()
                while True:
                    torch.mm(a, b)
                    reps += 1
                    elapsed = time.perf_counter() - start
                    if elapsed >= per:
                        break
                timings[c].append(elapsed / reps)
    finally:
        torch.set_num_threads(previous)
    return min(candidates, key=lambda c: (statistics.median(timings[c]), c))


def _is_small(model, batch_size: int) -> bool:
    params = sum(p.numel() for p in model.parameters())
    return params * max(1, int(batch_size)) < SMALL_WORK


def auto_threads(model, batch_size: int, device) -> int:
    """CPU threads for training ``model`` now (see the module's docstring for the rule)."""
    import torch

    fixed = env_threads()
    if fixed:
        return fixed
    default = torch.get_num_threads()
    if getattr(device, "type", str(device)) != "cpu" or default <= 1:
        return default
    if _is_small(model, batch_size):
        return 1
    free = free_cores()
    if free is None:
        return probe_threads(sorted({1, default}))
    return max(1, min(default, free))


class ThreadPlan:
    """The threads of one fit: chosen at the start, looked at again between long epochs, and the
    process's previous setting put back at the end (``with ThreadPlan(...) as plan:``).

    ``requested`` (a positive int) or ``DNN_TUTOR_THREADS`` fixes the count for the whole fit.
    """

    RECHECK_AFTER_S = 0.2  # only epochs at least this long are worth a ~10 ms look

    def __init__(self, model, batch_size: int, device, requested: int | None = None):
        import torch

        self._torch = torch
        self.previous = torch.get_num_threads()
        on_cpu = getattr(device, "type", str(device)) == "cpu"
        fixed = requested if requested and requested > 0 else env_threads()
        self.adaptive = bool(on_cpu and not fixed and self.previous > 1 and not _is_small(model, batch_size)
                             and _PROC_STAT.exists())
        self.ceiling = self.previous
        self.threads = fixed or auto_threads(model, batch_size, device)

    def __enter__(self) -> "ThreadPlan":
        if self.threads != self.previous:
            self._torch.set_num_threads(self.threads)
        return self

    def __exit__(self, *exc) -> None:
        if self._torch.get_num_threads() != self.previous:
            self._torch.set_num_threads(self.previous)

    def recheck(self, last_epoch_seconds: float) -> int:
        """Between epochs: follow what the machine has free now. Returns the threads in use."""
        if self.adaptive and last_epoch_seconds >= self.RECHECK_AFTER_S:
            free = free_cores(samples=3, interval=0.003)
            if free is not None:
                wanted = max(1, min(self.ceiling, free))
                if wanted != self.threads:
                    self._torch.set_num_threads(wanted)
                    self.threads = wanted
        return self.threads
