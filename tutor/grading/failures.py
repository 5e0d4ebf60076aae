"""The one place where a failure of the learner's code is put into words.

The child only reports facts (an exception's type, text and frames; how the
process ended). Everything a learner reads about such a failure is written
here: :func:`explain` for an error raised by the learner's code (at import or
inside a function), :func:`stopped` for a run that ended without a complete
verdict (timeout, crash, exit, memory, output flood, a corrupted channel).
No printing.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass

from tutor.grading.model import Fatal, LearnerError, Recursion

OUTPUT_CHARS = 100_000  # learner prints kept by the parent (runner.OUTPUT_CHARS), as messages name the cap


@dataclass(frozen=True)
class Explanation:
    """A learner error in words, with the diagnosis code the check reports."""

    message: str
    code: str
    not_started: bool = False


# Added after numpy's overflow error when the same call, with numpy only warning, returned finite
# values (1 / (1 + exp(800)) is 0): compare.refine words it so.
OVERFLOW_WARNED = " (its result is finite once numpy only warns)"
# Added when the learner's code switched numpy's warnings off around the overflow (np.errstate, np.seterr):
# the grader kept them on for the stability case, and compare.refine says that hid it without preventing it.
OVERFLOW_SILENCED = " (numpy's warnings were switched off)"


def _calls(functions: tuple[str, ...]) -> str:
    """``f() calls itself``, ``f() and g() call each other``."""
    names = [f"{name}()" for name in functions]
    if len(names) == 1:
        return f"{names[0]} calls itself"
    return f"{', '.join(names[:-1])} and {names[-1]} call each other"


def recursion_words(recursion: Recursion, stopped: str | None = None) -> str:
    """A recursion that never ends, in words: who calls whom, where, how deep, and the likely cause.

    ``stopped``: how it ended ("when the time ran out"); by default, at Python's limit ("when Python stopped it at
    its limit of 1,000 nested calls")."""
    stopped = stopped or _limit_words(recursion)
    first = recursion.functions[0]
    code = f" ({recursion.code})" if recursion.code else ""
    return (f"{_calls(recursion.functions)} without end: the call at line {recursion.line}{code} was "
            f"{recursion.depth:,} calls deep {stopped} — a recursion that never ends has no base case (an `if` that returns "
            f"without calling {first}() again), or a base case its arguments never reach (does each call move them toward it?)")


def _limit_words(recursion: Recursion) -> str:
    limit = f" of {recursion.limit:,} nested calls" if recursion.limit else " on nested calls"
    return f"when Python stopped it at its limit{limit}"


def headline(error: LearnerError) -> str:
    """``TypeError: the message`` (or the syntax error's own words)."""
    if error.kind == "syntax":
        return f"SyntaxError: {error.message}"
    if error.type and not error.message.strip():  # `raise KeyboardInterrupt`: the type says it all
        return error.type
    return f"{error.type}: {error.message}" if error.type else error.message


def _where(error: LearnerError) -> str:
    if not error.frames:
        return ""
    last = error.frames[-1]
    return f" at line {last.line}: {last.code}" if last.code else f" at line {last.line}"


def explain(error: LearnerError, *, function: str, case: str | None = None, prefix: str = "", ref_function: str | None = None) -> Explanation:
    """An error raised while the child ran ``function`` on ``case``."""
    at = f" [{case}]" if case else ""
    kind = error.kind
    if kind == "not-implemented":
        return Explanation(f"{prefix}{function} is not started yet: it raises NotImplementedError (fill in its TODOs)", "not-started", True)
    if kind in ("skipped", "arity") and error.ref:
        needed = ref_function or error.ref
        what = error.message.split(", which", 1)[0].replace("needs ", "did not give ")
        return Explanation(f"{prefix}{function} could not run: {needed} {what}{at}", "arity")
    if kind in ("shape", "arity"):
        return Explanation(f"{prefix}{error.message}{at}", kind)
    if kind == "missing":
        return Explanation(f"{prefix}{error.message}", "missing")
    if kind == "exit":
        return Explanation(f"{prefix}{function} called sys.exit({error.message}){at}", "exception")
    if kind == "recursion" and error.recursion is not None:
        return Explanation(f"{prefix}{function} raised RecursionError: {recursion_words(error.recursion)}{at}",
                           "recursion")
    warned = OVERFLOW_WARNED if kind == "overflow-warned" else ""
    if error.silenced:
        warned += OVERFLOW_SILENCED
    return Explanation(f"{prefix}{function} raised {headline(error)}{warned}{_where(error)}{at}{denied_why(error)}", "exception")


def at_import(error: LearnerError, file_name: str, reads_limited: bool = False, own: list[str] | None = None) -> Fatal:
    """The learner's module failed while it was being imported. ``reads_limited``: grading one of a class,
    where a PermissionError most likely means a read outside the student's own files. ``own``: the
    learner's own folders (the file's, and a student's): a PermissionError on a path inside them, which
    may be read, was a write."""
    if error.kind == "syntax":
        return Fatal("syntax", f"syntax error in {error.file}, line {error.line}: {error.message}", error)
    if error.kind == "exit":
        return Fatal("exit", f"{file_name} called sys.exit({error.message}) while being imported: remove that call", error)
    if error.kind == "memory":
        return Fatal("memory", f"{file_name} ran out of memory while being imported", error)
    if error.kind == "recursion" and error.recursion is not None:
        return Fatal("import", f"importing {file_name} raised RecursionError: {recursion_words(error.recursion)}",
                     error, cause="recursion")
    where = f" (line {error.frames[-1].line})" if error.frames else ""
    if too_large(error):
        return file_too_large(f" while {file_name} was being imported{where}", error)
    why = denied_why(error, reads_limited, own)
    return Fatal("import", f"importing {file_name} raised {headline(error)}{where}{why}", error)


PROCESS_WORDS = ("multiprocessing", "Pool(", "Process(", "ProcessPoolExecutor", "Manager(", "Semaphore(", "Lock(",
                 "Queue(", "shared_memory", "SharedMemory")


def denied_why(error: LearnerError, reads_limited: bool = False, own: list[str] | None = None) -> str:
    """Why the grader refused what raised this PermissionError (``; ...``), or "" for any other error."""
    if error.type != "PermissionError":
        return ""
    message = error.message or ""
    denied = _denied_path(message)
    if _inside_any(denied, own or []):
        return "; exercises write no files: while it is graded, code may not write beside itself (not even in its own folder)"
    if "Operation not permitted" in message:
        # EPERM, not EACCES: no file was refused but an act on another process (os.kill of the grader, ptrace)
        return "; while it is graded, code may not act on other processes (a signal to the grader, for one)"
    if denied is None and any(word in frame.code for frame in error.frames for word in PROCESS_WORDS):
        # a bare EACCES from a line that starts processes: multiprocessing's semaphores live in /dev/shm, refused here
        return ("; while it is graded, code may not start process pools or share memory between processes "
                "(multiprocessing): the exercises compute in one process, with numpy")
    if reads_limited:
        return "; grading a class, a submission may read only its own folder (or, for <student>.py, its own file)"
    return ""


def _denied_path(message: str) -> str | None:
    """The path of ``[Errno 13] Permission denied: '/class/zara/run.log'``; None if there is none."""
    import re

    found = re.search(r"Permission denied: '(.+)'$", message or "")
    return found.group(1) if found else None


def _inside_any(path: str | None, folders: list[str]) -> bool:
    import os

    from tutor.grading.sandbox import _within

    if not path or not os.path.isabs(path):
        return False
    return any(_within(os.path.realpath(path), os.path.realpath(folder)) for folder in folders)


def output_flood() -> Fatal:
    return Fatal("output", f"your code printed more than {OUTPUT_CHARS:,} characters, the limit: its output was cut there and "
                           "the run does not count (remove prints inside loops)")


def too_many_processes(limit: int) -> Fatal:
    return Fatal("processes", f"your code started more than {limit} processes; the run was stopped (exercises need no fork() or multiprocessing)")


def too_much_disk(limit_mb: int, files: int) -> Fatal:
    return Fatal("disk", f"your code wrote more than {limit_mb} MB of files (or more than {files:,} files); the run was stopped "
                         "(exercises write no files)")


FILE_MB = 4  # the grading process's largest file (runner.FILE_SIZE_LIMIT)


def too_large(error: LearnerError) -> bool:
    """An OSError "[Errno 27] File too large": a write past the run's file-size limit (RLIMIT_FSIZE)."""
    return error.type == "OSError" and error.message.startswith("[Errno 27]")


def file_too_large(where: str, error: LearnerError | None = None, stopped: bool = True) -> Fatal:
    """``stopped``: the write ended the run (at import); in a function only that call failed, the others ran."""
    then = "the run was stopped" if stopped else "that call failed there"
    return Fatal("disk", f"your code wrote a file larger than {FILE_MB} MB{where}; {then} (exercises write no files)", error)


def memory(where: str, limit_mb: int, error: LearnerError | None = None) -> Fatal:
    return Fatal("memory", f"your code ran out of memory{where} (the limit is {limit_mb} MB)", error)


FOREIGN_FDS = "close or write to file descriptors it does not own"  # the grader's pipes: the run breaks without a word


def grader_broken(detail: str) -> Fatal:
    """The grader's own code failed in the process running the learner's: something it uses was replaced."""
    return Fatal("protocol", f"the grader's own code failed in the process running yours ({detail}): does your code replace "
                             f"something Python or numpy provide (a builtin such as isinstance, np.ndarray, pickle)? The grader "
                             f"uses them too: leave them as they are")


def protocol(detail: str = "") -> Fatal:
    why = f": {detail}" if detail else ""
    return Fatal("protocol", f"the result channel was corrupted{why} (did your code {FOREIGN_FDS}?)")


@dataclass(frozen=True)
class Ending:
    """How the child process ended, as the parent observed it."""

    timed_out: bool
    started: bool  # the child got as far as being allowed to run the learner's code
    imported: bool
    running: str | None  # the learner function the grader called last
    where: tuple[str, int, str] | None  # (function, line, the line's code) the learner's code was at when stopped
    returncode: int | None
    timeout: float
    startup_allowance: float
    output_truncated: bool
    memory_error_printed: bool
    limit_mb: int
    suspended: bool = False  # at the deadline the process was stopped by a signal (SIGSTOP, SIGTSTP), not running
    recursion: Recursion | None = None  # at the deadline the learner's code was deep in a recursion
    cpu: float | None = None  # CPU seconds the learner's code used from its start to the deadline (None: not known)


WAITING_SHARE = 0.05  # a timed-out run that used less CPU than this share of its time was waiting, not looping (a loop
# on a machine busy with other work still gets far more)


# Signals whose default action ends a process without it having crashed (the worker handles SIGUSR1 and
# ignores SIGXFSZ; SIGXCPU is the CPU limit; SIGINT raises KeyboardInterrupt in Python).
ENDING_SIGNALS = ("SIGTERM", "SIGALRM", "SIGHUP", "SIGUSR2", "SIGVTALRM", "SIGPROF", "SIGPIPE", "SIGINT", "SIGQUIT", "SIGIO",
                  "SIGPWR", "SIGSTKFLT")

_IMPORT_LINE = re.compile(r"^(import\s+[\w.]+|from\s+[\w.]+\s+import\b)")  # the line the run was stuck at imports a module


def _stuck(where: tuple[str, int, str] | None, running: str | None) -> str:
    """", stuck at line 12 in helper() (while True:)": the line the learner's code was at, where known
    (the function named only when it is not the one already named, nor a module or comprehension)."""
    if where is None:
        return ""
    function, line, quoted = where
    inner = f" in {function}()" if function != running and not function.startswith("<") else ""
    return f", stuck at line {line}{inner}" + (f" ({quoted})" if quoted else "")


def stopped(end: Ending) -> Fatal:
    """The run ended before the child said it was done: why, in one line."""
    if end.running:
        where = f" while running {end.running}()" + _stuck(end.where, end.running)
    elif not end.imported and end.started:
        where = " while importing your file" + _stuck(end.where, None)
    else:
        where = ""
    if end.timed_out and not end.started:
        return Fatal("timeout", f"the grading process did not start within {end.startup_allowance:g} s (is the machine very busy?)")
    if end.timed_out and end.suspended:
        return Fatal("timeout", f"no answer within {end.timeout:g} s{where}: the process running your code was stopped "
                                f"by a signal (SIGSTOP or SIGTSTP: does your code call os.kill or signal.raise_signal?), "
                                f"so it could not go on")
    if end.timed_out and end.where is not None and _IMPORT_LINE.match(end.where[2]):
        return Fatal("timeout", f"no answer within {end.timeout:g} s{where}: still importing, which is slow (a large "
                                f"library such as torch takes seconds), not a loop; give a longer --timeout")
    if end.timed_out and end.recursion is not None:
        return Fatal("timeout", f"no answer within {end.timeout:g} s{where}: {recursion_words(end.recursion, 'when the time ran out')}",
                     cause="recursion")
    if end.timed_out and end.cpu is not None and end.cpu < WAITING_SHARE * end.timeout:
        return Fatal("timeout", f"no answer within {end.timeout:g} s{where}: it was waiting, not computing (it used {end.cpu:.1f} s "
                                f"of CPU in those {end.timeout:g} s): does it sleep (time.sleep), or wait for input, a lock, "
                                f"another thread or a process?")
    if end.timed_out:
        return Fatal("timeout", f"no answer within {end.timeout:g} s{where}: is there an infinite loop?")
    code = end.returncode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if name == "SIGXCPU":
            return Fatal("timeout", f"used more than {end.timeout:g} s of CPU{where}: is there an infinite loop?")
        if name in ("SIGKILL", "SIGSEGV", "SIGBUS") and not end.output_truncated and end.memory_error_printed:
            return memory(where, end.limit_mb)
        if name in ENDING_SIGNALS:  # a signal that ends a process unless it is handled: sent, not a crash
            return Fatal("crash", f"the Python process running your code was ended by {name}{where}, a signal that stops a "
                                  f"process unless it is handled: does your code call signal.alarm, os.kill or signal.raise_signal?")
        if name == "SIGKILL":  # not the deadline (timed_out); the kernel's, or the worker's own when its pipe from the grader broke
            return Fatal("crash", f"the Python process running your code was killed with SIGKILL{where} (running out of memory, "
                                  f"or does your code {FOREIGN_FDS}? The run is stopped when the grader's pipes break)")
        return Fatal("crash", f"the Python process running your code crashed with {name}{where} (os.abort, a segfault, or running out of memory)")
    if end.output_truncated:
        return output_flood()
    if end.memory_error_printed:
        return memory(where, end.limit_mb)
    # status 0 is also how the worker ends, quietly, when it can no longer write its results
    fds = f", or {FOREIGN_FDS}, such as the grader's result channel" if code == 0 else ""
    return Fatal("exit", f"the process running your code exited early with status {code}{where} (does it call sys.exit() or os._exit(){fds}?)")
