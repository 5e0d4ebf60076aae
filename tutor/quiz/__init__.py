"""The quiz engine: question bank, answer checking, generated questions,
FSRS scheduling and question selection. Nothing here prints or imports torch.

For other commands: :func:`due_count` (cards due *now*, the one meaning of
"due", the number ``quiz --review`` asks), :func:`next_due` (when the next card
falls due), :func:`due_counts` (now / today / this week, for tables) and
:func:`schedule_concept` (bring a card forward, e.g. after a failed exercise).
"""

from tutor.quiz.schedule import due_count, due_counts, next_due, schedule_concept

__all__ = ["due_count", "due_counts", "next_due", "schedule_concept"]
