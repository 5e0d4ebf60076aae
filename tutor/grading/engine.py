"""The grading engine: plan the jobs, run them in the child, judge in the parent.

An exercise spec (``tutor/grading/specs/<id>.py``) builds a :class:`Plan` from
a seeded numpy generator: child jobs (which learner functions to call on which
inputs), lazy references (PyTorch autograd, evaluated here while the child
starts) and checks (closures that compare and diagnose). :func:`grade_file`
runs it and returns a :class:`~tutor.grading.model.Report`; it records
nothing. No printing here.
"""

from __future__ import annotations

import hashlib
import importlib
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from tutor.errors import TutorError
from tutor.grading.text import visible
from tutor.grading import containment, failures, runner
from tutor.grading.compare import Mismatch, Outcome
from tutor.grading.model import CheckResult, Fatal, Frame, LearnerError, Report

DEFAULT_TIMEOUT = 20.0
MAX_TIMEOUT = 3600.0  # an hour: longer is a typo, not a plan
MAX_SEED = 2**63 - 1
MAX_FILE_BYTES = 2 * 1024 * 1024  # a learner's exercise file; the starters are a few kB

__all__ = ["CheckResult", "Fatal", "Plan", "Report", "build_plan", "grade", "grade_file", "read_learner_file"]


# ---------------------------------------------------------------- plan


def ref(key: str, item: int | None = None) -> dict[str, Any]:
    """An argument that is the learner's own result of an earlier step (e.g. a cache)."""
    return {"$ref": key} if item is None else {"$ref": key, "$item": item}


def var(name: str) -> dict[str, Any]:
    """An argument that is a job variable kept between calls (e.g. a state dict)."""
    return {"$var": name}


def call(fn: str, *args: Any, save: str, **kwargs: Any) -> dict[str, Any]:
    return {"op": "call", "fn": fn, "args": list(args), "kwargs": kwargs, "save": save}


def numgrad(fn: str, args: list[Any], *, wrt: list[Any], coords: list[Any], loss: list[Any], save: str, **kwargs: Any) -> dict[str, Any]:
    """Centred differences of sum(out[i] * weight) for (i, weight) in loss, at coords of each wrt path."""
    return {"op": "numgrad", "fn": fn, "args": args, "kwargs": kwargs, "wrt": wrt, "coords": coords, "loss": loss, "save": save}


class Lazy:
    """A reference computed once, in the parent, while the child starts."""

    def __init__(self, fn: Callable[[], Any]):
        self._fn = fn
        self._done = False
        self._value: Any = None

    def __call__(self) -> Any:
        if not self._done:
            self._value = self._fn()
            self._done = True
        return self._value


@dataclass
class Check:
    id: str
    function: str
    title: str
    threshold: float | None
    judge: Callable[["Results"], float | None]


class Plan:
    """What to run in the child (jobs), what to compute here (lazies) and how to judge (checks)."""

    def __init__(self, needs_torch: bool = False):
        self.jobs: list[dict[str, Any]] = []
        self.checks: list[Check] = []
        self.lazies: list[Lazy] = []
        self.needs_torch = needs_torch

    def job(self, name: str, *steps: dict[str, Any], variables: dict[str, Any] | None = None) -> str:
        self.jobs.append({"name": name, "steps": list(steps), "vars": variables or {}})
        return name

    def lazy(self, fn: Callable[[], Any]) -> Lazy:
        value = Lazy(fn)
        self.lazies.append(value)
        return value

    def check(self, id: str, function: str, title: str, threshold: float | None = None) -> Callable[[Callable[["Results"], float | None]], Callable[["Results"], float | None]]:
        """Decorator: register ``judge(results)`` as a check."""

        def register(judge: Callable[["Results"], float | None]) -> Callable[["Results"], float | None]:
            self.checks.append(Check(id, function, title, threshold, judge))
            return judge

        return register


# ---------------------------------------------------------------- results


class Results:
    """The child's results, with failures turned into teaching messages (by :mod:`failures`)."""

    def __init__(self, plan: Plan, child: runner.ChildResult):
        self._child = child
        self._fns = {job["name"]: {s["save"]: s.get("fn", s["op"]) for s in job["steps"]} for job in plan.jobs}

    def get(self, job: str, key: str, case: str) -> Any:
        steps = self._child.jobs.get(job)
        if steps is None:
            why = self._child.fatal.message if self._child.fatal else "the run stopped early"
            raise Mismatch(Outcome(False, f"not run: {why}", code="not-run", case=case))
        step = steps.get(key)
        if not isinstance(step, dict):
            raise Mismatch(Outcome(False, f"not run: the child sent no result for step {key!r}", code="not-run", case=case))
        if step.get("ok"):
            return step.get("value")
        raise Mismatch(self._explain(job, key, LearnerError.from_wire(step.get("error")), case))

    def explain(self, job: str, key: str, error: object, case: str) -> Mismatch:
        """A Mismatch for an error the child reported inside a step's value."""
        return Mismatch(self._explain(job, key, LearnerError.from_wire(error), case))

    def _explain(self, job: str, key: str, error: LearnerError, case: str, prefix: str = "") -> Outcome:
        fns = self._fns.get(job, {})
        function = error.function or fns.get(key, key)
        ref_function = None
        if error.kind in ("skipped", "arity") and error.ref:
            ref_function = fns.get(error.ref, error.ref)
            ref_step = self._child.jobs.get(job, {}).get(error.ref)
            if error.kind == "skipped" and isinstance(ref_step, dict) and not ref_step.get("ok"):
                return self._explain(job, error.ref, LearnerError.from_wire(ref_step.get("error")), case, prefix=f"{function} needs {ref_function}: ")
        said = failures.explain(error, function=function, case=case, prefix=prefix, ref_function=ref_function)
        trace = list(error.frames) if said.code in ("exception", "recursion") else []
        waits_for = function if said.not_started else None
        return Outcome(False, said.message, code=said.code, case=case, not_started=said.not_started, waits_for=waits_for, trace=trace)


# ---------------------------------------------------------------- grading


def file_sha256(path: Path) -> str:
    return hashlib.sha256(read_learner_file(path)).hexdigest()


def read_learner_file(path: Path) -> bytes:
    """The learner's file, read once (the bytes that are hashed are the bytes that run)."""
    from tutor.errors import os_error_exit_code, os_error_message
    from tutor.fsutil import read_regular_bytes

    try:
        return read_regular_bytes(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        from tutor.grading.workspace import missing_file

        raise missing_file(path) from None
    except OSError as exc:
        raise TutorError(visible(os_error_message(exc)), exit_code=os_error_exit_code(exc)) from None


def check_timeout(timeout: float | str) -> float:
    from tutor.options import seconds

    return seconds(timeout, "--timeout", 0.5, MAX_TIMEOUT)


def check_seed(seed: int | None) -> int:
    if seed is None:
        return secrets.randbelow(2**31)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise TutorError(f"--seed: expected a whole number from 0 to {MAX_SEED:,}, got {seed!r}")
    return seed


def build_plan(exercise_id: str, seed: int) -> Plan:
    import numpy as np

    spec = importlib.import_module(f"tutor.grading.specs.{exercise_id}")
    plan: Plan = spec.plan(np.random.default_rng(seed))
    return plan


def starter_signatures(exercise_id: str) -> dict[str, list[str]]:
    """Each top-level function of the exercise's starter: its parameter names, in order (the worker
    places a keyword the learner renamed by where the starter has it)."""
    import ast

    from tutor.grading import catalogue

    try:
        tree = ast.parse(catalogue.find(exercise_id).starter().read_bytes())
    except (OSError, SyntaxError, ValueError):
        return {}
    return {node.name: [p.arg for p in node.args.posonlyargs + node.args.args]
            for node in tree.body if isinstance(node, ast.FunctionDef)}


def grade_file(
    exercise_id: str,
    path: Path,
    *,
    seed: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    prepare: Iterable[Callable[[], object]] = (),
    read_only: list[str] | None = None,
    progress: runner.Progress | None = None,
) -> Report:
    """Grade the learner's file for ``exercise_id`` in a contained child; record nothing.

    ``prepare``: callables run in this process before the learner's code may
    start (imports of everything the caller will run afterwards). ``read_only``:
    grading one of a class, the student's own folder (or file); the child may
    then read nothing else outside the system's and Python's folders.
    ``progress``: told, while the learner's code runs, which of its functions
    runs and for how long (:class:`~tutor.grading.runner.Running`), for a status line.
    """
    from tutor.grading import catalogue

    catalogue.find(exercise_id)
    started = time.monotonic()
    timeout = check_timeout(timeout)
    seed = check_seed(seed)
    path = Path(path).resolve()
    source = read_learner_file(path)
    digest = hashlib.sha256(source).hexdigest()  # of the file as it is
    source, ipython_lines = _without_ipython(source)  # a notebook's export: %matplotlib, get_ipython() run as `pass`
    plan = build_plan(exercise_id, seed)
    with containment.signals_interrupt():
        child = runner.start(path, source, plan.jobs, timeout=timeout, needs_torch=plan.needs_torch, read_only=read_only,
                             signatures=starter_signatures(exercise_id))
        try:
            for lazy in plan.lazies:  # the references, computed while the child starts
                lazy()
            for step in prepare:
                step()
            outcome = child.wait(progress)
        finally:
            child.close()
    tree = _syntax_tree(source)  # read once, for the questions below
    stubs = raising_stubs(tree)
    uses_torch = not plan.needs_torch and (outcome.torch_loaded or imports_torch(tree))
    checks = tuple(_judge(check, Results(plan, outcome), unstarted=stubs) for check in plan.checks)
    return Report(
        exercise_id=exercise_id,
        file=str(path),
        file_hash=digest,
        seed=seed,
        checks=after_failed_callees(checks, tree),
        fatal=outcome.fatal,
        output=outcome.output,
        output_truncated=outcome.output_truncated,
        seconds=time.monotonic() - started,
        containment=outcome.containment,
        uses_torch=uses_torch,
        ipython_lines=ipython_lines,
    )


def _without_ipython(source: bytes) -> tuple[bytes, tuple[int, ...]]:
    """The bytes to run: the file's, with IPython-only statements made ``pass`` (see :mod:`tutor.grading.ipython`)."""
    from tutor.grading.ipython import without_ipython

    try:
        text = source.decode("utf-8-sig")  # a BOM is not part of the first line's statement
    except UnicodeDecodeError:
        return source, ()  # Python says what is wrong with it
    graded, lines = without_ipython(text)
    return (graded.encode("utf-8"), lines) if lines else (source, ())


def _syntax_tree(source: Any) -> Any:
    """The learner's module as an ``ast`` tree (None when it does not parse); a tree passes through."""
    import ast

    if source is None or isinstance(source, ast.AST):  # None: a source that did not parse, already tried
        return source
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def imports_torch(source: Any) -> bool:
    """Whether the file (its bytes, or its tree) imports torch anywhere: read, never run."""
    import ast

    tree = _syntax_tree(source)
    if tree is None:
        return False
    for node in _outside_main_guard(tree):
        if isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "torch" for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "torch" and not node.level:
            return True
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__" and node.args \
                and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).split(".")[0] == "torch":
            return True
    return False


def _outside_main_guard(tree: Any) -> Iterator[Any]:
    """Every node except those under ``if __name__ == "__main__":`` (a self-test the grader never runs)."""
    import ast

    stack = list(tree.body)
    while stack:
        node = stack.pop()
        test = getattr(node, "test", None) if isinstance(node, ast.If) else None
        if _is_main_guard(test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _is_main_guard(test: Any) -> bool:
    """``__name__ == "__main__"`` (either way round): a block the grader never runs. ``!=`` is the opposite."""
    import ast

    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = (test.left, test.comparators[0])
    return (any(isinstance(side, ast.Name) and side.id == "__name__" for side in sides)
            and any(isinstance(side, ast.Constant) and side.value == "__main__" for side in sides))


def raising_stubs(source: Any) -> frozenset[str]:
    """Top-level functions whose body raises NotImplementedError outright (the starters' TODO stubs).

    Read from the source (bytes, or its tree), never run: a check of a function that is itself a
    stub is "not started" even when the first thing it ran into was another stub."""
    import ast

    tree = _syntax_tree(source)
    if tree is None:
        return frozenset()
    names = set()
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        raises = False
        for statement in node.body:
            exc = statement.exc if isinstance(statement, ast.Raise) else None
            target = exc.func if isinstance(exc, ast.Call) else exc
            if isinstance(target, ast.Name) and target.id == "NotImplementedError":
                raises = True
            elif not (isinstance(statement, ast.Pass) or (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))):
                break  # real code (the old raise may linger below a return): written, not a stub
        else:
            if raises:
                names.add(node.name)
    return frozenset(names)


def calls(source: Any) -> dict[str, frozenset[str]]:
    """For each top-level function of the learner's file, the other top-level functions its code names
    (a call, or the function passed on as a value), read from the source (bytes, or its tree), never run.

    A name the function binds itself (a parameter, an assignment, an import, a nested def) is its own, not
    the file's function of that name. Where a name is defined twice, the later definition is the one that runs.
    """
    import ast

    tree = _syntax_tree(source)
    if tree is None:
        return {}
    defined = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    named: dict[str, frozenset[str]] = {}
    for name, node in defined.items():
        own: set[str] = set()
        used: set[str] = set()
        for inner in ast.walk(node):
            if isinstance(inner, ast.arguments):
                own.update(a.arg for a in (*inner.posonlyargs, *inner.args, *inner.kwonlyargs, inner.vararg, inner.kwarg) if a)
            elif isinstance(inner, ast.Name):
                (used if isinstance(inner.ctx, ast.Load) else own).add(inner.id)
            elif isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and inner is not node:
                own.add(inner.name)
            elif isinstance(inner, (ast.Import, ast.ImportFrom)):
                own.update((alias.asname or alias.name).split(".")[0] for alias in inner.names)
            elif isinstance(inner, (ast.Global, ast.Nonlocal)):
                used.update(inner.names)  # `global dense_forward`: the file's own, even where it is assigned
                own.difference_update(inner.names)
        globals_named = {n for inner in ast.walk(node) if isinstance(inner, ast.Global) for n in inner.names}
        named[name] = frozenset(n for n in used if n in defined and n != name and (n not in own or n in globals_named))
    return named


def _failed_own(check: CheckResult) -> bool:
    """A check that failed on its own function's result (not one that never ran, nor one not started yet)."""
    return not check.passed and not check.not_started and check.code != "not-run"


def after_failed_callees(checks: tuple[CheckResult, ...], source: Any) -> tuple[CheckResult, ...]:
    """Each failing check whose function calls (by the learner's code, see :func:`calls`), directly or through
    other functions of the file, a function that failed its own checks in this report: said on its message
    ("mlp_forward_backward calls dense_backward, which failed above: fix that first") and in ``calls_failed``.
    A bug in one function otherwise shows again, as if new, in every function that uses it."""
    import dataclasses

    failed_at: dict[str, int] = {}
    for index, check in enumerate(checks):
        if _failed_own(check):
            failed_at.setdefault(check.function, index)
    if len(failed_at) < 2:
        return checks
    graph = calls(source)
    out = []
    for index, check in enumerate(checks):
        if not _failed_own(check) or check.function not in graph:
            out.append(check)
            continue
        routes = _routes(graph, check.function, set(failed_at))
        if not routes:
            out.append(check)
            continue
        targets = sorted(routes, key=lambda name: failed_at[name])
        note = _callee_note(check.function, [routes[name] for name in targets],
                            above=all(failed_at[name] < index for name in targets))
        out.append(dataclasses.replace(check, message=f"{check.message} ({note})", calls_failed=tuple(targets)))
    return tuple(out)


def _routes(graph: dict[str, frozenset[str]], start: str, failed: set[str]) -> dict[str, list[str]]:
    """For each failed function ``start`` reaches through the call graph, the shortest chain of calls to it
    (a chain stops at the first failed function: the one to fix first)."""
    routes: dict[str, list[str]] = {}
    seen = {start}
    frontier = [[start]]
    while frontier:
        later = []
        for chain in frontier:
            for name in sorted(graph.get(chain[-1], ())):
                if name in seen:
                    continue
                seen.add(name)
                if name in failed:
                    routes[name] = chain + [name]
                else:
                    later.append(chain + [name])
        frontier = later
    return routes


def _callee_note(function: str, chains: list[list[str]], above: bool) -> str:
    """"f calls g, which failed above: fix that first"; "f calls g and h, …"; "f calls g, which calls h, …"."""
    parts = [", which calls ".join(chain[1:]) for chain in chains]
    named = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    where = "failed above" if above else "failed its own checks" if len(chains) == 1 else "failed their own checks"
    return f"{function} calls {named}, which {where}: fix {'that' if len(chains) == 1 else 'those'} first"


def _judge(check: Check, results: Results, unstarted: frozenset[str] = frozenset()) -> CheckResult:
    try:
        error = check.judge(results)
    except Mismatch as exc:
        o = exc.outcome
    except Exception as exc:  # noqa: BLE001 - an answer so odd the judge itself tripped over it
        o = Outcome(False, f"could not make sense of what {check.function} returned ({type(exc).__name__}: {exc})", code="unreadable")
    else:
        return CheckResult(check.id, check.function, check.title, True, error, check.threshold, "ok")
    return CheckResult(
        id=check.id,
        function=check.function,
        title=check.title,
        passed=False,
        error=o.error,
        threshold=o.threshold if o.threshold is not None else check.threshold,
        message=o.message,
        code=o.code,
        case=o.case,
        worst=o.worst,
        not_started=o.not_started,
        waits_for=(check.function if check.function in unstarted else o.waits_for) if o.not_started else None,
        trace=_frames(o.trace),
    )


def _frames(trace: Iterable[object]) -> tuple[Frame, ...]:
    frames = (Frame.from_wire(item) for item in trace)
    return tuple(frame for frame in frames if frame is not None)


def grade(exercise_id: str, path: Path, *, seed: int | None = None, timeout: float = DEFAULT_TIMEOUT) -> Report:
    """Alias of :func:`grade_file` (kept for callers of the earlier name)."""
    return grade_file(exercise_id, path, seed=seed, timeout=timeout)
