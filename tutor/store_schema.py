"""What the learner-state store holds: the schema and its migrations, the row types, and every
write as a named operation (so a write that cannot happen now can be kept and replayed later).

Used by :mod:`tutor.store_file` (opening, migrating, writing) and :mod:`tutor.store` (the API).
Never prints.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

SQLITE_MAGIC = b"SQLite format 3\x00"
LEGACY_HINTS_FILE = "exercise-hints.json"

# Each entry brings the schema from version i to i + 1. Never change what a
# released migration creates: append a new one. Every statement only creates
# what is missing, so running them again repairs a file that lost a table.
MIGRATIONS: list[str] = [
    # 0 -> 1: every table the course needs.
    """
    CREATE TABLE IF NOT EXISTS sections_read (
        lesson_id TEXT NOT NULL,
        section INTEGER NOT NULL,
        read_at TEXT NOT NULL,
        PRIMARY KEY (lesson_id, section)
    );
    CREATE TABLE IF NOT EXISTS lessons_completed (
        lesson_id TEXT PRIMARY KEY,
        completed_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS exercise_attempts (
        id INTEGER PRIMARY KEY,
        exercise_id TEXT NOT NULL,
        file_hash TEXT NOT NULL,
        passed INTEGER NOT NULL,
        total INTEGER NOT NULL,
        at TEXT NOT NULL,
        UNIQUE (exercise_id, file_hash, at)
    );
    CREATE INDEX IF NOT EXISTS exercise_attempts_by_id ON exercise_attempts (exercise_id, at);
    CREATE TABLE IF NOT EXISTS quiz_reviews (
        id INTEGER PRIMARY KEY,
        question_id TEXT NOT NULL,
        answer TEXT NOT NULL,
        correct INTEGER NOT NULL,
        state TEXT NOT NULL,
        due TEXT NOT NULL,
        at TEXT NOT NULL,
        UNIQUE (question_id, at)
    );
    CREATE INDEX IF NOT EXISTS quiz_reviews_by_question ON quiz_reviews (question_id, at);
    CREATE TABLE IF NOT EXISTS quiz_cards (
        question_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        due TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS quiz_cards_by_due ON quiz_cards (due);
    CREATE TABLE IF NOT EXISTS demo_runs (
        id INTEGER PRIMARY KEY,
        demo_id TEXT NOT NULL,
        config TEXT NOT NULL,
        metrics TEXT NOT NULL,
        device TEXT NOT NULL,
        seconds REAL NOT NULL,
        at TEXT NOT NULL,
        UNIQUE (demo_id, at)
    );
    CREATE INDEX IF NOT EXISTS demo_runs_by_demo ON demo_runs (demo_id, at);
    """,
    # 1 -> 2: the hint ladders (until now in exercise-hints.json, imported once).
    """
    CREATE TABLE IF NOT EXISTS hint_state (
        exercise_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
TABLES = ("sections_read", "lessons_completed", "exercise_attempts", "quiz_reviews", "quiz_cards", "demo_runs",
          "hint_state")



# -- rows ------------------------------------------------------------------------
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
    integrity: str  # "ok", or what the check found
    journal_mode: str
    size_bytes: int
    counts: dict[str, int | None]  # None: the table cannot be read
    problems: tuple[str, ...] = ()  # every finding of the integrity check, and unreadable tables
    read_only: bool = False
    pending: int = 0  # results waiting in the pending file

    @property
    def ok(self) -> bool:
        return self.integrity == "ok" and not self.problems and self.schema_version == self.expected_version


@dataclass(frozen=True)
class RepairResult:
    damaged_copy: Path
    rows: dict[str, int]  # rows carried into the new file, per table
    lost: dict[str, int]  # rows known to exist that could not be read (lower bound)


def json_dict(text: Any) -> dict:
    """A stored JSON object; anything unreadable (hand-edited, damaged) reads as {}."""
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def metrics_dict(text: Any) -> dict:
    """A run's metrics; an accuracy or loss that is not a number (an old hand-edited import) is left out."""
    metrics = json_dict(text)
    return {
        key: value for key, value in metrics.items()
        if not (str(key).endswith(("acc", "loss")) and value is not None
                and (isinstance(value, bool) or not isinstance(value, (int, float))))
    }


def dumps(value: Any) -> str:
    from tutor import jsonutil

    return jsonutil.dumps(value, indent=None, sort_keys=True)



# -- writes: each one a named operation, so one that cannot happen now can be kept and replayed --
_UPSERT_CARD = (
    "INSERT INTO quiz_cards (question_id, state, due, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (question_id) DO UPDATE SET state = excluded.state, due = excluded.due, "
    "updated_at = excluded.updated_at WHERE ? OR excluded.updated_at > quiz_cards.updated_at"
)
_UPSERT_HINT = (
    "INSERT INTO hint_state (exercise_id, state, updated_at) VALUES (?, ?, ?) "
    "ON CONFLICT (exercise_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at "
    "WHERE ? OR excluded.updated_at > hint_state.updated_at"
)


def _op_section(conn: sqlite3.Connection, lesson_id: str, section: int, n_sections: int, at: str) -> bool:
    conn.execute("INSERT OR IGNORE INTO sections_read (lesson_id, section, read_at) VALUES (?, ?, ?)",
                 (lesson_id, section, at))
    read = {row[0] for row in conn.execute("SELECT section FROM sections_read WHERE lesson_id = ?", (lesson_id,))}
    if n_sections >= 1 and set(range(1, n_sections + 1)) <= read:
        cursor = conn.execute("INSERT OR IGNORE INTO lessons_completed (lesson_id, completed_at) VALUES (?, ?)",
                              (lesson_id, at))
        return cursor.rowcount == 1
    return False


def _op_attempt(conn: sqlite3.Connection, exercise_id: str, file_hash: str, passed: int, total: int, at: str) -> int:
    return conn.execute(
        "INSERT OR IGNORE INTO exercise_attempts (exercise_id, file_hash, passed, total, at) VALUES (?, ?, ?, ?, ?)",
        (exercise_id, file_hash, passed, total, at),
    ).rowcount


def _op_review(conn: sqlite3.Connection, question_id: str, answer: str, correct: bool, state: str, due: str,
               at: str, force: bool = True) -> int:
    added = conn.execute(
        "INSERT OR IGNORE INTO quiz_reviews (question_id, answer, correct, state, due, at) VALUES (?, ?, ?, ?, ?, ?)",
        (question_id, answer, int(bool(correct)), state, due, at),
    ).rowcount
    _op_card(conn, question_id, state, due, at, force)
    return added


def _op_card(conn: sqlite3.Connection, question_id: str, state: str, due: str, at: str, force: bool = True) -> int:
    return conn.execute(_UPSERT_CARD, (question_id, state, due, at, int(force))).rowcount


def _op_demo_run(conn: sqlite3.Connection, demo_id: str, config: str, metrics: str, device: str, seconds: float,
                 at: str) -> int:
    cursor = conn.execute(
        "INSERT OR IGNORE INTO demo_runs (demo_id, config, metrics, device, seconds, at) VALUES (?, ?, ?, ?, ?, ?)",
        (demo_id, config, metrics, device, seconds, at),
    )
    return int(cursor.lastrowid or 0) if cursor.rowcount else 0


def _op_hint(conn: sqlite3.Connection, exercise_id: str, state: str, at: str, force: bool = True) -> int:
    if state == "{}":
        return conn.execute("DELETE FROM hint_state WHERE exercise_id = ?", (exercise_id,)).rowcount
    return conn.execute(_UPSERT_HINT, (exercise_id, state, at, int(force))).rowcount


OPERATIONS: dict[str, Callable[..., Any]] = {
    "section": _op_section,
    "attempt": _op_attempt,
    "review": _op_review,
    "card": _op_card,
    "demo_run": _op_demo_run,
    "hint": _op_hint,
}

# How an import writes each section of an export (already validated): rows of one
# section go through one statement; "newer local entries win".
IMPORT_SQL: dict[str, tuple[str, Callable[[dict], tuple]]] = {
    "sections_read": (
        "INSERT INTO sections_read (lesson_id, section, read_at) VALUES (?, ?, ?) "
        "ON CONFLICT (lesson_id, section) DO UPDATE SET read_at = excluded.read_at "
        "WHERE excluded.read_at < sections_read.read_at",
        lambda r: (r["lesson_id"], r["section"], r["read_at"]),
    ),
    "lessons_completed": (
        "INSERT INTO lessons_completed (lesson_id, completed_at) VALUES (?, ?) "
        "ON CONFLICT (lesson_id) DO UPDATE SET completed_at = excluded.completed_at "
        "WHERE excluded.completed_at < lessons_completed.completed_at",
        lambda r: (r["lesson_id"], r["completed_at"]),
    ),
    "exercise_attempts": (
        "INSERT OR IGNORE INTO exercise_attempts (exercise_id, file_hash, passed, total, at) VALUES (?, ?, ?, ?, ?)",
        lambda r: (r["exercise_id"], r["file_hash"], r["passed"], r["total"], r["at"]),
    ),
    "quiz_reviews": (
        "INSERT OR IGNORE INTO quiz_reviews (question_id, answer, correct, state, due, at) VALUES (?, ?, ?, ?, ?, ?)",
        lambda r: (r["question_id"], r["answer"], int(r["correct"]), dumps(r["state"]), r["due"], r["at"]),
    ),
    "quiz_cards": (
        _UPSERT_CARD,
        lambda r: (r["question_id"], dumps(r["state"]), r["due"], r["updated_at"], 0),
    ),
    "demo_runs": (
        "INSERT OR IGNORE INTO demo_runs (demo_id, config, metrics, device, seconds, at) VALUES (?, ?, ?, ?, ?, ?)",
        lambda r: (r["demo_id"], dumps(r["config"]), dumps(r["metrics"]), r["device"], r["seconds"], r["at"]),
    ),
    "hint_state": (
        _UPSERT_HINT,
        lambda r: (r["exercise_id"], dumps(r["state"]), r["updated_at"], 0),
    ),
}

