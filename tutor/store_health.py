"""``doctor``'s look at the progress database: a full integrity check, and a rebuild from every
row that can still be read (the damaged file is kept beside the new one). Never prints."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from tutor import fsutil
from tutor import store_schema as schema
from tutor.errors import StoreError
from tutor.store_file import _kind
from tutor.store_schema import Health, RepairResult

if TYPE_CHECKING:
    from tutor.store import Store


def check(store: "Store", full: bool = True) -> Health:
    """The state of the file: a full integrity check (or the quick one), rows per table, problems found."""
    problems: list[str] = []
    pragma = "integrity_check(100)" if full else "quick_check(100)"
    try:
        findings = [str(row[0]) for row in store._conn.execute(f"PRAGMA {pragma}")]
    except sqlite3.Error as exc:
        findings = [f"the integrity check stopped: {exc}"]
    if findings != ["ok"]:
        problems.extend(findings)
    counts: dict[str, int | None] = {}
    for table in schema.TABLES:
        try:
            counts[table] = int(store._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for _ in store._conn.execute(f"SELECT * FROM {table}"):  # every page, not just the b-tree count
                pass
        except sqlite3.Error as exc:
            counts.setdefault(table, None)
            problems.append(f"table {table} cannot be read ({exc})")
    try:
        version = int(store._conn.execute("PRAGMA user_version").fetchone()[0])
        mode = str(store._conn.execute("PRAGMA journal_mode").fetchone()[0])
    except sqlite3.Error as exc:
        version, mode = -1, "unknown"
        problems.append(str(exc))
    integrity = "ok" if findings == ["ok"] else (
        f"{len(findings)} problem(s): {findings[0]}" if findings else "no answer")
    return Health(
        path=store.path,
        exists=store.path.exists(),
        schema_version=version,
        expected_version=schema.SCHEMA_VERSION,
        integrity=integrity,
        journal_mode=mode,
        size_bytes=store.path.stat().st_size if store.path.exists() else 0,
        counts=counts,
        problems=tuple(dict.fromkeys(problems)),
        read_only=store.read_only or not _can_write(store, version),
        pending=store._pending_count(),
    )

def _can_write(store: "Store", version: int) -> bool:
    """Whether a write would succeed: SQLite quietly opens a file it may not write (an immutable
    file, a read-only mount) for reading only, and says so only at the first write. Nothing is
    written: the probe is rolled back."""
    if version < 0:
        return True  # damage, not permissions: reported as problems
    try:
        store._conn.execute("BEGIN")
        try:
            store._conn.execute(f"PRAGMA user_version = {int(version)}")
        finally:
            store._rollback(store._conn)
    except sqlite3.Error as exc:
        return _kind(exc) != "readonly"
    return True


def rebuild(store: "Store") -> RepairResult:
    """Rebuild the file from every row that can still be read; the damaged file is kept beside it.

    Rows are read table by table in rowid order; a damaged stretch is
    skipped and reading resumes after it, so one bad page costs only the
    rows on it.
    """
    if store.read_only:
        raise StoreError(f"cannot repair {store.path}: {store.read_only_reason}")
    real = Path(os.path.realpath(store.path))  # a linked progress.db: rebuild the file it points to, keep the link
    fresh = fsutil.backup_path(real, "rebuilding")
    rows: dict[str, int] = {}
    lost: dict[str, int] = {}
    new = sqlite3.connect(str(fresh), isolation_level=None)
    try:
        new.execute("BEGIN")
        for script in schema.MIGRATIONS:
            store._run_script(new, script, tolerate_existing=True)
        for table in schema.TABLES:
            copied, missed = _salvage_table(store, table, new)
            rows[table], lost[table] = copied, missed
        new.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")
        new.execute("COMMIT")
        new.execute("PRAGMA journal_mode = WAL")
    except BaseException:
        new.close()
        fresh.unlink(missing_ok=True)
        raise
    new.close()
    store._conn.close()
    damaged = fsutil.move_aside(real, "damaged")
    for suffix in ("-wal", "-shm"):
        side = real.with_name(real.name + suffix)
        if side.exists():
            os.replace(side, damaged.with_name(damaged.name + suffix))
    os.replace(fresh, real)
    store.damaged.clear()
    store._conn = store._open_read_write()
    return RepairResult(damaged, rows, lost)

def _salvage_table(store: "Store", table: str, new: sqlite3.Connection) -> tuple[int, int]:
    try:
        columns = [row[1] for row in store._conn.execute(f"PRAGMA table_info({table})")]
    except sqlite3.Error:
        return 0, 0
    if not columns:
        return 0, 0
    try:
        expected = int(store._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.Error:
        expected = 0
    names = ", ".join(columns)
    insert = f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({', '.join('?' for _ in columns)})"
    copied, after, step = 0, -(2**63), 1
    for _ in range(100_000):
        try:
            cursor = store._conn.execute(f"SELECT rowid, {names} FROM {table} WHERE rowid > ? ORDER BY rowid",
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
