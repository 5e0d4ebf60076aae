"""The learner-state store: one SQLite file in the learner's data directory.

Everything a learner earns lives here: sections read, lessons completed,
graded attempts, quiz answers and cards, demo runs and the hint ladders.

WAL mode and a busy timeout let two processes (a demo in one terminal, the
quiz in another) write at once without losing anything; every write runs in
``BEGIN IMMEDIATE`` so writers queue instead of failing half-way. The schema
version lives in ``PRAGMA user_version`` and ``store_schema.MIGRATIONS`` brings an older
file up to date; the migrations only ever create what is missing, so a file
whose stamp was lost (``user_version = 0``) or whose table was dropped is
adopted and repaired, never replaced.

Trouble is told apart from damage:

* A file is moved aside (to ``progress.db.corrupt-<time>``) only when it is
  verifiably not a database: a wrong header, or a schema that cannot be read
  *and* a failing integrity check.
* Damage deeper in the file (a garbage page) leaves the file where it is:
  reads return what can still be read, and :attr:`Store.damaged` and one
  warning say so; ``dnn-tutor doctor`` runs the full integrity check and
  ``doctor --repair`` rebuilds the file from every row that can be read.
* A read-only file (or folder), a full disk or a lock held elsewhere is not
  damage: the store opens for reading with one warning, and a write that
  cannot happen raises :class:`StoreError` (one line, exit 1) after keeping
  the result in ``progress.db.pending`` beside the database, from where the
  next run that can write adds it (each line checked first; one that can never
  be added is moved to ``progress.db.pending.rejected-<time>`` with one warning).
* A file moved aside as unreadable stays a problem ``doctor`` reports until
  ``doctor --repair`` has recovered its rows (:meth:`Store.salvage`).

The pieces: :mod:`tutor.store_schema` (migrations, row types, each write as a
named operation), :mod:`tutor.store_file` (opening, migrating, writing, the
pending file), :mod:`tutor.store_health` (integrity check and rebuild); this
module is the API the rest of the tutor uses.

This module never prints: warnings go to :attr:`Store.warnings` and to the
``on_warning`` callback the command layer passes in.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor import clock
from tutor.errors import StoreError
from tutor.store_file import StoreFile, describe_error
from tutor.store_schema import (  # noqa: F401  (re-exported: the row types and the schema version)
    IMPORT_SQL,
    SCHEMA_VERSION,
    Attempt,
    Card,
    DemoRun,
    Health,
    RepairResult,
    Review,
    SalvageResult,
    dumps,
    json_dict,
    metrics_dict,
)

__all__ = ["Store", "Attempt", "Card", "Review", "DemoRun", "Health", "RepairResult", "SCHEMA_VERSION",
           "now_iso", "parse_iso"]

# Thin re-exports: the one clock lives in tutor.clock.
now_iso = clock.now_iso
parse_iso = clock.parse_iso

if TYPE_CHECKING:
    from tutor import export_schema


class Store(StoreFile):
    """Learner progress. Open one per command: ``with Store() as store: ...``.

    ``Store(path=None, *, on_warning=None, read_only=False)``: ``on_warning`` is
    called once per warning as it happens (the command layer prints it); every
    warning is also kept in :attr:`warnings`. ``read_only=True`` opens for
    reading only.
    """

    # -- lessons ----------------------------------------------------------------------
    def mark_section_read(self, lesson_id: str, section: int, n_sections: int) -> bool:
        """Record section ``section`` (1-based) as read. True when this completes the lesson."""
        return bool(self._commit("section", f"section {section} of lesson {lesson_id} as read",
                                 lesson_id=str(lesson_id), section=int(section), n_sections=int(n_sections),
                                 at=clock.now_iso()))

    def sections_read(self, lesson_id: str | None = None) -> dict[str, set[int]]:
        """Sections read, by lesson id (only ``lesson_id`` when given)."""
        if lesson_id is None:
            rows = self._rows("SELECT lesson_id, section FROM sections_read")
        else:
            rows = self._rows("SELECT lesson_id, section FROM sections_read WHERE lesson_id = ?", (lesson_id,))
        result: dict[str, set[int]] = {}
        for lid, section in rows:
            if isinstance(section, int):
                result.setdefault(str(lid), set()).add(section)
        return result

    def lessons_completed(self) -> dict[str, str]:
        return {str(lid): str(at) for lid, at in self._rows("SELECT lesson_id, completed_at FROM lessons_completed")}

    # -- exercises ------------------------------------------------------------------
    def record_attempt(self, exercise_id: str, file_hash: str, passed: int, total: int) -> Attempt:
        attempt = Attempt(str(exercise_id), str(file_hash), int(passed), int(total), clock.now_iso())
        self._commit("attempt", f"your check of {attempt.exercise_id} ({attempt.passed} of {attempt.total} checks)",
                     exercise_id=attempt.exercise_id, file_hash=attempt.file_hash, passed=attempt.passed,
                     total=attempt.total, at=attempt.at)
        return attempt

    def attempts(self, exercise_id: str | None = None) -> list[Attempt]:
        sql = "SELECT exercise_id, file_hash, passed, total, at FROM exercise_attempts"
        params: tuple = ()
        if exercise_id is not None:
            sql += " WHERE exercise_id = ?"
            params = (exercise_id,)
        result = []
        for eid, file_hash, passed, total, at in self._rows(sql + " ORDER BY at, rowid", params, "exercise_attempts"):
            if isinstance(passed, int) and isinstance(total, int) and 0 <= passed <= total:
                result.append(Attempt(str(eid), str(file_hash), passed, total, str(at)))
        return result

    def best_attempts(self) -> dict[str, Attempt]:
        """The best attempt per exercise (most checks passed, then latest)."""
        best: dict[str, Attempt] = {}
        for attempt in self.attempts():
            current = best.get(attempt.exercise_id)
            if current is None or (attempt.passed, attempt.at) >= (current.passed, current.at):
                best[attempt.exercise_id] = attempt
        return best

    # -- quiz -----------------------------------------------------------------------
    def record_review(self, question_id: str, answer: str, correct: bool, state: dict, due: str) -> Review:
        """Log one answer and store the card's new scheduling state in the same transaction.

        An answer longer than an export may carry (``export_schema.MAX_TEXT``) is kept shortened, so
        every export this store writes can be imported again."""
        from tutor import export_schema

        answer = str(answer)
        if len(answer) > export_schema.MAX_TEXT:
            answer = answer[: export_schema.MAX_TEXT - 1] + "…"
        review = Review(str(question_id), answer, bool(correct), dict(state), str(due), clock.now_iso())
        self._commit("review", f"your answer to quiz question {review.question_id} ({review.answer!r})",
                     question_id=review.question_id, answer=review.answer, correct=review.correct,
                     state=dumps(review.state), due=review.due, at=review.at, force=True)
        return review

    def put_card(self, question_id: str, state: dict, due: str) -> None:
        """Create or replace a card without a review (e.g. a grader failure scheduling a concept)."""
        self._commit("card", f"the quiz card for {question_id}", question_id=str(question_id),
                     state=dumps(state), due=str(due), at=clock.now_iso(), force=True)

    def _card_rows(self, sql: str, params: tuple = ()) -> list[Card]:
        return [Card(str(qid), json_dict(state), str(due), str(updated))
                for qid, state, due, updated in self._rows(sql, params, "quiz_cards")]

    def cards(self) -> dict[str, Card]:
        return {c.question_id: c for c in self._card_rows("SELECT question_id, state, due, updated_at FROM quiz_cards")}

    def due_cards(self, until: str | None = None) -> list[Card]:
        """Cards due at or before ``until`` (default: now), most overdue first."""
        return self._card_rows(
            "SELECT question_id, state, due, updated_at FROM quiz_cards WHERE due <= ? ORDER BY due",
            (until or clock.now_iso(),),
        )

    def reviews(self, question_id: str | None = None) -> list[Review]:
        sql = "SELECT question_id, answer, correct, state, due, at FROM quiz_reviews"
        params: tuple = ()
        if question_id is not None:
            sql += " WHERE question_id = ?"
            params = (question_id,)
        return [
            Review(str(qid), str(answer), bool(correct), json_dict(state), str(due), str(at))
            for qid, answer, correct, state, due, at in self._rows(sql + " ORDER BY at", params, "quiz_reviews")
        ]

    # -- demos ----------------------------------------------------------------------
    def record_demo_run(self, demo_id: str, config: dict, metrics: dict, device: str, seconds: float) -> DemoRun:
        stamp = clock.now_iso()
        run_id = self._commit("demo_run", f"the {demo_id} run in the demo journal", demo_id=str(demo_id),
                              config=dumps(config), metrics=dumps(metrics), device=str(device),
                              seconds=float(seconds), at=stamp)
        return DemoRun(int(run_id or 0), str(demo_id), dict(config), dict(metrics), str(device), float(seconds), stamp)

    def demo_runs(self, demo_id: str | None = None, limit: int | None = 20) -> list[DemoRun]:
        """Most recent first."""
        sql = "SELECT id, demo_id, config, metrics, device, seconds, at FROM demo_runs"
        params: list[Any] = []
        if demo_id is not None:
            sql += " WHERE demo_id = ?"
            params.append(demo_id)
        sql += " ORDER BY at DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(0, min(int(limit), 2**62)))
        runs = []
        for rid, did, config, metrics, device, seconds, at in self._rows(sql, tuple(params), "demo_runs"):
            try:
                secs = float(seconds)
            except (TypeError, ValueError):
                secs = 0.0
            runs.append(DemoRun(int(rid), str(did), json_dict(config), metrics_dict(metrics), str(device),
                                secs if secs == secs else 0.0, str(at)))
        return runs

    # -- hint ladders ---------------------------------------------------------------
    def hint_state(self, exercise_id: str) -> dict:
        """The hint ladder of one exercise ({} when none): position, codes, tailored_shown."""
        rows = self._rows("SELECT state FROM hint_state WHERE exercise_id = ?", (exercise_id,), "hint_state")
        return json_dict(rows[0][0]) if rows else {}

    def set_hint_state(self, exercise_id: str, state: dict, what: str | None = None) -> None:
        """Replace the hint ladder of one exercise ({} forgets it). ``what``: what a failure to save it names
        (by default "the hint position for <id>")."""
        self._commit("hint", what or f"the hint position for {exercise_id}", exercise_id=str(exercise_id),
                     state=dumps(dict(state)), at=clock.now_iso(), force=True)

    def hint_states(self) -> dict[str, dict]:
        rows = self._rows("SELECT exercise_id, state, updated_at FROM hint_state ORDER BY exercise_id",
                          what="hint_state")
        return {str(eid): json_dict(state) for eid, state, _ in rows}

    # -- export / import --------------------------------------------------------------
    def export(self) -> dict:
        """Everything the learner has done, as JSON-ready data (the format of export_schema)."""
        from tutor import export_schema

        return {
            "format": export_schema.EXPORT_FORMAT,
            "version": export_schema.EXPORT_VERSION,
            "exported_at": clock.now_iso(),
            "sections_read": [
                {"lesson_id": lid, "section": sec, "read_at": at}
                for lid, sec, at in self._rows("SELECT lesson_id, section, read_at FROM sections_read ORDER BY read_at")
            ],
            "lessons_completed": [
                {"lesson_id": lid, "completed_at": at}
                for lid, at in self._rows("SELECT lesson_id, completed_at FROM lessons_completed ORDER BY completed_at")
            ],
            "exercise_attempts": [a.__dict__ for a in self.attempts()],
            "quiz_reviews": [_exportable_review(r.__dict__, export_schema.MAX_TEXT) for r in self.reviews()],
            "quiz_cards": [dict(c.__dict__) for c in self.cards().values()],
            "demo_runs": [{k: v for k, v in r.__dict__.items() if k != "id"} for r in self.demo_runs(limit=None)],
            "hint_state": [
                {"exercise_id": eid, "state": json_dict(state), "updated_at": at}
                for eid, state, at in self._rows("SELECT exercise_id, state, updated_at FROM hint_state "
                                                 "ORDER BY exercise_id", what="hint_state")
            ],
        }

    def import_(self, data: Any, known: export_schema.KnownIds | None = None,
                source: str = "progress export") -> dict[str, int]:
        """Merge an export into this store, all or nothing; local entries that are newer win.

        The whole export is validated first (:func:`tutor.export_schema.validate`);
        one bad row refuses the file and nothing is written. Logs (attempts,
        reviews, runs) are unions: an entry already present (same key and
        timestamp) is skipped. Sections keep the earliest read time; a card or a
        hint ladder is replaced only when the imported one was updated later.
        Returns how many rows of each kind were added or updated, and under
        ``"skipped"`` how many rows were about quiz questions no longer asked.
        """
        from tutor import export_schema

        checked = export_schema.validate(data, known, source)
        counts = dict.fromkeys(export_schema.SECTION_NAMES, 0)
        if self.read_only:
            raise StoreError(f"cannot import into {self.path}: {self.read_only_reason}; nothing was imported")
        try:
            with self._write() as conn:
                for name, rows in checked.rows.items():
                    sql, params = IMPORT_SQL[name]
                    for row in rows:
                        counts[name] += max(0, conn.execute(sql, params(row)).rowcount)
        except sqlite3.Error as exc:
            raise StoreError(f"could not import into {self.path}: {describe_error(exc)}; nothing was imported") from None
        counts["skipped"] = checked.skipped
        return counts

    # -- health -----------------------------------------------------------------------
    def health(self, full: bool = True) -> Health:
        """The state of the file: a full integrity check (or the quick one), rows per table, problems found."""
        from tutor.store_health import check

        return check(self, full)

    def repair(self) -> RepairResult:
        """Rebuild the file from every row that can still be read; the damaged file is kept beside it."""
        from tutor.store_health import rebuild

        return rebuild(self)

    def set_aside(self) -> list[Path]:
        """Databases moved aside as unreadable (``progress.db.corrupt-*``) whose rows were not recovered yet."""
        from tutor.store_health import set_aside

        return set_aside(self)

    def salvage(self, damaged: Path) -> SalvageResult:
        """Copy every row that can be recovered from a database set aside as unreadable into this one."""
        from tutor.store_health import salvage

        return salvage(self, damaged)


def _exportable_review(row: dict, limit: int) -> dict:
    """A review as an export carries it: an answer longer than ``limit`` (kept by an older dnn-tutor)
    shortened, as :meth:`Store.record_review` keeps new ones, so the export imports again."""
    row = dict(row)
    answer = str(row.get("answer", ""))
    if len(answer) > limit:
        row["answer"] = answer[: limit - 1] + "…"
    return row
