"""The demo flow in one function: validate the settings, run the demo, draw the plot, write the journal.

    outcome = run_demo_flow(DemoRequest("xor", flags={"--epochs": "20"}, quick=True, device="cpu"))

:func:`prepare_demo` checks everything a learner typed (flags, ``--set``, ``--save-plot``,
``--device``, ``--precision``) before torch is imported or anything trains, so a bad value costs
no time and no garbage run is journaled. Commands only parse arguments into a :class:`DemoRequest`,
call :func:`run_demo_flow` with a reporter, and render the outcome. Nothing here prints.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor import paths
from tutor.errors import TutorError
from tutor.training.cudagraph import graphs_enabled
from tutor.training.session import (
    DemoOutcome, DemoReporter, parse_sets, parse_value, run_demo, seed_setting, setting, validate,
)

PRECISIONS = ("fp32", "bf16", "auto")
# Flags whose config field is not simply the flag's name (--batch-size -> batch_size).
FLAG_FIELDS = {"--points": "n_points"}


@dataclass
class DemoRequest:
    """What a learner asked for, as typed: flag values are text (None = not given)."""

    demo_id: str
    flags: dict[str, Any] = field(default_factory=dict)  # e.g. {"--epochs": "5", "--layers": "8,8"}
    sets: list[str] = field(default_factory=list)  # raw --set KEY=VALUE items
    quick: bool = False
    device: str | None = None
    precision: str | None = None
    save_plot: Path | str | None = None
    force: bool = False  # --save-plot may overwrite an existing file
    record: bool = True  # write the run into the journal


@dataclass
class PreparedDemo:
    """A request that passed every check: the demo, its validated Config and the plot path."""

    info: Any  # registry.DemoInfo
    module: Any
    config: Any
    request: DemoRequest
    plot_path: Path | None


@dataclass
class HistorySettings:
    limit: int = setting(20, min=1, max=10_000)  # runs to show with --history


@dataclass
class BenchSettings:
    epochs: int = setting(2, min=1, max=1_000)  # epochs per timed repeat
    repeats: int = setting(3, min=1, max=100)  # timed repeats of each loop
    batch_size: int = setting(128, min=1, max=65_536)  # examples per gradient step
    limit: int | None = setting(None, min=1, max=10_000_000, auto="every training image")
    hidden: tuple[int, ...] | None = setting(None, min=1, max=8_192, count=(1, 8), auto="the mnist-mlp net")
    seed: int = seed_setting(0)
    threads: int | None = setting(None, min=1, max=1_024, auto="the engine's automatic choice")  # CPU threads


def field_for(flag: str) -> str:
    return FLAG_FIELDS.get(flag, flag.lstrip("-").replace("-", "_"))


def check_plot_path(save_plot, force: bool = False) -> Path | None:
    """``--save-plot FILE.png``: a .png name in an existing folder; never an existing file without --force."""
    if save_plot is None:
        return None
    path = paths.expand_user(save_plot)
    shown = str(save_plot)
    try:
        return _check_plot_path(path, shown, force)
    except OSError as exc:  # a 300-character folder name, a path through a file, ...
        raise TutorError(f"--save-plot {shown[:80] + '...' if len(shown) > 80 else shown}: "
                         f"{exc.strerror or exc}") from None


def _check_plot_path(path: Path, shown: str, force: bool) -> Path:
    if path.suffix.lower() != ".png":
        raise TutorError(f"--save-plot {shown}: the file name must end in .png")
    if len(os.fsencode(path.name)) > 255:  # as the file system counts: a name that is not UTF-8 is its own bytes
        raise TutorError(f"--save-plot: the file name is longer than 255 bytes ({len(os.fsencode(path.name))})")
    if path.is_dir():
        raise TutorError(f"--save-plot {shown} is a folder; give a file name ending in .png")
    if not path.parent.is_dir():
        state = "is a file, not a folder" if path.parent.exists() else "does not exist"
        raise TutorError(f"--save-plot {shown}: folder {path.parent} {state}")
    if path.exists() and not force:
        raise TutorError(f"--save-plot {shown} already exists; add --force to overwrite it, or choose another name")
    from tutor.fsutil import check_output_file

    check_output_file(path, option="--save-plot", force=True)  # a device, pipe or dangling link: before the run
    if not os.access(path.parent, os.W_OK):
        raise TutorError(f"--save-plot {shown}: folder {path.parent} is not writable")
    _probe_folder(path.parent, shown)
    return path


def _probe_folder(folder: Path, shown: str) -> None:
    """Create and remove a small file in ``folder``: a read-only file system, a full disk or a folder
    that only looks writable (``os.access`` says yes to root everywhere) is found before the run,
    not after minutes of training."""
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".dnn-tutor-", suffix=".probe") as fh:
            fh.write(b"\x89PNG")
            fh.flush()
    except OSError as exc:
        raise TutorError(f"--save-plot {shown}: cannot write in folder {folder}: {exc.strerror or exc}") from None


def check_device(text: str | None) -> None:
    """The spelling of ``--device`` (whether the device exists is checked when the run starts)."""
    if text is None:
        return
    from tutor.device import _normalise

    if not text.isprintable():
        raise TutorError("--device: expected auto, cpu, cuda, cuda:N or mps")
    _normalise(text)


def check_precision(text: str | None) -> str | None:
    if text is None:
        return None
    return parse_value("--precision", text, "str", {"choices": PRECISIONS})


def _owners(field_name: str) -> list[str]:
    """The demos whose Config has ``field_name`` (for "--task is for rnn")."""
    import dataclasses

    from tutor.demos import registry

    return [info.id for info in registry.all_demos()
            if field_name in {f.name for f in dataclasses.fields(registry.load(info).Config)}]


def prepare_demo(request: DemoRequest) -> PreparedDemo:
    """Every check of a demo request, before torch is imported: TutorError (exit 2) on the first bad value."""
    import dataclasses

    from tutor.demos import registry

    info = registry.get(request.demo_id)
    module = registry.load(info)  # demo modules import torch only inside their functions
    fields = {f.name for f in dataclasses.fields(module.Config)}
    given: dict[str, tuple[str, Any]] = {}
    for flag, value in request.flags.items():
        if value is None:
            continue
        name = field_for(flag)
        if name not in fields:
            owners = [o for o in _owners(name) if o != info.id]
            where = f" (it is for {', '.join(owners)})" if owners else ""
            raise TutorError(f"{flag} does not apply to the {info.id} demo{where}")
        given[name] = (flag, value)
    for name, (source, text) in parse_sets(request.sets).items():
        if name in given:  # one value per setting: which one was meant is not ours to guess
            raise TutorError(f"{given[name][0]} and {source} both set {name}; give it once")
        given[name] = (source, text)
    if "data_dir" in given:
        source, folder = given["data_dir"]
        if not str(folder).strip():
            raise TutorError(f"{source}: expected a folder with the MNIST IDX files, got {str(folder)!r}")
        expanded = paths.expand_user(str(folder))  # "~/mnist" typed in quotes, or --set
        if not expanded.is_dir():
            state = "is not a folder" if os.path.lexists(expanded) else "no such folder"
            raise TutorError(f"{source}: {state}: {folder}")
        given["data_dir"] = (source, str(expanded))
    data_dir: str | None = None
    if "data_dir" in given and any(f.name == "data_dir" for f in dataclasses.fields(module.Config)):
        data_dir = given.pop("data_dir")[1]  # any folder name (Téléchargements): not a setting word to check
        from tutor.training.data import check_mnist_folder

        check_mnist_folder(data_dir)  # no IDX files there: said now, not after seconds of PyTorch start-up
    base = getattr(module, "QUICK", {}) if request.quick else None
    config = validate(module.Config, given, base=base)
    check_config = getattr(module, "check_config", None)  # rules between settings, one demo's own
    if check_config is not None:
        check_config(config)
    if data_dir is not None:
        config = dataclasses.replace(config, data_dir=data_dir)
    check_device(request.device)
    graphs_enabled()  # a bad DNN_TUTOR_CUDA_GRAPHS is one line before anything runs, on any device
    check_precision(request.precision)
    plot_path = check_plot_path(request.save_plot, request.force)
    from tutor.training.threads import env_threads

    env_threads()  # a bad DNN_TUTOR_THREADS is refused now, not after the data and the model are ready
    return PreparedDemo(info, module, config, request, plot_path)


def quiet_openmp_spin() -> None:
    """Before torch loads its OpenMP runtime (libgomp): idle worker threads spin only briefly, then sleep.

    With the default (300,000 spins) a busy 2-core machine stalls training 5-20x (measured under two
    busy processes: `demo spiral --quick` with 2 threads 12.9 s by default, 2.5 s with 20,000 spins,
    4.1 s with OMP_WAIT_POLICY=PASSIVE); on an idle machine 20,000 is as fast as the default while
    PASSIVE costs ~70%. The learner's own setting wins. Called when a demo or bench starts, never at import.
    """
    if "torch" in sys.modules or "OMP_WAIT_POLICY" in os.environ:
        return
    os.environ.setdefault("GOMP_SPINCOUNT", "20000")


def _end_on_sigterm():
    """SIGTERM (and SIGHUP) during a run end it like Ctrl-C does: cleanly, nothing journaled, exit 128 + n,
    with the same one line ("stopped by SIGTERM: ...") as every other command."""
    import signal
    import threading

    from tutor.errors import Interrupted

    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum, _frame):
        raise Interrupted(signum)

    saved = {}
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None:
            saved[number] = signal.signal(number, stop)
    return saved


def _restore_sigterm(saved) -> None:
    import signal

    for number, handler in (saved or {}).items():
        signal.signal(number, handler)


def draw_plot(module, outcome: DemoOutcome, path: Path) -> Path:
    """The demo's own figure when it has one (filters, gradient bars, a results table), else the curves."""
    own = getattr(module, "save_plot", None)
    if own is not None:
        return own(outcome, path)
    from tutor.render.figures import save_demo_plot

    return save_demo_plot(outcome, path)


def record(outcome: DemoOutcome) -> None:
    """Write the run into the learner's demo journal (metrics only; figures stay out). The settings are
    kept as asked (``precision=auto``); the metrics add the precision the fits ran in."""
    from tutor.store import Store

    with Store() as store:
        outcome.warnings.extend(store.warnings)
        metrics = dict(outcome.metrics)
        if outcome.precision:  # what the fits ran in once ``auto`` was resolved ("fp32", "bf16")
            metrics.setdefault("precision", outcome.precision)
        run = store.record_demo_run(outcome.demo_id, outcome.config, metrics, outcome.device, outcome.seconds)
    outcome.journal_id = run.id


def run_demo_flow(request: DemoRequest | PreparedDemo, reporter: DemoReporter | None = None) -> DemoOutcome:
    """Validate, run, plot and journal one demo; returns the outcome (with plot path and journal id)."""
    prepared = request if isinstance(request, PreparedDemo) else prepare_demo(request)
    req = prepared.request
    quiet_openmp_spin()
    from tutor.device import pick_device

    previous = _end_on_sigterm()
    try:
        choice = pick_device(req.device)
        outcome = run_demo(prepared.info.id, prepared.info.title, prepared.module, prepared.config, choice,
                           reporter, quick=req.quick, precision=req.precision)
    finally:
        close = getattr(reporter, "close", None)
        if close is not None:
            close()  # the live display gives the terminal back (cursor shown) however the run ended
        _restore_sigterm(previous)
    if prepared.plot_path is not None:
        outcome.plot_path = draw_plot(prepared.module, outcome, prepared.plot_path)
    if req.record:
        record(outcome)
    wall = seconds_since_start()
    if wall is not None and wall >= outcome.seconds:  # (a clock that disagrees is not shown)
        outcome.wall_seconds = wall
    return outcome


def seconds_since_start() -> float | None:
    """Seconds since this process started, so that the footer can say what the whole command took: Python,
    PyTorch's import and the data on top of the run's own clock. From ``/proc`` (Linux); None elsewhere."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()  # after "pid (name)": the state is field 3
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        started = int(fields[22 - 3]) / os.sysconf("SC_CLK_TCK")  # field 22: start time, in ticks since boot
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    seconds = uptime - started
    return seconds if seconds >= 0 else None


def demo_history(demo_id: str | None, limit_text: Any = None) -> list:
    """Past runs from the journal, most recent first (``--limit`` checked like every other number)."""
    from tutor.demos import registry
    from tutor.store import Store

    limit = 20 if limit_text is None else validate(HistorySettings, {"limit": ("--limit", limit_text)}).limit
    wanted = registry.get(demo_id).id if demo_id else None
    with Store() as store:
        return store.demo_runs(wanted, limit=limit)


def bench_settings(flags: dict[str, Any]) -> BenchSettings:
    """``bench``'s numeric flags (``{"--epochs": "2", ...}``) checked against :class:`BenchSettings`."""
    given = {field_for(flag): (flag, value) for flag, value in flags.items() if value is not None}
    return validate(BenchSettings, given)


def run_bench_flow(flags: dict[str, Any], *, device: str | None = None, precision: str | None = None,
                   data_dir=None, note=None) -> dict:
    """``bench``: check every flag, then time the engine against a DataLoader loop (figures as a dict)."""
    import inspect

    settings = bench_settings(flags)
    check_device(device)
    graphs_enabled()
    precision = check_precision(precision)
    if data_dir is not None:
        data_dir = paths.expand_user(data_dir)  # "~/mnist" typed in quotes
        if not data_dir.is_dir():
            raise TutorError(f"--data-dir {data_dir}: {'not a folder' if os.path.lexists(data_dir) else 'no such folder'}")
    quiet_openmp_spin()
    from tutor.training.bench import run_bench

    options: dict[str, Any] = {}
    if precision is not None and "precision" in inspect.signature(run_bench).parameters:
        options["precision"] = precision
    elif precision not in (None, "fp32"):
        raise TutorError(f"--precision {precision}: bench times fp32 only in this version")
    hidden = ",".join(str(h) for h in settings.hidden) if settings.hidden else None
    return run_bench(device=device, data_dir=data_dir, epochs=settings.epochs, repeats=settings.repeats,
                     batch_size=settings.batch_size, limit=settings.limit, hidden=hidden, seed=settings.seed,
                     threads=settings.threads, note=note, **options)
