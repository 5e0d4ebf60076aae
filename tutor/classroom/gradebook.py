"""The gradebook: one row per student and exercise, as CSV or JSON Lines.

Columns: student, exercise, passed, total, score (passed / total, 0 to 1),
status (done / partial / failed / not started / an error kind such as
timeout or syntax / missing), codes (the diagnosis codes, ``;``-separated in CSV),
seconds, sha256, seed, timeout (the --timeout the file was graded with; empty
for a row that ran nothing) and note (one line saying why: "a link, not
followed", "holds submission.zip", "SyntaxError line 12: expected ':'").
Gradebooks written before timeout and note existed are read as they are.

sha256 identifies what was graded, so a rerun skips what has not changed: for a
``<student>.py`` file, and for a student folder that holds only the graded
file, it is the sha256 of that file's bytes; for a folder with more files
(helpers, data or weights the code may read), it is the sha256 of the list
of every file in the folder (hidden ones included), one
``<relative path>\\0<sha256 of its bytes>\\n`` line each in sorted path order
(see :func:`tutor.classroom.submissions.submission_sha256`), so changing any
of them grades the student again.

Only the parent process writes a gradebook, always whole and atomically (a
temporary file in the same folder, then a rename), so a crash, Ctrl-C or a full
disk leaves the previous version intact. A grading run holds :func:`lock` (an
exclusive ``flock`` on ``<gradebook>.lock`` beside it) from start to end, so two
runs never write one gradebook at once. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import errno
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from tutor.errors import TutorError

COLUMNS = ("student", "exercise", "passed", "total", "score", "status", "codes", "seconds", "sha256", "seed", "timeout", "note")
OPTIONAL = ("timeout", "note")  # added later: a gradebook without them is read as it is
JSONL_SUFFIXES = (".jsonl", ".ndjson")
MAX_BYTES = 256 * 1024 * 1024
_SHA = re.compile(r"^[0-9a-f]{64}$")

# status words besides the runner's error kinds (timeout, syntax, memory, crash, exit, import, output, protocol,
# processes)
DONE = "done"
PARTIAL = "partial"  # some checks passed, not all
FAILED = "failed"  # the file ran to the end and no check passed (it is not a mere starter: see NOT_STARTED)
NOT_STARTED = "not started"
MISSING = "missing"  # the student's folder has no file for the exercise
UNREADABLE = "unreadable"  # the file could not be read (a link: never followed; not a regular file, too big, no permission)
AMBIGUOUS = "ambiguous"  # two entries name the student (alice/ and alice.py): neither is graded until one goes
ERROR = "error"  # the grader itself failed on this submission
# rows that hold no grade: one never replaces a graded row, and the report's graded mean leaves them out
NO_GRADE = (MISSING, UNREADABLE, AMBIGUOUS, ERROR)


@dataclass
class Row:
    student: str
    exercise: str
    passed: int
    total: int
    status: str
    codes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    sha256: str = ""
    seed: int = 0
    timeout: float | None = None  # the --timeout it was graded with; None: it ran nothing (or an older gradebook)
    note: str = ""  # one line saying why (a link, not followed; holds submission.zip; SyntaxError line 12: ...)

    @property
    def score(self) -> float:
        return round(self.passed / self.total, 4) if self.total else 0.0

    @property
    def key(self) -> tuple[str, str]:
        return (self.student, self.exercise)

    def to_dict(self) -> dict:
        return {
            "student": self.student,
            "exercise": self.exercise,
            "passed": self.passed,
            "total": self.total,
            "score": self.score,
            "status": self.status,
            "codes": list(self.codes),
            "seconds": round(self.seconds, 2),
            "sha256": self.sha256,
            "seed": self.seed,
            "timeout": self.timeout,
            "note": self.note,
        }

    def same_result(self, other: "Row") -> bool:
        """Equal in everything but the time it took."""
        a, b = self.to_dict(), other.to_dict()
        a.pop("seconds")
        b.pop("seconds")
        return a == b


# A spreadsheet reads a cell that starts with one of these as a formula (or,
# for a tab or carriage return, may drop it): such a text cell is written with a
# leading apostrophe, which spreadsheets show as "text follows" and
# :func:`read` removes again. A cell that really starts with an apostrophe gets
# one more, so every value survives the round trip.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
TEXT_COLUMNS = ("student", "exercise", "status", "codes", "note")


NOTE_CAP = 200  # a note is one short line: a stopped run's count and its message fit


def note_line(text: object) -> str:
    """``text`` as a row's note: one printable line (control characters shown as escapes), at most NOTE_CAP
    characters. A longer one loses its middle (a long path, say), not its end: what went wrong comes first
    and what to do last."""
    from tutor.grading.text import visible

    line = visible(" ".join(str(text).split()))
    head = NOTE_CAP // 2
    return line if len(line) <= NOTE_CAP else line[:head] + "…" + line[len(line) - (NOTE_CAP - head - 1):]


def csv_cell(text: str) -> str:
    """A text value as written in a CSV gradebook: never a formula to a spreadsheet."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_value(text: str) -> str:
    """The inverse of :func:`csv_cell`."""
    return text[1:] if text.startswith("'") else text


def is_jsonl(path: Path) -> bool:
    return Path(path).suffix.lower() in JSONL_SUFFIXES


def _natural(text: str) -> tuple:
    """"s2" before "s10": digit runs compare as numbers."""
    return tuple((0, int(part), part) if part.isdecimal() else (1, 0, part) for part in re.split(r"(\d+)", text) if part)


def sort_rows(rows: Iterable[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (_natural(r.student), r.student, r.exercise))


# ---------------------------------------------------------------- reading


def read(path: Path) -> list[Row]:
    """Every row of a gradebook file (CSV or JSON Lines, told apart by content).

    Raises :class:`TutorError` with one line naming the file (and line) for
    anything that is not a gradebook.
    """
    path = Path(path)
    name = str(path)
    try:
        if path.is_dir():
            raise TutorError(f"{name} is a folder, not a gradebook file")
        if not path.exists():
            raise TutorError(f"no such gradebook: {name}")
        if not path.is_file():
            raise TutorError(f"{name} is not a regular file")
        if path.stat().st_size > MAX_BYTES:
            raise TutorError(f"{name} is larger than {MAX_BYTES // (1024 * 1024)} MB: not a gradebook")
        data = path.read_bytes()
    except OSError as exc:
        raise TutorError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TutorError(f"{name} is not a text file (not UTF-8): not a gradebook") from None
    if "\x00" in text:
        raise TutorError(f"{name} is a binary file: not a gradebook")
    if not text.strip():
        raise TutorError(f"{name} is empty: not a gradebook (expected a header line: {','.join(COLUMNS)})")
    if text.lstrip().startswith("{"):
        rows = _read_jsonl(text, name)
    else:
        rows = _read_csv(text, name)
    seen: dict[tuple[str, str], int] = {}
    for index, row in enumerate(rows):
        if row.key in seen:
            raise TutorError(f"{name}: student {row.student!r} has two rows for exercise {row.exercise!r}")
        seen[row.key] = index
    return rows


def composed(rows: list[Row], name: str) -> list[Row]:
    """``rows`` (read from the gradebook ``name``) with each student id in Unicode's composed form (NFC), as
    grading gives ids (:func:`tutor.classroom.submissions.nfc`): ``Zoë`` written with ``e`` and a combining
    diaeresis (a file name from macOS) is the same student as ``Zoë`` with ``ë``. What ``grade merge`` and
    ``grade report`` read. Two rows of one exercise that are then one student's raise :class:`TutorError`,
    as two rows of one student in a file always do."""
    from tutor.classroom.submissions import nfc

    seen: dict[tuple[str, str], str] = {}  # the composed key -> the id as the file writes it
    result = []
    for row in rows:
        student = nfc(row.student)
        key = (student, row.exercise)
        if key in seen:
            raise TutorError(
                f"{name}: student {student!r} has two rows for exercise {row.exercise!r}, the id written in two "
                f"Unicode forms ({ascii(seen[key])} and {ascii(row.student)}: composed, and decomposed as macOS "
                f"writes names), likely kept apart by an older dnn-tutor: delete one of the two rows"
            )
        seen[key] = row.student
        result.append(row if student == row.student else dataclasses.replace(row, student=student))
    return result


def _read_csv(text: str, name: str) -> list[Row]:
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader)
        header = [h.strip() for h in header]
        missing = [c for c in COLUMNS if c not in header and c not in OPTIONAL]
        extra = [h for h in header if h not in COLUMNS]
        if not any(c in header for c in COLUMNS):
            shown = ",".join(header)[:80]
            first = text.split("\n", 1)[0]
            for sep, how in ((";", "semicolons"), ("\t", "tabs")):
                if len(header) == 1 and all(c in first.split(sep) for c in COLUMNS if c not in OPTIONAL):
                    raise TutorError(
                        f"{name} is not a gradebook: its values are separated by {how}, as a spreadsheet may save "
                        f"a CSV file; save it with commas (expected {','.join(COLUMNS)})"
                    )
            raise TutorError(f"{name} is not a gradebook: its header is {shown!r}; expected {','.join(COLUMNS)}")
        if missing or extra or len(set(header)) != len(header):
            parts = []
            if missing:
                parts.append("missing " + ", ".join(missing))
            if extra:
                parts.append("unknown " + ", ".join(repr(e) for e in extra))
            if not parts:
                parts.append("a column appears twice")
            raise TutorError(f"{name} is not a gradebook: its columns are wrong ({'; '.join(parts)}); expected {','.join(COLUMNS)}")
        rows = []
        for values in reader:
            if not values or all(not v.strip() for v in values):
                continue
            where = f"{name}, line {reader.line_num}"
            if len(values) != len(header):
                why = "a value holding a comma must be in double quotes" if len(values) > len(header) else "a line cut short?"
                raise TutorError(f"{where}: {len(values)} values for {len(header)} columns ({why})")
            raw = dict(zip(header, values))
            for column in TEXT_COLUMNS:
                raw[column] = _csv_value(raw.get(column, ""))
            codes = [c for c in raw["codes"].split(";") if c.strip()]
            rows.append(_row(raw, codes, where))
        return rows
    except csv.Error as exc:
        where = f"{name}, line {reader.line_num}" if reader.line_num else name
        if "field larger than field limit" in str(exc):  # a gradebook's longest value is a 200-character note
            raise TutorError(
                f"{where}: a value longer than {csv.field_size_limit()} characters (an unclosed quote, or a file that "
                "is no gradebook): not a gradebook row"
            ) from None
        raise TutorError(f"{where}: not readable as CSV ({exc})") from None


def _read_jsonl(text: str, name: str) -> list[Row]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name}, line {number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TutorError(f"{where}: not valid JSON ({exc.msg})") from None
        except (ValueError, RecursionError):  # (nested thousands deep: no gradebook row is)
            raise TutorError(f"{where}: not valid JSON for a gradebook row") from None
        if not isinstance(raw, dict):
            raise TutorError(f"{where}: expected a JSON object per line")
        missing = [c for c in COLUMNS if c not in raw and c not in OPTIONAL]
        extra = [k for k in raw if k not in COLUMNS]
        if missing or extra:
            what = ("missing " + ", ".join(missing)) if missing else ("unknown " + ", ".join(map(repr, extra)))
            raise TutorError(f"{where}: not a gradebook row ({what})")
        codes = raw["codes"]
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise TutorError(f"{where}: codes must be a list of strings")
        if not isinstance(raw.get("note") or "", str):
            raise TutorError(f"{where}: note must be a string")
        rows.append(_row(raw, codes, where))
    return rows


def _row(raw: dict, codes: list[str], where: str) -> Row:
    def integer(key: str, low: int = 0) -> int:
        value = raw[key]
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            number = int(str(value).strip()) if not isinstance(value, (int, float)) else int(value)
        except (TypeError, ValueError):
            raise TutorError(f"{where}: {key} must be a whole number, not {str(value)[:40]!r}") from None
        if number < low:
            raise TutorError(f"{where}: {key} must be at least {low}, not {number}")
        return number

    def number(key: str) -> float:
        try:
            value = float(str(raw[key]).strip())
        except (TypeError, ValueError):
            raise TutorError(f"{where}: {key} must be a number, not {str(raw[key])[:40]!r}") from None
        if value != value or value in (float("inf"), float("-inf")) or value < 0:
            raise TutorError(f"{where}: {key} must be a finite number >= 0, not {raw[key]!r}")
        return value

    student = str(raw["student"])
    exercise = str(raw["exercise"]).strip()
    if not student.strip():
        raise TutorError(f"{where}: the student column is empty")
    if not exercise:
        raise TutorError(f"{where}: the exercise column is empty")
    passed, total = integer("passed"), integer("total")
    if passed > total:
        raise TutorError(f"{where}: passed ({passed}) is more than total ({total})")
    number("score")
    status = str(raw["status"]).strip()
    if not status:
        raise TutorError(f"{where}: the status column is empty")
    sha = str(raw["sha256"]).strip().lower()
    if sha and not _SHA.match(sha):
        raise TutorError(f"{where}: sha256 must be 64 hexadecimal digits, not {sha[:20]!r}")
    return Row(
        student=student,
        exercise=exercise,
        passed=passed,
        total=total,
        status=status,
        codes=[c.strip() for c in codes if c.strip()],
        seconds=number("seconds"),
        sha256=sha,
        seed=integer("seed"),
        timeout=None if raw.get("timeout") is None or not str(raw["timeout"]).strip() else number("timeout"),
        note=str(raw.get("note") or ""),
    )


# ---------------------------------------------------------------- writing


def dumps(rows: Iterable[Row], jsonl: bool = False) -> str:
    rows = sort_rows(rows)
    if jsonl:
        return "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in rows)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        d = row.to_dict()
        d["codes"] = ";".join(row.codes)
        d["score"] = f"{row.score:.4f}".rstrip("0").rstrip(".") if row.total else "0"
        d["seconds"] = f"{row.seconds:.2f}"
        d["timeout"] = "" if row.timeout is None else f"{row.timeout:g}"
        for column in TEXT_COLUMNS:
            d[column] = csv_cell(str(d[column]))
        writer.writerow([d[c] for c in COLUMNS])
    return buffer.getvalue()


def write(path: Path, rows: Iterable[Row], jsonl: bool | None = None) -> None:
    """Replace ``path`` with these rows, atomically (the old file survives any failure); as JSON Lines when
    ``jsonl`` says so, or (None) when the name ends in .jsonl."""
    atomic_write_text(Path(path), dumps(rows, jsonl=is_jsonl(Path(path)) if jsonl is None else jsonl))


def holds_jsonl(path: Path) -> bool | None:
    """Whether an existing gradebook file is JSON Lines by its content (as :func:`read` tells them apart),
    whatever its name; None when it cannot be read (or is empty)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096).decode("utf-8-sig", "replace").lstrip()
    except OSError:
        return None
    return head.startswith("{") if head else None


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (:mod:`tutor.fsutil`);
    one line of error on failure, and the previous version is kept."""
    from tutor import fsutil

    existed = os.path.lexists(path)
    try:
        fsutil.atomic_write_bytes(path, data)
    except OSError as exc:
        kept = " (the previous version is kept)" if existed else ""
        error = TutorError(f"cannot write {path}: {exc.strerror or exc}{kept}", exit_code=1)
        error.errno = exc.errno  # type: ignore[attr-defined]  # what to do differs: a full disk, no permission
        raise error from None


def write_fix(number: int | None) -> str:
    """What to do when a gradebook (or its copy) cannot be written, by the OSError's errno, as a sentence's
    start: free some space (a full disk: the usual cause), make it writable, or write elsewhere."""
    if number in (errno.EACCES, errno.EPERM):
        return "Make the gradebook and its folder writable (a read-only or locked file?)"
    if number == errno.EROFS:
        return "Copy the gradebook to a disk that is not read-only, give that as --out,"
    if number in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), None):
        return "Free some space"
    return "Fix that"


# ---------------------------------------------------------------- one writer at a time


def lock_path(path: Path) -> Path:
    """The sidecar file a run locks: ``<gradebook>.lock`` in the same folder.

    The gradebook itself cannot be locked: every save replaces it with a new file
    (a rename), and a lock on the old one would lock nothing.
    """
    path = Path(path)
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the gradebook ``path`` (through :func:`lock_path`) for the ``with`` block.

    Non-blocking: when another run holds it, raises :class:`TutorError` (exit 2) at
    once, before anything is read or written. The lock file is removed on the way
    out. A lock file left by a killed run does not block: the kernel drops a
    ``flock`` when its process ends, and an unlocked file is simply taken over.
    """
    import fcntl

    path = Path(path)
    sidecar = lock_path(path)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        try:
            fd = os.open(sidecar, flags, 0o644)
        except OSError as exc:
            raise TutorError(
                f"cannot write {path}: the lock file {sidecar} cannot be made beside it ({exc.strerror or exc}); "
                "give a file in a folder you can write"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise TutorError(f"another dnn-tutor grade is writing {path}; wait for it or use another --out") from None
            raise TutorError(f"cannot lock {path}: {exc.strerror or exc}") from None
        # The run before may have removed the file between our open and our lock: then the lock is on a
        # file no other run can find. Start again on the file the name now gives.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(sidecar, follow_symlinks=False))
        except OSError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        try:
            os.unlink(sidecar)  # while still locked: a run waiting on this file sees it gone and starts again
        except OSError:
            pass
        os.close(fd)  # releases the lock
