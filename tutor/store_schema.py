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


@dataclass(frozen=True)
class SalvageResult:
    source: Path  # the database that was set aside as unreadable
    kept: Path | None  # where it is kept now (renamed once its rows are in the live database)
    rows: dict[str, int]  # rows read from it, per table
    added: int  # rows that were not in the live database yet
    error: str = ""  # why nothing could be recovered ("" when it worked)


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
    if not 1 <= n_sections <= MAX_SECTIONS:
        return False
    read = conn.execute(  # counted by SQLite: no set of n_sections numbers is ever built
        "SELECT count(DISTINCT section) FROM sections_read WHERE lesson_id = ? AND section BETWEEN 1 AND ?",
        (lesson_id, n_sections),
    ).fetchone()[0]
    if read >= n_sections:
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



# -- the pending file: every line checked before it is replayed ----------------------
MAX_SECTIONS = 1000  # more sections than any lesson can have
MAX_PENDING_LINE = 4 * 1024 * 1024  # one kept result (a demo run's config and metrics are the largest)


def _pending_fields() -> dict[str, dict[str, Callable[[Any, Any], Any]]]:
    """The fields of each operation and their checks: the export format's rules where it has them."""
    from tutor import export_schema as ex

    def json_text(check: Callable[[Any, Any], Any], limit: int) -> Callable[[Any, Any], str]:
        def parse(value: Any, ids: Any) -> str:
            if not isinstance(value, str) or len(value) > limit:
                raise ex._Bad(f"{ex._show(value)} is not a JSON object of at most {limit} bytes")
            try:
                loaded = json.loads(value)
            except (ValueError, RecursionError):
                raise ex._Bad(f"{ex._show(value)} is not JSON") from None
            check(loaded, ids)
            return value

        return parse

    at = ex._moment  # a time this dnn-tutor wrote (a clock set back may put it slightly ahead)
    return {
        "section": {"lesson_id": ex._id("lesson"), "section": ex._int(1, MAX_SECTIONS),
                    "n_sections": ex._int(0, MAX_SECTIONS), "at": at},
        "attempt": {"exercise_id": ex._id("exercise"), "file_hash": ex._text(200, ex._HASH),
                    "passed": ex._int(0, ex.MAX_COUNT), "total": ex._int(0, ex.MAX_COUNT), "at": at},
        "review": {"question_id": ex._id("question"), "answer": ex._text(MAX_PENDING_LINE), "correct": ex._bool,
                   "state": json_text(ex._card_state, ex.MAX_STATE_BYTES), "due": ex._moment, "at": at,
                   "force": ex._bool},
        "card": {"question_id": ex._id("question"), "state": json_text(ex._card_state, ex.MAX_STATE_BYTES),
                 "due": ex._moment, "at": at, "force": ex._bool},
        "demo_run": {"demo_id": ex._id("demo"), "config": json_text(ex._demo_config, ex.MAX_RUN_BYTES),
                     "metrics": json_text(ex._settings, ex.MAX_RUN_BYTES), "device": ex._text(80, ex._DEVICE),
                     "seconds": ex._number(0.0, ex.MAX_SECONDS), "at": at},
        "hint": {"exercise_id": ex._id("exercise"), "state": json_text(ex._hint_ladder, ex.MAX_STATE_BYTES),
                 "at": at, "force": ex._bool},
    }


_OPTIONAL = frozenset({"force"})


def parse_pending(raw: bytes) -> tuple[str, dict[str, Any], str]:
    """One line of the pending file as ``(operation, arguments, what)``, every field checked (type,
    range, form) before anything is written. Raises ValueError with the reason, in one short line,
    for anything else: not JSON, too deep, too big, an unknown operation or field, a bad value."""
    from tutor import export_schema as ex

    if len(raw) > MAX_PENDING_LINE:
        raise ValueError(f"a line of {len(raw)} bytes (at most {MAX_PENDING_LINE})")
    try:
        entry = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"not JSON ({str(exc)[:80]})") from None
    if not isinstance(entry, dict) or not isinstance(entry.get("op"), str) or not isinstance(entry.get("args"), dict):
        raise ValueError("not a kept result (it needs an \"op\" and its \"args\")")
    op, args = entry["op"], entry["args"]
    fields = _pending_fields().get(op)
    if fields is None:
        raise ValueError(f"unknown operation {ex._show(op)}")
    unknown = [name for name in args if name not in fields]
    if unknown:
        raise ValueError(f"{op}: unknown field {ex._show(unknown[0])}")
    clean: dict[str, Any] = {}
    for name, check in fields.items():
        if name not in args:
            if name in _OPTIONAL:
                continue
            raise ValueError(f"{op}: {name} is missing")
        try:
            clean[name] = check(args[name], ex.KnownIds())
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            raise ValueError(f"{op}: {name}: {str(exc)[:120]}") from None
    if op == "attempt" and clean["passed"] > clean["total"]:
        raise ValueError(f"attempt: {clean['passed']} checks passed out of {clean['total']}")
    if op in ("attempt", "hint"):  # what an export of these rows would be refused for on import
        from tutor.grading import catalogue

        if clean["exercise_id"] not in catalogue.load():
            raise ValueError(f"{op}: unknown exercise {ex._show(clean['exercise_id'])}")
    if op == "review" and len(clean["answer"]) > ex.MAX_TEXT:  # kept as record_review keeps it, so it exports
        clean["answer"] = clean["answer"][: ex.MAX_TEXT - 1] + "…"
    what = entry.get("what")
    if not (isinstance(what, str) and 0 < len(what) <= 300 and what.isprintable()):
        what = op
    return op, clean, what
