"""The training side of dnn-tutor: data, models, the one training loop, plots.

- :mod:`tutor.training.data`    synthetic 2-D sets, MNIST (IDX reader, cache, download), the
  offline 8x8 digits fallback, sequence tasks and digit slices. numpy only; no torch at import time.
- :mod:`tutor.training.engine`  :func:`~tutor.training.engine.fit` - the ONE training loop every demo
  uses - plus :func:`~tutor.training.engine.evaluate`, optimisers, early stopping and callbacks;
  it gathers the names of its parts: ``loop`` (fit), ``protocol`` (data types), ``callbacks``,
  ``optim``, ``evaluation``, ``threads`` (CPU threads), ``precision`` (fp32/bf16, channels-last).
- :mod:`tutor.training.bench`   ``dnn-tutor bench``: the engine against a DataLoader loop, paired.
- :mod:`tutor.training.models`  small model builders (MLPs, the mnist-mlp net).
- :mod:`tutor.training.session` the settings declarations and their ONE validation, and
  :class:`~tutor.training.session.Session`: what a running demo talks to.
- :mod:`tutor.training.flow`    the demo flow in one function: validate, run, plot, journal.

Importing this package does not import torch; the submodules that need it import it themselves.
"""
