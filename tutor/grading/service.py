"""The ``check`` flow as one function: grade, record the attempt, bring a quiz question forward, update hints.

:func:`grade_and_record` is what ``dnn-tutor check`` runs; :func:`grade_file`
grades without recording anything (classroom grading, editors). Everything the
parent runs after the learner's code is imported before that code may start
(:func:`prepare_parent`), so a learner file that tampers with files on disk
cannot change what this process does with its verdict. No printing.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable, Iterable

from tutor.grading import catalogue, engine
from tutor.grading.catalogue import ExerciseInfo
from tutor.grading.model import CheckRecord, Report
from tutor.grading.runner import Running

# Modules the parent uses after the child has run: imported before it may start.
AFTER_CHILD_MODULES = (
    "json",
    "sqlite3",
    "tutor.store",
    "tutor.quiz",
    "tutor.grading.hints",
    "tutor.grading.model",
    "tutor.grading.failures",
    "tutor.grading.compare",
    "tutor.grading.diagnoses",
    "tutor.progress",  # Report.status: the one exercise-status rule
)

DEFAULT_TIMEOUT = engine.DEFAULT_TIMEOUT


def prepare_parent(extra: Iterable[str] = ()) -> None:
    """Import everything the parent will run after the learner's code (see :data:`AFTER_CHILD_MODULES`)."""
    for name in (*AFTER_CHILD_MODULES, *extra):
        try:
            importlib.import_module(name)
        except ImportError:
            continue


def grade_file(exercise_id: str, path: Path, *, seed: int | None = None, timeout: float = DEFAULT_TIMEOUT,
               read_only: list[str] | None = None) -> Report:
    """Grade ``path`` as ``exercise_id`` in a contained child process; nothing is recorded."""
    return engine.grade_file(exercise_id, Path(path), seed=seed, timeout=timeout, read_only=read_only)


def grade_and_record(
    exercise_id: str,
    path: Path,
    *,
    seed: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    prepare: Iterable[Callable[[], object]] = (),
    save: bool = True,
    progress: Callable[[Running], None] | None = None,
) -> CheckRecord:
    """Grade as ``check`` does, then record: the attempt, the quiz concept, the hint ladder's codes
    (``save=False``: nothing, for ``check --no-record``).

    ``prepare``: the caller's own warm-up (e.g. importing its renderer), run
    with :func:`prepare_parent` before the learner's code may start. ``progress``:
    told while the learner's code runs (see :func:`tutor.grading.engine.grade_file`).
    """
    from tutor.store import Store

    info = catalogue.find(exercise_id)
    report = engine.grade_file(info.id, Path(path), seed=seed, timeout=timeout, prepare=(prepare_parent, *prepare),
                               progress=progress)
    from tutor.grading import hints

    from tutor.errors import StoreError

    scheduled = None
    recorded = False
    warnings: tuple[str, ...] = ()
    unsaved = None
    if not save:
        return CheckRecord(report=report, exercise=info, kept=False)
    from tutor.errors import TutorError, os_error_message

    what = f"your check of {info.id} ({'not started' if report.not_started else f'{report.credited} of {report.total} checks'})"
    store = None
    try:
        with Store() as store:
            warnings = tuple(getattr(store, "warnings", ()))
            if not report.not_started:  # an untouched starter is no attempt: the table keeps "not started"
                store.record_attempt(info.id, report.file_hash, report.credited, report.total)
                recorded = True
            if not report.ok and not report.not_started:
                scheduled = schedule_quiz(store, info, report.codes)
            # not saved, it is named as what the check found, for `hint` (not "the hint position")
            hints.record_check(info.id, [] if report.ok else report.codes, store=store, ok=report.ok,
                               what=f"{what}, which `dnn-tutor hint {info.id}` reads")
    except StoreError as exc:  # the verdict still stands and is shown; the command says what was not saved
        unsaved = exc.message
    except TutorError as exc:  # no progress database at all (DNN_TUTOR_HOME under a file, say): the verdict still stands
        unsaved = f"could not save {what}: {exc.message}; it was NOT saved"
    except OSError as exc:  # the data folder itself cannot be made or read
        unsaved = f"could not save {what}: {os_error_message(exc)}; it was NOT saved"
    if unsaved and store is not None and getattr(store, "read_only", False):
        # The store's notice that it opened read-only says what the line about this check says again: one line is enough.
        reason = str(getattr(store, "read_only_reason", "") or "")
        warnings = tuple(w for w in warnings if not (reason and reason in w and reason in unsaved))
    return CheckRecord(report=report, exercise=info, quiz_scheduled=scheduled, recorded=recorded, warnings=warnings,
                       unsaved=unsaved)


def schedule_quiz(store: object, info: ExerciseInfo, codes: list[str]) -> str | None:
    """Bring the quiz question about the first diagnosed mistake forward (best effort)."""
    for code in codes:
        question = info.concepts.get(code)
        if not question:
            continue
        try:
            from tutor.quiz import schedule_concept

            return question if schedule_concept(store, question) else None
        except Exception:  # noqa: BLE001 - the quiz is a bonus; grading must not fail because of it
            return None
    return None
