"""The learner-state store: one SQLite file in the learner's data directory.

Everything a learner earns lives here: sections read, lessons completed,
graded attempts, quiz answers and cards, demo runs and the hint ladders.

WAL mode and a busy timeout let two processes (a demo in one terminal, the
quiz in another) write at once without losing anything; every write runs in
``BEGIN IMMEDIATE`` so writers queue instead of failing half-way. The schema
version lives in ``PRAGMA user_version`` and :data:`MIGRATIONS` brings an older
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
  next run that can write adds it.

This module never prints: warnings go to :attr:`Store.warnings` and to the
``on_warning`` callback the command layer passes in.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

from tutor import clock, export_schema, fsutil
from tutor.errors import StoreError, TutorError, os_error_message

# Thin re-exports: the one clock lives in tutor.clock.
now_iso = clock.now_iso
parse_iso = clock.parse_iso

BUSY_TIMEOUT_MS = 30_000  # how long a write waits for another program's write to finish
_LOCK_STEP_MS = 200
EXPORT_FORMAT = export_schema.EXPORT_FORMAT
EXPORT_VERSION = export_schema.EXPORT_VERSION
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


# -- what went wrong, in the learner's words ----------------------------------------
def _kind(exc: BaseException) -> str:
    """Sort an sqlite3 error: corrupt, full, readonly, busy, cantopen, ioerr, missing or other."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    by_code = {  # SQLite's primary result codes
        11: "corrupt", 26: "corrupt", 13: "full", 8: "readonly", 3: "readonly", 23: "readonly",  # CORRUPT NOTADB FULL READONLY PERM AUTH
        5: "busy", 6: "busy", 14: "cantopen", 10: "ioerr",  # BUSY LOCKED CANTOPEN IOERR
    }
    if primary in by_code:
        return by_code[primary]
    text = str(exc).lower()
    for needle, kind in (("malformed", "corrupt"), ("not a database", "corrupt"), ("disk is full", "full"),
                         ("readonly", "readonly"), ("read-only", "readonly"), ("locked", "busy"),
                         ("unable to open", "cantopen"), ("disk i/o", "ioerr"), ("no such table", "missing")):
        if needle in text:
            return kind
    return "other"


def _reason(exc: BaseException) -> str:
    kind = _kind(exc)
    return {
        "full": "the disk is full",
        "readonly": "the database (or its folder) is read-only",
        "busy": f"another program held the database locked for more than {BUSY_TIMEOUT_MS / 1000:g} s",
        "cantopen": "the file cannot be opened (check the folder's permissions)",
        "ioerr": "the disk reported an input/output error",
        "corrupt": "the database file is damaged (`dnn-tutor doctor --repair` rebuilds it)",
    }.get(kind, str(exc))


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


def _json_dict(text: Any) -> dict:
    """A stored JSON object; anything unreadable (hand-edited, damaged) reads as {}."""
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _metrics(text: Any) -> dict:
    """A run's metrics; an accuracy or loss that is not a number (an old hand-edited import) is left out."""
    metrics = _json_dict(text)
    return {
        key: value for key, value in metrics.items()
        if not (str(key).endswith(("acc", "loss")) and value is not None
                and (isinstance(value, bool) or not isinstance(value, (int, float))))
    }


def _dumps(value: Any) -> str:
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
_IMPORT_SQL: dict[str, tuple[str, Callable[[dict], tuple]]] = {
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
        lambda r: (r["question_id"], r["answer"], int(r["correct"]), _dumps(r["state"]), r["due"], r["at"]),
    ),
    "quiz_cards": (
        _UPSERT_CARD,
        lambda r: (r["question_id"], _dumps(r["state"]), r["due"], r["updated_at"], 0),
    ),
    "demo_runs": (
        "INSERT OR IGNORE INTO demo_runs (demo_id, config, metrics, device, seconds, at) VALUES (?, ?, ?, ?, ?, ?)",
        lambda r: (r["demo_id"], _dumps(r["config"]), _dumps(r["metrics"]), r["device"], r["seconds"], r["at"]),
    ),
    "hint_state": (
        _UPSERT_HINT,
        lambda r: (r["exercise_id"], _dumps(r["state"]), r["updated_at"], 0),
    ),
}


class Store:
    """Learner progress. Open one per command: ``with Store() as store: ...``.

    ``on_warning`` is called once per warning as it happens (the command layer
    prints it); every warning is also kept in :attr:`warnings`.
    ``read_only=True`` opens for reading only (``doctor`` uses it to look at a
    file without changing it).
    """

    def __init__(self, path: Path | str | None = None, *, on_warning: Callable[[str], None] | None = None,
                 read_only: bool = False):
        from tutor import paths

        self.path = Path(path) if path is not None else paths.progress_db_path()
        self.warnings: list[str] = []
        self.damaged: list[str] = []
        self.read_only = False
        self.read_only_reason = ""
        self._on_warning = on_warning
        self._after_commit: list[Callable[[], None]] = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not a progress database; move it away or set DNN_TUTOR_HOME")
        if read_only:
            self._conn = self._open_read_only("opened for reading only", quiet=True)
        else:
            self._conn = self._connect()
        if not self.read_only:
            self._replay_pending()

    # -- warnings -----------------------------------------------------------------
    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)

    # -- opening --------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._bad_header():
            self._replace_corrupt("it does not start with the SQLite header")
        try:
            return self._open_read_write()
        except sqlite3.Error as exc:
            kind = _kind(exc)
            if kind == "corrupt":
                if self._verified_corrupt():
                    self._replace_corrupt(str(exc))
                    return self._open_read_write()
                raise StoreError(f"cannot open the progress database {self.path}: {exc}; "
                                 "run `dnn-tutor doctor` to check it") from None
            return self._open_read_only(_reason(exc))

    def _bad_header(self) -> bool:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return False
        if size == 0:
            return False  # SQLite's own empty database
        with open(self.path, "rb") as handle:  # an unreadable file is an OSError: a permission problem, not damage
            head = handle.read(len(SQLITE_MAGIC))
        return head != SQLITE_MAGIC

    def _new_connection(self, target: str, uri: bool = False) -> sqlite3.Connection:
        # SQLite waits for a lock in short steps; the longer wait for a write lock is a Python
        # loop (_begin), so Ctrl-C or SIGTERM is handled at once, not after the whole wait.
        step = min(int(BUSY_TIMEOUT_MS), _LOCK_STEP_MS)
        conn = sqlite3.connect(target, timeout=step / 1000, isolation_level=None, uri=uri)
        conn.execute(f"PRAGMA busy_timeout = {step}")
        return conn

    def _open_read_write(self) -> sqlite3.Connection:
        conn = self._new_connection(str(self.path))
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            if mode != "wal":
                conn.execute("PRAGMA journal_mode = WAL").fetchone()  # stays as it was where WAL is impossible
            conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(conn)
            self._ensure_tables(conn)
        except BaseException:
            conn.close()
            raise
        for action in self._after_commit:
            action()
        self._after_commit.clear()
        return conn

    def _open_read_only(self, reason: str, quiet: bool = False) -> sqlite3.Connection:
        """Open the file for reading only (falling back to an empty in-memory store when there is none)."""
        self.read_only = True
        self.read_only_reason = reason
        last: sqlite3.Error | None = None
        target = "file:" + quote(str(self.path.resolve()))
        for query in ("?mode=ro", "?mode=ro&immutable=1"):
            if not self.path.exists():
                break
            try:
                conn = self._new_connection(target + query, uri=True)
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                version = conn.execute("PRAGMA user_version").fetchone()[0]
            except sqlite3.Error as exc:
                last = exc
                continue
            if version > SCHEMA_VERSION:
                conn.close()
                raise self._newer_schema(version)
            if not quiet:
                waiting = self._pending_count()
                extra = f"; {waiting} unsaved result(s) wait in {self._pending_path().name}" if waiting else ""
                self._warn(f"progress database {self.path} opened read-only ({reason}): your progress is shown, "
                           f"but nothing new can be saved{extra}")
            return conn
        if last is not None and self.path.exists() and self.path.stat().st_size > 0:
            raise StoreError(f"cannot read the progress database {self.path}: {_reason(last)}") from None
        conn = sqlite3.connect(":memory:", isolation_level=None)
        for script in MIGRATIONS:
            conn.executescript(script)
        if not quiet:
            self._warn(f"cannot create the progress database {self.path} ({reason}): nothing can be saved this time")
        return conn

    def _newer_schema(self, version: int) -> TutorError:
        return TutorError(
            f"progress database {self.path} has schema version {version}, newer than this "
            f"dnn-tutor understands ({SCHEMA_VERSION}); upgrade dnn-tutor",
            exit_code=1,
        )

    def _verified_corrupt(self) -> bool:
        """True only when SQLite itself says the file is damaged (integrity check fails or cannot run)."""
        try:
            conn = self._new_connection("file:" + quote(str(self.path.resolve())) + "?mode=ro", uri=True)
        except sqlite3.Error as exc:
            return _kind(exc) == "corrupt"
        try:
            result = conn.execute("PRAGMA integrity_check(1)").fetchone()
            return result is None or str(result[0]).lower() != "ok"
        except sqlite3.Error as exc:
            return _kind(exc) == "corrupt"
        finally:
            conn.close()

    def _replace_corrupt(self, why: str) -> None:
        try:
            moved = fsutil.move_aside(self.path, "corrupt")
            for suffix in ("-wal", "-shm", "-journal"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    os.replace(side, moved.with_name(moved.name + suffix))
        except OSError as exc:
            raise StoreError(f"the progress database {self.path} is damaged ({why}) and could not be moved aside: "
                             f"{os_error_message(exc)}") from None
        self._warn(f"progress database {self.path} was unreadable ({why}); moved it to {moved.name} "
                   "and started a new one")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise self._newer_schema(version)
        if version == SCHEMA_VERSION:
            return
        self._begin(conn)
        try:
            # Re-read inside the lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for index in range(version, SCHEMA_VERSION):
                self._run_script(conn, MIGRATIONS[index])
                if index + 1 == 2:
                    self._import_legacy_hints(conn)
                conn.execute(f"PRAGMA user_version = {index + 1}")
            conn.execute("COMMIT")
        except BaseException:
            self._rollback(conn)
            self._after_commit.clear()
            raise

    @staticmethod
    def _run_script(conn: sqlite3.Connection, script: str, tolerate_existing: bool = False) -> None:
        for statement in script.split(";"):
            if not statement.strip():
                continue
            try:
                conn.execute(statement)
            except sqlite3.OperationalError as exc:
                if not (tolerate_existing and "already exists" in str(exc)):
                    raise

    def _ensure_tables(self, conn: sqlite3.Connection) -> None:
        """Recreate (empty) any table that went missing from a file at the current version."""
        present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in TABLES if t not in present]
        if not missing:
            return
        self._begin(conn)
        try:
            for script in MIGRATIONS:
                self._run_script(conn, script, tolerate_existing=True)
            conn.execute("COMMIT")
        except BaseException:
            self._rollback(conn)
            raise
        self._warn(f"progress database {self.path} had lost the table(s) {', '.join(missing)}; recreated them "
                   "(what they held before was already gone; the rest of your progress is intact)")

    def _import_legacy_hints(self, conn: sqlite3.Connection) -> None:
        """Bring ``exercise-hints.json`` (hint ladders before version 2) into the database, once."""
        legacy = self.path.parent / LEGACY_HINTS_FILE
        if not legacy.is_file():
            return
        try:
            data = json.loads(fsutil.read_regular_bytes(legacy, 4 * 1024 * 1024))
        except (OSError, ValueError, TutorError, RecursionError):
            data = None
        stamp = clock.now_iso()
        imported = 0
        if isinstance(data, dict):
            for exercise_id, entry in data.items():
                try:
                    state = export_schema._hint_ladder(entry, export_schema.KnownIds())
                except ValueError:
                    continue
                if isinstance(exercise_id, str) and exercise_id and state:
                    _op_hint(conn, exercise_id, _dumps(state), stamp, force=True)
                    imported += 1

        def keep_as_backup() -> None:
            try:
                moved = fsutil.move_aside(legacy, "imported" if data is not None else "unreadable")
            except OSError:
                return
            if data is None:
                self._warn(f"could not read the old hint file {legacy.name}; kept it as {moved.name} "
                           "(hints start from the first step)")

        self._after_commit.append(keep_as_backup)

    @staticmethod
    def _begin(conn: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE``, waiting up to BUSY_TIMEOUT_MS for another writer to finish."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if _kind(exc) != "busy" or time.monotonic() >= deadline:
                    raise
            time.sleep(0.02)

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the failed statement may already have ended the transaction

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that holds the write lock from its first statement (waits up to the busy timeout)."""
        self._begin(self._conn)
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            self._rollback(self._conn)
            raise

    def _commit(self, op: str, what: str, **args: Any) -> Any:
        """Run one named write; when it cannot happen, keep it to retry and raise StoreError."""
        if self.read_only:
            raise self._unsaved(op, what, args, self.read_only_reason)
        try:
            with self._write() as conn:
                return OPERATIONS[op](conn, **args)
        except sqlite3.Error as exc:
            if _kind(exc) in ("corrupt", "missing"):
                self.damaged.append(str(exc))
            raise self._unsaved(op, what, args, _reason(exc)) from None

    def _pending_path(self) -> Path:
        return self.path.with_name(self.path.name + ".pending")

    def _pending_count(self) -> int:
        try:
            with open(self._pending_path(), "rb") as handle:
                return sum(1 for line in handle if line.strip())
        except OSError:
            return 0

    def _unsaved(self, op: str, what: str, args: dict, reason: str) -> StoreError:
        entry = {"op": op, "what": what, "args": {**args, **({"force": False} if "force" in args else {})}}
        journal = self._pending_path()
        try:
            line = (_dumps(entry) + "\n").encode("utf-8")
            fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            return StoreError(f"could not save {what}: {reason}, and it could not be kept aside either "
                              f"({os_error_message(exc)}); it was NOT saved")
        return StoreError(f"could not save {what} to {self.path}: {reason}; it is kept in {journal.name} "
                          "and will be added the next time dnn-tutor can write")

    def _replay_pending(self) -> None:
        """Add results that could not be written earlier (see :meth:`_unsaved`)."""
        journal = self._pending_path()
        if not journal.exists():
            return
        claimed = journal.with_name(f"{journal.name}.{uuid.uuid4().hex}")
        try:
            os.replace(journal, claimed)  # another process replaying at once finds nothing
        except OSError:
            return
        entries, unreadable = [], []
        try:
            content = fsutil.read_regular_bytes(claimed, 64 * 1024 * 1024)
        except (OSError, TutorError):
            self._put_back(claimed, journal)
            return
        for raw in content.splitlines():
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw)
                if entry["op"] not in OPERATIONS or not isinstance(entry["args"], dict):
                    raise ValueError(entry["op"])
                entries.append(entry)
            except (ValueError, KeyError, TypeError):
                unreadable.append(raw)
        applied = []
        try:
            with self._write() as conn:
                for entry in entries:
                    try:
                        OPERATIONS[entry["op"]](conn, **entry["args"])
                        applied.append(entry)
                    except (TypeError, ValueError, sqlite3.IntegrityError, sqlite3.InterfaceError):
                        unreadable.append(json.dumps(entry).encode("utf-8"))  # hand-edited: keep it, skip it
        except sqlite3.Error as exc:
            self._put_back(claimed, journal)
            self._warn(f"{len(entries)} result(s) kept earlier in {journal.name} still cannot be saved "
                       f"({_reason(exc)}); they stay there")
            return
        entries = applied
        if unreadable:
            kept = fsutil.backup_path(journal, "unreadable")
            kept.write_bytes(b"\n".join(unreadable) + b"\n")
        claimed.unlink()
        if entries:
            whats = ", ".join(dict.fromkeys(str(e.get("what", e["op"])) for e in entries))
            self._warn(f"saved {len(entries)} result(s) that could not be written earlier: {whats}")

    @staticmethod
    def _put_back(claimed: Path, journal: Path) -> None:
        try:
            data = claimed.read_bytes()
            fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            claimed.unlink()
        except OSError:
            pass  # the claimed file itself is still there, next to the database

    # -- reading --------------------------------------------------------------------
    def _rows(self, sql: str, params: tuple = (), what: str = "") -> list[tuple]:
        """Rows of a query; on damage, the rows read so far and one warning (never a crash)."""
        rows: list[tuple] = []
        try:
            for row in self._conn.execute(sql, params):
                rows.append(tuple(row))
        except sqlite3.Error as exc:
            kind = _kind(exc)
            if kind == "busy":
                raise StoreError(f"could not read the progress database {self.path}: {_reason(exc)}; "
                                 "try again") from None
            if kind not in ("corrupt", "missing") and not (self.read_only and "no such" in str(exc)):
                raise StoreError(f"could not read the progress database {self.path}: {_reason(exc)}") from None
            self._note_damage(what or sql.split(" FROM ")[-1].split()[0], exc)
        return rows

    def _note_damage(self, what: str, exc: BaseException) -> None:
        self.damaged.append(f"{what}: {exc}")
        if len(self.damaged) == 1 and not (self.read_only and "no such table" in str(exc)):
            self._warn(f"progress database {self.path} is damaged: could not read {what} ({exc}); showing what "
                       "could be read. Run `dnn-tutor doctor` to check it and `dnn-tutor doctor --repair` to rebuild it")

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
        for eid, file_hash, passed, total, at in self._rows(sql + " ORDER BY at", params, "exercise_attempts"):
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
        """Log one answer and store the card's new scheduling state in the same transaction."""
        review = Review(str(question_id), str(answer), bool(correct), dict(state), str(due), clock.now_iso())
        self._commit("review", f"your answer to quiz question {review.question_id} ({review.answer!r})",
                     question_id=review.question_id, answer=review.answer, correct=review.correct,
                     state=_dumps(review.state), due=review.due, at=review.at, force=True)
        return review

    def put_card(self, question_id: str, state: dict, due: str) -> None:
        """Create or replace a card without a review (e.g. a grader failure scheduling a concept)."""
        self._commit("card", f"the quiz card for {question_id}", question_id=str(question_id),
                     state=_dumps(state), due=str(due), at=clock.now_iso(), force=True)

    def _card_rows(self, sql: str, params: tuple = ()) -> list[Card]:
        return [Card(str(qid), _json_dict(state), str(due), str(updated))
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
            Review(str(qid), str(answer), bool(correct), _json_dict(state), str(due), str(at))
            for qid, answer, correct, state, due, at in self._rows(sql + " ORDER BY at", params, "quiz_reviews")
        ]

    # -- demos ----------------------------------------------------------------------
    def record_demo_run(self, demo_id: str, config: dict, metrics: dict, device: str, seconds: float) -> DemoRun:
        stamp = clock.now_iso()
        run_id = self._commit("demo_run", f"the {demo_id} run in the demo journal", demo_id=str(demo_id),
                              config=_dumps(config), metrics=_dumps(metrics), device=str(device),
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
            runs.append(DemoRun(int(rid), str(did), _json_dict(config), _metrics(metrics), str(device),
                                secs if secs == secs else 0.0, str(at)))
        return runs

    # -- hint ladders ---------------------------------------------------------------
    def hint_state(self, exercise_id: str) -> dict:
        """The hint ladder of one exercise ({} when none): position, codes, tailored_shown."""
        rows = self._rows("SELECT state FROM hint_state WHERE exercise_id = ?", (exercise_id,), "hint_state")
        return _json_dict(rows[0][0]) if rows else {}

    def set_hint_state(self, exercise_id: str, state: dict) -> None:
        """Replace the hint ladder of one exercise ({} forgets it)."""
        self._commit("hint", f"the hint position for {exercise_id}", exercise_id=str(exercise_id),
                     state=_dumps(dict(state)), at=clock.now_iso(), force=True)

    def hint_states(self) -> dict[str, dict]:
        rows = self._rows("SELECT exercise_id, state, updated_at FROM hint_state ORDER BY exercise_id",
                          what="hint_state")
        return {str(eid): _json_dict(state) for eid, state, _ in rows}

    # -- export / import --------------------------------------------------------------
    def export(self) -> dict:
        """Everything the learner has done, as JSON-ready data (the format of export_schema)."""
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
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
            "quiz_reviews": [dict(r.__dict__) for r in self.reviews()],
            "quiz_cards": [dict(c.__dict__) for c in self.cards().values()],
            "demo_runs": [{k: v for k, v in r.__dict__.items() if k != "id"} for r in self.demo_runs(limit=None)],
            "hint_state": [
                {"exercise_id": eid, "state": _json_dict(state), "updated_at": at}
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
        checked = export_schema.validate(data, known, source)
        counts = dict.fromkeys(export_schema.SECTION_NAMES, 0)
        if self.read_only:
            raise StoreError(f"cannot import into {self.path}: {self.read_only_reason}; nothing was imported")
        try:
            with self._write() as conn:
                for name, rows in checked.rows.items():
                    sql, params = _IMPORT_SQL[name]
                    for row in rows:
                        counts[name] += max(0, conn.execute(sql, params(row)).rowcount)
        except sqlite3.Error as exc:
            raise StoreError(f"could not import into {self.path}: {_reason(exc)}; nothing was imported") from None
        counts["skipped"] = checked.skipped
        return counts

    # -- health -----------------------------------------------------------------------
    def health(self, full: bool = True) -> Health:
        """The state of the file: a full integrity check (or the quick one), rows per table, problems found."""
        problems: list[str] = []
        pragma = "integrity_check(100)" if full else "quick_check(100)"
        try:
            findings = [str(row[0]) for row in self._conn.execute(f"PRAGMA {pragma}")]
        except sqlite3.Error as exc:
            findings = [f"the integrity check stopped: {exc}"]
        if findings != ["ok"]:
            problems.extend(findings)
        counts: dict[str, int | None] = {}
        for table in TABLES:
            try:
                counts[table] = int(self._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                self._conn.execute(f"SELECT * FROM {table}").fetchall()  # every page, not just the b-tree count
            except sqlite3.Error as exc:
                counts.setdefault(table, None)
                problems.append(f"table {table} cannot be read ({exc})")
        try:
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            mode = str(self._conn.execute("PRAGMA journal_mode").fetchone()[0])
        except sqlite3.Error as exc:
            version, mode = -1, "unknown"
            problems.append(str(exc))
        integrity = "ok" if findings == ["ok"] else (
            f"{len(findings)} problem(s): {findings[0]}" if findings else "no answer")
        return Health(
            path=self.path,
            exists=self.path.exists(),
            schema_version=version,
            expected_version=SCHEMA_VERSION,
            integrity=integrity,
            journal_mode=mode,
            size_bytes=self.path.stat().st_size if self.path.exists() else 0,
            counts=counts,
            problems=tuple(dict.fromkeys(problems)),
            read_only=self.read_only,
            pending=self._pending_count(),
        )

    def repair(self) -> RepairResult:
        """Rebuild the file from every row that can still be read; the damaged file is kept beside it.

        Rows are read table by table in rowid order; a damaged stretch is
        skipped and reading resumes after it, so one bad page costs only the
        rows on it.
        """
        if self.read_only:
            raise StoreError(f"cannot repair {self.path}: {self.read_only_reason}")
        fresh = fsutil.backup_path(self.path, "rebuilding")
        rows: dict[str, int] = {}
        lost: dict[str, int] = {}
        new = sqlite3.connect(str(fresh), isolation_level=None)
        try:
            new.execute("BEGIN")
            for script in MIGRATIONS:
                self._run_script(new, script, tolerate_existing=True)
            for table in TABLES:
                copied, missed = self._salvage_table(table, new)
                rows[table], lost[table] = copied, missed
            new.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            new.execute("COMMIT")
            new.execute("PRAGMA journal_mode = WAL")
        except BaseException:
            new.close()
            fresh.unlink(missing_ok=True)
            raise
        new.close()
        self._conn.close()
        damaged = fsutil.move_aside(self.path, "damaged")
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.replace(side, damaged.with_name(damaged.name + suffix))
        os.replace(fresh, self.path)
        self.damaged.clear()
        self._conn = self._open_read_write()
        return RepairResult(damaged, rows, lost)

    def _salvage_table(self, table: str, new: sqlite3.Connection) -> tuple[int, int]:
        try:
            columns = [row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")]
        except sqlite3.Error:
            return 0, 0
        if not columns:
            return 0, 0
        try:
            expected = int(self._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        except sqlite3.Error:
            expected = 0
        names = ", ".join(columns)
        insert = f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({', '.join('?' for _ in columns)})"
        copied, after, step = 0, -(2**63), 1
        for _ in range(100_000):
            try:
                cursor = self._conn.execute(f"SELECT rowid, {names} FROM {table} WHERE rowid > ? ORDER BY rowid",
                                            (after,))
                for row in cursor:
                    after = row[0]
                    new.execute(insert, row[1:])
                    copied += 1
                break  # reached the end
            except sqlite3.Error:
                after += step  # skip past the damaged stretch, a little further each time
                step *= 2
                if after > 2**62:
                    break
        return copied, max(0, expected - copied)
