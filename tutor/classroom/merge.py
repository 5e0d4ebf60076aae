"""Combine gradebook parts (one per shard) into one gradebook; refuse anything that does not add up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tutor.classroom import gradebook
from tutor.classroom.gradebook import Row
from tutor.errors import TutorError


@dataclass
class Merged:
    rows: list[Row]
    parts: int
    exercises: list[str]
    seeds: dict[str, int]

    def to_dict(self, out: Path, backup: Path | None) -> dict:
        return {
            "out": str(out),
            "parts": self.parts,
            "rows": len(self.rows),
            "students": len({r.student for r in self.rows}),
            "exercises": self.exercises,
            "seeds": self.seeds,
            "backup": str(backup) if backup else None,
        }


def merge(paths: list[Path]) -> Merged:
    if not paths:
        raise TutorError("give the gradebook parts to merge, e.g. dnn-tutor grade merge part*.csv --out gradebook.csv")
    resolved: dict[Path, Path] = {}
    for path in paths:
        key = Path(path).resolve()
        if key in resolved:
            raise TutorError(f"{path} is given twice")
        resolved[key] = Path(path)
    parts = [(Path(p), gradebook.read(Path(p))) for p in paths]
    first_set: tuple[Path, set[str]] | None = None
    for path, rows in parts:
        exercises = {r.exercise for r in rows}
        if not exercises:
            continue  # an empty shard (more parts than students) has nothing to disagree with
        if first_set is None:
            first_set = (path, exercises)
        elif exercises != first_set[1]:
            raise TutorError(
                f"{path} grades exercise {', '.join(sorted(exercises))} but {first_set[0]} grades "
                f"{', '.join(sorted(first_set[1]))}: these are not parts of one gradebook"
            )
    seeds: dict[str, tuple[int, Path]] = {}
    owner: dict[tuple[str, str], Path] = {}
    merged: list[Row] = []
    for path, rows in parts:
        for row in rows:
            if row.exercise in seeds and seeds[row.exercise][0] != row.seed:
                seed, where = seeds[row.exercise]
                raise TutorError(
                    f"{path} graded {row.exercise} with seed {row.seed} but {where} with seed {seed}: grade every part with the same --seed"
                )
            seeds.setdefault(row.exercise, (row.seed, path))
            if row.key in owner:
                raise TutorError(f"student {row.student!r} ({row.exercise}) is in both {owner[row.key]} and {path}: a part was graded twice")
            owner[row.key] = path
            merged.append(row)
    return Merged(
        rows=gradebook.sort_rows(merged),
        parts=len(parts),
        exercises=sorted(seeds),
        seeds={ex: s for ex, (s, _) in sorted(seeds.items())},
    )
