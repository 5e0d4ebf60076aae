"""``doctor``'s look at the progress database: a full integrity check, and a rebuild from every
row that can still be read (the damaged file is kept beside the new one). Never prints."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from tutor import fsutil
from tutor import store_schema as schema
from tutor.errors import StoreError, os_error_message
from tutor.store_file import _kind, describe_error
from tutor.store_schema import SQLITE_MAGIC, Health, RepairResult, SalvageResult

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
    # No other process may write to the old file from here until the new one is in place: their
    # writes would go to the file moved aside. (They check which file the path names once they
    # hold the lock, see StoreFile._write.)
    try:
        store._begin(store._conn, "EXCLUSIVE")
    except sqlite3.Error as exc:
        if _kind(exc) == "busy":
            raise StoreError(f"cannot repair {store.path}: {describe_error(exc)}; nothing was changed") from None
        # damage that stops even the lock: nothing else can write to it either
    try:
        return _rebuild_locked(store, real)
    finally:
        store._rollback(store._conn)


def _rebuild_locked(store: "Store", real: Path) -> RepairResult:
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
    except BaseException as exc:
        new.close()
        fresh.unlink(missing_ok=True)
        if isinstance(exc, (_TargetFailed, sqlite3.Error)):
            error = exc.error if isinstance(exc, _TargetFailed) else exc
            raise StoreError(f"could not rebuild {store.path}: {describe_error(error, fresh)}; "
                             "nothing was changed") from None
        raise
    new.close()
    try:
        damaged = fsutil.move_aside(real, "damaged")
    except BaseException:
        fresh.unlink(missing_ok=True)
        raise
    for suffix in ("-wal", "-shm"):
        side = real.with_name(real.name + suffix)
        if side.exists():
            os.replace(side, damaged.with_name(damaged.name + suffix))
    os.replace(fresh, real)
    store._rollback(store._conn)
    store._conn.close()  # the lock on the old file goes only now, with the new file in place
    store.damaged.clear()
    store._conn = store._open_read_write()
    return RepairResult(damaged, rows, lost)

def _salvage_table(store: "Store", table: str, new: sqlite3.Connection) -> tuple[int, int]:
    return _copy_table(store._conn, table, new)


def _copy_table(source: sqlite3.Connection, table: str, target: sqlite3.Connection,
                skip: tuple[str, ...] = ()) -> tuple[int, int]:
    """Copy every readable row of ``table`` (leaving out the columns ``skip``); rows already in
    ``target`` are ignored. Returns (rows read, rows known to exist that could not be read)."""
    try:
        columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})") if row[1] not in skip]
    except sqlite3.Error:
        return 0, 0
    if not columns:
        return 0, 0
    try:
        expected = int(source.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.Error:
        expected = 0
    names = ", ".join(columns)
    insert = f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({', '.join('?' for _ in columns)})"
    copied, after, step = 0, -(2**63), 1
    for _ in range(100_000):
        try:
            cursor = source.execute(f"SELECT rowid, {names} FROM {table} WHERE rowid > ? ORDER BY rowid", (after,))
            for row in cursor:
                after = row[0]
                try:
                    target.execute(insert, row[1:])
                except sqlite3.Error as exc:
                    raise _TargetFailed(exc) from exc  # full, read-only: not damage in the source
                copied += 1
            break  # reached the end
        except sqlite3.Error:
            after += step  # skip past the damaged stretch, a little further each time
            step *= 2
            if after > 2**62:
                break
    return copied, max(0, expected - copied)


# -- databases set aside as unreadable ------------------------------------------------------
_SIDE_FILES = ("-wal", "-shm", "-journal")
_ROW_IDS = ("id",)  # INTEGER PRIMARY KEY columns: numbered afresh in the live database
_TABLE_PAGES, _INDEX_PAGES = (5, 13), (2, 10)  # b-tree page type bytes


def set_aside(store: "Store") -> list[Path]:
    """Databases moved aside as unreadable (``progress.db.corrupt-*``) whose rows were not recovered yet."""
    real = Path(os.path.realpath(store.path))
    prefix = real.name + ".corrupt-"
    from tutor.fsutil import regular_files

    return regular_files(real.parent, lambda name: name.startswith(prefix) and not name.endswith(_SIDE_FILES))


def salvage(store: "Store", damaged: Path) -> SalvageResult:
    """Recover the rows of a database set aside as unreadable because its first page (the schema)
    was damaged: give a copy of it the first page of a fresh database of the same version, and if
    every table's root page is where that fresh schema says, copy every readable row into the live
    database (rows already there are kept). Once done, the set-aside file is renamed
    ``progress.db.salvaged-<time>``; on failure it stays where it is. Never raises for a damaged
    or unreadable ``damaged``."""
    if store.read_only:
        return SalvageResult(damaged, damaged, {}, 0, f"the live database cannot be written ({store.read_only_reason})")
    try:
        with tempfile.TemporaryDirectory(prefix=".salvage-", dir=damaged.parent) as folder:
            patched, tables = _patched_copy(damaged, Path(folder))
            rows, added = _copy_into(store, patched, tables)
    except _NotSalvageable as exc:
        return _unrecoverable(store, damaged, str(exc))
    except sqlite3.Error as exc:  # the file's own pages: this is what describe_error's advice would lead back to
        return _unrecoverable(store, damaged, "its pages cannot be read: " + describe_error(exc).split(" (`")[0])
    except OSError as exc:
        return SalvageResult(damaged, damaged, {}, 0, os_error_message(exc))
    except _TargetFailed as exc:
        return SalvageResult(damaged, damaged, {}, 0, f"the live database could not take its rows "
                                                      f"({describe_error(exc.error, store.path)})")
    kept: Path | None = damaged
    try:
        kept = fsutil.backup_path(Path(os.path.realpath(store.path)), "salvaged")
        os.replace(damaged, kept)
        for suffix in _SIDE_FILES:
            side = damaged.with_name(damaged.name + suffix)
            if side.exists():
                os.replace(side, kept.with_name(kept.name + suffix))
    except OSError:
        if damaged.exists():
            if kept is not None and kept != damaged:
                kept.unlink(missing_ok=True)  # the reserved name, left empty
            kept = damaged
    return SalvageResult(damaged, kept, rows, added)


def _unrecoverable(store: "Store", damaged: Path, reason: str) -> SalvageResult:
    """A set-aside file whose rows no salvage can read: renamed ``progress.db.unrecoverable-<time>`` (kept,
    never deleted), so that doctor stops asking for a ``--repair`` that would fail the same way again."""
    kept = damaged
    try:
        target = fsutil.backup_path(Path(os.path.realpath(store.path)), "unrecoverable")
        os.replace(damaged, target)
        kept = target
        for suffix in _SIDE_FILES:
            side = damaged.with_name(damaged.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
    except OSError:
        pass  # kept where it is; the next --repair tries again
    return SalvageResult(damaged, kept, {}, 0, reason)


class _NotSalvageable(Exception):
    pass


class _TargetFailed(Exception):
    """The database rows were being copied into failed (not the one they were read from)."""

    def __init__(self, error: sqlite3.Error):
        super().__init__(str(error))
        self.error = error


def _patched_copy(damaged: Path, folder: Path) -> tuple[Path, list[str]]:
    """A copy of ``damaged`` whose first page is a fresh database's; the tables it has."""
    with open(damaged, "rb") as handle:
        header = handle.read(100)
    size = damaged.stat().st_size
    version = schema.SCHEMA_VERSION
    page_size = 4096
    if header.startswith(SQLITE_MAGIC) and len(header) == 100:
        declared = int.from_bytes(header[16:18], "big")
        declared = 65536 if declared == 1 else declared
        if 512 <= declared <= 65536 and declared & (declared - 1) == 0:
            page_size = declared
        stamp = int.from_bytes(header[60:64], "big")
        if 1 <= stamp <= schema.SCHEMA_VERSION:
            version = stamp
    pages = size // page_size
    if pages < 2:
        raise _NotSalvageable("it holds no pages besides its first one")
    fresh_path = folder / "fresh.db"
    fresh = sqlite3.connect(str(fresh_path), isolation_level=None)
    try:
        fresh.execute(f"PRAGMA page_size = {page_size}")
        for script in schema.MIGRATIONS[:version]:
            fresh.executescript(script)
        fresh.execute(f"PRAGMA user_version = {version}")
        roots = fresh.execute("SELECT type, name, rootpage FROM sqlite_master WHERE rootpage > 0 ORDER BY name").fetchall()
    finally:
        fresh.close()
    first = bytearray(fresh_path.read_bytes()[:page_size])
    if len(first) != page_size:
        raise _NotSalvageable("a fresh database has another page size")
    first[28:32] = pages.to_bytes(4, "big")  # the damaged file's page count
    first[32:40] = bytes(8)  # no free-page list: its start was on the damaged page
    patched = folder / "patched.db"
    shutil.copyfile(damaged, patched)
    wal = damaged.with_name(damaged.name + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        first[18:20] = b"\x02\x02"  # WAL mode, so that the changes still in the WAL file are read
        shutil.copyfile(wal, folder / "patched.db-wal")
    with open(patched, "r+b") as handle:
        handle.write(first)
    conn = sqlite3.connect(str(patched), isolation_level=None)
    try:
        if first[18] == 2:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode = DELETE")
        found = conn.execute("SELECT type, name, rootpage FROM sqlite_master WHERE rootpage > 0 ORDER BY name").fetchall()
    finally:
        conn.close()
    if found != roots:  # the WAL held a first page of its own, with another schema
        raise _NotSalvageable("its tables are not where a fresh database keeps them")
    with open(patched, "rb") as handle:
        for kind, name, root in roots:
            handle.seek((root - 1) * page_size)
            page_type = handle.read(1)
            expected = _TABLE_PAGES if kind == "table" else _INDEX_PAGES
            if len(page_type) != 1 or page_type[0] not in expected:
                raise _NotSalvageable(f"its {kind} {name} is not on page {root}, where a fresh database keeps it")
    return patched, [name for kind, name, _ in roots if kind == "table" and name in schema.TABLES]


def _copy_into(store: "Store", patched: Path, tables: list[str]) -> tuple[dict[str, int], int]:
    source = sqlite3.connect("file:" + quote(str(patched)) + "?mode=ro", uri=True, isolation_level=None)
    rows: dict[str, int] = {}
    try:
        with store._write() as conn:
            before = conn.total_changes
            for table in tables:
                rows[table], _ = _copy_table(source, table, conn, skip=_ROW_IDS)
            added = conn.total_changes - before
    finally:
        source.close()
    if not any(rows.values()):
        raise _NotSalvageable("no row could be read from it")
    return rows, added
