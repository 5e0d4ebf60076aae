"""Helpers shared by the grading tests (no tests here; imported by test_grading*.py and test_exercise_*.py)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "tests" / "solutions"
STARTERS = REPO / "exercises"


def planted(tmp_path: Path, exercise: str, *replacements: tuple[str, str], name: str | None = None) -> Path:
    """The reference solution with text substitutions applied, written under tmp_path."""
    source = (SOLUTIONS / f"{exercise}.py").read_text()
    for old, new in replacements:
        assert old in source, f"planted bug: {old!r} not found in the {exercise} solution"
        source = source.replace(old, new)
    path = tmp_path / (name or f"{exercise}.py")
    path.write_text(source)
    return path


def grade(exercise: str, path: Path, seed: int = 0, timeout: float = 30.0):
    from tutor.grading.service import grade_file as run

    return run(exercise, path, seed=seed, timeout=timeout)


def failing(report) -> dict[str, str]:
    """check id -> message of every failing check."""
    return {c.id: c.message for c in report.checks if not c.passed}


def assert_diagnosis(report, check_id: str, code: str, *fragments: str) -> None:
    by_id = {c.id: c for c in report.checks}
    check = by_id[check_id]
    assert not check.passed, f"{check_id} passed but a planted bug should fail it"
    assert check.code == code, f"{check_id}: code {check.code!r}, expected {code!r}; message: {check.message}"
    for fragment in fragments:
        assert fragment in check.message, f"{fragment!r} not in {check.message!r}"


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state) of a process, or None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()
    return int(fields[1]), fields[0].decode()


def descendants(root: int) -> set[int]:
    """Every live (non-zombie) process below ``root``."""
    import os

    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _stat(int(entry))
            if info and info[1] not in ("Z", "X"):
                parents.setdefault(info[0], []).append(int(entry))
    found: set[int] = set()
    stack = [root]
    while stack:
        for pid in parents.get(stack.pop(), []):
            if pid not in found:
                found.add(pid)
                stack.append(pid)
    return found


def worker_pids(root: int) -> list[int]:
    """Grading workers (``worker.py`` processes) below ``root``."""
    found = []
    for pid in descendants(root):
        try:
            if b"worker.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    info = _stat(pid)
    return info is not None and info[1] not in ("Z", "X")
