"""Finding a class's submissions and splitting the class into shards.

A submissions folder holds either one folder per student (the folder name is
the student id) with the exercise's file in it (``alice/backprop.py``, or
``alice/exercises/backprop.py`` for a copied workspace), or files named
``<student>.py`` (then the exercise must be named). ``.py`` is matched in any
case (``BEN.PY``, ``alice/BACKPROP.PY``). A file named as Canvas downloads
submissions, ``<name>[_LATE]_<user id>_<submission id>_<original name>.py``
with both ids all digits, belongs to ``<name>`` (``<name>_<user id>`` where two user ids
share the name: two students); of several such files of one
student (one user id), the one with the highest submission id is what Canvas
holds as current: that one is graded, the older ones passed over; of one Canvas submission of several
files, the one uploaded as the exercise's file is graded, with the others beside it (see
:attr:`Submission.helpers`). Moodle's folders, ``<name>_<id>_assignsubmission_<plugin>_`` (one per
plugin: ``file``, ``onlinetext``), are one student, ``<name>``, whose file is looked for in each. Every id is
in Unicode's composed form (:func:`student_id`): one name in two forms is one student; ids that differ only in
case (``Alice/`` and ``alice/``) are two students, named in a warning. Names starting with ``.`` or
``_`` are ignored. Archives are never opened: in a flat class ``bob.zip`` alone is bob's ``missing`` row; beside
``bob/`` (or ``bob.py``) it is passed over, said in bob's row; in a class of folders one no student has is named
in a warning. Entries that look like a submission but cannot be graded (a
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
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from tutor.classroom.gradebook import AMBIGUOUS, MISSING, UNREADABLE
from tutor.errors import TutorError

MAX_FILE_BYTES = 2 * 1024 * 1024  # no real exercise file is this big
# Canvas's "Download submissions": <name>[_LATE]_<user id>_<submission id>_<the name the student uploaded>
CANVAS_NAME = re.compile(r"^(?P<name>[^_]+)(?:_late)?_(?P<user>[0-9]+)_(?P<submission>[0-9]+)_(?P<file>.+)$", re.IGNORECASE)
NOTEBOOK_HINT = "grade cannot read notebooks: export it as {file} (File > Save and Export As > Python)"
# Moodle's "Download all submissions", one folder per plugin of a student: <full name>_<id>_assignsubmission_<plugin>_
MOODLE_FOLDER = re.compile(r"^(?P<name>.+)_(?P<user>[0-9]+)_assignsubmission_(?P<plugin>[A-Za-z0-9]+)_?$")


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
    # one Canvas submission of several files: the graded file's name as uploaded (the exercise's file) and the
    # other files of that submission, (name as uploaded, path), to be graded beside it
    upload: str = ""
    helpers: tuple[tuple[str, Path], ...] = ()


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
    JSON and a terminal as it is. The id is in Unicode's composed form (NFC): ``José`` is one
    student whether the name holds ``é`` or ``e`` and a combining accent (as macOS's unzip writes
    it). The name itself is still what is read.
    """
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    text = unicodedata.normalize("NFC", text)
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _is_dir(entry: os.DirEntry) -> bool:
    """Whether an entry is a folder (or a link to one); a link loop or an entry that cannot be looked at
    is no folder (it becomes an unreadable row, never an error that stops the class)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


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
    dirs = [e for e in entries if _is_dir(e)]
    files = [e for e in entries if is_python(e.name) and not _is_dir(e)]
    shared = canvas_shared([e.name for e in entries if not _is_dir(e)])  # two students with one Canvas name
    units = _units(dirs, files, shared)  # (student, their entries: one, or a Moodle student's plugin folders, is a file)
    own = {student for student, _, _ in units}  # the students a folder or a .py file names
    hand_ins = _hand_ins(entries, shared)
    # a flat class: a student whose only hand-in is no .py file (bob.zip) still gets a row
    handed = {student: names for student, names in hand_ins.items() if files and student not in own}
    # bob.zip beside bob/ (or bob.py): passed over, said in the row of what is graded (Canvas's files have their rules)
    beside = {student: [n for n in names if CANVAS_NAME.match(n) is None] for student, names in hand_ins.items() if student in own}
    beside = {student: names for student, names in beside.items() if names}
    archived: list[str] = []  # a class of folders: archives no student's row says anything of
    for entry in entries:
        if any(entry.name in names for names in (*handed.values(), *beside.values())):
            continue  # said in the student's own row
        note = _skipped_warning(entry.name, _is_dir(entry))
        if note is None and not files and _is_archive(entry):
            archived.append(student_id(entry.name))
        if note is not None and warnings is not None:
            warnings.append(note)
    if archived and dirs and warnings is not None:  # one line for them all: a class may hold dozens
        what = f"{archived[0]} is an archive" if len(archived) == 1 else f"{len(archived)} archives ({some_of(archived, 5)})"
        warnings.append(f"{what}: not graded (grade does not unpack archives); unpack each into a folder named for its student to grade it")
    if not dirs and not files:
        archives = [student_id(e.name) for e in entries if _is_archive(e)]
        if archives:
            raise TutorError(
                f"{folder} holds no submissions, only {len(archives)} archive(s) ({some_of(archives)}): grade does not "
                "unpack archives; unpack each into a folder named for its student to grade it"
            )
        raise TutorError(f"{folder} holds no submissions: expected one folder per student, or files named <student>.py")
    if warnings is not None:
        warnings += _case_twins(units)
    if files and exercise is None:
        raise TutorError(f"{folder} holds .py files: say which exercise they are with --exercise (e.g. --exercise backprop)")
    naming: dict[str, list[str]] = {}  # student -> the entries that name them (two: alice/ and alice.py)
    for student, group, is_file in units:
        if student.strip():
            naming.setdefault(student, []).append(group[0].name + ("" if is_file else "/"))
    twice = {student: both for student, both in naming.items() if len(both) > 1}
    latest: dict[str, tuple[str, tuple[str, ...]]] = {}  # student -> (the Canvas file graded, the older ones)
    bundles: dict[str, tuple[str, tuple[str, ...]]] = {}  # student -> (the graded file's upload, the files beside it)
    for student, both in twice.items():
        newest = canvas_latest(both)
        if newest is None and exercise is not None:
            picked = canvas_pick(both, exercise_files[exercise])
            if picked is not None:
                newest, with_it = picked
                bundles[student] = (canvas_upload(newest), with_it)
        if newest is not None:
            newest_sub = CANVAS_NAME.match(newest).group("submission")  # type: ignore[union-attr]
            older = [name for name in both if CANVAS_NAME.match(name).group("submission") != newest_sub]  # type: ignore[union-attr]
            latest[student] = (newest, tuple(student_id(name) for name in older))
    for student in latest:
        del twice[student]
    if exercise is None:
        found = []
        for ex_id, file in exercise_files.items():
            if any(_find_files(Path(e.path), file) for e in dirs if not e.is_symlink()):
                found.append(ex_id)
        if not found:
            every = ", ".join(sorted(set(exercise_files.values())))
            raise TutorError(f"no student folder in {folder} holds an exercise file ({every}); name the exercise with --exercise")
        exercises = found
    else:
        exercises = [exercise]
    graded = {exercise_files[ex_id] for ex_id in exercises}
    result = []
    for student, both in twice.items():  # neither is graded: which one the student meant is theirs to say
        named = tuple(student_id(name) for name in both)
        forms = ""
        if len(set(named)) < len(named):  # "a<newline>b" and "a\\nb" print alike as ids: show the names as Python writes them
            named = tuple(repr(name) for name in both)
        if len({nfc(name) for name in named}) < len(named):  # "é" and "e" with a combining accent: escaped, said why
            named = tuple(ascii(name) for name in both)
            forms = " (one name in two Unicode forms: composed and decomposed, as macOS's unzip writes it)"
        note = f"named by both {' and '.join(named)}{forms}"
        if student in beside:  # bob.zip beside bob/ and bob.py: named too, never graded (an archive is not opened)
            note += f"; {some_of(student_id(name) for name in beside[student])} beside them is not read"
        warning = f"{student} is {note}: not graded until one of them is renamed or moved"
        uploads = canvas_one_submission(both)
        if uploads and exercise is not None:  # one Canvas submission of several files, none uploaded as the exercise's
            wanted = exercise_files[exercise]
            prefix = both[0][: len(both[0]) - len(CANVAS_NAME.match(both[0]).group("file"))]  # type: ignore[union-attr]
            note = f"one Canvas submission of {len(uploads)} files ({some_of(uploads)}), none uploaded as {wanted}"
            fix = f"rename the exercise's one {student_id(prefix)}{wanted} to grade it (the others stay beside it)"
            warning = f"{student}: {note}: not graded; {fix}"
        result += [Submission(student, ex_id, None, AMBIGUOUS, named, note=note, warning=warning) for ex_id in exercises]
    for student, group, is_file in units:
        if not student.strip() or student in twice:
            continue
        entry = group[0]
        passed_over: tuple[str, ...] = ()
        if student in latest:
            if entry.name != latest[student][0]:
                continue  # an older Canvas submission of the student's, or another file of the graded one
            passed_over = latest[student][1]
        roots = [Path(e.path) for e in group]  # a Moodle student's plugin folders: the file is in one of them
        for ex_id in exercises:
            wanted = exercise_files[ex_id]
            owner: dict[Path, Path] = {}  # each copy of the exercise file found -> the folder (or file) it was found in
            for here in roots:
                for found_path in [here] if is_file or entry.is_symlink() else _find_files(here, wanted):
                    owner.setdefault(found_path, here)
            paths = list(owner)
            if not paths:
                note, warning, others = _missing(roots[0], student, wanted, graded, set(exercise_files.values()))
                if student in beside:  # bob/ lacks the file and bob.zip lies beside it: the zip is what to look at
                    held, fix = _beside(beside[student], f"{_shown(roots[0], folder)}/{wanted}", _shown(roots[0], folder) + "/")
                    note = "; ".join(n for n in (note, f"the class folder holds {held}") if n)
                    warning = f"{student} has no {wanted}: {note}: {fix} to grade it"
                result.append(Submission(student, ex_id, None, MISSING, others, note=note, warning=warning))
                continue
            real = [p for p in paths if unreadable_note(p, owner[p]) != LINK]
            links = [_shown(p, folder) for p in paths if p not in real] if real else []  # beside a real file: passed over
            paths = real or paths[:1]
            shown = [_shown(p, folder) + ("/" if p == owner[p] and not is_file else "") for p in paths]
            if len(paths) > 1 and not _same_file(paths):  # two copies: which one the student meant is theirs to say
                note = f"holds {'both ' if len(shown) == 2 else ''}{', '.join(shown[:-1])} and {shown[-1]}"
                warning = f"{student} {note}: not graded until one of them is removed"
                result.append(Submission(student, ex_id, None, AMBIGUOUS, tuple(shown), note=note, warning=warning))
                continue
            root = owner[paths[0]]
            note = unreadable_note(paths[0], root)
            if note:
                fix = ""
                if note == LINK:
                    kind = "folder" if shown[0].endswith("/") else "file"
                    fix = f"; replace the link with a copy of the {kind} if it is the student's own work"
                elif note.startswith("not readable"):  # no permission, most likely: the file's mode is the fix
                    fix = "; make it readable to the account that grades (chmod a+r) and run again"
                warning = f"{student}: {shown[0]} is {note}: not graded ({UNREADABLE}){fix}"
                result.append(Submission(student, ex_id, paths[0], UNREADABLE, root=root, note=note, warning=warning))
                continue
            notes: list[str] = []
            upload = ""
            helpers: tuple[tuple[str, Path], ...] = ()
            if student in bundles:
                upload = bundles[student][0]
                helpers = tuple((canvas_upload(name), folder / name) for name in _same_submission(entry.name, entries))
                notes.append(
                    f"uploaded as {upload} in one Canvas submission with {some_of([name for name, _ in helpers])}, "
                    "graded beside it"
                )
            if passed_over:
                notes.append(f"Canvas's latest submission; passed over the older {', '.join(passed_over)}")
            if is_file:
                newer = _newer_canvas_hand_in(entry.name, entries)
                if newer:  # said in the row, not only in the warning about the notebook
                    as_py = student_id(re.sub(r"\.[^.]*$", "", newer) + ".py")  # the newest Canvas name: graded next run
                    if newer.lower().endswith(".ipynb"):
                        why = f"a notebook: {NOTEBOOK_HINT.format(file=as_py)}"
                    else:
                        why = f"not a .py file: save the exercise as {as_py} to grade it"
                    notes.append(f"an older submission; Canvas's latest, {student_id(newer)}, is {why}")
            if links:
                notes.append(f"passed over {' and '.join(links)} ({LINK})")
            if student in beside:
                held, fix = _beside(beside[student], shown[0], None if is_file else _shown(owner[paths[0]], folder) + "/")
                notes.append(f"passed over {held} in the class folder; if it holds newer work, {fix}")
            if not is_file:
                copies = _copies_beside(paths[0], wanted)
                if copies:
                    notes.append(
                        f"passed over {some_of(copies)}, a different copy beside it "
                        f"(rename it {wanted} if it is the one to grade)"
                    )
            note = "; ".join(notes)
            warning = f"{student}: graded {shown[0]}, {note}" if note else ""
            result.append(
                Submission(student, ex_id, paths[0], "", passed_over, root=root, note=note, warning=warning, upload=upload, helpers=helpers)
            )
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


def _is_archive(entry: os.DirEntry) -> bool:
    """Whether a class-folder entry is an archive (by its name: it is never opened), not a folder."""
    return entry.name.lower().endswith(ARCHIVES) and not _is_dir(entry)


def _case_twins(units: list[tuple[str, list[os.DirEntry], bool]]) -> list[str]:
    """A warning line for each set of students whose ids differ only in case (``Alice/`` and ``alice/``): two
    students to grade, as the names say, but on macOS or Windows the two could not be unpacked side by side, so
    they are likely one student who handed in twice."""
    names: dict[str, dict[str, str]] = {}  # folded id -> id -> the entry that names it
    for student, group, is_file in units:
        if student.strip():
            names.setdefault(student.casefold(), {}).setdefault(student, group[0].name + ("" if is_file else "/"))
    lines = []
    for twins in names.values():
        if len(twins) > 1:
            shown = [student_id(name) for name in twins.values()]
            lines.append(
                f"{' and '.join(shown)} name students whose ids differ only in case: graded as {len(twins)} students; "
                "if they are one student, keep one of them and grade again"
            )
    return lines


def _units(
    dirs: list[os.DirEntry], files: list[os.DirEntry], shared: frozenset[str] = frozenset()
) -> list[tuple[str, list[os.DirEntry], bool]]:
    """(student, their entries, whether a file) for every entry that names a student: a folder or a
    ``<student>.py`` file each, except that Moodle's plugin folders of one ``<name>_<id>`` are one student
    (:func:`moodle_students`), the ``file`` plugin's folder first. ``shared``: the Canvas names two user
    ids share (:func:`canvas_shared`), whose files are told apart by user id (:func:`flat_id`)."""
    moodle = moodle_students([d.name for d in dirs if not d.is_symlink()])
    units: list[tuple[str, list[os.DirEntry], bool]] = []
    groups: dict[tuple[str, str], list[os.DirEntry]] = {}
    for entry in dirs:
        if entry.name in moodle:
            student = student_id(moodle[entry.name])
            found = MOODLE_FOLDER.match(entry.name)
            key = (nfc(found.group("name")), found.group("user")) if found else (entry.name, "")
            if key in groups:  # one student's plugin folders: by name and Moodle's user id, never by the shown id alone
                groups[key].append(entry)
                continue
            groups[key] = [entry]
            units.append((student, groups[key], False))
        else:
            units.append((student_id(entry.name), [entry], False))
    for group in groups.values():
        group.sort(key=lambda e: (MOODLE_FOLDER.match(e.name).group("plugin").lower() != "file", e.name))  # type: ignore[union-attr]
    units += [(flat_id(f.name, shared), [f], True) for f in files]
    return units


def nfc(name: str) -> str:
    """A name in Unicode's composed form (NFC), bytes that are not UTF-8 kept as they are: for telling names apart
    as :func:`student_id` does, without its escapes."""
    return unicodedata.normalize("NFC", name)


def canvas_shared(names: list[str]) -> frozenset[str]:
    """Of a class folder's file names, the Canvas names (``smithjohn``, as :func:`student_id` gives it) that
    two or more user ids share: two students whose names Canvas shortens alike, told apart by :func:`flat_id`."""
    users: dict[str, set[str]] = {}
    for name in names:
        canvas = CANVAS_NAME.match(name)
        if canvas is not None:
            users.setdefault(student_id(canvas.group("name")), set()).add(canvas.group("user"))
    return frozenset(name for name, ids in users.items() if len(ids) > 1)


def flat_id(name: str, shared: frozenset[str] = frozenset()) -> str:
    """The student id a ``<student>.py`` file (or a hand-in meant to be one) gives: :func:`flat_student`, made
    printable; a Canvas name two user ids share (``shared``, :func:`canvas_shared`) -> ``<name>_<user id>``
    (``smithjohn_22222``), as Moodle tells two students of one name apart. One user id keeps the plain name."""
    student = student_id(flat_student(name))
    canvas = CANVAS_NAME.match(name)
    if canvas is not None and student in shared and student == student_id(canvas.group("name")):
        return f"{student}_{canvas.group('user')}"
    return student


def moodle_students(names: list[str]) -> dict[str, str]:
    """Of a class folder's folder names, those Moodle names ``<full name>_<id>_assignsubmission_<plugin>_``,
    mapped to the student they belong to: ``<full name>`` (``Doe, Jane``), or ``<full name>_<id>`` where two
    ids share one full name (two students called Jane Doe)."""
    ids: dict[str, set[str]] = {}
    matched = {}
    for name in names:
        moodle = MOODLE_FOLDER.match(name)
        if moodle is not None and moodle.group("name").strip():
            full = nfc(moodle.group("name"))  # one name in two Unicode forms is one name
            matched[name] = (full, moodle.group("user"))
            ids.setdefault(full, set()).add(moodle.group("user"))
    return {name: full if len(ids[full]) == 1 else f"{full}_{user}" for name, (full, user) in matched.items()}


def canvas_upload(name: str) -> str:
    """The name a student uploaded, from Canvas's download name, without the ``-1`` Canvas adds to a file
    uploaded again (``smithjohn_LATE_12345_67891_backprop-1.py`` -> ``backprop.py``)."""
    canvas = CANVAS_NAME.match(name)
    upload = canvas.group("file") if canvas is not None else name
    return re.sub(r"-[0-9]+(\.[^.]+)$", r"\1", upload)


def _canvas_newest(names: list[str]) -> list[str] | None:
    """The names of the newest Canvas submission among ``names`` (several when it holds several files);
    None unless every name is a Canvas-named file of one user id and there are two or more."""
    ids: dict[str, tuple[str, int]] = {}
    for name in names:
        canvas = CANVAS_NAME.match(name)
        if name.endswith("/") or canvas is None or not canvas.group("file")[:-3].strip():
            return None
        ids[name] = (canvas.group("user"), int(canvas.group("submission")))
    if len(ids) < 2 or len({user for user, _ in ids.values()}) != 1:
        return None
    top = max(number for _, number in ids.values())
    return [name for name, (_, number) in ids.items() if number == top]


def canvas_pick(names: list[str], wanted: str) -> tuple[str, tuple[str, ...]] | None:
    """Of the Canvas files of one student whose newest submission holds several .py files (a helper beside the
    exercise), the one uploaded as the exercise's file ``wanted`` and the other files of that submission;
    None when that is not exactly one file (or the names are not all Canvas files of one user id)."""
    newest = _canvas_newest(names)
    if newest is None:
        return None
    chosen = [name for name in newest if canvas_upload(name).lower() == wanted.lower()]
    if len(newest) < 2 or len(chosen) != 1:
        return None
    return chosen[0], tuple(name for name in newest if name != chosen[0])


def canvas_one_submission(names: list[str]) -> list[str]:
    """The uploaded names, when ``names`` are the Canvas files of one submission (one user id, one submission
    id); else []."""
    found = [CANVAS_NAME.match(name) for name in names]
    if any(c is None for c in found) or len({(c.group("user"), c.group("submission")) for c in found if c}) != 1:
        return []
    return [student_id(canvas_upload(name)) for name in names]


def _same_submission(name: str, entries: list[os.DirEntry]) -> list[str]:
    """The other files of the Canvas submission ``name`` belongs to (same name, user id and submission id):
    helpers, data. Only regular files: a link is never followed."""
    canvas = CANVAS_NAME.match(name)
    if canvas is None:
        return []
    key = (nfc(canvas.group("name")).lower(), canvas.group("user"), canvas.group("submission"))
    others = []
    for entry in entries:
        other = CANVAS_NAME.match(entry.name)
        if entry.name == name or other is None or entry.is_symlink() or not entry.is_file(follow_symlinks=False):
            continue
        if (nfc(other.group("name")).lower(), other.group("user"), other.group("submission")) == key:
            others.append(entry.name)
    return others


def _newer_canvas_hand_in(name: str, entries: list[os.DirEntry]) -> str | None:
    """For a graded Canvas file, a newer Canvas submission of the same student that is no .py file (a
    notebook, an archive), which grade cannot read: the older .py is what was graded. None when there is none."""
    canvas = CANVAS_NAME.match(name)
    if canvas is None:
        return None
    newer = []
    for entry in entries:
        other = CANVAS_NAME.match(entry.name)
        if other is None or is_python(entry.name) or _is_dir(entry):
            continue
        same = (nfc(other.group("name")).lower(), other.group("user")) == (
            nfc(canvas.group("name")).lower(), canvas.group("user")
        )
        if same and int(other.group("submission")) > int(canvas.group("submission")):
            newer.append((int(other.group("submission")), entry.name))
    return max(newer)[1] if newer else None


# Copies of a file that a download or an editor makes: "rnn (1).py", "rnn-2.py", "rnn copy.py", "rnn - Copy.py",
# "rnn_old.py", "rnn_v2.py", "rnn-final.py"
_COPY = r"(?:\s*\(\d+\)|[-_ ]\d+|\s*-?\s*copy(?:\s*\(?\d+\)?)?|[-_ ]copy\d*|[-_ ](?:old|new|final|v\d+))"


def is_copy_name(name: str, wanted: str) -> bool:
    """Whether ``name`` is how a copy of ``wanted`` is named (``rnn (1).py``, ``rnn-2.py``, ``rnn copy.py``)."""
    stem = wanted[:-3] if is_python(wanted) else wanted
    return re.fullmatch(re.escape(stem) + _COPY + r"\.py", name, re.IGNORECASE) is not None


def _copies_beside(path: Path, wanted: str) -> list[str]:
    """The copies of the graded file beside it (:func:`is_copy_name`) that differ from it: the student may have
    meant one of them (a correct ``rnn (1).py`` beside a buggy ``rnn.py``). Regular files only."""
    try:
        graded = file_sha256(path)
        entries = sorted(os.scandir(path.parent), key=lambda e: e.name)
    except OSError:
        return []
    copies = []
    for entry in entries:
        if not is_copy_name(entry.name, wanted) or entry.is_symlink() or not entry.is_file(follow_symlinks=False):
            continue
        try:
            if os.stat(entry.path).st_size <= MAX_FILE_BYTES and file_sha256(Path(entry.path)) != graded:
                copies.append(student_id(entry.name))
        except OSError:
            continue
    return copies


def _beside(names: list[str], target: str, folder: str | None) -> tuple[str, str]:
    """For hand-ins in the class folder that name a student who has a folder (``folder``, ``bob/``) or a
    ``<student>.py`` file (``folder`` None) too: (those entries as a note names them, what to do to grade
    them instead: ``target`` is where the exercise's file goes, ``bob/backprop.py`` or ``bob.py``)."""
    shown = some_of(student_id(name) for name in names)
    first = names[0].lower()
    if first.endswith(".ipynb"):
        return f"{shown} (a notebook, not read)", f"export it as {target}"
    if first.endswith(ARCHIVES):
        how = f"unpack it into {folder}" if folder else f"unpack it and save the exercise as {target}"
        return f"{shown} (an archive, not unpacked)", how
    return f"{shown} (not a .py file)", f"save it as {target}"


def _hand_ins(entries: list[os.DirEntry], shared: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """The entries of a class folder that are hand-ins of a student but no .py file: an archive (``bob.zip``,
    Canvas's ``bobsmith_1_2_submission.zip``), a notebook or a near miss (``carl.PY.bak``), mapped by the
    student they name to those entries' names. A teacher's own ``notes.txt`` names nobody. ``shared``: as for
    :func:`flat_id`. Whether the student also has a folder or a .py file is the caller's to judge."""
    found: dict[str, list[str]] = {}
    for entry in entries:
        if _is_dir(entry) or is_python(entry.name):
            continue
        lower = entry.name.lower()
        intended = intended_name(entry.name)
        if intended is None:
            archive = next((a for a in ARCHIVES if lower.endswith(a)), None)
            if archive is None:
                continue
            intended = entry.name[: len(entry.name) - len(archive)] + ".py"
        student = flat_id(intended, shared)
        if student.strip():
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
    lower_graded = {file.lower() for file in graded}  # gus/Backprop.py is graded as backprop in this run too
    held = [n for n in others if n.rsplit("/", 1)[-1].lower() not in lower_graded]
    held += [student_id(e.name) + "/" for e in entries if _is_dir(e) and not (inner and e.name == "exercises")]
    held += [student_id(e.name) for e in entries if not _is_dir(e) and not is_python(e.name) and intended_name(e.name) is None]
    if not held:
        return "", "", others
    imported = _imported_names(student_dir)
    helpers = [name for name in held if is_python(name) and name.rsplit("/", 1)[-1][:-3] in imported]
    theirs = [name for name in held if _another_exercises(name, wanted, known, near=name not in helpers)]
    strays = [name for name in held if _stray(name, wanted, known) and name not in helpers and name not in theirs]
    if strays:
        note = f"holds {some_of(strays, 5)}"
        fix = NOTEBOOK_HINT.format(file=wanted) if any(n.lower().endswith(".ipynb") for n in strays) else "rename the file to grade it"
    elif theirs:
        note, fix = f"holds {some_of(theirs)} (another exercise)", ""
    elif helpers:
        note, fix = f"holds {some_of(helpers)}, a helper its other files import", ""
    else:
        note = f"holds {some_of(held)}"
        fix = "unpack it into the folder to grade it" if any(n.lower().endswith(".zip") for n in held) else ""
    return note, f"{student} has no {wanted} (the folder {note})" + (f": {fix}" if fix else ""), others


def _another_exercises(name: str, wanted: str, known_files: set[str], near: bool = True) -> bool:
    """Whether a file in a student's folder is another exercise's: its file in any case (``dropout.py``,
    ``Dropout.py``), a copy of it (``rnn (1).py``), or with ``near`` a near miss of it (``rnn.ipynb``,
    ``rnn2.py``; a helper the student's files import, ``rnn_utils.py``, is not): never one to rename to
    ``wanted``."""
    base = name.rsplit("/", 1)[-1]
    if is_near_miss(base, wanted):
        return False
    intended = intended_name(base) or base
    if intended.lower() in {file.lower() for file in known_files}:
        return True
    others = [other for other in known_files if other != wanted]
    return any(is_copy_name(intended, other) or (near and is_near_miss(base, other)) for other in others)


IMPORT_LINE = re.compile(r"^[ \t]*(?:from|import)[ \t].*$", re.MULTILINE)


def _imported_names(student_dir: Path, most: int = 50) -> set[str]:
    """Every name on an ``import`` or ``from ... import`` line of the .py files in a student's folder (and its
    exercises/): a file whose module name is among them is a helper another file imports, never one to
    rename. At most ``most`` files, each read up to :data:`MAX_FILE_BYTES`; links are not followed."""
    names: set[str] = set()
    seen = 0
    for folder in (student_dir, student_dir / "exercises"):
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if not is_python(entry.name) or entry.is_symlink() or not entry.is_file(follow_symlinks=False) or seen >= most:
                continue
            seen += 1
            try:
                with open(entry.path, "rb") as handle:
                    text = handle.read(MAX_FILE_BYTES).decode("utf-8", "replace")
            except OSError:
                continue
            for line in IMPORT_LINE.findall(text):
                names.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", line.split("#", 1)[0]))
    return names


def _stray(name: str, wanted: str, known_files: set[str]) -> bool:
    """Whether a file in a student's folder that lacks ``wanted`` looks meant to be it: a near miss of it
    (``backprop (1).py``, ``backprop.ipynb``) or a .py file that is no exercise's (``dropout.py`` is)."""
    base = name.rsplit("/", 1)[-1]
    if is_near_miss(base, wanted):
        return True
    intended = intended_name(base) or base
    return intended.lower() not in {file.lower() for file in known_files} and is_python(base)


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
    newest = _canvas_newest(names)
    if newest is None:
        return None
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
        dirs = [Path(e.path) for e in os.scandir(folder) if _visible(e) and _is_dir(e)]
    except OSError:
        dirs = []
    held = sorted({file for file in set(exercise_files.values()) - {wanted} if any(_find_files(d, file) for d in dirs)})
    if not held:
        held = sorted({name.rsplit("/", 1)[-1] for s in found for name in s.others})[:3]
    what = f"they hold {', '.join(held)}" if held else "their folders hold no .py file"
    try:
        archives = sorted(student_id(e.name) for e in os.scandir(folder) if _visible(e) and _is_archive(e))
    except OSError:
        archives = []
    if archives and not held:  # bob/ empty beside bob.zip: the work is in the archives, not under another exercise
        raise TutorError(
            f"no submission in {folder} holds {wanted} ({what}), but the class folder holds {len(archives)} "
            f"archive(s) ({some_of(archives)}): grade does not unpack archives; unpack each into its student's folder"
        )
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
    best = _defining_exercise(defined, exercise_functions, exercise)
    if best:
        what = f"{best}'s ({some_of(f for f in exercise_functions[best] if f in everything)})"
    else:
        what = some_of(sorted(everything))
    raise TutorError(
        f"no submission in {folder} defines any of {exercise}'s functions ({some_of(wanted)}); they define {what}: is --exercise right?"
    )


def _defining_exercise(defined: list[set[str]], exercise_functions: dict[str, tuple[str, ...]], exercise: str) -> str:
    """The exercise other than ``exercise`` whose functions the most of ``defined`` (each file's functions)
    define, or ""."""
    best, best_count = "", 0
    for ex_id, functions in exercise_functions.items():
        count = sum(1 for names in defined if names & set(functions))
        if ex_id != exercise and count > best_count:
            best, best_count = ex_id, count
    return best


def defines_other(path: Path | None, exercise_functions: dict[str, tuple[str, ...]], exercise: str) -> str:
    """For a file graded ``not started`` (none of ``exercise``'s functions), what it defines instead when that
    is another exercise's functions (another exercise's solution under this one's name), as the gradebook's note
    says it: ``it defines dropout's functions instead (dropout_forward, dropout_backward)``; else "". What
    :func:`check_defines` says of a whole class of ``<student>.py`` files, for one file of either layout."""
    names = top_level_functions(path)
    if names & set(exercise_functions.get(exercise, ())):
        return ""
    best = _defining_exercise([names], exercise_functions, exercise)
    if not best:
        return ""
    return f"it defines {best}'s functions instead ({some_of(f for f in exercise_functions[best] if f in names)})"


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
                if _visible(e) and (is_python(e.name) or intended_name(e.name) is not None) and not _is_dir(e)
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


CLASS_KEY = "class-key"  # in the learner data folder: this account's secret for class seeds


def class_key() -> bytes:
    """This account's private key for class seeds: 32 random bytes (as hex), made once in the learner data
    folder, readable by its owner only. Without a secret in it, a student who knows the class list could work
    out the seed, draw the very inputs the grader will use and hand in a table of answers."""
    import secrets

    from tutor import paths

    path = paths.home_dir() / CLASS_KEY
    for _ in range(2):
        try:
            key = _read_key(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise TutorError(f"cannot read the class key {path} ({exc.strerror or exc}): pass --seed instead") from None
        else:
            if re.fullmatch(rb"[0-9a-f]{64}", key):
                return key
            raise TutorError(f"the class key {path} is damaged: pass --seed, or remove the file to make a new key "
                             f"(gradebooks being resumed keep their own seed)")
        temp = path.with_name(f".{CLASS_KEY}.{os.getpid()}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, secrets.token_hex(32).encode() + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(temp, path)  # appears whole, and never replaces a key another run made first
            except FileExistsError:
                pass
        except OSError as exc:
            raise TutorError(f"cannot keep a class key in {path.parent} ({exc.strerror or exc}): pass --seed instead") from None
        finally:
            try:
                os.unlink(temp)
            except OSError:
                pass
    raise TutorError(f"cannot keep a class key in {path.parent}: pass --seed instead")


def _read_key(path: Path) -> bytes:
    """The key file's bytes (stripped), read without blocking on a FIFO and never more than a key's size;
    anything but a regular file is damaged (b"")."""
    if os.path.islink(path):
        where = "to another file" if os.path.exists(path) else "that leads nowhere"
        raise TutorError(f"the class key {path} is a link {where}: remove it (a new key is made) or pass --seed")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return b""
        if info.st_mode & 0o077:  # readable by others: the key is only as private as its file
            try:
                os.fchmod(fd, 0o600)
            except OSError:
                pass
        return os.read(fd, 256).strip()
    finally:
        os.close(fd)


def class_seed(exercise: str, students: list[str], key: bytes | None = None) -> int:
    """The seed a class is graded with when none is given: the same for every shard of the same folder graded
    by this account (:func:`class_key`), and not one a student can work out from the class list."""
    import hmac

    text = exercise + "\n" + "\n".join(sorted(set(students)))
    digest = hmac.new(class_key() if key is None else key, text.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") % (2**31)
