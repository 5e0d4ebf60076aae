"""Quiz statistics for ``dnn-tutor quiz --stats`` (plain data, also the ``--json`` output)."""

from __future__ import annotations

from datetime import datetime, timezone

from tutor.quiz.schedule import due_counts


def quiz_stats(store, entries: dict, now: datetime | None = None) -> dict:
    """Per-topic accuracy over every answer given, and how many cards fall due when."""
    from tutor.store import parse_iso

    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    topics: dict[str, dict] = {}

    def row(topic: str) -> dict:
        return topics.setdefault(
            topic, {"topic": topic, "answered": 0, "correct": 0, "accuracy": None, "seen": 0, "questions": 0, "due_now": 0}
        )

    lessons: dict[str, dict[int, int]] = {}
    for entry in entries.values():
        row(entry.topic)["questions"] += 1
        counts = lessons.setdefault(entry.topic, {})
        counts[entry.lesson] = counts.get(entry.lesson, 0) + 1
    seen: dict[str, set] = {}
    for review in store.reviews():
        entry = entries.get(review.question_id)
        topic = entry.topic if entry else "other"
        r = row(topic)
        r["answered"] += 1
        r["correct"] += int(review.correct)
        seen.setdefault(topic, set()).add(review.question_id)
    next_due = None
    for qid, card in store.cards().items():
        entry = entries.get(qid)
        if entry is None:
            continue  # a retired question: the quiz will not ask it again
        topic = entry.topic
        try:
            moment = parse_iso(card.due)
        except ValueError:
            moment = now
        if moment <= now:
            row(topic)["due_now"] += 1
        elif next_due is None or moment < next_due:
            next_due = moment
    for topic, ids in seen.items():
        topics[topic]["seen"] = len(ids)
    for r in topics.values():
        per_lesson = lessons.get(r["topic"]) or {}
        r["lesson"] = min(per_lesson, key=lambda n: (-per_lesson[n], n)) if per_lesson else None
        if r["answered"]:
            r["accuracy"] = round(r["correct"] / r["answered"], 4)
    answered = sum(r["answered"] for r in topics.values())
    correct = sum(r["correct"] for r in topics.values())
    return {
        "topics": sorted(topics.values(), key=lambda r: (r["lesson"] or 99, r["topic"])),
        "answered": answered,
        "correct": correct,
        "accuracy": round(correct / answered, 4) if answered else None,
        "due": due_counts(store, now, known_ids=set(entries)),
        "next_due": next_due.isoformat() if next_due else None,
    }
