"""The quiz engine: question bank, answer checking, generated questions,
FSRS scheduling and question selection. Nothing here prints or imports torch.

For other commands: :func:`due_counts` (cards due now / today / this week) and
:func:`schedule_concept` (bring a card forward, e.g. after a failed exercise).
"""

from tutor.quiz.schedule import due_counts, schedule_concept

__all__ = ["due_counts", "schedule_concept"]
