"""The progress database file: opening it, telling trouble from damage, migrating, writing.

:class:`StoreFile` is the part of :class:`tutor.store.Store` that deals with the file itself:

* a file is moved aside only when verifiably not a database (a wrong header, or a schema
  that cannot be read *and* a failing integrity check);
* a read-only file or folder, a full disk or a lock held elsewhere opens the file for
  reading with one warning;
* a write that cannot happen raises :class:`StoreError` (one line, exit 1) after keeping
  the result in ``progress.db.pending``, which the next run that can write adds;
* a read that hits damage returns what could be read and warns once.

Never prints: warnings go to ``warnings`` and the ``on_warning`` callback.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sqlite3
import stat
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar
from urllib.parse import quote

from tutor import clock, fsutil
from tutor import store_schema as schema
from tutor.errors import StoreError, TutorError, os_error_message
from tutor.store_schema import LEGACY_HINTS_FILE, OPERATIONS, SQLITE_MAGIC, dumps

_S = TypeVar("_S", bound="StoreFile")

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: claims are taken by renaming alone
    fcntl = None  # type: ignore[assignment]

_CLAIM_NAME = re.compile(r"[0-9a-f]{32}")  # progress.db.pending.<uuid>: claimed by a run adding them
_PENDING_CAP = 64 * 1024 * 1024


@dataclass
class _Claim:
    """A pending file this run has taken: its new name and an open, locked descriptor."""

    path: Path
    fd: int
    data: bytes | None = None  # what was read from it


def _file_id(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file ``path`` names now; None when there is none."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _read_fd(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from where ``fd`` stands."""
    parts, size = [], 0
    while size < limit:
        chunk = os.read(fd, min(1 << 20, limit - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)

BUSY_TIMEOUT_MS = 30_000  # how long a write waits for another program's write to finish
_LOCK_STEP_MS = 200


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
                         ("could not decode", "corrupt"),  # garbage bytes where text was stored
                         ("readonly", "readonly"), ("read-only", "readonly"), ("locked", "busy"),
                         ("unable to open", "cantopen"), ("disk i/o", "ioerr"), ("no such table", "missing")):
        if needle in text:
            return kind
    return "other"


ERROR_WORDS = {  # what each kind of SQLite failure means, in the learner's words
    "full": "the disk is full",
    "readonly": "the database (or its folder) is read-only",
    "busy": f"another program held the database locked for more than {BUSY_TIMEOUT_MS / 1000:g} s",
    "cantopen": "the file cannot be opened (check the folder's permissions)",
    "ioerr": "the disk reported an input/output error",
    "corrupt": "the database file is damaged (`dnn-tutor doctor --repair` rebuilds it)",
}


def describe_error(exc: BaseException, path: Path | str | None = None) -> str:
    """What went wrong, in the learner's words; with ``path``, the file system's own state first
    (SQLite says "unable to open" or "disk is full" for a read-only mount or for /proc)."""
    kind = _kind(exc)
    if path is not None and kind in ("cantopen", "readonly", "full", "ioerr"):
        reason = _file_system_reason(Path(path).parent, pseudo=kind == "full")
        if reason:
            return reason
    return ERROR_WORDS.get(kind, str(exc))


def _file_system_reason(folder: Path, *, pseudo: bool = True, full: bool = False) -> str | None:
    """What the file system holding ``folder`` says about writing there: read-only; with ``pseudo``,
    no blocks at all (/proc, /sys); with ``full``, no free blocks. None when it says nothing."""
    try:
        info = os.statvfs(folder)
    except (OSError, AttributeError):
        return None
    if info.f_flag & getattr(os, "ST_RDONLY", 1):
        return f"the file system holding {folder} is read-only"
    if pseudo and info.f_blocks == 0:  # /proc, /sys: no blocks at all, so none free either
        return f"{folder} is not on a file system that keeps files (/proc or /sys?); set DNN_TUTOR_HOME to a folder on disk"
    if full and info.f_bavail == 0:
        return ERROR_WORDS["full"]
    return None



class StoreFile:
    """The open database file (see the module docstring); :class:`tutor.store.Store` adds the API.

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
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file opened for writing
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not a progress database; move it away or set DNN_TUTOR_HOME",
                             exit_code=2)  # the home is set up wrong, as DNN_TUTOR_HOME naming a file (exit 2)
        if self.path.exists() and not self.path.is_file():  # opening a FIFO would wait forever
            raise StoreError(f"{self.path} is not a regular file (a pipe, device or socket), so it cannot hold "
                             "your progress; move it away or set DNN_TUTOR_HOME", exit_code=2)
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
            return self._open_read_only(self._why_not_writable(exc))

    def _why_not_writable(self, exc: sqlite3.Error) -> str:
        """The reason a file cannot be opened for writing; SQLite reports a full disk as an I/O error
        when it cannot create the WAL files, so the free space is checked too."""
        if _kind(exc) in ("ioerr", "cantopen", "other"):
            reason = _file_system_reason(self.path.parent, full=True)
            if reason:
                return reason
        return describe_error(exc, self.path)

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
            self._refuse_foreign(conn)  # before anything is set on the file (WAL mode changes its header)
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
        self._identity = _file_id(self.path)
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
            if version > schema.SCHEMA_VERSION:
                conn.close()
                raise self._newer_schema(version)
            if not quiet:
                waiting = self._pending_count()
                extra = f"; {waiting} unsaved result(s) wait in {self._pending_path().name}" if waiting else ""
                self._warn(f"progress database {self.path} opened read-only ({reason}): your progress is shown, "
                           f"but nothing new can be saved{extra}")
            return conn
        if last is not None and self.path.exists() and self.path.stat().st_size > 0:
            raise StoreError(f"cannot read the progress database {self.path}: {describe_error(last)}") from None
        conn = sqlite3.connect(":memory:", isolation_level=None)
        for script in schema.MIGRATIONS:
            conn.executescript(script)
        if not quiet:
            self._warn(f"cannot create the progress database {self.path} ({reason}): nothing can be saved this time")
        return conn

    def _newer_schema(self, version: int) -> TutorError:
        return TutorError(
            f"progress database {self.path} has schema version {version}, newer than this "
            f"dnn-tutor understands ({schema.SCHEMA_VERSION}); upgrade dnn-tutor",
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
        real = Path(os.path.realpath(self.path))  # a linked progress.db: move the file it points to, keep the link
        try:
            moved = fsutil.move_aside(real, "corrupt")
            for suffix in ("-wal", "-shm", "-journal"):
                side = real.with_name(real.name + suffix)
                if side.exists():
                    os.replace(side, moved.with_name(moved.name + suffix))
        except OSError as exc:
            raise StoreError(f"the progress database {self.path} is damaged ({why}) and could not be moved aside: "
                             f"{os_error_message(exc)}") from None
        self._warn(f"progress database {self.path} was unreadable ({why}); moved it to {moved.name} "
                   "and started a new one")

    def _refuse_foreign(self, conn: sqlite3.Connection) -> None:
        """Another program's SQLite file named progress.db: leave it exactly as it is."""
        if conn.execute("PRAGMA user_version").fetchone()[0] != 0:
            return
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and not tables & {"sections_read", "lessons_completed", "exercise_attempts", "quiz_cards"}:
            raise StoreError(f"{self.path} is a database of another program (tables {', '.join(sorted(tables)[:3])}); "
                             "it was left as it is: move it away or set DNN_TUTOR_HOME to another folder")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > schema.SCHEMA_VERSION:
            raise self._newer_schema(version)
        if version == schema.SCHEMA_VERSION:
            return
        self._begin(conn)
        try:
            # Re-read inside the lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for index in range(version, schema.SCHEMA_VERSION):
                self._run_script(conn, schema.MIGRATIONS[index])
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
        missing = [t for t in schema.TABLES if t not in present]
        if not missing:
            return
        self._begin(conn)
        try:
            for script in schema.MIGRATIONS:
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
        from tutor import export_schema

        if isinstance(data, dict):
            for exercise_id, entry in data.items():
                try:
                    state = export_schema._hint_ladder(entry, export_schema.KnownIds())
                except ValueError:
                    continue
                if isinstance(exercise_id, str) and exercise_id and state:
                    OPERATIONS["hint"](conn, exercise_id, dumps(state), stamp, force=True)
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
    def _begin(conn: sqlite3.Connection, mode: str = "IMMEDIATE") -> None:
        """``BEGIN IMMEDIATE`` (or ``EXCLUSIVE``), waiting up to BUSY_TIMEOUT_MS for another writer to finish."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                conn.execute(f"BEGIN {mode}")
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

    def _reopen(self) -> None:
        """Open the file the path names now (it was replaced by another process)."""
        stale = self._conn
        self._conn = self._connect()
        stale.close()  # SQLite notices the file was moved, and leaves the new file's WAL alone
        if self.read_only:
            raise sqlite3.OperationalError("attempt to write a readonly database")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that holds the write lock from its first statement (waits up to the busy timeout).

        Once the lock is held, the file the path names is checked to be the one open here: ``doctor
        --repair`` in another process puts a rebuilt file in place (holding the lock until it has),
        and a write to the file it moved aside would be lost. Then the path is opened again."""
        self._begin(self._conn)
        for _ in range(3):
            if self._identity is None or _file_id(self.path) == self._identity:
                break
            self._rollback(self._conn)
            self._reopen()
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
            raise self._unsaved(op, what, args, describe_error(exc, self.path)) from None

    def _pending_path(self) -> Path:
        return self.path.with_name(self.path.name + ".pending")

    def _pending_is_usable(self) -> bool:
        """False when something other than a regular file (a FIFO, a folder, a link) sits at the
        pending file's name: it is never opened for reading (a FIFO would block) nor moved."""
        try:
            return stat.S_ISREG(os.lstat(self._pending_path()).st_mode)
        except OSError:
            return False

    def _pending_count(self) -> int:
        """Results waiting to be saved: lines of the pending file and of files claimed by a run that
        was killed while adding them (picked up again by the next run that can write)."""
        sources = ([self._pending_path()] if self._pending_is_usable() else []) + self._stale_claims()
        count = 0
        for source in sources:
            try:
                with open(source, "rb") as handle:
                    count += sum(1 for line in handle if line.strip())
            except OSError:
                continue
        return count

    def _unsaved(self, op: str, what: str, args: dict, reason: str) -> StoreError:
        entry = {"op": op, "what": what, "args": {**args, **({"force": False} if "force" in args else {})}}
        journal = self._pending_path()
        try:
            self._append_to(journal, (dumps(entry) + "\n").encode("utf-8"))
        except OSError as exc:
            if exc.filename is None:  # a failed write names no file: say which one
                exc.filename = str(journal)
            return StoreError(f"could not save {what}: {reason}, and it could not be kept aside either "
                              f"({os_error_message(exc)}); it was NOT saved")
        return StoreError(f"could not save {what} to {self.path}: {reason}; it is kept in {journal.name} "
                          "and will be added the next time dnn-tutor can write")

    def _stale_claims(self) -> list[Path]:
        """``progress.db.pending.<uuid>`` files: claimed by a run adding them. One whose run is still
        at it is locked (see :meth:`_claim`); one left by a killed run is not, and is taken over."""
        journal = self._pending_path()
        prefix = journal.name + "."
        return fsutil.regular_files(
            journal.parent, lambda name: name.startswith(prefix) and bool(_CLAIM_NAME.fullmatch(name[len(prefix):])))

    def _claim(self, source: Path) -> _Claim | None:
        """Take ``source`` (the pending file, or a claim left by a killed run) for this run: lock it,
        then rename it to a name of our own, so that no other run adds the same results at once.
        None when it is gone, not a regular file, or another live run holds it."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(source, flags)
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(errno.EINVAL, "not a regular file")
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until this run is done with it
            if not os.path.samestat(info, os.stat(source, follow_symlinks=False)):
                raise OSError(errno.ESTALE, "taken by another run meanwhile")
            journal = self._pending_path()
            target = journal.with_name(f"{journal.name}.{uuid.uuid4().hex}")
            os.replace(source, target)
        except OSError:
            os.close(fd)
            return None
        return _Claim(target, fd)

    def _replay_pending(self) -> None:
        """Add results that could not be written earlier (see :meth:`_unsaved`).

        Every line is checked first (:func:`tutor.store_schema.parse_pending`) and added in a
        savepoint of its own, so one bad line never holds back the others; lines that can never be
        added are moved to ``progress.db.pending.rejected-<time>`` with one warning naming it."""
        journal = self._pending_path()
        sources = self._stale_claims()
        if journal.exists() or journal.is_symlink():
            if self._pending_is_usable():
                sources.append(journal)
            else:
                self._warn(f"{journal} is not a regular file, so results that cannot be saved cannot be kept "
                           "there; move it away")
        claims: list[_Claim] = []
        try:
            for source in sources:
                claim = self._claim(source)
                if claim is not None:
                    claims.append(claim)
            if claims:
                self._replay_claims(claims, journal)
        except BaseException:  # Ctrl-C or SIGTERM half-way: the results go back to wait for the next run
            for claim in claims:
                if claim.data is not None and claim.path.exists():
                    if self._append(journal, claim.data + self._rest(claim)):
                        claim.path.unlink(missing_ok=True)
            raise
        finally:
            for claim in claims:
                os.close(claim.fd)

    def _replay_claims(self, claims: list[_Claim], journal: Path) -> None:
        entries: list[tuple[bytes, str, dict, str]] = []
        rejected: list[tuple[bytes, str]] = []
        too_big: list[Path] = []
        for claim in claims:
            claim.data = _read_fd(claim.fd, _PENDING_CAP + 1)
            if len(claim.data) > _PENDING_CAP:
                claim.data = None
                too_big.append(claim.path)
                continue
            for raw in claim.data.splitlines():
                if not raw.strip():
                    continue
                try:
                    op, args, what = schema.parse_pending(raw)
                except ValueError as exc:
                    rejected.append((raw, str(exc)))
                else:
                    entries.append((raw, op, args, what))
        saved: list[str] = []
        failure: str | None = None
        try:
            with self._write() as conn:
                for raw, op, args, what in entries:
                    conn.execute("SAVEPOINT pending_entry")
                    try:
                        OPERATIONS[op](conn, **args)
                    except (TypeError, ValueError, OverflowError, sqlite3.IntegrityError, sqlite3.InterfaceError,
                            sqlite3.ProgrammingError, sqlite3.DataError) as exc:
                        conn.execute("ROLLBACK TO pending_entry")
                        rejected.append((raw, f"{op}: {str(exc)[:120]}"))
                    else:
                        saved.append(what)
                    conn.execute("RELEASE pending_entry")
        except sqlite3.Error as exc:
            failure = describe_error(exc)
            saved = []
        # What goes back to wait: every checked entry when the database could not take them.
        back = [raw for raw, *_ in entries] if failure else []
        kept = self._keep_rejected([raw for raw, _ in rejected], journal)
        if kept is None:
            back += [raw for raw, _ in rejected]
        tail = b"".join(self._rest(claim) for claim in claims if claim.data is not None)  # appended meanwhile
        data = b"".join(raw + b"\n" for raw in back) + (tail if tail.endswith(b"\n") or not tail else tail + b"\n")
        if not data or self._append(journal, data):
            for claim in claims:
                if claim.data is not None:
                    claim.path.unlink(missing_ok=True)
        # else: the claims stay where they are, unlocked; the next run takes them over.
        for path in too_big:
            try:
                moved = fsutil.move_aside(path, "too-big")
            except OSError:
                continue
            self._warn(f"{journal.name} was too big to read (more than {_PENDING_CAP // (1024 * 1024)} MB); "
                       f"it is kept as {moved.name}")
        if failure:
            self._warn(f"{len(entries)} result(s) kept earlier in {journal.name} still cannot be saved "
                       f"({failure}); they stay there")
        if rejected:
            where = f"moved to {kept.name}" if kept else f"they stay in {journal.name}"
            self._warn(f"{len(rejected)} line(s) of {journal.name} can never be saved ({rejected[0][1]}); "
                       f"{where}")
        if saved:
            whats = ", ".join(dict.fromkeys(saved))
            self._warn(f"saved {len(saved)} result(s) that could not be written earlier: {whats}")

    @staticmethod
    def _keep_rejected(lines: list[bytes], journal: Path) -> Path | None:
        """Lines that can never be added, in a file of their own beside the database (never lost,
        never tried again); None when there are none or they could not be written."""
        if not lines:
            return None
        try:
            kept = fsutil.backup_path(journal, "rejected")
            fd = os.open(kept, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0))
            try:
                os.write(fd, b"".join(line + b"\n" for line in lines))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            return None
        return kept

    @staticmethod
    def _rest(claim: _Claim) -> bytes:
        """Bytes a run that opened the pending file just before it was claimed appended after it was read."""
        try:
            return _read_fd(claim.fd, _PENDING_CAP)
        except OSError:
            return b""

    @staticmethod
    def _append_to(journal: Path, data: bytes) -> None:
        """Add ``data`` at the end of the pending file, on disk before it returns (raises OSError)."""
        fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NONBLOCK", 0), 0o600)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or a device put there
                raise OSError(errno.EINVAL, "not a regular file", str(journal))
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    @classmethod
    def _append(cls, journal: Path, data: bytes) -> bool:
        try:
            cls._append_to(journal, data)
        except OSError:
            return False
        return True

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
                raise StoreError(f"could not read the progress database {self.path}: {describe_error(exc)}; "
                                 "try again") from None
            if kind not in ("corrupt", "missing") and not (self.read_only and "no such" in str(exc)):
                raise StoreError(f"could not read the progress database {self.path}: {describe_error(exc)}") from None
            self._note_damage(what or sql.split(" FROM ")[-1].split()[0], exc)
        return rows

    def _note_damage(self, what: str, exc: BaseException) -> None:
        self.damaged.append(f"{what}: {exc}")
        if len(self.damaged) == 1 and not (self.read_only and "no such table" in str(exc)):
            self._warn(f"progress database {self.path} is damaged: could not read {what} ({exc}); showing what "
                       "could be read. Run `dnn-tutor doctor` to check it and `dnn-tutor doctor --repair` to rebuild it")

