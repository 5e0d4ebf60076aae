"""Spaced repetition with FSRS: every question (and every generator) is one card.

Ratings, kept simple on purpose:

* a wrong answer is ``Again``: the card comes back in 10 minutes (relearning);
* a right answer is ``Good``;
* a right answer that extends a run of :data:`EASY_STREAK` or more right answers
  in a row on that card is ``Easy``, which spaces it out further.

Fuzzing is off so the same answers at the same times give the same schedule
(the tests rely on it). Card states are stored as ``fsrs.Card.to_dict()`` and
due times as UTC ISO-8601 text with microseconds (sortable as text).

This module never prints. ``fsrs`` is imported inside the functions.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta, timezone

from tutor.clock import to_iso as iso  # the quiz's name for the one clock
from tutor.clock import utcnow as utc_now

EASY_STREAK = 3  # right answers in a row, this one included, that earn Easy
LEARNING_STEPS_MIN = (10,)
RELEARNING_STEPS_MIN = (10,)


def scheduler():
    from fsrs import Scheduler

    return Scheduler(
        learning_steps=tuple(timedelta(minutes=m) for m in LEARNING_STEPS_MIN),
        relearning_steps=tuple(timedelta(minutes=m) for m in RELEARNING_STEPS_MIN),
        enable_fuzzing=False,
    )


def card_id(question_id: str) -> int:
    # A stable id per question (fsrs would otherwise use the clock and sleep 1 ms).
    return zlib.crc32(question_id.encode("utf-8")) + 1


def new_card(question_id: str, now: datetime | None = None):
    from fsrs import Card

    return Card(card_id=card_id(question_id), due=now or utc_now())


def load_card(question_id: str, state: dict | None, now: datetime | None = None):
    from fsrs import Card

    if not state:
        return new_card(question_id, now)
    try:
        card = Card.from_dict(state)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        # A state we cannot read (hand-edited, another version): start the card afresh.
        return new_card(question_id, now)
    return card if card_is_sane(card) else new_card(question_id, now)


def card_is_sane(card) -> bool:
    """Whether fsrs can schedule ``card``: an imported or hand-edited state with a negative step or
    stability used to crash the quiz (IndexError, a complex number) every time the card came due."""
    import math

    def number(value, low: float, high: float) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and low <= value <= high

    state = getattr(getattr(card, "state", None), "value", None)
    if state not in (1, 2, 3):
        return False
    step = getattr(card, "step", None)
    if step is not None and not (isinstance(step, int) and not isinstance(step, bool) and 0 <= step < 100):
        return False
    stability, difficulty = getattr(card, "stability", None), getattr(card, "difficulty", None)
    if state != 1 and (stability is None or difficulty is None):  # reviewed cards carry both (fsrs asserts it)
        return False
    if stability is not None and not number(stability, 1e-6, 1e6):
        return False
    if difficulty is not None and not number(difficulty, 1.0, 10.0):
        return False
    return True


def insane_state(state: object) -> bool:
    """Whether a stored card state reads as a card whose numbers the scheduler cannot follow.

    A state that does not read as a card at all is not insane: :func:`load_card` starts such a
    card afresh (as it does for a state from another version)."""
    from fsrs import Card

    if not isinstance(state, dict) or not state:
        return False
    try:
        card = Card.from_dict(state)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - whatever a hand-made state holds
        return False
    return not card_is_sane(card)


def rating_for(correct: bool, streak: int = 0):
    """``streak``: right answers in a row on this card *before* this one."""
    from fsrs import Rating

    if not correct:
        return Rating.Again
    if streak + 1 >= EASY_STREAK:
        return Rating.Easy
    return Rating.Good


def streak_of(results: list[bool]) -> int:
    """How many of the most recent results (oldest first) were right in a row."""
    count = 0
    for ok in reversed(results):
        if not ok:
            break
        count += 1
    return count


def review(question_id: str, state: dict | None, correct: bool, now: datetime | None = None, streak: int = 0):
    """The card after one answer: ``(state_dict, due_datetime)``."""
    now = (now or utc_now()).astimezone(timezone.utc)
    card = load_card(question_id, state, now)
    try:
        card, _log = scheduler().review_card(card, rating_for(correct, streak), review_datetime=now)
    except (ArithmeticError, AssertionError, IndexError, TypeError, ValueError, AttributeError):  # a state fsrs cannot follow: afresh
        card, _log = scheduler().review_card(new_card(question_id, now), rating_for(correct, 0), review_datetime=now)
    return card.to_dict(), card.due.astimezone(timezone.utc)


def record(store, question_id: str, answer: str, correct: bool, now: datetime | None = None):
    """Schedule and save one answer in the store; returns the new due datetime."""
    cards = store.cards()
    current = cards.get(question_id)
    history = [r.correct for r in store.reviews(question_id)]
    state, due = review(question_id, current.state if current else None, correct, now, streak_of(history))
    store.record_review(question_id, answer, correct, state=state, due=iso(due))
    return due


def _end_of_local_day(now: datetime, days: int = 0) -> datetime:
    local = now.astimezone()
    end = (local + timedelta(days=days)).replace(hour=23, minute=59, second=59, microsecond=999999)
    return end.astimezone(timezone.utc)


def known_question_ids() -> set[str] | None:
    """Ids the quiz can ask (bank and generators), or None when the bank cannot be read."""
    from tutor.errors import TutorError
    from tutor.quiz.bank import load_bank
    from tutor.quiz.generators import templates

    try:
        bank = load_bank()
    except TutorError:
        return None
    return set(bank.by_id()) | set(templates())


def _due_moments(store, now: datetime, known_ids: set[str] | None) -> list[datetime]:
    """The due time of every card the quiz can still ask (unreadable ones count as due now)."""
    from tutor.store import parse_iso

    cards = store.cards()
    if cards and known_ids is None:
        known_ids = known_question_ids()
    dues = []
    for qid, card in cards.items():
        if known_ids is not None and qid not in known_ids:
            continue
        try:
            dues.append(parse_iso(card.due).astimezone(timezone.utc))
        except (ValueError, TypeError):
            dues.append(now)  # an unreadable due date counts as due
    return dues


def due_counts(store, now: datetime | None = None, known_ids: set[str] | None = None) -> dict:
    """How many cards are due: ``now`` (at this moment: what ``quiz --review`` asks),
    ``today`` (by the end of the local day), ``week`` (by the end of the seventh day
    counting today), and ``total`` cards; ``next`` is the ISO time of the first card
    due after now (None when there is none). Only cards the quiz can still ask count
    (``known_ids``, default: the bank and the generators), so a retired question
    never stays "due" forever.

    "Due" everywhere means due *now*: use :func:`due_count` for the one number.
    """
    now = (now or utc_now()).astimezone(timezone.utc)
    dues = _due_moments(store, now, known_ids)
    today = _end_of_local_day(now)
    week = _end_of_local_day(now, days=6)
    later = [d for d in dues if d > now]
    return {
        "now": sum(d <= now for d in dues),
        "today": sum(d <= today for d in dues),
        "week": sum(d <= week for d in dues),
        "total": len(dues),
        "next": iso(min(later)) if later else None,
    }


def due_count(store, now: datetime | None = None, known_ids: set[str] | None = None) -> int:
    """Cards due at ``now`` (default: this moment): exactly what ``dnn-tutor quiz --review`` asks.

    The one definition of "due" for the home screen, ``progress`` and the quiz.
    """
    now = (now or utc_now()).astimezone(timezone.utc)
    return sum(d <= now for d in _due_moments(store, now, known_ids))


def next_due(store, now: datetime | None = None, known_ids: set[str] | None = None) -> datetime | None:
    """When the first card that is not yet due falls due (None when no card waits)."""
    now = (now or utc_now()).astimezone(timezone.utc)
    later = [d for d in _due_moments(store, now, known_ids) if d > now]
    return min(later) if later else None


def schedule_concept(store, question_id: str, now: datetime | None = None) -> bool:
    """Bring the card ``question_id`` forward so the next quiz asks it first.

    For the exercise grader: a failed check on a concept makes its question due
    now. A card already seen keeps its memory state; an unseen one is created.
    Returns False (and changes nothing) for an id the quiz does not know.
    """
    known = known_question_ids()
    if known is not None and question_id not in known:
        return False
    now = (now or utc_now()).astimezone(timezone.utc)
    current = store.cards().get(question_id)
    card = load_card(question_id, current.state if current else None, now)
    if current is not None and card.due <= now:
        return True  # already due
    card.due = now
    store.put_card(question_id, card.to_dict(), iso(now))
    return True
