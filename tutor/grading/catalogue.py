"""The exercise catalogue (exercises/info.toml) and finding the exercise for a file."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tutor import paths
from tutor.errors import TutorError
from tutor.grading.text import visible

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class ExerciseInfo:
    id: str
    lesson: int
    file: str
    title: str
    summary: str
    functions: tuple[str, ...]
    hints: tuple[str, ...]
    tailored: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    concepts: dict[str, str] = field(default_factory=dict, hash=False, compare=False)  # code -> quiz question id

    def starter(self) -> Path:
        return paths.exercises_dir() / self.file


def load(path: Path | None = None) -> dict[str, ExerciseInfo]:
    path = path or paths.exercises_dir() / "info.toml"
    return _load(str(path))


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, ExerciseInfo]:
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    found: dict[str, ExerciseInfo] = {}
    for entry in data.get("exercise", []):
        info = ExerciseInfo(
            id=entry["id"],
            lesson=int(entry["lesson"]),
            file=entry["file"],
            title=entry["title"],
            summary=entry["summary"],
            functions=tuple(entry["functions"]),
            hints=tuple(entry["hints"]),
            tailored=dict(entry.get("tailored", {})),
            concepts=dict(entry.get("concepts", {})),
        )
        found[info.id] = info
    return found


def ids() -> list[str]:
    return list(load())


def find(exercise_id: str) -> ExerciseInfo:
    catalogue = load()
    if exercise_id not in catalogue:
        raise TutorError(f"unknown exercise {exercise_id!r}; valid ids: {', '.join(catalogue)}")
    return catalogue[exercise_id]


def for_name(name: str) -> ExerciseInfo | None:
    """The exercise a file name stands for, its id read in any case (``Backprop.py``, ``backprop.PY``,
    ``backprop``), or None."""
    return load().get(Path(name).stem.lower())


def near_miss(name: str) -> str | None:
    """The exercise a file name seems meant to be (``backprop (1).py``, ``backprop-2.py``, ``backprop_v2.py``), as
    ``grade`` reads a student's file name, or the one exercise id it holds as a word (``my_backprop.py``); None
    when it looks like none or like several."""
    from tutor.classroom.submissions import is_near_miss

    meant = [exercise_id for exercise_id, info in load().items() if is_near_miss(name, info.file)]
    if meant:
        return max(meant, key=len)
    import re

    words = set(re.split(r"[^a-z0-9]+", Path(name).stem.lower()))  # my_backprop.py, hw2-lstm.py
    named = [exercise_id for exercise_id in load() if exercise_id in words]
    return named[0] if len(named) == 1 else None


def for_file(path: Path, exercise_id: str | None = None) -> ExerciseInfo:
    """The exercise a file is graded as: ``--exercise`` if given, else the id its name stands for."""
    if exercise_id is not None:  # `--exercise ''` is a mistake, not "guess from the name"
        return find(exercise_id)
    name = Path(path).name
    info = for_name(name)
    if info is not None:
        return info
    meant = near_miss(name)
    if meant is not None:
        raise TutorError(f"cannot tell which exercise {visible(name)} is: the file name is not an exercise id "
                         f"(did you mean --exercise {meant}?)")
    raise TutorError(f"cannot tell which exercise {visible(name)} is (the file name is not an exercise id); "
                     f"pass --exercise with one of: {', '.join(load())}")
