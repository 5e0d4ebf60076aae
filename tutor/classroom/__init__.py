"""Grading a whole class: submissions, shards, the gradebook, merging parts and the mistakes report.

- :mod:`~tutor.classroom.submissions` finds the students' files and splits a class into shards.
- :mod:`~tutor.classroom.gradebook` reads and writes the gradebook (CSV or JSON Lines), atomically.
- :mod:`~tutor.classroom.adapter` is the one place that calls the grading engine.
- :mod:`~tutor.classroom.pool` grades submissions in worker processes, N at a time.
- :mod:`~tutor.classroom.merge` and :mod:`~tutor.classroom.report` combine parts and rank the class's mistakes.

Nothing in this package prints or imports rich; torch is only ever imported by the worker processes.
"""
