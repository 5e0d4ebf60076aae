"""What the grading fork server imports first, once, before it forks workers (see ``pool.PRELOAD``):
torch with the cyclic garbage collector paused, as the import guard does for every command (the
collections its import triggers free nothing and cost a sixth of its time)."""

from tutor.import_guard import gc_paused

with gc_paused():
    try:
        import torch  # noqa: F401
    except ImportError:  # the worker says so when it grades; the server itself still starts
        pass
