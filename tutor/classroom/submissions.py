"""Finding a class's submissions and splitting the class into shards.

A submissions folder holds either one folder per student (the folder name is
the student id) with the exercise's file in it (``alice/backprop.py``, or
``alice/exercises/backprop.py`` for a copied workspace), or files named
``<student>.py`` (then the exercise must be named). ``.py`` is matched in any
case (``BEN.PY``, ``alice/BACKPROP.PY``). A file named as Canvas downloads
submissions, ``<name>[_LATE]_<user id>_<submission id>_<original name>.py``
with both ids all digits, belongs to ``<name>``; of several such files of one
student (one user id), the one with the highest submission id is what Canvas
holds as current: that one is graded, the older ones passed over. Names starting with ``.`` or
``_`` are ignored. Entries that look like a submission but cannot be graded (a
notebook, ``dan.py.txt``, a blank name) are skipped with a warning line for the
caller to show. A link (a student's file or folder, or the folder their file is
in) is never followed: it is ``unreadable``, or passed over where the folder
also holds the real file. Two different copies of the file in a student's folder
(``backprop.py`` and ``exercises/backprop.py``, or ``BACKPROP.PY`` beside
``backprop.py``) are ``ambiguous``. Every submission that cannot be
graded, or was chosen over another, carries a one-line note for the gradebook
and a warning line saying what to do. Nothing here prints.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from tutor.classroom.gradebook import AMBIGUOUS, MISSING, UNREADABLE
from tutor.errors import TutorError

MAX_FILE_BYTES = 2 * 1024 * 1024  # no real exercise file is this big
# Canvas's "Download submissions": <name>[_LATE]_<user id>_<submission id>_<the name the student uploaded>
CANVAS_NAME = re.compile(r"^(?P<name>[^_]+)(?:_late)?_(?P<user>[0-9]+)_(?P<submission>[0-9]+)_(?P<file>.+)$", re.IGNORECASE)
NOTEBOOK_HINT = "grade cannot read notebooks: export it as {file} (File > Save and Export As > Python)"


@dataclass(frozen=True)
class Submission:
    student: str
    exercise: str
    path: Path | None  # None: the student has no file for this exercise
    problem: str = ""  # "missing", "unreadable" or "ambiguous" when the file cannot be graded
    # missing: the .py files the student's folder does hold; ambiguous: the entries that name the student;
    # a graded Canvas file: the student's older Canvas files, passed over for it
    others: tuple[str, ...] = ()
    root: Path | None = None  # what the student handed in: their folder, or their one file
    note: str = ""  # the gradebook's note: why it cannot be graded ("a link, not followed", "holds submission.zip")
    warning: str = ""  # the same as a line for the teacher, with what to do; "" for nothing worth a warning


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


def is_python(name: str) -> bool:
    """Whether a file name is a Python file: ``.py`` in any case (``BEN.PY``, ``cat.Py``)."""
    return name.lower().endswith(".py")


def flat_student(name: str) -> str:
    """The student a ``<student>.py`` file names (not yet made printable: see :func:`student_id`).

    ``ben.py`` and ``BEN.PY`` -> the name without ``.py``. A Canvas download name,
    ``smithjohn_12345_67890_backprop.py`` or ``smithjohn_LATE_12345_67891_backprop-1.py``,
    -> ``smithjohn``; only when it matches exactly (a name without ``_``, then two all-digit ids).
    """
    canvas = CANVAS_NAME.match(name)
    if canvas is not None and canvas.group("file")[:-3].strip():
        return canvas.group("name")
    return name[:-3]


def intended_name(name: str) -> str | None:
    """The .py file a near miss was meant to be: ``fay.ipynb`` -> ``fay.py``, ``dan.py.txt`` -> ``dan.py``; else None."""
    lower = name.lower()
    if lower.endswith(".ipynb") and name[:-6].strip():
        return name[:-6] + ".py"
    match = re.match(r"(?is)^(.*\S.*\.py)\.[^.]*$", name)
    if match is not None:
        return match.group(1)
    return None


def _skipped_warning(name: str, is_dir: bool) -> str | None:
    """The warning for a class-folder entry that is neither a student folder nor a ``<student>.py`` file, or None."""
    shown = student_id(name)
    if is_dir:
        return None if shown.strip() else f"the folder {shown!r} has a blank name: not graded; rename it to the student's id"
    if is_python(name):
        if not student_id(flat_student(name)).strip():
            return f"the file {shown!r} has a blank name: not graded; rename it <student>.py"
        return None
    intended = intended_name(name)
    if intended is None:
        return None
    if name.lower().endswith(".ipynb"):
        return f"{shown} is not graded: " + NOTEBOOK_HINT.format(file=student_id(intended))
    return f"{shown} is not a .py file: not graded; rename it {student_id(intended)} to grade it"


def discover(
    folder: Path, exercise_files: dict[str, str], exercise: str | None, warnings: list[str] | None = None
) -> list[Submission]:
    """Every (student, exercise) to grade in ``folder``.

    ``exercise_files`` maps exercise id -> file name (from the catalogue).
    With ``exercise`` None, the exercises are those whose files appear in the
    students' folders (with ``exercise`` named, :func:`check_held` says whether any
    student holds its file). Entries skipped for a reason the teacher can fix (a notebook,
    ``dan.py.txt``, a blank name) add one line each to ``warnings``.
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
    files = [e for e in entries if is_python(e.name) and not e.is_dir()]
    handed = _flat_hand_ins(entries, files)
    for entry in entries:
        if any(entry.name in names for names in handed.values()):
            continue  # said in the student's own row
        note = _skipped_warning(entry.name, entry.is_dir())
        if note is not None and warnings is not None:
            warnings.append(note)
    if not dirs and not files:
        raise TutorError(f"{folder} holds no submissions: expected one folder per student, or files named <student>.py")
    if files and exercise is None:
        raise TutorError(f"{folder} holds .py files: say which exercise they are with --exercise (e.g. --exercise backprop)")
    naming: dict[str, list[str]] = {}  # student -> the entries that name them (two: alice/ and alice.py)
    for entry, is_file in [(d, False) for d in dirs] + [(f, True) for f in files]:
        student = student_id(flat_student(entry.name) if is_file else entry.name)
        if student.strip():
            naming.setdefault(student, []).append(entry.name + ("" if is_file else "/"))
    twice = {student: both for student, both in naming.items() if len(both) > 1}
    latest: dict[str, tuple[str, tuple[str, ...]]] = {}  # student -> (the Canvas file graded, the older ones)
    for student, both in twice.items():
        newest = canvas_latest(both)
        if newest is not None:
            latest[student] = (newest, tuple(student_id(name) for name in both if name != newest))
    for student in latest:
        del twice[student]
    if exercise is None:
        found = []
        for ex_id, file in exercise_files.items():
            if any(_find_files(Path(e.path), file) for e in dirs if not e.is_symlink()):
                found.append(ex_id)
        if not found:
            names = ", ".join(sorted(set(exercise_files.values())))
            raise TutorError(f"no student folder in {folder} holds an exercise file ({names}); name the exercise with --exercise")
        exercises = found
    else:
        exercises = [exercise]
    graded = {exercise_files[ex_id] for ex_id in exercises}
    result = []
    for student, both in twice.items():  # neither is graded: which one the student meant is theirs to say
        named = tuple(student_id(name) for name in both)
        if len(set(named)) < len(named):  # "a<newline>b" and "a\\nb" print alike as ids: show the names as Python writes them
            named = tuple(repr(name) for name in both)
        note = f"named by both {' and '.join(named)}"
        warning = f"{student} is {note}: not graded until one of them is renamed or moved"
        result += [Submission(student, ex_id, None, AMBIGUOUS, named, note=note, warning=warning) for ex_id in exercises]
    for entry, is_file in [(d, False) for d in dirs] + [(f, True) for f in files]:
        student = student_id(flat_student(entry.name) if is_file else entry.name)
        if not student.strip() or student in twice:
            continue
        passed_over: tuple[str, ...] = ()
        if student in latest:
            if entry.name != latest[student][0]:
                continue  # an older Canvas submission of the student's
            passed_over = latest[student][1]
        root = Path(entry.path)
        for ex_id in exercises:
            wanted = exercise_files[ex_id]
            paths = [root] if is_file or entry.is_symlink() else _find_files(root, wanted)
            if not paths:
                note, warning, others = _missing(root, student, wanted, graded, set(exercise_files.values()))
                result.append(Submission(student, ex_id, None, MISSING, others, note=note, warning=warning))
                continue
            real = [p for p in paths if unreadable_note(p, root) != LINK]
            links = [_shown(p, folder) for p in paths if p not in real] if real else []  # beside a real file: passed over
            paths = real or paths[:1]
            shown = [_shown(p, folder) + ("/" if p == root and not is_file else "") for p in paths]
            if len(paths) > 1 and not _same_file(paths):  # two copies: which one the student meant is theirs to say
                note = f"holds {'both ' if len(shown) == 2 else ''}{', '.join(shown[:-1])} and {shown[-1]}"
                warning = f"{student} {note}: not graded until one of them is removed"
                result.append(Submission(student, ex_id, None, AMBIGUOUS, tuple(shown), note=note, warning=warning))
                continue
            note = unreadable_note(paths[0], root)
            if note:
                fix = f"; replace the link with a copy of the {'folder' if shown[0].endswith('/') else 'file'} if it is the student's own work"
                warning = f"{student}: {shown[0]} is {note}: not graded ({UNREADABLE})" + (fix if note == LINK else "")
                result.append(Submission(student, ex_id, paths[0], UNREADABLE, root=root, note=note, warning=warning))
                continue
            note = warning = ""
            if passed_over:
                note = f"Canvas's latest submission; passed over the older {', '.join(passed_over)}"
                warning = f"{student}: graded {shown[0]}, {note}"
            if links:
                note = f"passed over {' and '.join(links)} ({LINK})"
                warning = f"{student}: graded {shown[0]}, {note}"
            result.append(Submission(student, ex_id, paths[0], "", passed_over, root=root, note=note, warning=warning))
    for student, names in handed.items():  # a flat class: a hand-in that is no .py file is still the student's row
        shown = [student_id(n) for n in names]
        note = f"holds {some_of(shown)}"
        if any(n.lower().endswith(".ipynb") for n in names):
            fix = NOTEBOOK_HINT.format(file=f"{student}.py")
        elif any(n.lower().endswith(ARCHIVES) for n in names):
            fix = f"unpack it and save the exercise as {student}.py to grade it"
        else:
            fix = f"rename it {student_id(intended_name(names[0]) or names[0])} to grade it"
        warning = f"{student} has no .py file (the class folder {note}): {fix}"
        result += [Submission(student, ex_id, None, MISSING, tuple(shown), note=note, warning=warning) for ex_id in exercises]
    return result


ARCHIVES = (".zip", ".tar", ".tgz", ".tar.gz", ".gz", ".bz2", ".xz", ".7z", ".rar")


def _flat_hand_ins(entries: list[os.DirEntry], files: list[os.DirEntry]) -> dict[str, list[str]]:
    """In a class folder of ``<student>.py`` files, the students whose only hand-in is something else: an
    archive (``bob.zip``, Canvas's ``bobsmith_1_2_submission.zip``), a notebook or a near miss
    (``carl.PY.bak``), mapped to those entries' names. A teacher's own ``notes.txt`` names nobody."""
    if not files:
        return {}
    flat = {student_id(flat_student(f.name)) for f in files}
    found: dict[str, list[str]] = {}
    for entry in entries:
        if entry.is_dir() or is_python(entry.name):
            continue
        lower = entry.name.lower()
        intended = intended_name(entry.name)
        if intended is None:
            archive = next((a for a in ARCHIVES if lower.endswith(a)), None)
            if archive is None:
                continue
            intended = entry.name[: len(entry.name) - len(archive)] + ".py"
        student = student_id(flat_student(intended))
        if student.strip() and student not in flat:
            found.setdefault(student, []).append(entry.name)
    return found


def _missing(student_dir: Path, student: str, wanted: str, graded: set[str], known: set[str]) -> tuple[str, str, tuple[str, ...]]:
    """Why a student's folder has no ``wanted`` file: (the gradebook's note, a warning line or "", the .py files
    and near misses it holds, for :func:`check_held`). ``graded``: the files of the exercises graded in this run
    (not worth a word); ``known``: every exercise's file."""
    others = _python_files(student_dir, wanted)
    deeper = _find_deeper(student_dir, wanted)
    if deeper:
        fix = f"move it to {student}/{wanted} to grade it"
        return f"found {deeper}", f"{student} has no {wanted} at the top of the folder (found {deeper}): {fix}", (deeper, *others)[:5]
    try:
        entries = sorted((e for e in os.scandir(student_dir) if _visible(e)), key=lambda e: e.name)
    except OSError as exc:
        note = f"the folder is not readable ({exc.strerror or exc})"
        return note, f"{student}: {note}: not graded", others
    if not entries:
        return "the folder is empty", f"{student} has no {wanted} (the folder is empty): nothing was handed in", others
    inner = any(name.startswith("exercises/") for name in others)
    held = [n for n in others if n.rsplit("/", 1)[-1] not in graded]
    held += [student_id(e.name) + "/" for e in entries if e.is_dir() and not (inner and e.name == "exercises")]
    held += [student_id(e.name) for e in entries if not e.is_dir() and not is_python(e.name) and intended_name(e.name) is None]
    if not held:
        return "", "", others
    strays = [name for name in held if _stray(name, wanted, known)]
    theirs = [name for name in held if (intended_name(name.rsplit("/", 1)[-1]) or name.rsplit("/", 1)[-1]) in known]
    if strays:
        note = f"holds {some_of(strays, 5)}"
        fix = NOTEBOOK_HINT.format(file=wanted) if any(n.lower().endswith(".ipynb") for n in strays) else "rename the file to grade it"
    elif theirs:
        note, fix = f"holds {some_of(theirs)} (another exercise)", ""
    else:
        note = f"holds {some_of(held)}"
        fix = "unpack it into the folder to grade it" if any(n.lower().endswith(".zip") for n in held) else ""
    return note, f"{student} has no {wanted} (the folder {note})" + (f": {fix}" if fix else ""), others


def _stray(name: str, wanted: str, known_files: set[str]) -> bool:
    """Whether a file in a student's folder that lacks ``wanted`` looks meant to be it: a near miss of it
    (``backprop (1).py``, ``backprop.ipynb``) or a .py file that is no exercise's (``dropout.py`` is)."""
    base = name.rsplit("/", 1)[-1]
    if is_near_miss(base, wanted):
        return True
    intended = intended_name(base) or base
    return intended not in known_files and is_python(base)


def _find_deeper(student_dir: Path, wanted: str, most: int = 10_000) -> str | None:
    """Where ``wanted`` is in a sub-folder of a student's folder that grade does not look in
    (``hw1_submission/backprop.py``), or None (hidden folders and links are passed over; at most ``most`` entries)."""
    seen = 0
    for here, folders, names in os.walk(student_dir):
        folders[:] = sorted(f for f in folders if not f.startswith((".", "_")))
        rel = os.path.relpath(here, student_dir).replace(os.sep, "/")
        same = sorted(n for n in names if n.lower() == wanted.lower())
        if same and rel not in (".", "exercises"):
            return student_id(f"{rel}/{same[0]}")
        seen += len(folders) + len(names)
        if seen > most:
            break
    return None


def _shown(path: Path, folder: Path) -> str:
    """A path as warnings and notes name it: relative to the class folder, printable."""
    return student_id(os.path.relpath(path, folder).replace(os.sep, "/"))


def _same_file(paths: list[Path]) -> bool:
    """Whether copies of the exercise file are one: each gradable and byte for byte the same."""
    try:
        return not any(unreadable_note(p) for p in paths) and len({file_sha256(p) for p in paths}) == 1
    except OSError:
        return False


def canvas_latest(names: list[str]) -> str | None:
    """Of the entries that name one student, the Canvas file Canvas holds as the current submission, or None.

    Only when every entry is a Canvas-named file (no folder, no plain ``<student>.py``) of one user id, and one
    of them has a higher submission id than all the others (``smithjohn_LATE_12345_67891_backprop-1.py`` over
    ``smithjohn_12345_67890_backprop.py``). Files that share the highest id (one submission of several
    files), or two user ids (two students with one name), are not for us to choose between: None.
    """
    ids: dict[str, tuple[str, int]] = {}
    for name in names:
        canvas = CANVAS_NAME.match(name)
        if name.endswith("/") or canvas is None or not canvas.group("file")[:-3].strip():
            return None
        ids[name] = (canvas.group("user"), int(canvas.group("submission")))
    if len(ids) < 2 or len({user for user, _ in ids.values()}) != 1:
        return None
    top = max(number for _, number in ids.values())
    newest = [name for name, (_, number) in ids.items() if number == top]
    return newest[0] if len(newest) == 1 else None


def check_held(folder: Path, exercise_files: dict[str, str], exercise: str, found: list[Submission]) -> None:
    """Raise :class:`TutorError` when the class has submissions but none holds ``exercise``'s file (the id is
    likely a typo: every row would be ``missing``), unless one holds a near miss of it (``backprop (1).py``,
    ``backprop.ipynb``), which the rows and warnings are for. The error says what the folders do hold."""
    if not found or any(s.problem != MISSING for s in found):
        return
    wanted = exercise_files[exercise]
    if any(is_near_miss(name, wanted) for s in found for name in s.others):
        return
    try:
        dirs = [Path(e.path) for e in os.scandir(folder) if _visible(e) and e.is_dir()]
    except OSError:
        dirs = []
    held = sorted({file for file in set(exercise_files.values()) - {wanted} if any(_find_files(d, file) for d in dirs)})
    if not held:
        held = sorted({name.rsplit("/", 1)[-1] for s in found for name in s.others})[:3]
    what = f"they hold {', '.join(held)}" if held else "their folders hold no .py file"
    raise TutorError(f"no submission in {folder} holds {wanted} ({what}): is --exercise right?")


def check_defines(folder: Path, exercise_functions: dict[str, tuple[str, ...]], exercise: str, found: list[Submission]) -> None:
    """Raise :class:`TutorError` when a class of ``<student>.py`` files was named the wrong exercise: no file
    defines any of ``exercise``'s functions (``exercise_functions`` maps exercise id -> its functions, from
    the catalogue) while files do define functions (every row would be ``not started``). The error names the
    exercise whose functions the files define, or else the functions they define.

    Only for a flat class (a folder class is :func:`check_held`'s); when some files define the functions and
    some do not, or no file defines a function at all (starter files, say), nothing is raised.
    """
    wanted = exercise_functions.get(exercise, ())
    if not wanted or any(s.path is not None and s.root != s.path for s in found):
        return
    defined: list[set[str]] = [top_level_functions(s.path) for s in found if s.path is not None and not s.problem]
    everything = set().union(*defined)
    if not everything or everything & set(wanted):
        return
    best, best_count = "", 0
    for ex_id, functions in exercise_functions.items():
        count = sum(1 for names in defined if names & set(functions))
        if ex_id != exercise and count > best_count:
            best, best_count = ex_id, count
    if best:
        what = f"{best}'s ({some_of(f for f in exercise_functions[best] if f in everything)})"
    else:
        what = some_of(sorted(everything))
    raise TutorError(
        f"no submission in {folder} defines any of {exercise}'s functions ({some_of(wanted)}); they define {what}: is --exercise right?"
    )


def some_of(names, shown: int = 3) -> str:
    names = list(names)
    return ", ".join(names[:shown]) + (", …" if len(names) > shown else "")


def top_level_functions(path: Path | None) -> set[str]:
    """The names of the functions a Python file defines at its top level (in an ``if`` or ``try`` there too);
    an empty set for a file that cannot be read or parsed, or is over :data:`MAX_FILE_BYTES`."""
    import ast
    import warnings

    if path is None:
        return set()
    try:
        with open(path, "rb") as handle:
            source = handle.read(MAX_FILE_BYTES + 1)
        if len(source) > MAX_FILE_BYTES:
            return set()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a student's invalid escape sequence is not ours to report
            tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names: set[str] = set()
    body = list(tree.body)
    while body:
        node = body.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.If, ast.Try, getattr(ast, "TryStar", ast.Try), ast.With)):
            for part in ("body", "orelse", "finalbody", "handlers"):
                body += getattr(node, part, [])
        elif isinstance(node, ast.ExceptHandler):
            body += node.body
    return names


def is_near_miss(name: str, wanted: str) -> bool:
    """Whether ``name`` (a file in a student's folder, maybe under ``exercises/``) looks meant to be ``wanted``:
    ``backprop (1).py``, ``backprop-2.py``, ``backprop.ipynb``, ``backprop.py.txt``."""
    base = name.rsplit("/", 1)[-1]
    intended = intended_name(base) or base
    stem = wanted[:-3].lower() if is_python(wanted) else wanted.lower()
    return is_python(intended) and intended.lower().startswith(stem)


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path``, links resolved, lies inside ``folder`` (itself resolved: a class folder of links is fine)."""
    try:
        return Path(os.path.realpath(path)).is_relative_to(Path(os.path.realpath(folder)))
    except (OSError, ValueError):
        return False


def _find_files(student_dir: Path, name: str) -> list[Path]:
    """The exercise file in a student's folder and in its ``exercises/`` (a copied workspace), in any case: the
    exact name first, then ``BACKPROP.PY`` and other case variants (more than one is for the caller to judge).
    Whatever it is (a link, a folder): whether it can be graded is :func:`unreadable_note`'s to say."""
    found = []
    for folder in (student_dir, student_dir / "exercises"):
        try:
            same = sorted((e.name for e in os.scandir(folder) if e.name.lower() == name.lower()), key=lambda n: (n != name, n))
        except OSError:  # a folder that cannot be listed may still hold the exact name
            same = [name] if os.path.lexists(folder / name) else []
        found += [folder / n for n in same]
    return found


def _python_files(student_dir: Path, wanted: str = "") -> tuple[str, ...]:
    """The .py files in a student's folder (and its exercises/), e.g. a misnamed ``backprop (1).py``, and its
    near misses (``backprop.ipynb``, ``backprop.py.txt``); near misses of ``wanted`` first, at most five."""
    names: list[str] = []
    for folder, prefix in ((student_dir, ""), (student_dir / "exercises", "exercises/")):
        try:
            names += sorted(
                prefix + student_id(e.name)
                for e in os.scandir(folder)
                if _visible(e) and (is_python(e.name) or intended_name(e.name) is not None) and not e.is_dir()
            )
        except OSError:
            continue
    names.sort(key=lambda name: not (wanted and is_near_miss(name, wanted)))  # stable: sorted within each group
    return tuple(names[:5])


LINK = "a link, not followed"


def unreadable_note(path: Path, root: Path | None = None) -> str:
    """"" when the file can be graded, else why not, in a few words: a link (the file, or a folder between
    ``root``, the student's folder, and it: never followed, wherever it points), a folder, not a regular
    file (a FIFO, a device), over 2 MB, not readable."""
    here = Path(path)
    while True:
        if os.path.islink(here):
            return LINK
        if root is None or here == Path(root) or here.parent == here:
            break
        here = here.parent
    try:
        info = os.lstat(path)
    except OSError as exc:
        return f"not readable ({exc.strerror or exc})"
    if stat.S_ISDIR(info.st_mode):
        return "a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_size > MAX_FILE_BYTES:
        return f"over {MAX_FILE_BYTES // (1024 * 1024)} MB"
    if not os.access(path, os.R_OK):
        return "not readable (no permission)"
    return ""


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read(MAX_FILE_BYTES + 1)).hexdigest()


def submission_sha256(path: Path, root: Path | None) -> str:
    """What the gradebook's sha256 column holds for a submission: a changed value means grade it again.

    For a ``<student>.py`` file, and for a student folder that holds nothing but the graded file, the
    sha256 of the graded file (:func:`file_sha256`, as gradebooks have always held). For a folder with
    other files too, the sha256 of ``<relative path>\\0<sha256 of the file>\\n`` for every file in it, in
    any subfolder, hidden ones included, in sorted path order: the graded code may import or read any of
    them (helpers, data, weights), so changing, adding, removing or renaming any one changes it. Python's
    ``__pycache__`` folders are left out: the grader never runs them (a local ``python`` run would
    otherwise grade the student again). Raises OSError when the graded file cannot be read.
    """
    own = file_sha256(path)
    if root is None or not os.path.isdir(root):
        return own
    graded = os.path.relpath(os.path.abspath(path), os.path.abspath(root)).replace(os.sep, "/")
    parts: dict[bytes, str] = {graded.encode("utf-8", "surrogateescape"): own}
    for here, folders, names in os.walk(root):  # links to folders are not followed
        folders[:] = sorted(f for f in folders if f != "__pycache__")  # never run: the grader imports sources only
        for name in names:
            full = os.path.join(here, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/").encode("utf-8", "surrogateescape")
            if rel not in parts:
                parts[rel] = _helper_sha256(full, Path(root))
    if len(parts) == 1:
        return own
    digest = hashlib.sha256()
    for rel in sorted(parts):
        digest.update(rel + b"\0" + parts[rel].encode("ascii") + b"\n")
    return digest.hexdigest()


def _helper_sha256(path: str, root: Path) -> str:
    """One helper file's part of :func:`submission_sha256`, never reading what is not a regular file inside
    the student's folder (a FIFO would block; a link out of it is named by where it points)."""
    try:
        if os.path.islink(path) and not _inside(Path(path), root):
            return hashlib.sha256(b"link:" + os.fsencode(os.readlink(path))).hexdigest()
        if not stat.S_ISREG(os.stat(path).st_mode):
            return hashlib.sha256(b"not a file").hexdigest()
        return file_sha256(Path(path))
    except OSError:
        return hashlib.sha256(b"unreadable").hexdigest()


def class_seed(exercise: str, students: list[str]) -> int:
    """The seed a class is graded with when none is given: the same for every shard of the same folder."""
    text = exercise + "\n" + "\n".join(sorted(set(students)))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()[:4], "big") % (2**31)
