"""The demos: one module per demo, listed in :mod:`tutor.demos.registry`.

Each module reads top to bottom like a training script: a commented ``Config`` dataclass, an
optional ``QUICK`` dict (the ``--quick`` overrides), and ``run(cfg, session) -> dict`` that builds
the data and the model and calls the shared engine through ``session.fit``.
"""
