"""dnn-tutor: a command-line tutor and exerciser for deep neural networks."""

__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:
    """``%load_ext tutor`` in Jupyter: the ``%%dnn_check`` and ``%dnn_hint`` magics (never imports torch)."""
    from tutor.notebook import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from tutor.notebook import unload_ipython_extension as unload

    unload(ipython)
