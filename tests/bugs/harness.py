"""Grade a learner file in this process: the child's job runner and the parent's judges, no child process.

Planted-bug tests grade dozens of variants; a child per variant (~2 s each,
torch imported every time) would take minutes. This runs the same plan with
the same job runner (tutor/grading/worker.py's Runner) and the same checks, in
this process, with numpy's error state as the child sets it. The tests in
test_exercise_*.py still grade some files end to end through a child process.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "tests" / "solutions"
_counter = [0]


@dataclass
class Verdict:
    id: str
    passed: bool
    code: str | None
    message: str


@dataclass
class InProcessReport:
    checks: list[Verdict]

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    def by_id(self) -> dict[str, Verdict]:
        return {c.id: c for c in self.checks}

    def failing(self) -> dict[str, tuple[str | None, str]]:
        return {c.id: (c.code, c.message) for c in self.checks if not c.passed}

    @property
    def codes(self) -> list[str]:
        seen: list[str] = []
        for c in self.checks:
            if not c.passed and c.code and c.code not in seen:
                seen.append(c.code)
        return seen


def plant(exercise: str, *replacements: tuple[str, str]) -> str:
    """The reference solution's text with each (old, new) substitution applied once or more; old must occur."""
    source = (SOLUTIONS / f"{exercise}.py").read_text()
    for old, new in replacements:
        assert old in source, f"planted bug: {old!r} not found in the {exercise} solution"
        source = source.replace(old, new)
    return source


def grade_source(exercise: str, source: str, tmp_path: Path, seed: int = 7) -> InProcessReport:
    from tutor.grading import engine, runner, worker
    from tutor.grading.compare import Mismatch

    _counter[0] += 1
    path = tmp_path / f"learner_{exercise}_{_counter[0]}.py"
    path.write_text(source)
    plan = engine.build_plan(exercise, seed)
    name = f"learner_inprocess_{_counter[0]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with np.errstate(all="ignore"):  # as the child sets it
            spec.loader.exec_module(module)
            jobs_runner = worker.Runner(module, str(path.resolve()), channel=None)
            jobs = {job["name"]: jobs_runner.run_job(job) for job in plan.jobs}
    finally:
        sys.modules.pop(name, None)
    results = engine.Results(plan, runner.ChildResult(jobs=jobs))
    verdicts = []
    for check in plan.checks:
        try:
            check.judge(results)
            verdicts.append(Verdict(check.id, True, None, "ok"))
        except Mismatch as mismatch:
            verdicts.append(Verdict(check.id, False, mismatch.outcome.code, mismatch.outcome.message))
    return InProcessReport(verdicts)
