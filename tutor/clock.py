"""One clock for the whole tutor: UTC timestamps as sortable ISO-8601 text.

Every timestamp the tutor stores or compares comes from here, so they all have
the same shape (``2026-01-31T12:00:00.123456+00:00``) and sort as text.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

# Imported progress may come from a machine whose clock runs a little ahead.
FUTURE_SLACK = timedelta(minutes=10)
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def to_iso(moment: datetime) -> str:
    """``moment`` as UTC ISO-8601 text with microseconds (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def now_iso() -> str:
    """UTC time as sortable ISO-8601 text with microseconds."""
    return to_iso(utcnow())


def parse_iso(text: str) -> datetime:
    """Read ISO-8601 text back; a time without a zone is taken as UTC. Raises ValueError."""
    if not isinstance(text, str):
        raise ValueError(f"not a timestamp: {text!r}")
    text = text.strip()
    if text[-1:] in ("Z", "z"):  # Python 3.10 reads only "+00:00"
        text = text[:-1] + "+00:00"
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def file_stamp() -> str:
    """The current UTC time for file names: ``20260131T120000123456Z`` (microseconds, no colons)."""
    return utcnow().strftime("%Y%m%dT%H%M%S%fZ")


def check_past(text: str, now: datetime | None = None) -> datetime:
    """Parse ``text`` and insist it is a plausible moment that already happened."""
    moment = parse_iso(text)
    now = now or utcnow()
    if moment > now + FUTURE_SLACK:
        raise ValueError(f"{text} is in the future")
    if moment < EARLIEST:
        raise ValueError(f"{text} is before the year 2000")
    return moment
