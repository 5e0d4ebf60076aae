"""The progress export format, checked before anything is written.

``dnn-tutor progress --export`` writes a JSON object; ``--import`` reads one back,
possibly made on another machine, by another version, or by hand. Every row
of every section is checked here against one declaration of its fields (type,
range, known id, timestamps that parse and are not in the future); the import
happens only when the whole file passes, so a bad file changes nothing and can
never leave a row that breaks a later command.

Never prints; problems are raised as one :class:`~tutor.errors.TutorError`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from tutor import clock
from tutor.errors import TutorError

EXPORT_FORMAT = "dnn-tutor-progress"
EXPORT_VERSION = 2  # 2: adds "hint_state"
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ROWS = 500_000
MAX_TEXT = 10_000  # a quiz answer typed by the learner
MAX_STATE_BYTES = 64 * 1024  # one JSON state object (a quiz card, a hint ladder)
MAX_RUN_BYTES = 1024 * 1024  # one demo run's config or metrics (older runs kept figure arrays there)
MAX_COUNT = 100_000  # checks in one exercise, sections in one lesson, ...
MAX_SECONDS = 10 * 365 * 24 * 3600.0

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,199}$")
_HASH = re.compile(r"^[A-Za-z0-9_.:+-]{1,200}$")
_DEVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:() -]{0,79}$")


@dataclass(frozen=True)
class KnownIds:
    """The content this dnn-tutor has. ``None`` for a kind means "any well-formed id"."""

    lessons: dict[str, int] | None = None  # lesson id -> number of sections
    exercises: frozenset[str] | None = None
    demos: frozenset[str] | None = None
    questions: frozenset[str] | None = None  # unknown question ids are skipped, not refused


class _Bad(ValueError):
    pass


# -- field checkers: each returns the clean value or raises _Bad ----------------
def _id(kind: str, known: Callable[[KnownIds], Any] | None = None) -> Callable[[Any, KnownIds], str]:
    def check(value: Any, ids: KnownIds) -> str:
        if not isinstance(value, str) or not _ID.match(value):
            raise _Bad(f"{_show(value)} is not a valid {kind} id")
        allowed = known(ids) if known else None
        if allowed is not None and value not in allowed:
            raise _Bad(f"unknown {kind} {value!r}")
        return value

    return check


def _int(low: int, high: int) -> Callable[[Any, KnownIds], int]:
    def check(value: Any, ids: KnownIds) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad(f"{_show(value)} is not a whole number")
        if not low <= value <= high:
            raise _Bad(f"{value} is outside {low}..{high}")
        return value

    return check


def _number(low: float, high: float) -> Callable[[Any, KnownIds], float]:
    def check(value: Any, ids: KnownIds) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Bad(f"{_show(value)} is not a number")
        if not math.isfinite(value) or not low <= value <= high:
            raise _Bad(f"{value} is outside {low:g}..{high:g}")
        return float(value)

    return check


def _bool(value: Any, ids: KnownIds) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise _Bad(f"{_show(value)} is not true or false")


def _text(limit: int, pattern: re.Pattern | None = None) -> Callable[[Any, KnownIds], str]:
    def check(value: Any, ids: KnownIds) -> str:
        if not isinstance(value, str):
            raise _Bad(f"{_show(value)} is not text")
        if len(value) > limit:
            raise _Bad(f"text of {len(value)} characters (at most {limit})")
        if "\x00" in value:
            raise _Bad("text holds a NUL character")
        if pattern is not None and not pattern.match(value):
            raise _Bad(f"{_show(value)} is not in the expected form")
        return value

    return check


def _past(value: Any, ids: KnownIds) -> str:
    """A moment that already happened, stored in the one canonical form."""
    try:
        moment = clock.parse_iso(value)
    except (ValueError, TypeError, OverflowError):
        raise _Bad(f"{_show(value)} is not a timestamp") from None
    try:
        clock.check_past(value)
    except ValueError as exc:
        raise _Bad(str(exc)) from None
    return clock.to_iso(moment)


def _moment(value: Any, ids: KnownIds) -> str:
    """A due date: may lie in the future, but within reason."""
    try:
        moment = clock.parse_iso(value)
    except (ValueError, TypeError, OverflowError):
        raise _Bad(f"{_show(value)} is not a timestamp") from None
    if not clock.EARLIEST <= moment <= clock.EARLIEST.replace(year=2200):
        raise _Bad(f"{_show(value)} is not between 2000 and 2200")
    return clock.to_iso(moment)


def _json_object(value: Any, ids: KnownIds) -> dict:
    if not isinstance(value, dict):
        raise _Bad(f"{_show(value)} is not a JSON object")
    try:
        text = json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise _Bad(f"holds a value JSON cannot carry ({exc})") from None
    if len(text) > MAX_STATE_BYTES:
        raise _Bad(f"object of {len(text)} bytes (at most {MAX_STATE_BYTES})")
    return value


def _card_state(value: Any, ids: KnownIds) -> dict:
    """A quiz card's scheduler state: a JSON object the scheduler can use (a negative step or
    stability crashed every quiz that card came up in)."""
    value = _json_object(value, ids)
    if value:
        from tutor.quiz.schedule import insane_state

        if insane_state(value):
            raise _Bad(f"{_show(value)} is not a quiz card state this dnn-tutor can schedule (state, step, stability or difficulty out of range)")
    return value


def _settings(value: Any, ids: KnownIds) -> dict:
    """A demo's config or metrics: a JSON object (nested values allowed, numbers finite) whose
    accuracies and losses (names ending in ``acc`` / ``loss``) are numbers or null."""
    if not isinstance(value, dict):
        raise _Bad(f"{_show(value)} is not a JSON object")
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _Bad(f"holds a value JSON cannot carry ({exc})") from None
    if len(text) > MAX_RUN_BYTES:
        raise _Bad(f"object of {len(text)} bytes (at most {MAX_RUN_BYTES})")
    for key, item in value.items():
        if not isinstance(key, str) or not key or len(key) > 200 or not key.isprintable() or "[" in key:
            raise _Bad(f"{_show(key)} is not a valid name")
        if key.endswith(("acc", "loss")) and not (
            item is None or (isinstance(item, (int, float)) and not isinstance(item, bool))
        ):
            raise _Bad(f"{key}: {_show(item)} is not a number")
        if key.endswith("acc") and item is not None and not 0 <= item <= 1:
            raise _Bad(f"{key}: {_show(item)} is not an accuracy (0 to 1)")
        if key.endswith("loss") and item is not None and item < 0:  # no upper bound: a diverged run is real
            raise _Bad(f"{key}: {_show(item)} is not a loss (0 or more)")
    return value


def _demo_config(value: Any, ids: KnownIds) -> dict:
    """A demo's settings or metrics: as :func:`_settings`, and no text with brackets or control characters
    (the demo journal shows them, and a bracket would be read as terminal markup, an escape sequence run)."""
    value = _settings(value, ids)
    for key, item in value.items():
        if isinstance(item, str) and ("[" in item or any(not ch.isprintable() for ch in item)):
            raise _Bad(f"{key}: {_show(item)} is not a valid setting")
    return value


def _hint_ladder(value: Any, ids: KnownIds) -> dict:
    value = _json_object(value, ids)
    clean: dict[str, Any] = {}
    if "position" in value:
        clean["position"] = _int(0, 1000)(value["position"], ids)
    for key in ("codes", "tailored_shown"):
        if key in value:
            items = value[key]
            if not isinstance(items, list) or len(items) > 100 or not all(
                isinstance(c, str) and _ID.match(c) for c in items
            ):
                raise _Bad(f"{key}: {_show(items)} is not a list of diagnosis codes")
            clean[key] = list(items)
    if isinstance(value.get("ok"), bool):  # the latest check passed every check
        clean["ok"] = value["ok"]
    return clean


def _show(value: Any) -> str:
    from tutor.options import shown

    return shown(repr(value))


# -- the sections of an export ---------------------------------------------------
@dataclass(frozen=True)
class Section:
    """One list in the export: its fields, in the order the INSERT takes them."""

    name: str
    fields: dict[str, Callable[[Any, KnownIds], Any]]
    id_field: str
    extra: Callable[[dict, KnownIds], None] | None = None
    optional: frozenset[str] = field(default_factory=frozenset)


def _section_in_range(row: dict, ids: KnownIds) -> None:
    if ids.lessons is not None and row["lesson_id"] in ids.lessons:
        count = ids.lessons[row["lesson_id"]]
        if row["section"] > count:
            raise _Bad(f"lesson {row['lesson_id']!r} has {count} sections, not {row['section']}")


def _passed_within_total(row: dict, ids: KnownIds) -> None:
    if row["passed"] > row["total"]:
        raise _Bad(f"{row['passed']} checks passed out of {row['total']}")


SECTIONS: tuple[Section, ...] = (
    Section("sections_read", {
        "lesson_id": _id("lesson", lambda k: k.lessons),
        "section": _int(1, MAX_COUNT),
        "read_at": _past,
    }, "lesson_id", _section_in_range),
    Section("lessons_completed", {
        "lesson_id": _id("lesson", lambda k: k.lessons),
        "completed_at": _past,
    }, "lesson_id"),
    Section("exercise_attempts", {
        "exercise_id": _id("exercise", lambda k: k.exercises),
        "file_hash": _text(200, _HASH),
        "passed": _int(0, MAX_COUNT),
        "total": _int(0, MAX_COUNT),
        "at": _past,
    }, "exercise_id", _passed_within_total),
    Section("quiz_reviews", {
        "question_id": _id("question"),
        "answer": _text(MAX_TEXT),
        "correct": _bool,
        "state": _card_state,  # the card as this answer left it: the same rules as quiz_cards
        "due": _moment,
        "at": _past,
    }, "question_id"),
    Section("quiz_cards", {
        "question_id": _id("question"),
        "state": _card_state,
        "due": _moment,
        "updated_at": _past,
    }, "question_id"),
    Section("demo_runs", {
        "demo_id": _id("demo", lambda k: k.demos),
        "config": _demo_config,
        "metrics": _demo_config,
        "device": _text(80, _DEVICE),
        "seconds": _number(0.0, MAX_SECONDS),
        "at": _past,
    }, "demo_id"),
    Section("hint_state", {
        "exercise_id": _id("exercise", lambda k: k.exercises),
        "state": _hint_ladder,
        "updated_at": _past,
    }, "exercise_id"),
)
SECTION_NAMES = tuple(s.name for s in SECTIONS)


@dataclass
class Checked:
    """An export that passed every check: clean rows per section, and what was left out."""

    rows: dict[str, list[dict]]
    skipped: int = 0  # rows about quiz questions this dnn-tutor no longer asks


def validate(data: Any, known: KnownIds | None = None, source: str = "progress export") -> Checked:
    """Check a whole export; raise one TutorError naming the first problem (and how many)."""
    known = known or KnownIds()
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise TutorError(f"{source} is not a dnn-tutor progress export (missing \"format\": \"{EXPORT_FORMAT}\")")
    version = data.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise TutorError(f"{source} has an invalid \"version\" ({_show(version)}); nothing was imported")
    if version > EXPORT_VERSION:
        raise TutorError(f"{source} has export version {version}, newer than this dnn-tutor understands "
                         f"({EXPORT_VERSION}); upgrade dnn-tutor")
    problems: list[str] = []
    rows: dict[str, list[dict]] = {}
    skipped = 0
    total = 0
    for section in SECTIONS:
        raw = data.get(section.name, [])
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            problems.append(f"{section.name}: expected a list, got {type(raw).__name__}")
            continue
        total += len(raw)
        if total > MAX_ROWS:
            raise TutorError(f"{source} holds more than {MAX_ROWS:,} entries; nothing was imported")
        clean_rows = []
        for index, row in enumerate(raw):
            where = f"{section.name}[{index}]"
            if not isinstance(row, dict):
                problems.append(f"{where}: expected an object, got {type(row).__name__}")
                continue
            clean: dict[str, Any] = {}
            bad = False
            for name, check in section.fields.items():
                if name not in row:
                    if name in section.optional:
                        continue
                    problems.append(f"{where}: missing \"{name}\"")
                    bad = True
                    continue
                try:
                    clean[name] = check(row[name], known)
                except _Bad as exc:
                    problems.append(f"{where}.{name}: {exc}")
                    bad = True
            if bad:
                continue
            if section.extra is not None:
                try:
                    section.extra(clean, known)
                except _Bad as exc:
                    problems.append(f"{where}: {exc}")
                    continue
            if section.name.startswith("quiz_") and known.questions is not None \
                    and clean["question_id"] not in known.questions:
                skipped += 1  # a retired question: nothing would ever ask it again
                continue
            clean_rows.append(clean)
        rows[section.name] = clean_rows
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise TutorError(f"{source} is malformed: {problems[0]}{more}; nothing was imported")
    return Checked(rows, skipped)

