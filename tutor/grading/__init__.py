"""The exercise grader.

- :mod:`tutor.grading.catalogue` reads ``exercises/info.toml`` (ids, lessons, hints).
- :mod:`tutor.grading.service`: :func:`~tutor.grading.service.grade_and_record` is what ``check`` does
  (grade, record the attempt, bring a quiz question forward, update the hint ladder);
  :func:`~tutor.grading.service.grade_file` grades without recording anything.
- :func:`tutor.grading.engine.grade_file` grades a learner's file and returns a
  :class:`~tutor.grading.model.Report` (the typed model in :mod:`~tutor.grading.model`): the learner's
  code runs in a contained child process (:mod:`~tutor.grading.runner` and
  :mod:`~tutor.grading.containment` on this side, :mod:`~tutor.grading.worker` and
  :mod:`~tutor.grading.sandbox` and :mod:`~tutor.grading.wire` in the child); the references (PyTorch autograd, float64) and every
  verdict stay in this process. :mod:`~tutor.grading.failures` puts every failure of the learner's
  code into words.
- :mod:`tutor.grading.specs` holds one module per exercise: its inputs and checks.
- :mod:`tutor.grading.hints` and :mod:`tutor.grading.workspace` back ``hint``, ``init`` and ``reset``.

Nothing in this package prints or imports rich; torch is imported only where a
reference is computed.
"""
