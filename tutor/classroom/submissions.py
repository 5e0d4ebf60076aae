"""Finding a class's submissions and splitting the class into shards.

A submissions folder holds either one folder per student (the folder name is
the student id) with the exercise's file in it (``alice/backprop.py``, or
``alice/exercises/backprop.py`` for a copied workspace), or files named
``<student>.py`` (then the exercise must be named). Names starting with ``.``
or ``_`` are ignored. Nothing here prints.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from tutor.classroom.gradebook import AMBIGUOUS
from tutor.errors import TutorError

MAX_FILE_BYTES = 2 * 1024 * 1024  # no real exercise file is this big


@dataclass(frozen=True)
class Submission:
    student: str
    exercise: str
    path: Path | None  # None: the student has no file for this exercise
    problem: str = ""  # "missing", "unreadable" or "ambiguous" when the file cannot be graded
    others: tuple[str, ...] = ()  # missing: the .py files the student's folder does hold; ambiguous: the entries that name the student
    root: Path | None = None  # what the student handed in: their folder, or their one file


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, student: str) -> bool:
        return shard_of(student, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """``"3/8"`` -> Shard(3, 8); one clear line for anything else."""
    raw = (text or "").strip()
    parts = raw.split("/")
    usage = f"--shard must be K/N with 1 <= K <= N (e.g. 3/8), not {raw!r}"
    if len(parts) != 2 or not all(p.strip().isdecimal() for p in parts):
        raise TutorError(usage)
    k, n = int(parts[0]), int(parts[1])
    if n < 1 or k < 1 or k > n:
        raise TutorError(usage)
    if n > 100_000:
        raise TutorError(f"--shard {raw}: at most 100000 parts")
    return Shard(k, n)


def shard_of(student: str, count: int) -> int:
    """The 1-based part a student belongs to: a stable hash of the id (the same on every machine and run)."""
    digest = hashlib.sha256(student.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def student_id(name: str) -> str:
    """The id a folder or file name gives a student: printable UTF-8, whatever bytes the name holds.

    Bytes that are not UTF-8 become ``\\xff`` and control characters (a newline,
    a tab, an escape sequence) their escapes, so an id can go into a CSV file,
    JSON and a terminal as it is. The name itself is still what is read.
    """
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _visible(entry: os.DirEntry) -> bool:
    return not entry.name.startswith((".", "_"))


def discover(folder: Path, exercise_files: dict[str, str], exercise: str | None) -> list[Submission]:
    """Every (student, exercise) to grade in ``folder``.

    ``exercise_files`` maps exercise id -> file name (from the catalogue).
    With ``exercise`` None, the exercises are those whose files appear in the
    students' folders.
    """
    folder = Path(folder)
    if not folder.exists():
        raise TutorError(f"no such folder: {folder}")
    if not folder.is_dir():
        raise TutorError(f"{folder} is not a folder: give the folder that holds one folder (or one .py file) per student")
    try:
        entries = sorted((e for e in os.scandir(folder) if _visible(e)), key=lambda e: e.name)
    except OSError as exc:
        raise TutorError(f"cannot read {folder}: {exc.strerror or exc}") from None
    dirs = [e for e in entries if e.is_dir()]
    files = [e for e in entries if e.name.endswith(".py") and not e.is_dir()]
    if not dirs and not files:
        raise TutorError(f"{folder} holds no submissions: expected one folder per student, or files named <student>.py")
    if files and exercise is None:
        raise TutorError(f"{folder} holds .py files: say which exercise they are with --exercise (e.g. --exercise backprop)")
    naming: dict[str, list[str]] = {}  # student -> the entries that name them (two: alice/ and alice.py)
    for entry, is_file in [(d, False) for d in dirs] + [(f, True) for f in files]:
        student = student_id(entry.name[:-3] if is_file else entry.name)
        if student.strip():
            naming.setdefault(student, []).append(entry.name + ("" if is_file else "/"))
    twice = {student: both for student, both in naming.items() if len(both) > 1}
    if exercise is None:
        found = []
        for ex_id, file in exercise_files.items():
            if any(_find_file(Path(e.path), file) is not None for e in dirs):
                found.append(ex_id)
        if not found:
            names = ", ".join(sorted(set(exercise_files.values())))
            raise TutorError(f"no student folder in {folder} holds an exercise file ({names}); name the exercise with --exercise")
        exercises = found
    else:
        exercises = [exercise]
    result = []
    for student, both in twice.items():  # neither is graded: which one the student meant is theirs to say
        named = tuple(student_id(name) for name in both)
        if len(set(named)) < len(named):  # "a<newline>b" and "a\\nb" print alike as ids: show the names as Python writes them
            named = tuple(repr(name) for name in both)
        result += [Submission(student, ex_id, None, AMBIGUOUS, named) for ex_id in exercises]
    for entry, is_file in [(d, False) for d in dirs] + [(f, True) for f in files]:
        student = student_id(entry.name[:-3] if is_file else entry.name)
        if not student.strip() or student in twice:
            continue
        others: tuple[str, ...] | None = () if is_file else None  # the folder's .py files, listed once when needed
        for ex_id in exercises:
            path = Path(entry.path) if is_file else _find_file(Path(entry.path), exercise_files[ex_id])
            if path is None:
                if others is None:
                    others = _python_files(Path(entry.path))
                result.append(Submission(student, ex_id, None, "missing", others))
                continue
            problem = check_file(path)
            if not problem and not is_file and not _inside(path, Path(entry.path)):
                problem = "unreadable"  # a link out of the student's own folder (to a classmate's file, say)
            result.append(Submission(student, ex_id, path, problem, root=Path(entry.path)))
    return result


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path``, links resolved, lies inside ``folder`` (itself resolved: a class folder of links is fine)."""
    try:
        return Path(os.path.realpath(path)).is_relative_to(Path(os.path.realpath(folder)))
    except (OSError, ValueError):
        return False


def _find_file(student_dir: Path, name: str) -> Path | None:
    for candidate in (student_dir / name, student_dir / "exercises" / name):
        try:
            if candidate.exists() and not candidate.is_dir():
                return candidate
        except OSError:
            continue
    return None


def _python_files(student_dir: Path) -> tuple[str, ...]:
    """The .py files in a student's folder (and its exercises/), e.g. a misnamed ``backprop (1).py``."""
    names: list[str] = []
    for folder, prefix in ((student_dir, ""), (student_dir / "exercises", "exercises/")):
        try:
            names += sorted(prefix + student_id(e.name) for e in os.scandir(folder) if e.name.endswith(".py") and _visible(e))
        except OSError:
            continue
    return tuple(names[:5])


def check_file(path: Path) -> str:
    """"" when the file can be graded, else "unreadable" (a FIFO, a device, too big, no permission; in a
    student's folder also a link to a file outside it)."""
    try:
        info = os.stat(path)
    except OSError:
        return "unreadable"
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
        return "unreadable"
    if not os.access(path, os.R_OK):
        return "unreadable"
    return ""


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read(MAX_FILE_BYTES + 1)).hexdigest()


def class_seed(exercise: str, students: list[str]) -> int:
    """The seed a class is graded with when none is given: the same for every shard of the same folder."""
    text = exercise + "\n" + "\n".join(sorted(set(students)))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()[:4], "big") % (2**31)
