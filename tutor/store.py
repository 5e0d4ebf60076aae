"""The progress store: one SQLite file in the learner's data directory.

WAL mode and a busy timeout let two processes (a demo in one terminal, the
quiz in another) write at once without losing anything; every write runs in
``BEGIN IMMEDIATE`` so writers queue instead of failing half-way. The schema
version lives in ``PRAGMA user_version`` and :data:`MIGRATIONS` brings an older
file up to date. A file that is not a readable database is moved aside to
``progress.db.corrupt-<timestamp>`` and a fresh one is created; the move is
reported in :attr:`Store.warnings` for the command to print.

This module never prints.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from tutor.errors import TutorError

BUSY_TIMEOUT_MS = 30_000
EXPORT_FORMAT = "dnn-tutor-progress"
EXPORT_VERSION = 1

# Each entry brings the schema from version i to i + 1. Never edit a released
# migration: append a new one.
MIGRATIONS: list[str] = [
    # 0 -> 1: every table the course needs.
    """
    CREATE TABLE sections_read (
        lesson_id TEXT NOT NULL,
        section INTEGER NOT NULL,
        read_at TEXT NOT NULL,
        PRIMARY KEY (lesson_id, section)
    );
    CREATE TABLE lessons_completed (
        lesson_id TEXT PRIMARY KEY,
        completed_at TEXT NOT NULL
    );
    CREATE TABLE exercise_attempts (
        id INTEGER PRIMARY KEY,
        exercise_id TEXT NOT NULL,
        file_hash TEXT NOT NULL,
        passed INTEGER NOT NULL,
        total INTEGER NOT NULL,
        at TEXT NOT NULL,
        UNIQUE (exercise_id, file_hash, at)
    );
    CREATE INDEX exercise_attempts_by_id ON exercise_attempts (exercise_id, at);
    CREATE TABLE quiz_reviews (
        id INTEGER PRIMARY KEY,
        question_id TEXT NOT NULL,
        answer TEXT NOT NULL,
        correct INTEGER NOT NULL,
        state TEXT NOT NULL,
        due TEXT NOT NULL,
        at TEXT NOT NULL,
        UNIQUE (question_id, at)
    );
    CREATE INDEX quiz_reviews_by_question ON quiz_reviews (question_id, at);
    CREATE TABLE quiz_cards (
        question_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        due TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX quiz_cards_by_due ON quiz_cards (due);
    CREATE TABLE demo_runs (
        id INTEGER PRIMARY KEY,
        demo_id TEXT NOT NULL,
        config TEXT NOT NULL,
        metrics TEXT NOT NULL,
        device TEXT NOT NULL,
        seconds REAL NOT NULL,
        at TEXT NOT NULL,
        UNIQUE (demo_id, at)
    );
    CREATE INDEX demo_runs_by_demo ON demo_runs (demo_id, at);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def now_iso() -> str:
    """UTC time as sortable ISO-8601 text with microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Attempt:
    exercise_id: str
    file_hash: str
    passed: int
    total: int
    at: str


@dataclass(frozen=True)
class Card:
    question_id: str
    state: dict
    due: str
    updated_at: str


@dataclass(frozen=True)
class Review:
    question_id: str
    answer: str
    correct: bool
    state: dict
    due: str
    at: str


@dataclass(frozen=True)
class DemoRun:
    id: int
    demo_id: str
    config: dict
    metrics: dict
    device: str
    seconds: float
    at: str


@dataclass(frozen=True)
class Health:
    path: Path
    exists: bool
    schema_version: int
    expected_version: int
    integrity: str
    journal_mode: str
    size_bytes: int
    counts: dict[str, int]


class Store:
    """Learner progress. Open one per command: ``with Store() as store: ...``."""

    def __init__(self, path: Path | str | None = None):
        from tutor import paths

        self.path = Path(path) if path is not None else paths.progress_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.warnings: list[str] = []
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError as exc:
            moved = self._move_aside(exc)
            self.warnings.append(
                f"progress database {self.path} was unreadable ({exc}); moved it to {moved.name} and started a new one"
            )
            self._conn = self._open()

    # -- connection ---------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # Reading the header is what detects a file that is not a database.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.DatabaseError(f"could not switch to WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise TutorError(
                f"progress database {self.path} has schema version {version}, newer than this "
                f"dnn-tutor understands ({SCHEMA_VERSION}); upgrade dnn-tutor",
                exit_code=1,
            )
        if version == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for index in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[index].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {index + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _move_aside(self, exc: Exception) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        shutil.move(str(self.path), target)
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                shutil.move(str(side), target.with_name(target.name + suffix))
        return target

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that holds the write lock from its first statement."""
        for attempt in range(5):
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:  # pragma: no cover - only under heavy contention
                if "locked" not in str(exc) or attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self._conn.execute(sql, params).fetchall()

    # -- lessons ------------------------------------------------------------
    def mark_section_read(self, lesson_id: str, section: int, n_sections: int) -> bool:
        """Record section ``section`` (1-based) as read. True when this completes the lesson."""
        stamp = now_iso()
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO sections_read (lesson_id, section, read_at) VALUES (?, ?, ?)",
                (lesson_id, section, stamp),
            )
            read = {
                row[0]
                for row in conn.execute("SELECT section FROM sections_read WHERE lesson_id = ?", (lesson_id,))
            }
            if set(range(1, n_sections + 1)) <= read:
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO lessons_completed (lesson_id, completed_at) VALUES (?, ?)",
                    (lesson_id, stamp),
                )
                return cursor.rowcount == 1
        return False

    def sections_read(self, lesson_id: str | None = None) -> dict[str, set[int]]:
        """Sections read, by lesson id (only ``lesson_id`` when given)."""
        if lesson_id is None:
            rows = self._rows("SELECT lesson_id, section FROM sections_read")
        else:
            rows = self._rows("SELECT lesson_id, section FROM sections_read WHERE lesson_id = ?", (lesson_id,))
        result: dict[str, set[int]] = {}
        for lid, section in rows:
            result.setdefault(lid, set()).add(section)
        return result

    def lessons_completed(self) -> dict[str, str]:
        return dict(self._rows("SELECT lesson_id, completed_at FROM lessons_completed"))

    def last_read(self) -> tuple[str, int, str] | None:
        row = self._rows("SELECT lesson_id, section, read_at FROM sections_read ORDER BY read_at DESC LIMIT 1")
        return tuple(row[0]) if row else None

    # -- exercises ----------------------------------------------------------
    def record_attempt(self, exercise_id: str, file_hash: str, passed: int, total: int) -> Attempt:
        attempt = Attempt(exercise_id, file_hash, int(passed), int(total), now_iso())
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO exercise_attempts (exercise_id, file_hash, passed, total, at) VALUES (?, ?, ?, ?, ?)",
                (attempt.exercise_id, attempt.file_hash, attempt.passed, attempt.total, attempt.at),
            )
        return attempt

    def attempts(self, exercise_id: str | None = None) -> list[Attempt]:
        sql = "SELECT exercise_id, file_hash, passed, total, at FROM exercise_attempts"
        params: tuple = ()
        if exercise_id is not None:
            sql += " WHERE exercise_id = ?"
            params = (exercise_id,)
        return [Attempt(*row) for row in self._rows(sql + " ORDER BY at", params)]

    def best_attempts(self) -> dict[str, Attempt]:
        """The best attempt per exercise (most checks passed, then latest)."""
        best: dict[str, Attempt] = {}
        for attempt in self.attempts():
            current = best.get(attempt.exercise_id)
            if current is None or (attempt.passed, attempt.at) >= (current.passed, current.at):
                best[attempt.exercise_id] = attempt
        return best

    # -- quiz ---------------------------------------------------------------
    def record_review(
        self, question_id: str, answer: str, correct: bool, state: dict, due: str
    ) -> Review:
        """Log one answer and store the card's new scheduling state in the same transaction."""
        review = Review(question_id, str(answer), bool(correct), dict(state), due, now_iso())
        state_json = json.dumps(review.state, sort_keys=True)
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO quiz_reviews (question_id, answer, correct, state, due, at) VALUES (?, ?, ?, ?, ?, ?)",
                (question_id, review.answer, int(review.correct), state_json, due, review.at),
            )
            conn.execute(
                "INSERT INTO quiz_cards (question_id, state, due, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (question_id) DO UPDATE SET state = excluded.state, due = excluded.due, "
                "updated_at = excluded.updated_at",
                (question_id, state_json, due, review.at),
            )
        return review

    def put_card(self, question_id: str, state: dict, due: str) -> None:
        """Create or replace a card without a review (e.g. a grader failure scheduling a concept)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO quiz_cards (question_id, state, due, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (question_id) DO UPDATE SET state = excluded.state, due = excluded.due, "
                "updated_at = excluded.updated_at",
                (question_id, json.dumps(state, sort_keys=True), due, now_iso()),
            )

    def cards(self) -> dict[str, Card]:
        rows = self._rows("SELECT question_id, state, due, updated_at FROM quiz_cards")
        return {qid: Card(qid, json.loads(state), due, updated) for qid, state, due, updated in rows}

    def due_cards(self, until: str | None = None) -> list[Card]:
        """Cards due at or before ``until`` (default: now), most overdue first."""
        until = until or now_iso()
        rows = self._rows(
            "SELECT question_id, state, due, updated_at FROM quiz_cards WHERE due <= ? ORDER BY due",
            (until,),
        )
        return [Card(qid, json.loads(state), due, updated) for qid, state, due, updated in rows]

    def reviews(self, question_id: str | None = None) -> list[Review]:
        sql = "SELECT question_id, answer, correct, state, due, at FROM quiz_reviews"
        params: tuple = ()
        if question_id is not None:
            sql += " WHERE question_id = ?"
            params = (question_id,)
        return [
            Review(qid, answer, bool(correct), json.loads(state), due, at)
            for qid, answer, correct, state, due, at in self._rows(sql + " ORDER BY at", params)
        ]

    # -- demos --------------------------------------------------------------
    def record_demo_run(
        self, demo_id: str, config: dict, metrics: dict, device: str, seconds: float
    ) -> DemoRun:
        stamp = now_iso()
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO demo_runs (demo_id, config, metrics, device, seconds, at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    demo_id,
                    json.dumps(config, sort_keys=True, default=str),
                    json.dumps(metrics, sort_keys=True, default=str),
                    device,
                    float(seconds),
                    stamp,
                ),
            )
            run_id = cursor.lastrowid
        return DemoRun(run_id, demo_id, dict(config), dict(metrics), device, float(seconds), stamp)

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
            params.append(int(limit))
        return [
            DemoRun(rid, did, json.loads(config), json.loads(metrics), device, seconds, at)
            for rid, did, config, metrics, device, seconds, at in self._rows(sql, tuple(params))
        ]

    # -- export / import ----------------------------------------------------
    def export(self) -> dict:
        """Everything the learner has done, as JSON-ready data."""
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported_at": now_iso(),
            "sections_read": [
                {"lesson_id": lid, "section": sec, "read_at": at}
                for lid, sec, at in self._rows("SELECT lesson_id, section, read_at FROM sections_read ORDER BY read_at")
            ],
            "lessons_completed": [
                {"lesson_id": lid, "completed_at": at}
                for lid, at in self._rows("SELECT lesson_id, completed_at FROM lessons_completed ORDER BY completed_at")
            ],
            "exercise_attempts": [a.__dict__ for a in self.attempts()],
            "quiz_reviews": [
                {**r.__dict__, "correct": r.correct} for r in self.reviews()
            ],
            "quiz_cards": [c.__dict__ for c in self.cards().values()],
            "demo_runs": [
                {k: v for k, v in r.__dict__.items() if k != "id"} for r in self.demo_runs(limit=None)
            ],
        }

    def import_(self, data: dict) -> dict[str, int]:
        """Merge an export into this store; local entries that are newer win.

        Logs (attempts, reviews, runs) are unions: an entry already present (same
        key and timestamp) is skipped. Sections keep the earliest read time;
        a card is replaced only when the imported one was updated later.
        Returns how many rows of each kind were added or updated.
        """
        if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
            raise TutorError("not a dnn-tutor progress export (missing \"format\": \"dnn-tutor-progress\")")
        if int(data.get("version", 0)) > EXPORT_VERSION:
            raise TutorError(f"export version {data.get('version')} is newer than this dnn-tutor understands")
        counts = dict.fromkeys(
            ["sections_read", "lessons_completed", "exercise_attempts", "quiz_reviews", "quiz_cards", "demo_runs"], 0
        )
        try:
            with self._write() as conn:
                for row in data.get("sections_read", []):
                    cur = conn.execute(
                        "INSERT INTO sections_read (lesson_id, section, read_at) VALUES (?, ?, ?) "
                        "ON CONFLICT (lesson_id, section) DO UPDATE SET read_at = excluded.read_at "
                        "WHERE excluded.read_at < sections_read.read_at",
                        (str(row["lesson_id"]), int(row["section"]), str(row["read_at"])),
                    )
                    counts["sections_read"] += cur.rowcount
                for row in data.get("lessons_completed", []):
                    cur = conn.execute(
                        "INSERT INTO lessons_completed (lesson_id, completed_at) VALUES (?, ?) "
                        "ON CONFLICT (lesson_id) DO UPDATE SET completed_at = excluded.completed_at "
                        "WHERE excluded.completed_at < lessons_completed.completed_at",
                        (str(row["lesson_id"]), str(row["completed_at"])),
                    )
                    counts["lessons_completed"] += cur.rowcount
                for row in data.get("exercise_attempts", []):
                    cur = conn.execute(
                        "INSERT OR IGNORE INTO exercise_attempts (exercise_id, file_hash, passed, total, at) VALUES (?, ?, ?, ?, ?)",
                        (str(row["exercise_id"]), str(row["file_hash"]), int(row["passed"]), int(row["total"]), str(row["at"])),
                    )
                    counts["exercise_attempts"] += cur.rowcount
                for row in data.get("quiz_reviews", []):
                    cur = conn.execute(
                        "INSERT OR IGNORE INTO quiz_reviews (question_id, answer, correct, state, due, at) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            str(row["question_id"]),
                            str(row["answer"]),
                            int(bool(row["correct"])),
                            json.dumps(row["state"], sort_keys=True),
                            str(row["due"]),
                            str(row["at"]),
                        ),
                    )
                    counts["quiz_reviews"] += cur.rowcount
                for row in data.get("quiz_cards", []):
                    cur = conn.execute(
                        "INSERT INTO quiz_cards (question_id, state, due, updated_at) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (question_id) DO UPDATE SET state = excluded.state, due = excluded.due, "
                        "updated_at = excluded.updated_at WHERE excluded.updated_at > quiz_cards.updated_at",
                        (str(row["question_id"]), json.dumps(row["state"], sort_keys=True), str(row["due"]), str(row["updated_at"])),
                    )
                    counts["quiz_cards"] += cur.rowcount
                for row in data.get("demo_runs", []):
                    cur = conn.execute(
                        "INSERT OR IGNORE INTO demo_runs (demo_id, config, metrics, device, seconds, at) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            str(row["demo_id"]),
                            json.dumps(row["config"], sort_keys=True, default=str),
                            json.dumps(row["metrics"], sort_keys=True, default=str),
                            str(row["device"]),
                            float(row["seconds"]),
                            str(row["at"]),
                        ),
                    )
                    counts["demo_runs"] += cur.rowcount
        except (KeyError, TypeError, ValueError) as exc:
            raise TutorError(f"progress export is malformed: {type(exc).__name__}: {exc}; nothing was imported") from None
        return counts

    # -- health -------------------------------------------------------------
    def health(self) -> Health:
        integrity = self._conn.execute("PRAGMA quick_check").fetchone()[0]
        tables = ["sections_read", "lessons_completed", "exercise_attempts", "quiz_reviews", "quiz_cards", "demo_runs"]
        counts = {t: self._conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        return Health(
            path=self.path,
            exists=self.path.exists(),
            schema_version=self._conn.execute("PRAGMA user_version").fetchone()[0],
            expected_version=SCHEMA_VERSION,
            integrity=str(integrity),
            journal_mode=str(self._conn.execute("PRAGMA journal_mode").fetchone()[0]),
            size_bytes=self.path.stat().st_size if self.path.exists() else 0,
            counts=counts,
        )

