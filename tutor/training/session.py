"""Running a demo: its config, the :class:`Session` it talks to, and what comes back.

A demo module (``tutor/demos/<name>.py``) has a ``Config`` dataclass, an optional ``QUICK`` dict of
overrides for ``--quick``, and ``run(cfg, session) -> dict`` returning its headline metrics (e.g.
``{"test_acc": 0.99}``). :func:`run_demo` builds the config from the command-line options, seeds
everything, creates the :class:`Session` and collects a :class:`DemoOutcome`; the command layer
prints, saves the plot and writes the journal. This module never prints.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from tutor.errors import TutorError
from tutor.training.engine import Boundary, FitResult, Reporter

# Command-line options that map onto Config fields of the same name when the demo has them.
COMMON_FIELDS = ("epochs", "lr", "batch_size", "seed", "data_dir")


class DemoReporter(Reporter):
    """A :class:`Reporter` that is also told when a whole demo starts and ends."""

    def run_start(self, header: dict) -> None:
        pass

    def run_end(self, outcome: "DemoOutcome") -> None:
        pass


@dataclass
class DemoOutcome:
    """Everything about a finished demo run (the command layer turns it into output and a journal row)."""

    demo_id: str
    title: str
    config: dict
    metrics: dict  # headline metrics from the demo plus per-model finals
    device: str  # "cpu", "cuda" or "mps"
    device_label: str  # e.g. "cuda (NVIDIA H100)"
    device_reason: str
    seconds: float
    samples: int
    samples_per_s: float
    results: list[FitResult] = field(default_factory=list)
    boundary: Boundary | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """The JSON summary object (``--json``'s last line)."""
        return {
            "type": "summary", "demo": self.demo_id, "title": self.title, "device": self.device,
            "device_label": self.device_label, "device_reason": self.device_reason,
            "seed": self.config.get("seed"), "config": self.config, "metrics": self.metrics,
            "seconds": round(self.seconds, 3), "samples": self.samples,
            "samples_per_s": round(self.samples_per_s, 1), "notes": self.notes,
        }


class Session:
    """What a running demo talks to.

    - ``session.device``: the torch device (``session.choice`` says which and why).
    - ``session.fit(models, train, val, **options)``: :func:`tutor.training.engine.fit` with the
      device, seed and reporter filled in; every result is kept for the summary, plot and journal.
    - ``session.evaluate(model, x, y, task=...)``: loss/accuracy on held-out data.
    - ``session.note(text)``: one line for the learner (data source, fallbacks, what to look at).
    - ``session.quick``: True under ``--quick`` (use tiny sizes).
    """

    def __init__(self, demo_id: str, choice, reporter: Reporter | None = None, seed: int = 0, quick: bool = False):
        from tutor.device import torch_device

        self.demo_id = demo_id
        self.choice = choice
        self.device = torch_device(choice)
        self.reporter = reporter or DemoReporter()
        self.seed = seed
        self.quick = quick
        self.results: list[FitResult] = []
        self.boundary: Boundary | None = None
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.reporter.note(text)

    def fit(self, models, train, val=None, **options):
        """Train with the shared engine (see :func:`tutor.training.engine.fit` for the options)."""
        from tutor.training import engine

        options.setdefault("device", self.device)
        options.setdefault("seed", self.seed)
        options.setdefault("reporter", self.reporter)
        result = engine.fit(models, train, val, **options)
        self.results.extend(result if isinstance(result, list) else [result])
        if options.get("boundary") is not None:
            self.boundary = options["boundary"]
        return result

    def evaluate(self, model, x, y, task: str = "classification", **options) -> dict:
        from tutor.training import engine

        options.setdefault("device", self.device)
        return engine.evaluate(model, x, y, task, **options)


def coerce(value: str, default: Any, annotation: str, name: str):
    """Turn a command-line string into the type of a Config field (int, float, bool, str, tuples)."""
    text = str(value).strip()
    kind = annotation.replace(" ", "")
    try:
        if text.lower() in ("none", "null") and ("None" in kind or default is None):
            return None
        if kind.startswith("bool") or isinstance(default, bool):
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if kind.startswith("tuple") or isinstance(default, tuple):
            element = float if "float" in kind else int if "int" in kind else str
            parts = [p for p in text.replace(" ", "").split(",") if p]
            return tuple(element(p) for p in parts)
        if kind.startswith("int") or (isinstance(default, int) and not kind.startswith("float")):
            return int(text)
        if kind.startswith("float") or isinstance(default, float):
            return float(text)
        return text
    except ValueError:
        raise TutorError(f"--set {name}={value}: expected {annotation}") from None


def build_config(module, *, quick: bool = False, options: dict | None = None, overrides: dict | None = None):
    """The demo's ``Config`` with ``QUICK`` (when quick), then the common options, then ``--set``.

    ``options``: values of --epochs/--lr/--batch-size/--seed/--data-dir (None = not given).
    ``overrides``: ``{field: text}`` from ``--set field=value`` (unknown fields are an error).
    """
    cls = module.Config
    cfg = cls()
    fields = {f.name: f for f in dataclasses.fields(cls)}
    changes: dict[str, Any] = {}
    if quick:
        changes.update(getattr(module, "QUICK", {}))
    for key, value in (options or {}).items():
        if value is None:
            continue
        if key not in fields:
            flag = "--" + key.replace("_", "-")
            raise TutorError(f"this demo does not take {flag} (its settings: {', '.join(fields)})")
        changes[key] = str(value) if key == "data_dir" else value
    for key, text in (overrides or {}).items():
        if key not in fields:
            import difflib

            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise TutorError(f"--set {key}: no such setting{hint}; settings: {', '.join(fields)}")
        f = fields[key]
        changes[key] = coerce(text, getattr(cfg, key), str(f.type), key)
    return dataclasses.replace(cfg, **changes)


def config_dict(cfg) -> dict:
    data = dataclasses.asdict(cfg)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items()}


def run_demo(demo_id: str, title: str, module, cfg, choice, reporter: DemoReporter | None = None,
             quick: bool = False) -> DemoOutcome:
    """Seed, run ``module.run(cfg, session)`` and gather the outcome."""
    from tutor.training.engine import seed_everything

    reporter = reporter or DemoReporter()
    seed = int(getattr(cfg, "seed", 0) or 0)
    seed_everything(seed)
    session = Session(demo_id, choice, reporter, seed=seed, quick=quick)
    config = config_dict(cfg)
    reporter.run_start({
        "demo": demo_id, "title": title, "device": choice.name, "device_label": choice.label,
        "device_reason": choice.reason, "seed": seed, "config": config, "quick": quick,
    })
    start = time.perf_counter()
    headline = module.run(cfg, session) or {}
    seconds = time.perf_counter() - start
    metrics = dict(headline)
    results = session.results
    if len(results) == 1:
        r = results[0]
        metrics.setdefault("epochs_run", r.epochs_run)
        if r.stopped_epoch is not None:
            metrics.setdefault("stopped_epoch", r.stopped_epoch)
            metrics.setdefault("best_epoch", r.best_epoch)
    elif results:
        names = [r.name for r in results]
        models = {}
        for i, r in enumerate(results):
            key = r.name if names.count(r.name) == 1 else (r.title or f"{r.name} {i + 1}")
            if key in models:
                key = f"{key} {i + 1}"
            models[key] = {**r.final, "epochs_run": r.epochs_run, "stopped_epoch": r.stopped_epoch}
        metrics.setdefault("models", models)
    samples = sum(r.samples for r in results)
    train_seconds = sum(r.samples / r.samples_per_s for r in results if r.samples_per_s)
    outcome = DemoOutcome(
        demo_id=demo_id, title=title, config=config, metrics=metrics, device=choice.name,
        device_label=choice.label, device_reason=choice.reason, seconds=seconds, samples=samples,
        samples_per_s=samples / train_seconds if train_seconds else 0.0, results=results,
        boundary=session.boundary, notes=session.notes,
    )
    reporter.run_end(outcome)
    return outcome
