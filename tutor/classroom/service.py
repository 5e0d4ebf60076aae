"""Grade a class folder into a gradebook: find, shard, skip what is graded, grade the rest, save every row.

:func:`grade_class` does the work and returns a :class:`ClassRun`; it never
prints (progress goes to a callback). Every finished row is saved at once, so
Ctrl-C or a crash keeps all of them, and a rerun skips submissions whose sha256
(:func:`submissions.submission_sha256`: the file, or every file of a folder
that holds more) is already in the gradebook for that exercise and seed. A row
that holds no grade (missing, unreadable, ambiguous, a grader error) never
replaces a graded one already there: that row is kept, with a warning; before a
run first replaces a row that earned something (a score above 0, or done,
partial or failed: a changed file), the gradebook as it was before the run is kept as
``<name>.bak-<timestamp>``. A timeout is graded again under a longer --timeout
than the one its row records, and so is a stopped run's row an older dnn-tutor
wrote (with credit for checks before the stop, or no note). A run
holds the gradebook's lock (:func:`gradebook.lock`) from start to end: a second
run on the same ``--out`` stops at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tutor.classroom import gradebook, pool, submissions
from tutor.classroom.gradebook import Row
from tutor.errors import TutorError

RETRY_STATUSES = (gradebook.ERROR,)  # rows a rerun grades again even when the file is unchanged
# rows that hold no grade: one never replaces a graded row already in the gradebook (that row is kept, with a warning)
NOT_GRADED = gradebook.NO_GRADE


@dataclass
class ClassRun:
    out: Path
    exercises: list[str]
    seeds: dict[str, int]
    shard: str | None
    students: int  # in this shard
    graded: int = 0
    skipped: int = 0
    to_grade: int = 0
    interrupted: bool = False
    exit_code: int = 0  # 130 after Ctrl-C, 128 + N after a signal
    rows: list[Row] = field(default_factory=list)  # this run's exercises and students, after the run
    seconds: float = 0.0
    backup: Path | None = None  # the gradebook as it was before this run first replaced a graded row in it
    absent: list[str] = field(default_factory=list)  # students whose rows (of this run's exercises) the gradebook
    # keeps though the class folder no longer names them: kept, as nothing earned is dropped

    def to_dict(self) -> dict:
        return {
            "out": str(self.out),
            "exercises": self.exercises,
            "seeds": self.seeds,
            "shard": self.shard,
            "students": self.students,
            "graded": self.graded,
            "skipped": self.skipped,
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 2),
            "backup": str(self.backup) if self.backup else None,
            "absent": list(self.absent),
            "rows": [r.to_dict() for r in self.rows],
        }


MAX_JOBS = 256


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def validate_options(jobs: int | None, timeout: float, seed: int | None) -> int:
    if jobs is None:
        jobs = default_jobs()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= MAX_JOBS:
        raise TutorError(f"--jobs: expected a whole number from 1 to {MAX_JOBS}, got {jobs!r}")
    from tutor.grading.engine import check_seed, check_timeout

    check_timeout(timeout)
    if seed is not None:
        check_seed(seed)  # the range `check --seed` takes: a seed from either works in the other
    return jobs


def grade_class(
    folder: Path,
    *,
    exercise: str | None,
    out: Path,
    jobs: int | None = None,
    seed: int | None = None,
    timeout: float = 20.0,
    shard: str | None = None,
    on_start: Callable[[int], None] | None = None,
    on_row: Callable[[Row], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> ClassRun:
    from tutor.grading import catalogue

    started = time.monotonic()
    jobs = validate_options(jobs, timeout, seed)
    part = submissions.parse_shard(shard) if shard is not None else None
    infos = catalogue.load()
    if exercise is not None:
        exercise = catalogue.find(exercise.strip()).id
    from tutor.fsutil import check_output_file
    from tutor.paths import expand_user

    out = expand_user(out)

    check_output_file(out, option="--out", force=True)  # an existing gradebook is resumed, not replaced
    _check_out_place(out, Path(folder))
    # two runs writing one gradebook would each drop the other's rows; a Canvas submission of several files is
    # graded from a copy of them under their uploaded names (staging), removed when the run ends
    with gradebook.lock(out), tempfile.TemporaryDirectory(prefix="dnn-tutor-grade-") as staging:
        return _grade_locked(
            Path(folder), infos, exercise, out, jobs, seed, timeout, part, started, on_start, on_row, on_warning, Path(staging)
        )


def _check_out_place(out: Path, folder: Path) -> None:
    """Refuse a gradebook that would become part of what it grades: inside a student's folder (their code,
    allowed to read its own folder, could read every grade, and the folder would change with every save, so
    the student is graded again each run) or a ``.py`` file in the class folder (the next run grades it as
    a student's file). Beside the students in the class folder, or in a folder discovery ignores
    (``.grades/``), is fine."""
    try:
        where = Path(os.path.realpath(out.parent))
        klass = Path(os.path.realpath(folder))
        inside = where.is_relative_to(klass)
    except (OSError, ValueError):
        return
    if not inside or not klass.is_dir():
        return
    parts = where.relative_to(klass).parts
    if parts and parts[0].startswith((".", "_")):
        return  # a folder no student's: discovery never looks in it
    if parts:
        raise TutorError(
            f"--out {out} is inside {parts[0]}/, a student's folder in {folder}: the student's code could read the "
            f"gradebook, and every save would change the folder (graded again each run); write it outside the "
            f"students' folders"
        )
    if submissions.is_python(out.name):
        raise TutorError(
            f"--out {out} is a .py file in the class folder {folder}: the next run would grade it as a student's; "
            "name the gradebook .csv or .jsonl"
        )


def _grade_locked(
    folder: Path,
    infos: dict,
    exercise: str | None,
    out: Path,
    jobs: int,
    seed: int | None,
    timeout: float,
    part: submissions.Shard | None,
    started: float,
    on_start: Callable[[int], None] | None,
    on_row: Callable[[Row], None] | None,
    on_warning: Callable[[str], None] | None,
    staging: Path,
) -> ClassRun:
    files = {i: info.file for i, info in infos.items()}  # exercise id -> the file a student hands in
    skipped: list[str] = []  # entries discovery passed over, one warning line each
    found = submissions.discover(folder, files, exercise, skipped)
    functions = {i: tuple(info.functions) for i, info in infos.items()}  # exercise id -> the functions it asks for
    if exercise is not None:
        submissions.check_held(folder, files, exercise, found)  # a typo'd --exercise: refused, nothing written
        submissions.check_defines(folder, functions, exercise, found)  # the same for a class of <student>.py files
    existing = _nfc_students(gradebook.read(out)) if out.exists() else []
    # a gradebook resumed keeps its format (JSON Lines saved as book.csv by `grade --json > book.csv` stays so)
    jsonl = gradebook.holds_jsonl(out) if out.exists() else None
    original = out.read_bytes() if existing else b""  # what a copy kept before a graded row is replaced holds
    exercises = list(dict.fromkeys(s.exercise for s in found))
    everyone = sorted({s.student for s in found})
    seeds: dict[str, int] = {}
    for ex in exercises:
        old = sorted({r.seed for r in existing if r.exercise == ex})
        if seed is not None:
            if old and old != [seed]:
                raise TutorError(
                    f"{out} holds {ex} rows graded with seed {old[0]}; grade with --seed {old[0]} or write to another --out"
                )
            seeds[ex] = seed
        elif len(old) > 1:
            raise TutorError(f"{out} holds {ex} rows graded with different seeds ({', '.join(map(str, old))}); pass --seed")
        elif old:
            seeds[ex] = old[0]
        else:
            seeds[ex] = submissions.class_seed(ex, everyone)
    chosen = [s for s in found if part is None or part.holds(s.student)]
    # rows of students the folder no longer names (a folder deleted): kept, as nothing earned is dropped, but said,
    # for `grade report` counts them while this run's summary does not
    named = set(everyone)
    absent = sorted({r.student for r in existing if r.exercise in exercises and r.student not in named})
    if on_warning:
        for line in skipped + list(dict.fromkeys(s.warning for s in chosen if s.warning)):
            on_warning(line)
        if absent:
            on_warning(
                f"{out} keeps {len(absent)} row(s) of student(s) no longer in {folder} ({submissions.some_of(absent)}): "
                "kept (nothing earned is dropped), and `grade report` counts them; if they left the class, delete "
                "their rows from the gradebook"
            )
    rows: dict[tuple[str, str], Row] = {r.key: r for r in existing}
    run = ClassRun(out, exercises, seeds, str(part) if part else None, len({s.student for s in chosen}), absent=absent)
    totals: dict[str, int] = {}
    instant: list[Row] = []
    tasks: list[pool.Task] = []
    outdated: list[str] = []  # unchanged files whose stopped-run rows an older dnn-tutor wrote: graded again
    folder_digests: dict[tuple[str, str], str] = {}  # folder submissions: what a finished row's sha256 must be
    notes: dict[tuple[str, str], str] = {}  # graded submissions: what discovery had to say (Canvas's latest)
    graded_files: dict[tuple[str, str], Path] = {}  # graded submissions: the file graded
    for sub in chosen:
        ex_seed = seeds[sub.exercise]
        if sub.problem:
            if sub.exercise not in totals:
                totals[sub.exercise] = _known_total(existing, sub.exercise) or _plan_total(sub.exercise, ex_seed)
            digest = ""
            if sub.path is not None and sub.problem != gradebook.UNREADABLE:
                digest = submissions.file_sha256(sub.path)
            instant.append(Row(sub.student, sub.exercise, 0, totals[sub.exercise], sub.problem, [sub.problem], 0.0, digest, ex_seed, note=sub.note))
            continue
        staged_from: list[str] = []
        try:
            if sub.helpers:  # one Canvas submission of several files: graded from a copy under the uploaded names
                staged_from = [str(Path(p).resolve()) for p in (sub.path, *(path for _, path in sub.helpers))]  # type: ignore[arg-type]
                sub = _stage(sub, staging)
            digest = submissions.submission_sha256(sub.path, sub.root)  # type: ignore[arg-type]
        except OSError as exc:
            note = gradebook.note_line(f"not readable ({exc.strerror or exc})")
            if on_warning:
                on_warning(f"{sub.student}: {submissions.student_id(sub.path.name)} is {note}: not graded (unreadable)")  # type: ignore[union-attr]
            instant.append(Row(sub.student, sub.exercise, 0, 0, gradebook.UNREADABLE, [gradebook.UNREADABLE], 0.0, "", ex_seed, note=note))
            continue
        old_row = rows.get((sub.student, sub.exercise))
        if old_row and old_row.sha256 == digest and old_row.seed == ex_seed:
            if not _regrade(old_row, timeout):
                run.skipped += 1
                continue
            if _outdated(old_row):
                outdated.append(sub.student)
        own = str(Path(sub.root).resolve()) if sub.root is not None else ""
        if staged_from:  # the student's own uploads as well: their folder, the class folder, stays hidden
            own = "\0".join([own, *staged_from])  # (the copy's folder alone hid only the staging folder)
        tasks.append(pool.Task(sub.student, sub.exercise, str(Path(sub.path).resolve()), ex_seed, timeout, own=own))  # type: ignore[arg-type]
        if sub.root is not None and Path(sub.root).is_dir():
            folder_digests[(sub.student, sub.exercise)] = digest
        if sub.note:
            notes[(sub.student, sub.exercise)] = sub.note
        graded_files[(sub.student, sub.exercise)] = Path(sub.path)  # type: ignore[arg-type]

    def keeps(row: Row) -> bool:
        """Whether the gradebook's graded row for ``row``'s student and exercise stays (``row`` holds no grade)."""
        old_row = rows.get(row.key)
        if row.status not in NOT_GRADED or old_row is None or old_row.status in NOT_GRADED:
            return False
        if on_warning:
            on_warning(
                f"{row.student} ({row.exercise}) could not be graded this time ({row.status}): the gradebook keeps "
                f"the earlier row ({old_row.passed}/{old_row.total} {old_row.status})"
            )
        return True

    instant = [r for r in instant if not keeps(r)]
    if outdated and on_warning:
        on_warning(
            f"graded again: {len(outdated)} stopped run(s) kept from an older dnn-tutor ({submissions.some_of(outdated)}) "
            "held credit for the checks passed before the stop, or no note; a stopped run scores 0 today"
        )
    run.to_grade = len(tasks)
    if on_start:
        on_start(len(tasks))
    on_disk = [len(existing)]  # how many rows the gradebook file holds, as last written

    def write(unsaved: int) -> None:
        """Save every row; when that fails (a full disk), one line says what is saved and what to do."""
        try:
            gradebook.write(out, rows.values(), jsonl=jsonl)
        except TutorError as exc:
            lost = f"; {unsaved} graded row(s) could not be saved" if unsaved else ""
            raise TutorError(
                f"{exc.message}: it holds {on_disk[0]} row(s), {run.graded} of them graded in this run{lost}. "
                f"{gradebook.write_fix(getattr(exc, 'errno', None))} and run the same command again: the saved rows "
                "are skipped",
                exit_code=1,
            ) from None
        on_disk[0] = len(rows)

    def save(row: Row) -> None:
        instead = ""  # another exercise's solution saved under this one's name: which exercise it is
        if row.status == gradebook.NOT_STARTED and row.key in graded_files:
            instead = submissions.defines_other(graded_files[row.key], functions, row.exercise)
        note = "; ".join(n for n in (row.note, instead, notes.get(row.key, "")) if n)  # the run's first, then discovery's
        row = dataclasses.replace(row, timeout=timeout, note=gradebook.note_line(note))
        if row.sha256 and row.key in folder_digests:
            # the grader hashes the one file it ran; the row records the whole folder it was graded from,
            # or the next run would grade a student with helper files again every time
            row = dataclasses.replace(row, sha256=folder_digests[row.key])
        if keeps(row):
            row = rows[row.key]
        else:
            old_row = rows.get(row.key)
            if run.backup is None and old_row is not None and _earned(old_row) and not old_row.same_result(row):
                run.backup = _keep_copy(out, original, row, run.graded, on_warning)
            rows[row.key] = row
            write(1)
        run.graded += 1
        if on_row:
            on_row(row)

    changed_instant = [r for r in instant if not (r.key in rows and rows[r.key].same_result(r))]
    for row in instant:
        rows[row.key] = row
    if changed_instant or not out.exists():
        write(0)
    try:
        pool.run(tasks, jobs, save, on_warning)
    except KeyboardInterrupt as exc:
        from tutor import errors

        run.interrupted = True
        run.exit_code = errors.interrupt_exit_code(exc) if hasattr(errors, "interrupt_exit_code") else 130
    chosen_keys = {(s.student, s.exercise) for s in chosen}
    run.rows = gradebook.sort_rows(r for k, r in rows.items() if k in chosen_keys)
    run.seconds = time.monotonic() - started
    return run


def _nfc_students(rows: list[Row]) -> list[Row]:
    """A gradebook's rows with each student id in Unicode's composed form (NFC), as
    :func:`submissions.student_id` makes ids: a row written for ``José`` with a combining accent (a class folder
    unzipped on macOS) is the same student's row. A row whose composed id another row of the exercise already
    has is left as it is (nothing is dropped)."""
    taken = {r.key for r in rows}
    result = []
    for row in rows:
        student = submissions.nfc(row.student)
        if student != row.student and (student, row.exercise) not in taken:
            taken.add((student, row.exercise))
            row = dataclasses.replace(row, student=student)
        result.append(row)
    return result


def _stage(sub: submissions.Submission, staging: Path) -> submissions.Submission:
    """A Canvas submission of several files (the exercise's file and a helper it imports), copied into a folder
    of its own under the names the student uploaded (``rnn.py`` beside ``helpers.py``), so the helper imports as
    on the student's machine: the submission graded from there, that folder its own. Only regular files up to
    :data:`submissions.MAX_FILE_BYTES` are copied (a link is never followed). Raises OSError."""
    import shutil

    folder = Path(tempfile.mkdtemp(prefix="submission-", dir=staging))
    graded = folder / sub.upload
    shutil.copyfile(sub.path, graded, follow_symlinks=False)  # type: ignore[arg-type]
    left: list[str] = []  # what the copy does not hold, said in the row's note
    for name, path in sub.helpers:
        target = folder / name
        if os.path.lexists(target) or "/" in name or name in (".", ".."):
            left.append(f"{submissions.student_id(Path(path).name)} (a second file uploaded as {submissions.student_id(name)})")
            continue  # two files uploaded under one name: the first is kept (the graded one always)
        why = submissions.unreadable_note(path)
        if why == "":
            shutil.copyfile(path, target, follow_symlinks=False)
        else:
            left.append(f"{submissions.student_id(Path(path).name)} ({why})")
    note = sub.note
    if left:
        note = (f"{note}; " if note else "") + f"not copied beside it: {submissions.some_of(left, 2)}"
    return dataclasses.replace(sub, path=graded, root=folder, note=note)


def check_merge_seeds(paths: list[Path]) -> None:
    """Before ``grade merge``: raise :class:`TutorError` when the parts graded one exercise with different seeds,
    saying why that happens. Without --seed a part's seed comes from the list of students
    (:func:`submissions.class_seed`), so a student who arrived (or left) between two shard runs gives the parts
    different seeds although the teacher never passed one. A part that cannot be read is left to the merge to
    refuse."""
    parts: list[tuple[Path, list[Row]]] = []
    for path in dict.fromkeys(Path(p) for p in paths):
        try:
            parts.append((path, gradebook.composed(gradebook.read(path), str(path))))  # ids as grading gives them
        except TutorError:
            return
    for exercise in dict.fromkeys(r.exercise for _, rows in parts for r in rows):
        seeds: dict[int, Path] = {}
        for path, rows in parts:
            for row in rows:
                if row.exercise == exercise:
                    seeds.setdefault(row.seed, path)
        if len(seeds) < 2:
            continue
        (first, first_path), (other, other_path) = list(seeds.items())[:2]
        students = sorted({r.student for _, rows in parts for r in rows if r.exercise == exercise})
        derived = _derived_seeds(exercise, students)
        said = f"{other_path} graded {exercise} with seed {other} but {first_path} with seed {first}"
        fix = f"grade every part again with the same --seed (e.g. --seed {first}), each into a new --out, then merge those"
        if derived & set(seeds):
            raise TutorError(
                f"{said}: without --seed the seed comes from the list of students and the grading account's private "
                f"class key, so either the class changed between the shard runs (a student added or removed) or a part "
                f"was graded on another machine or account; {fix}"
            )
        raise TutorError(
            f"{said}: grade every part with the same --seed (without it, the seed comes from the list of students and "
            f"the grading account's private class key, so a part graded on another machine or account, or after the "
            f"class changed, gets another); {fix}"
        )


def _derived_seeds(exercise: str, students: list[str], most: int = 2000) -> set[int]:
    """The seeds a run without --seed gives ``students`` (every part's students together), or that class less any
    one student (a part graded before that student's folder arrived)."""
    try:
        key = submissions.class_key()
    except TutorError:
        return set()
    seeds = {submissions.class_seed(exercise, students, key)}
    if len(students) <= most:
        seeds |= {submissions.class_seed(exercise, students[:i] + students[i + 1:], key) for i in range(len(students))}
    return seeds


def _regrade(row: Row, timeout: float) -> bool:
    """Whether an unchanged submission's row is graded again: a grader error, a stopped run an older dnn-tutor
    graded (:func:`_outdated`), or a timeout under a shorter --timeout than this run's (or one not recorded:
    a gradebook from before the column)."""
    if row.status in RETRY_STATUSES or _outdated(row):
        return True
    return row.status == "timeout" and (row.timeout is None or timeout > row.timeout)


def _outdated(row: Row) -> bool:
    """A stopped run's row that today's rules would not write: credit for the checks passed before the stop
    (a stopped run scores 0) or no note saying why it stopped. Kept as it is, one gradebook would score
    identical stopped runs differently."""
    from tutor.classroom.adapter import FATAL_KINDS

    return row.status in FATAL_KINDS and (row.passed > 0 or not row.note)


def _earned(row: Row) -> bool:
    """Whether replacing ``row`` loses something earned, so a copy of the gradebook is kept first: a score
    above 0, or a done, partial or failed row (a graded file, its diagnoses). A stopped run's 0 (graded again
    under a longer --timeout) is not."""
    return row.score > 0 or row.status in (gradebook.DONE, gradebook.PARTIAL, gradebook.FAILED)


def _keep_copy(out: Path, original: bytes, row: Row, saved: int, on_warning: Callable[[str], None] | None) -> Path:
    """Keep the gradebook as it was before this run (``original``) beside it, before the run first replaces
    a graded row (``row``'s), and say so in one line."""
    from tutor import fsutil

    backup = None
    try:
        backup = fsutil.backup_path(out)
        fsutil.atomic_write_bytes(backup, original)
    except OSError as exc:
        if backup is not None:
            with contextlib.suppress(OSError):
                backup.unlink()
        raise TutorError(
            f"cannot keep a copy of {out} before replacing {row.student}'s earlier row: {exc.strerror or exc} "
            f"(nothing was replaced): {saved} graded row(s) of this run are saved, {row.student}'s is not. "
            f"{gradebook.write_fix(exc.errno)} and run the same command again: the saved rows are skipped",
            exit_code=1,
        ) from None
    if on_warning:
        on_warning(f"this run replaces an earlier graded row ({row.student}'s, and any after it): the gradebook as it was is kept as {backup}")
    return backup


def _known_total(rows: list[Row], exercise: str) -> int:
    return max((r.total for r in rows if r.exercise == exercise), default=0)


def _plan_total(exercise: str, seed: int) -> int:
    from tutor.classroom.adapter import check_total

    return check_total(exercise, seed)
