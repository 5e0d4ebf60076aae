"""Choosing what to ask: due cards first, then new questions, then generated ones.

:func:`select` works on plain data (the bank, the templates, the learner's cards
and a time) so the tests can drive it with explicit datetimes. Order:

1. cards that are due (most overdue first), restricted to the lessons/topic
   asked for (with no ``--lesson``/``--topic``, every due card counts);
2. questions never seen, from the chosen lessons (earlier lessons first,
   shuffled within a lesson by the seeded ``rng``), leaving room for
3. generated questions (templates never asked yet), up to
   :data:`GENERATED_SHARE` of the quiz when there are new bank questions too;
4. if there is still room (everything seen, nothing due), cards reviewed ahead
   of schedule, the soonest due first. ``--review`` stops after step 1.
"""

from __future__ import annotations

import difflib
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from tutor.errors import TutorError
from tutor.quiz import generators
from tutor.quiz.bank import Bank, Question, plural

GENERATED_SHARE = 0.3  # up to 3 of 10


@dataclass(frozen=True)
class Item:
    question: Question
    reason: str  # "due", "new", "generated", "ahead" or "asked" (--question)
    due: str = ""  # the card's due time when it has one


@dataclass(frozen=True)
class Entry:
    """A catalogue entry: a bank question or a template, with lesson and topic."""

    id: str
    lesson: int
    topic: str
    question: Question | None = None  # None for templates
    template: generators.Template | None = None

    def instantiate(self, rng: random.Random) -> Question:
        """The question to ask now; choice and multi options come in a fresh order each time."""
        if self.question is not None:
            return shuffled(self.question, rng)
        assert self.template is not None  # an entry holds a question or a template
        return shuffled(self.template.make(rng, self.lesson, self.topic), rng)


def shuffled(question: Question, rng: random.Random) -> Question:
    """``question`` with its options in a random order (answers are stored by text, never by position)."""
    if question.kind not in ("choice", "multi") or len(question.choices) < 2:
        return question
    order = list(question.choices)
    rng.shuffle(order)
    return replace(question, choices=tuple(order))


def catalogue(bank: Bank, course=None) -> dict[str, Entry]:
    entries = {q.id: Entry(q.id, q.lesson, q.topic, question=q) for q in bank.questions}
    placed = generators.resolve(bank.questions, course)
    for t in generators.TEMPLATES:
        lesson, topic = placed[t.id]
        entries[t.id] = Entry(t.id, lesson, topic, template=t)
    return entries


def _parse_due(text: str) -> datetime:
    from tutor.store import parse_iso

    try:
        return parse_iso(text)
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)


def select(
    entries: dict[str, Entry],
    cards: dict,
    now: datetime,
    *,
    count: int = 10,
    lessons: set[int] | None = None,
    topic: str | None = None,
    explicit_scope: bool = False,
    review_only: bool = False,
    rng: random.Random | None = None,
) -> list[Item]:
    """The questions of one quiz. ``cards``: question id -> store card (``.due``, ISO text).

    ``lessons``: where new questions come from (None: every lesson).
    ``explicit_scope``: the learner asked for these lessons/topic, so due cards
    are filtered by them too.
    """
    rng = rng or random.Random()
    now = now.astimezone(timezone.utc)

    def in_scope(entry: Entry) -> bool:
        return (lessons is None or entry.lesson in lessons) and (topic is None or entry.topic == topic)

    due = []
    ahead = []
    for qid, card in cards.items():
        entry = entries.get(qid)
        if entry is None:
            continue  # a retired question, or a concept card the bank does not hold
        moment = _parse_due(card.due)
        if moment <= now:
            if not explicit_scope or in_scope(entry):
                due.append((moment, qid, card.due))
        elif in_scope(entry):
            ahead.append((moment, qid, card.due))
    due.sort()
    ahead.sort()
    items = [Item(entries[qid].instantiate(rng), "due", text) for _, qid, text in due[:count]]
    if review_only or len(items) >= count:
        return items

    seen = set(cards)
    fresh_bank = [e for e in entries.values() if e.question is not None and e.id not in seen and in_scope(e)]
    rng.shuffle(fresh_bank)
    fresh_bank.sort(key=lambda e: e.lesson)  # stable: shuffled within a lesson
    fresh_gen = [e for e in entries.values() if e.template is not None and e.id not in seen and in_scope(e)]
    rng.shuffle(fresh_gen)
    fresh_gen.sort(key=lambda e: e.lesson)

    room = count - len(items)
    quota = min(len(fresh_gen), int(count * GENERATED_SHARE))
    take_bank = min(len(fresh_bank), max(room - quota, 0))
    items += [Item(e.instantiate(rng), "new") for e in fresh_bank[:take_bank]]
    room = count - len(items)
    take_gen = min(len(fresh_gen), room)
    items += [Item(e.instantiate(rng), "generated") for e in fresh_gen[:take_gen]]
    room = count - len(items)
    items += [Item(e.instantiate(rng), "new") for e in fresh_bank[take_bank : take_bank + room]]
    room = count - len(items)
    items += [Item(entries[qid].instantiate(rng), "ahead", text) for _, qid, text in ahead[:room]]
    return items


def by_ids(entries: dict[str, Entry], ids: list[str], rng: random.Random) -> list[Item]:
    """``--question ID`` (repeatable), in the order given; unknown ids raise TutorError."""
    items, done = [], set()
    for qid in ids:
        qid = qid.strip()
        if qid in done:
            continue
        entry = entries.get(qid)
        if entry is None:
            close = difflib.get_close_matches(qid, list(entries), n=1, cutoff=0.6)
            example = next((e.id for e in entries.values() if e.question is not None), "gen-softmax")
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else f"; question ids look like {example!r} and appear in the lessons' checkpoint boxes"
            )
            raise TutorError(f"no question {qid!r} in the bank{hint}")
        done.add(qid)
        items.append(Item(entry.instantiate(rng), "asked"))
    return items


def check_topic(entries: dict[str, Entry], topic: str) -> str:
    topics = sorted({e.topic for e in entries.values()})
    wanted = topic.strip().lower()
    if wanted in topics:
        return wanted
    close = difflib.get_close_matches(wanted, topics, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise TutorError(f"no topic {topic!r}; the topics are: {', '.join(topics)}.{hint}")


# -- the scope of one quiz (what ``dnn-tutor quiz`` asks) -----------------------------------

NOTHING_READ = "You have not read any lesson yet, so the questions come from lesson 1 (read it with `dnn-tutor lesson 1`)."
NOTHING_READ_DUE = ("You have not read any lesson yet, so new questions come from lesson 1 (read it with `dnn-tutor lesson 1`); "
                    "first come {due} due for review (scheduled by your checks or earlier answers).")


@dataclass(frozen=True)
class Plan:
    """What one quiz will ask, and what to tell the learner before it starts."""

    items: list[Item]
    notices: list[str] = field(default_factory=list)


def resolve_lesson(text: str, entries: dict[str, Entry], course=None) -> int:
    """A lesson number from ``--lesson`` (a number, or a lesson id such as ``cnn``).

    Ids come from the course (the lessons' front matter); without the lessons only numbers work.
    """
    text = str(text).strip()
    known = sorted({e.lesson for e in entries.values()} | ({l.number for l in course.lessons} if course else set()))
    listed = ", ".join(map(str, known))
    if text.lstrip("+-").isdecimal():
        number = int(text)
        if number in known:
            return number
        raise TutorError(f"no lesson {number}; the quiz has questions for lessons {listed}")
    if course is not None:
        return course.find(text).number
    raise TutorError(f"no lesson {text!r}: the lessons cannot be read here, so use a lesson number ({listed})")


def choose(
    entries: dict[str, Entry],
    cards: dict,
    now: datetime,
    *,
    course=None,
    lessons_read: set[int] | None = None,
    lesson: str | None = None,
    topic: str | None = None,
    count: int = 10,
    review: bool = False,
    question_ids: list[str] | None = None,
    rng: random.Random | None = None,
) -> Plan:
    """The scope and the items of one quiz, from the command's options.

    ``--question`` picks the questions itself; ``--lesson``/``--topic`` narrow the
    scope (and the due cards); with neither, new questions come from the lessons
    read so far (lesson 1 when none). Unknown lessons, topics and ids raise
    :class:`TutorError`.
    """
    rng = rng or random.Random()
    if question_ids:
        if review or lesson or topic:
            raise TutorError("--question picks the questions itself; leave out --review, --lesson and --topic")
        return Plan(by_ids(entries, question_ids, rng))
    notices: list[str] = []
    lessons = {resolve_lesson(lesson, entries, course)} if lesson is not None else None
    if topic is not None:
        topic = check_topic(entries, topic)
    explicit = lessons is not None or topic is not None
    if not explicit:
        lessons = set(lessons_read or ())
        if not lessons:
            lessons = {1}
            if not review:
                notices.append(NOTHING_READ)
    elif not any(
        (lessons is None or e.lesson in lessons) and (topic is None or e.topic == topic) for e in entries.values()
    ):
        where = " and ".join(x for x in (f"lesson {lesson}" if lesson else "", f"topic {topic}" if topic else "") if x)
        raise TutorError(f"no questions for {where}")
    items = select(
        entries, cards, now, count=count, lessons=lessons, topic=topic,
        explicit_scope=explicit, review_only=review, rng=rng,
    )
    if NOTHING_READ in notices:  # a due card from another lesson would contradict "from lesson 1"
        due = sum(1 for item in items if item.reason == "due" and item.question.lesson != 1)
        if due:
            notices[notices.index(NOTHING_READ)] = NOTHING_READ_DUE.format(due=plural(due, "question"))
    return Plan(items, notices)
