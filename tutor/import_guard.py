"""Ctrl-C and SIGTERM wait until torch has finished importing.

While ``import torch`` runs, torch's C++ start-up calls back into Python (``torch._C._c10d_init``
and others). A Python signal handler that raises there (``KeyboardInterrupt`` for Ctrl-C, our own
``Interrupted`` for SIGTERM and SIGHUP) raises inside C++ code that cannot pass an exception on, and
the process aborts: "terminate called after throwing an instance of 'pybind11::error_already_set'",
exit status 134 and perhaps a core file, instead of a clean exit 130.

:func:`install` puts a finder in front of :data:`sys.meta_path` that runs the first import of torch
and torchvision with :func:`signals_held`: a signal that arrives meanwhile is noted, and its own
handler runs as soon as the import has finished (or failed). Nothing else changes: the modules are
found and loaded by the usual finders and keep their usual loaders. No printing: a ``notice`` given
to :func:`install` is told when that first import starts (it may show "loading PyTorch…") and
what it returns is called when it ends, however it ends.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.abc
import importlib.machinery
import importlib.util
import signal
import sys
import threading
from types import FrameType, ModuleType
from typing import Any, Callable, Iterator, Optional

GUARDED = frozenset({"torch", "torchvision"})
SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


_depth = 0  # holds open now (torchvision's import holds, and imports torch, which holds again)
_seen: list[int] = []  # signals any open hold has taken

# Told "torch" (or "torchvision") when the first import of PyTorch starts; returns what to call when it ends.
Notice = Callable[[str], Optional[Callable[[], None]]]
_notice: Notice | None = None
_loading = 0  # guarded imports running now (torchvision's runs torch's inside it)


def _announce(name: str) -> Callable[[], None] | None:
    """The start of a guarded import: the notice is told about the outermost one, and only while torch
    itself is still to load (torchvision alone, after torch, is quick and may come while a display is up)."""
    global _loading
    _loading += 1
    if _notice is None or _loading > 1 or (name != "torch" and "torch" in sys.modules):
        return None
    try:
        done = _notice(name)
    except Exception:  # noqa: BLE001 - a notice must never fail an import
        return None
    if done is not None:
        _showing.append(done)
    return done


_showing: list[Callable[[], None]] = []  # the notice on screen now: erased even when a second signal ends the process


def _ended(done: Callable[[], None] | None) -> None:
    global _loading
    _loading -= 1
    if done is not None:
        if done in _showing:
            _showing.remove(done)
        with contextlib.suppress(Exception):
            done()


def _erase_notice() -> None:
    while _showing:
        with contextlib.suppress(Exception):
            _showing.pop()()


class _Hold:
    """The handler while a hold is open: notes the first signal; a second one ends the process at once."""

    def __init__(self) -> None:
        self.first: int | None = None

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        if _seen:  # a second signal, in this hold or an enclosing one: end now, by its default action
            _erase_notice()  # "loading PyTorch…" (and the ^C the terminal echoed after it) leave no line behind
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
        _seen.append(signum)
        self.first = signum

    def take(self, signum: int) -> None:
        """The same signal, handed on by a hold inside this one when it closed."""
        if self.first is None:
            self.first = signum


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP while the block runs; the first that came is handled after it.

    A second signal while the first is held ends the process at once, as the signal's default
    action does (what ``cli`` promises for a second Ctrl-C or SIGTERM), so nothing can keep a
    learner waiting for a slow import. Only Python-level handlers are held (``SIG_DFL`` and
    ``SIG_IGN`` act outside Python and cannot raise inside C++). Outside the main thread this does
    nothing: handlers run in the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    global _depth
    hold = _Hold()
    saved: dict[int, Any] = {}
    for name in SIGNALS:
        number = getattr(signal, name, None)
        if number is None:  # pragma: no cover - Windows has no SIGHUP
            continue
        with contextlib.suppress(ValueError, OSError, TypeError):
            previous = signal.getsignal(number)
            if callable(previous):
                signal.signal(number, hold)
                saved[number] = previous
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            _seen.clear()
        for number, previous in saved.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(number, previous)
        first = hold.first
        handler = saved.get(first) if first is not None else None
        if isinstance(handler, _Hold) and first is not None:
            handler.take(first)  # an enclosing hold: it handles the signal when it closes
        elif handler is not None:
            handler(first, sys._getframe())  # raises here, in plain Python, as it would have


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the block (an import of torch) runs; then what exists is
    frozen out of later collections (:func:`gc.freeze`) and the collector is on again, if it was on.

    ``import torch`` makes some 280,000 objects that stay for the life of the process: the collections
    they trigger free nothing, and the first full one after the import walks them all once more. Paused
    and frozen, `demo xor` here costs 0.3 s less CPU time (``import torch`` and a short fit: 2.3 s -> 2.0 s);
    only pausing saves nothing, since the walk just comes later. Objects made after the block (a
    learner's, a model's) are collected as usual. Only for processes of our own (the command line, a
    grading worker, the grading fork server), never inside a learner's notebook kernel.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.freeze()
            gc.enable()
            _unfreeze_at_exit()


_unfreezing = False  # settle_for_exit is registered to run at exit


def _unfreeze_at_exit() -> None:
    """Frozen objects are never collected, not even as the interpreter ends: libraries that count their objects
    then (nanobind, under triton) print "leaked 64 types!" on stderr. At exit :func:`settle_for_exit` thaws them
    where triton is loaded; anywhere else they stay frozen, and the exit skips walking them."""
    global _unfreezing
    if not _unfreezing:
        import atexit

        atexit.register(settle_for_exit)
        _unfreezing = True


def settle_for_exit() -> None:
    """The collector as the process ends (``cli._quiet_exit``, and at exit after a guarded import): what is alive
    is frozen, so the collections Python runs as it shuts down skip it (torch's few hundred thousand objects,
    walked to free nothing: ~0.4 s of CPU time at the end of every command that imported torch, and of the
    grading fork server), except where triton is loaded: its nanobind objects must be freed, or each prints a
    leak warning, so there everything is thawed instead."""
    if "triton" in sys.modules:
        gc.unfreeze()
    else:
        gc.freeze()


class _HeldLoader(importlib.abc.Loader):
    """Runs the real loader's ``exec_module`` with signals held, then puts the real loader back.

    A signal that came meanwhile is handled once the module has run to its end. Its exception (a
    ``KeyboardInterrupt``) then fails this import statement, so the import system drops the module
    from ``sys.modules``; torch cannot run its start-up twice, so the finished module is kept aside
    and the next ``import torch`` (in a clean-up, say) gets it back.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:  # get_filename, is_package, get_source, ... as the real loader
        return getattr(self.inner, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        create = getattr(self.inner, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        ran = False
        self._put_back(module)
        done = _announce(module.__name__)
        try:
            with signals_held(), gc_paused():
                self.inner.exec_module(module)
                ran = True
        except BaseException:
            if ran:  # it ran to its end; the held signal's handler raised afterwards
                _finished[module.__name__] = module
            raise
        finally:
            self._put_back(module)
            _ended(done)

    def _put_back(self, module: ModuleType) -> None:
        module.__loader__ = self.inner
        if module.__spec__ is not None:
            module.__spec__.loader = self.inner


class _Finished(importlib.abc.Loader):
    """Hands back a module whose import ran to its end but was then interrupted."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self.spec


_finished: dict[str, ModuleType] = {}


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self._busy: set[str] = set()

    def find_spec(self, fullname: str, path: Any = None, target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in GUARDED or fullname in self._busy or target is not None:  # target: a reload
            return None
        if fullname in _finished:
            module = _finished.pop(fullname)
            return importlib.machinery.ModuleSpec(fullname, _Finished(module), origin=getattr(module, "__file__", None))
        self._busy.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)  # the usual finders, this one stepping aside
        finally:
            self._busy.discard(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _HeldLoader(spec.loader)
        return spec


_finder = _Finder()


def install(notice: Notice | None = None) -> None:
    """Guard the first import of torch and torchvision in this process (idempotent). ``notice(name)`` is
    called when the first import of PyTorch starts; what it returns (if anything) when that import ends."""
    global _notice
    if notice is not None:
        _notice = notice
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
