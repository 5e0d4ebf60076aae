"""The grading engine: plan the jobs, run them in the child, judge in the parent.

An exercise spec (``tutor/grading/specs/<id>.py``) builds a :class:`Plan` from
a seeded numpy generator: child jobs (which learner functions to call on which
inputs), lazy references (PyTorch autograd, evaluated here while the child
works) and checks (closures that compare and diagnose). :func:`grade` runs it
and returns a :class:`Report`. No printing here.
"""

from __future__ import annotations

import hashlib
import importlib
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from tutor.grading import runner
from tutor.grading.compare import Mismatch, Outcome

DEFAULT_TIMEOUT = 20.0


# ---------------------------------------------------------------- plan


def ref(key: str, item: int | None = None) -> dict:
    """An argument that is the learner's own result of an earlier step (e.g. a cache)."""
    return {"$ref": key} if item is None else {"$ref": key, "$item": item}


def var(name: str) -> dict:
    """An argument that is a job variable kept between calls (e.g. a state dict)."""
    return {"$var": name}


def call(fn: str, *args, save: str, **kwargs) -> dict:
    return {"op": "call", "fn": fn, "args": list(args), "kwargs": kwargs, "save": save}


def numgrad(fn: str, args: list, *, wrt: list, coords: list, loss: list, save: str, **kwargs) -> dict:
    """Centred differences of sum(out[i] * weight) for (i, weight) in loss, at coords of each wrt path."""
    return {"op": "numgrad", "fn": fn, "args": args, "kwargs": kwargs, "wrt": wrt, "coords": coords, "loss": loss, "save": save}


class Lazy:
    def __init__(self, fn: Callable):
        self._fn = fn
        self._done = False
        self._value = None

    def __call__(self):
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
    def __init__(self, needs_torch: bool = False):
        self.jobs: list[dict] = []
        self.checks: list[Check] = []
        self.lazies: list[Lazy] = []
        self.needs_torch = needs_torch

    def job(self, name: str, *steps: dict, variables: dict | None = None) -> str:
        self.jobs.append({"name": name, "steps": list(steps), "vars": variables or {}})
        return name

    def lazy(self, fn: Callable) -> Lazy:
        value = Lazy(fn)
        self.lazies.append(value)
        return value

    def check(self, id: str, function: str, title: str, threshold: float | None = None):
        """Decorator: register ``judge(results)`` as a check."""

        def register(judge):
            self.checks.append(Check(id, function, title, threshold, judge))
            return judge

        return register


# ---------------------------------------------------------------- results


class Results:
    """The child's results, with failures turned into teaching messages."""

    def __init__(self, plan: Plan, child: runner.ChildResult):
        self._child = child
        self._fns = {job["name"]: {s["save"]: s.get("fn", s["op"]) for s in job["steps"]} for job in plan.jobs}

    def get(self, job: str, key: str, case: str):
        steps = self._child.jobs.get(job)
        if steps is None:
            why = self._child.fatal.message if self._child.fatal else "the run stopped early"
            raise Mismatch(Outcome(False, f"not run: {why}", code="not-run", case=case))
        step = steps[key]
        if step["ok"]:
            return step["value"]
        raise Mismatch(self._explain(job, key, step["error"], case))

    def explain(self, job: str, key: str, error: dict, case: str) -> Mismatch:
        """A Mismatch for an error the child reported inside a step's value."""
        return Mismatch(self._explain(job, key, error, case))

    def _explain(self, job: str, key: str, error: dict, case: str, prefix: str = "") -> Outcome:
        fn = error.get("function") or self._fns.get(job, {}).get(key, key)
        kind = error.get("kind")
        if kind in ("skipped", "arity") and error.get("ref"):
            ref_key = error["ref"]
            ref_fn = self._fns.get(job, {}).get(ref_key, ref_key)
            ref_step = self._child.jobs[job].get(ref_key)
            if kind == "skipped" and ref_step and not ref_step["ok"]:
                return self._explain(job, ref_key, ref_step["error"], case, prefix=f"{fn} needs {ref_fn}: ")
            return Outcome(False, f"{prefix}{fn} could not run: {ref_fn} {error.get('message', '').split(', which', 1)[0].replace('needs ', 'did not give ')} [{case}]", code="arity", case=case)
        if kind == "not-implemented":
            return Outcome(False, f"{prefix}{fn} is not started yet: it raises NotImplementedError (fill in its TODOs)", code="not-started", case=case, not_started=True)
        if kind in ("shape", "arity"):
            return Outcome(False, f"{prefix}{error.get('message')} [{case}]", code=kind, case=case)
        if kind == "missing":
            return Outcome(False, f"{prefix}{error.get('message')}", code="missing", case=case)
        if kind == "exit":
            return Outcome(False, f"{prefix}{fn} called sys.exit({error.get('message')}) [{case}]", code="exception", case=case, trace=error.get("frames", []))
        frames = error.get("frames") or []
        where = f" at line {frames[-1]['line']}: {frames[-1]['code']}" if frames else ""
        return Outcome(
            False,
            f"{prefix}{fn} raised {error.get('type')}: {error.get('message')}{where} [{case}]",
            code="exception",
            case=case,
            trace=frames,
        )


# ---------------------------------------------------------------- report


@dataclass
class CheckResult:
    id: str
    function: str
    title: str
    passed: bool
    error: float | None
    threshold: float | None
    message: str
    code: str | None = None
    case: str | None = None
    worst: dict | None = None
    not_started: bool = False
    trace: list = field(default_factory=list)


@dataclass
class Report:
    exercise_id: str
    file: str
    file_hash: str
    seed: int
    checks: list[CheckResult]
    fatal: dict | None
    output: str
    output_truncated: bool
    seconds: float

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def total(self) -> int:
        return len(self.checks)

    @property
    def not_started(self) -> bool:
        return self.fatal is None and self.passed == 0 and all(c.not_started for c in self.checks)

    @property
    def ok(self) -> bool:
        return self.fatal is None and self.passed == self.total

    @property
    def status(self) -> str:
        if self.not_started:
            return "not started"
        if self.ok:
            return "done"
        return f"{self.passed} of {self.total} checks"

    @property
    def codes(self) -> list[str]:
        """Diagnostic codes of the failing checks, first failure first, without repeats."""
        seen: list[str] = []
        if self.fatal:
            seen.append(self.fatal["kind"])
        for check in self.checks:
            if not check.passed and check.code and check.code not in seen:
                seen.append(check.code)
        return seen

    def to_dict(self) -> dict:
        """The ``check --json`` document.

        exercise, file, file_sha256, seed (repeat with --seed), passed, total,
        status ("not started" / "n of m checks" / "done"), ok, fatal (null or
        {kind, message, error}), checks (each: id, function, title, passed,
        error, threshold, message, code, case, worst {tensor, index, expected,
        got}, not_started, trace), codes (diagnoses of the failing checks,
        first first), output (the learner's prints), output_truncated, seconds.
        """
        return {
            "exercise": self.exercise_id,
            "file": self.file,
            "file_sha256": self.file_hash,
            "seed": self.seed,
            "passed": self.passed,
            "total": self.total,
            "status": self.status,
            "ok": self.ok,
            "fatal": self.fatal,
            "checks": [asdict(c) for c in self.checks],
            "codes": self.codes,
            "output": self.output,
            "output_truncated": self.output_truncated,
            "seconds": round(self.seconds, 3),
        }


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def build_plan(exercise_id: str, seed: int) -> Plan:
    import numpy as np

    spec = importlib.import_module(f"tutor.grading.specs.{exercise_id}")
    return spec.plan(np.random.default_rng(seed))


def grade(exercise_id: str, path: Path, *, seed: int | None = None, timeout: float = DEFAULT_TIMEOUT) -> Report:
    """Grade the learner's file for ``exercise_id``; the file is only read."""
    started = time.monotonic()
    path = Path(path).resolve()
    digest = file_sha256(path)
    if seed is None:
        seed = secrets.randbelow(2**31)
    plan = build_plan(exercise_id, seed)
    child = runner.start(path, plan.jobs, timeout=timeout, needs_torch=plan.needs_torch)
    try:
        for lazy in plan.lazies:  # the references, computed while the child works
            lazy()
        outcome = child.wait()
    except BaseException:
        child.close()
        raise
    results = Results(plan, outcome)
    checks = []
    for check in plan.checks:
        try:
            error = check.judge(results)
            checks.append(CheckResult(check.id, check.function, check.title, True, error, check.threshold, "ok"))
        except Exception as exc:  # noqa: BLE001 - an answer so odd the judge itself tripped over it
            if not isinstance(exc, Mismatch):
                exc = Mismatch(Outcome(False, f"could not make sense of what {check.function} returned ({type(exc).__name__}: {exc})", code="unreadable"))
            o = exc.outcome
            checks.append(
                CheckResult(
                    check.id,
                    check.function,
                    check.title,
                    False,
                    o.error,
                    o.threshold if o.threshold is not None else check.threshold,
                    o.message,
                    o.code,
                    o.case,
                    o.worst,
                    o.not_started,
                    o.trace,
                )
            )
    fatal = None
    if outcome.fatal:
        fatal = {"kind": outcome.fatal.kind, "message": outcome.fatal.message, "error": outcome.fatal.error}
    return Report(
        exercise_id=exercise_id,
        file=str(path),
        file_hash=digest,
        seed=seed,
        checks=checks,
        fatal=fatal,
        output=outcome.output,
        output_truncated=outcome.output_truncated,
        seconds=time.monotonic() - started,
    )
