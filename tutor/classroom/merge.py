"""Combine gradebook parts (one per shard) into one gradebook; refuse anything that does not add up.

Student ids are read in Unicode's composed form (:func:`gradebook.composed`), as grading gives them: ``Zoë``
decomposed in one part (a part an older dnn-tutor graded from a macOS folder) and composed in another is one
student in both parts, refused as any student graded in two parts is."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tutor.classroom import gradebook
from tutor.classroom.gradebook import Row
from tutor.classroom.submissions import nfc
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
    resolved: dict[object, Path] = {}
    for path in paths:
        try:
            info = os.stat(path)
            key: object = (info.st_dev, info.st_ino)  # one file under two names (a link) is given twice too
        except OSError:
            key = Path(path).resolve()  # gradebook.read says why it cannot be read
        if key in resolved:
            same = "" if Path(path).resolve() == Path(resolved[key]).resolve() else f" (as {resolved[key]} and {path})"
            raise TutorError(f"{path} is given twice{same}")
        resolved[key] = Path(path)
    # each part's ids in Unicode's composed form, as grading gives them: one name in two forms is one student
    read = [(Path(p), gradebook.read(Path(p))) for p in paths]
    written = {(path, nfc(r.student), r.exercise): r.student for path, rows in read for r in rows}  # the ids as written
    parts = [(path, gradebook.composed(rows, str(path))) for path, rows in read]
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
                first, here = written[(owner[row.key], row.key[0], row.key[1])], written[(path, row.key[0], row.key[1])]
                if first != here:  # one name in two Unicode forms: an older dnn-tutor graded one part
                    raise TutorError(
                        f"student {row.student!r} ({row.exercise}) is in both {owner[row.key]} (as {ascii(first)}) and "
                        f"{path} (as {ascii(here)}): one name in two Unicode forms (composed, and decomposed as macOS "
                        f"writes names), likely as an older dnn-tutor, which kept the forms apart, graded one part: grade "
                        f"that part again into a new --out, or delete one of the two rows, then merge"
                    )
                raise TutorError(f"student {row.student!r} ({row.exercise}) is in both {owner[row.key]} and {path}: a part was graded twice")
            owner[row.key] = path
            merged.append(row)
    return Merged(
        rows=gradebook.sort_rows(merged),
        parts=len(parts),
        exercises=sorted(seeds),
        seeds={ex: s for ex, (s, _) in sorted(seeds.items())},
    )
