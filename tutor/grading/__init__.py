"""The exercise grader.

- :mod:`tutor.grading.catalogue` reads ``exercises/info.toml`` (ids, lessons, hints).
- :func:`tutor.grading.engine.grade` grades a learner's file and returns a
  :class:`~tutor.grading.engine.Report`: the learner's code runs in a child
  process (:mod:`~tutor.grading.runner`, :mod:`~tutor.grading.worker`); the
  references (PyTorch autograd, float64) and every verdict stay in this process.
- :mod:`tutor.grading.specs` holds one module per exercise: its inputs and checks.
- :mod:`tutor.grading.hints` and :mod:`tutor.grading.workspace` back ``hint``,
  ``init`` and ``reset``.

Nothing in this package prints or imports rich; torch is imported only where a
reference is computed.
"""
