"""Shared test set-up: every test gets its own learner home and a fixed terminal width."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

# A suite started in the background by a non-interactive shell inherits SIGINT
# ignored, and so would every process the tests start: the Ctrl-C tests need
# the default disposition, as a learner's terminal gives it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
# The same for SIGHUP under `nohup`: the tests of what a hang-up does need it to end a process.
if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is signal.SIG_IGN:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)

# The tests run in parallel worker processes (pytest-xdist): one BLAS/OpenMP
# thread each, so workers do not fight over the cores (threads that spin at
# barriers for a core another worker holds only burn time). Tests of the
# thread rule set DNN_TUTOR_THREADS or patch the probe themselves.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# Keep compiled modules (the package's, and pytest's rewritten test modules)
# in the ignored __pycache__ folders even where PYTHONDONTWRITEBYTECODE is set:
# otherwise every worker and every `dnn-tutor` the tests start compiles the
# same sources again.
sys.dont_write_bytecode = False


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: two workers more than the cores for the whole suite, where many tests wait on a
    process they started (a terminal, a grading child, a timeout) and the extra workers keep the cores
    busy meanwhile. The suite is CPU-bound, and each worker costs its own imports (torch, torchvision)
    while crowded cores cost CPU time too (two cores, 2,054 tests, paired: 4 workers 127-136 s and
    232-243 CPU-s, 5 workers 133-135 s and 249-255 CPU-s, 6 workers 139 s; 3 workers left the cores idle
    while tests waited: with 2,074 tests, interleaved, 3 workers 122.7 and 115.2 s, 4 workers 114.3 and
    114.4 s); one per core for ``-m "not slow"``, whose tests compute and seldom wait (a third
    worker on two cores cost it a third more CPU time: 112 s against 84 s)."""
    from tutor.training.threads import usable_cores  # no torch: the cores this process may run on

    quick = "not slow" in " ".join((config.getoption("markexpr", "") or "").split())
    return usable_cores() + (0 if quick else 2)


def pytest_configure(config):
    """The collector paused while the test modules import (torch among them) ... (not in the parallel
    run's controller, which collects nothing)"""
    import gc

    controller = not hasattr(config, "workerinput") and (config.getoption("numprocesses", None) or 0) != 0
    if not controller:
        gc.disable()
    if hasattr(config, "workerinput"):
        import atexit

        atexit.register(_end_worker_now)  # before the tests import anything: it runs after their exit handlers


_WORKER_DONE = []  # set once a parallel worker's session has ended and been reported


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if hasattr(config, "workerinput"):
        _WORKER_DONE.append(True)


def _end_worker_now() -> None:
    """A parallel worker, its results all sent and every other exit handler run, skips the interpreter's
    tear-down: freeing what some 500 tests left (torch, pools, notebooks) took each worker 1-3 s after its
    last test, and the run ends only when the slowest worker has gone."""
    if _WORKER_DONE:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        os._exit(0)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """... then what they made is frozen out of later collections: each worker otherwise walked those
    objects in every full collection (1-2 s of CPU time a worker)."""
    import gc

    gc.freeze()
    gc.enable()


def pytest_collection_modifyitems(config, items):
    """Slow tests first (stable, so a module's tests stay together): parallel workers end together."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)

REPO = Path(__file__).resolve().parents[1]
FIXTURE_COURSE = REPO / "tests" / "fixtures" / "course"
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist-t10k"


@pytest.fixture(autouse=True)
def _signal_handlers_restored():
    """A test that runs the program's main() in this process leaves the handlers it installs on its way out
    (cli._ignore_stops): every later test in the worker then saw Ctrl-C do nothing. Put them back."""
    numbers = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]
    saved = {number: signal.getsignal(number) for number in numbers}
    yield
    for number, handler in saved.items():
        if handler is not None and signal.getsignal(number) is not handler:
            signal.signal(number, handler)


@pytest.fixture(autouse=True)
def tutor_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DNN_TUTOR_HOME", str(home))
    monkeypatch.setenv("DNN_TUTOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.delenv("DNN_TUTOR_DEVICE", raising=False)
    monkeypatch.delenv("DNN_TUTOR_LESSONS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return home


@pytest.fixture
def fixture_course(monkeypatch):
    """Point the lesson loader at the small fixture course under tests/fixtures."""
    monkeypatch.setenv("DNN_TUTOR_LESSONS", str(FIXTURE_COURSE))
    return FIXTURE_COURSE


@pytest.fixture
def runner():
    from typer.testing import CliRunner

    return CliRunner()


@pytest.fixture
def mnist_dir():
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("needs the MNIST test set in ../shared/data/mnist-t10k/ beside the repository")
    return SHARED_MNIST
