"""Running a demo: its settings, the :class:`Session` it talks to, and what comes back.

A demo module (``tutor/demos/<name>.py``) has a ``Config`` dataclass whose fields declare their
allowed values with :func:`setting`, an optional ``QUICK`` dict of overrides for ``--quick``, and
``run(cfg, session) -> dict`` returning its headline metrics (e.g. ``{"test_acc": 0.99}``).

- :func:`validate` is THE check of every value a learner types (flags and ``--set KEY=VALUE``):
  one declaration of type and range per field, one error line naming the flag that was typed.
- :func:`run_demo` seeds everything, creates the :class:`Session` and collects a :class:`DemoOutcome`.
- :func:`tutor.training.flow.run_demo_flow` is the whole flow (validate, run, plot, journal).

This module never prints and imports neither torch nor rich at import time.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

from tutor.errors import TutorError

SEED_MAX = 2**32 - 1  # numpy and torch both take seeds in [0, 2**32)
DEFAULT_PRECISION = "fp32"  # what a demo trains in when --precision is not given (the engine's default)


# --------------------------------------------------------------------------------------------
# Declaring and checking settings
# --------------------------------------------------------------------------------------------


def setting(default: Any, *, min: float | None = None, max: float | None = None, above: float | None = None,
            choices: tuple[str, ...] | None = None, count: tuple[int, int] | None = None,
            auto: str | None = None) -> Any:
    """A Config field with the values it accepts (checked by :func:`validate`).

    ``min``/``max``: inclusive bounds (of every element, for tuples); ``above``: an exclusive lower
    bound (e.g. a learning rate above 0); ``choices``: the allowed words; ``count``: how many
    elements a tuple may have; ``auto``: the field may be None, typed as ``auto``, meaning this.
    """
    meta = {"min": min, "max": max, "above": above, "choices": choices, "count": count, "auto": auto}
    return field(default=default, metadata={k: v for k, v in meta.items() if v is not None})


def seed_setting(default: int = 0) -> Any:
    return setting(default, min=0, max=SEED_MAX)


class _Invalid(ValueError):
    pass


def _kind(annotation: Any) -> tuple[str, str | None, bool]:
    """``(base, element, optional)`` from a field's annotation, e.g. ``("tuple", "int", False)``."""
    text = str(annotation).replace(" ", "").replace("typing.", "")
    if text.startswith("Optional[") and text.endswith("]"):
        text = text[len("Optional["):-1] + "|None"
    parts = text.split("|")
    optional = "None" in parts
    base = next((p for p in parts if p != "None"), "str")
    if base.startswith("tuple"):
        element = "float" if "float" in base else "int" if "int" in base else "str"
        return "tuple", element, optional
    for name in ("bool", "int", "float"):
        if base.startswith(name):
            return name, None, optional
    return "str", None, optional


def _num(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1000:
        return f"{int(value):,}"
    return f"{value:g}"


def describe(annotation: Any, meta: dict) -> str:
    """What a field accepts, in words: ``a whole number from 1 to 100,000``."""
    base, element, _ = _kind(annotation)
    if meta.get("choices"):
        words = list(meta["choices"])
        text = "one of " + (", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0])
    elif base == "bool":
        text = "true or false"
    else:
        numeric = element if base == "tuple" else base
        noun = {"int": "whole number", "float": "number"}.get(numeric or "", "word")
        lo, hi, above = meta.get("min"), meta.get("max"), meta.get("above")
        if above is not None:
            bound = f"greater than {_num(above)}" + (f" and at most {_num(hi)}" if hi is not None else "")
        elif lo is not None and hi is not None:
            bound = f"from {_num(lo)} to {_num(hi)}"
        elif lo is not None:
            bound = f"of at least {_num(lo)}"
        elif hi is not None:
            bound = f"of at most {_num(hi)}"
        else:
            bound = ""
        if base == "tuple":
            count = meta.get("count")
            how_many = "" if not count else (f"{count[0]} " if count[0] == count[1] else f"{count[0]} to {count[1]} ")
            text = f"{how_many}comma-separated {noun}s {bound}".strip()
        else:
            text = f"a {noun} {bound}".strip()
    if meta.get("auto"):
        text += f", or auto ({meta['auto']})"
    return text


def _scalar(text: str, kind: str, meta: dict):
    if not text or not text.isascii() or not text.isprintable():
        raise _Invalid
    if kind == "int":
        body = text[1:] if text[:1] in "+-" else text
        if not body.isdecimal() or len(body) > 30:
            raise _Invalid
        value: Any = int(text)
    elif kind == "float":
        try:
            value = float(text) + 0.0  # + 0.0: "-0" is 0.0 (numpy refuses a scale of -0.0 as negative)
        except ValueError:
            raise _Invalid from None
        if not math.isfinite(value):
            raise _Invalid
    else:
        value = text
    if meta.get("choices") and value not in meta["choices"]:
        raise _Invalid
    if kind in ("int", "float"):
        lo, hi, above = meta.get("min"), meta.get("max"), meta.get("above")
        if (lo is not None and value < lo) or (hi is not None and value > hi) or (above is not None and value <= above):
            raise _Invalid
    return value


def parse_value(source: str, raw: Any, annotation: Any, meta: dict | None = None):
    """``raw`` (text from the command line, or a typed value) as the field's type, within its range.

    A bad value raises :class:`TutorError` (exit 2) naming ``source`` (the flag the learner typed,
    e.g. ``--layers`` or ``--set hidden``), what it accepts and what came.
    """
    meta = meta or {}
    base, element, optional = _kind(annotation)
    text = ",".join(str(v) for v in raw) if isinstance(raw, (tuple, list)) else str(raw)
    text = text.strip()
    try:
        if (optional or meta.get("auto")) and text.lower() in ("auto", "none"):
            return None
        if base == "bool":
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise _Invalid
        if base == "tuple":
            items = [p.strip() for p in text.split(",")]
            if text == "" or any(p == "" for p in items):
                raise _Invalid
            count = meta.get("count")
            if count and not count[0] <= len(items) <= count[1]:
                raise _Invalid
            return tuple(_scalar(p, element or "str", meta) for p in items)
        return _scalar(text, base, meta)
    except _Invalid:
        from tutor.options import shown

        raise TutorError(f"{source}: expected {describe(annotation, meta)}, got {shown(text)!r}") from None


def field_specs(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def validate(cls, given: dict[str, tuple[str, Any]], *, base: dict | None = None):
    """THE validation of a demo's settings: ``cls`` (a Config dataclass) built from ``base`` (trusted
    values, e.g. ``QUICK``) and ``given`` (``{field: (source, raw value)}``, checked one by one
    against the field's declared type and range). Returns the Config; raises TutorError (exit 2)."""
    fields = field_specs(cls)
    changes: dict[str, Any] = dict(base or {})
    for name, (source, raw) in given.items():
        if name not in fields:
            import difflib

            close = difflib.get_close_matches(name, list(fields), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise TutorError(f"{source}: no such setting{hint}; settings: {', '.join(fields)}")
        f = fields[name]
        changes[name] = parse_value(source, raw, f.type, dict(f.metadata))
    return dataclasses.replace(cls(), **changes)


def parse_sets(items: list[str] | None) -> dict[str, tuple[str, str]]:
    """``--set KEY=VALUE`` items as ``{key: ("--set key", value)}``."""
    given: dict[str, tuple[str, str]] = {}
    for item in items or []:
        if "=" not in item:
            from tutor.options import shown

            raise TutorError(f"--set: expected KEY=VALUE (e.g. --set noise=0.2), got {shown(item)!r}")
        key, value = item.split("=", 1)
        key = key.strip().replace("-", "_")
        if not key.isidentifier():
            raise TutorError(f"--set: expected KEY=VALUE with a setting name as KEY, got {item[:40]!r}")
        given[key] = (f"--set {key}", value.strip())
    return given


def build_config(module, *, quick: bool = False, options: dict | None = None, overrides: dict | None = None):
    """The demo's ``Config`` with ``QUICK`` (when quick), then the common options, then ``--set``.

    ``options``: ``{field: value}`` of flags such as --epochs (None = not given; the source named in
    an error is ``--field-name``). ``overrides``: ``{field: text}`` as from ``--set field=value``.
    """
    fields = field_specs(module.Config)
    given: dict[str, tuple[str, Any]] = {}
    for key, value in (options or {}).items():
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if key not in fields:
            raise TutorError(f"{flag} does not apply to this demo (its settings: {', '.join(fields)})")
        given[key] = (flag, value)
    for key, text in (overrides or {}).items():
        given[key] = (f"--set {key}", text)
    return validate(module.Config, given, base=getattr(module, "QUICK", {}) if quick else None)


def config_dict(cfg) -> dict:
    data = dataclasses.asdict(cfg)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items()}


def finite(value):
    """``value`` with every NaN or infinity (also inside lists and dicts) replaced by None: JSON stays JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# The session a demo talks to, and what comes back
# --------------------------------------------------------------------------------------------


class DemoReporter:
    """What a display is told (the engine's Reporter methods plus the run-level ones); all no-ops."""

    def run_start(self, header: dict) -> None:
        pass

    def plan(self, fits: int) -> None:
        pass

    def fit_start(self, info) -> None:
        pass

    def batch_end(self, name: str, epoch: int, batch: int, n_batches: int) -> None:
        pass

    def epoch_end(self, record, view) -> None:
        pass

    def fit_end(self, results) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def held_out(self, name: str) -> None:
        """What the next fit's held-out set is called: ``"val"`` (it chooses something) or ``"test"``."""

    def table(self, spec: dict) -> None:
        pass

    def run_end(self, outcome: "DemoOutcome") -> None:
        pass


@dataclass
class DemoOutcome:
    """Everything about a finished demo run (the flow plots and journals it; a renderer shows it)."""

    demo_id: str
    title: str
    config: dict
    metrics: dict  # headline metrics from the demo plus per-model finals: what the journal keeps
    device: str  # "cpu", "cuda" or "mps"
    device_label: str  # e.g. "cuda (NVIDIA H100)"
    device_reason: str
    seconds: float  # the whole run, start to end (the clock the live view shows)
    samples: int
    samples_per_s: float
    train_seconds: float = 0.0  # of which training (all fits)
    results: list = field(default_factory=list)  # FitResult per model and fit
    boundary: Any = None
    notes: list[str] = field(default_factory=list)
    table: dict | None = None  # the final table: {"title", "columns": [(header, format)], "rows", "caption"}
    figures: dict = field(default_factory=dict)  # arrays for pictures (never journaled)
    plot_path: Any = None  # the PNG written by --save-plot
    journal_id: int | None = None
    warnings: list[str] = field(default_factory=list)
    held_out: str = "val"  # what the last fit's held-out set is called: "val" or "test" (see held_out_name)
    wall_seconds: float | None = None  # since the process started (start-up, plot and journal included)

    @property
    def precision(self) -> str:
        """What the fits ran in once ``auto`` was resolved: "fp32", "bf16" or "bf16, fp32"; "" without a fit."""
        return ", ".join(sorted({getattr(r, "precision", "fp32") for r in self.results}))

    def summary(self) -> dict:
        """The JSON summary object (``--json``'s last line)."""
        return finite({
            "type": "summary", "demo": self.demo_id, "title": self.title, "device": self.device,
            "device_label": self.device_label, "device_reason": self.device_reason,
            "seed": self.config.get("seed"), "config": self.config, "metrics": self.metrics,
            "precision": self.precision or None,
            "seconds": round(self.seconds, 3), "train_seconds": round(self.train_seconds, 3),
            "samples": self.samples, "samples_per_s": round(self.samples_per_s, 1), "notes": self.notes,
            "table": self.table, "figures": self.figures,
            "plot": str(self.plot_path) if self.plot_path else None, "journal_id": self.journal_id,
        })


class Session:
    """What a running demo talks to.

    - ``session.device``: the torch device (``session.choice`` says which and why).
    - ``session.fit(models, train, val, **options)``: :func:`tutor.training.engine.fit` with the
      device, seed, precision and reporter filled in; every result is kept for the summary and plot.
    - ``session.evaluate(model, x, y, task=...)``: loss/accuracy on held-out data (eval mode).
    - ``session.note(text)``: one line for the learner (data source, fallbacks, what to look at).
    - ``session.plan(fits)``: how many fits the demo will run (one live view shows them all).
    - ``session.table(title, columns, rows)``: the final table that states the lesson in numbers.
    - ``session.figure(name, value)``: arrays for pictures (heat maps, curves); kept out of the journal.
    - ``session.resolve(**settings)``: the value an ``auto`` setting turned into (recorded in the journal).
    - ``session.quick``: True under ``--quick`` (use tiny sizes).
    """

    def __init__(self, demo_id: str, choice, reporter: DemoReporter | None = None, seed: int = 0,
                 quick: bool = False, precision: str | None = None):
        from tutor.device import torch_device

        self.demo_id = demo_id
        self.choice = choice
        self.device = torch_device(choice)
        self.reporter = reporter or DemoReporter()
        self.seed = seed
        self.quick = quick
        self.precision = precision
        self.results: list = []
        self.boundary = None
        self.notes: list[str] = []
        self.final_table: dict | None = None
        self.figures: dict = {}
        self.resolved: dict = {}
        self.held_out = "val"
        self.precision_shown: Any = None  # the Precision the header stated (see run_demo)
        self._precision_notes: set[tuple[str, str]] = set()

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.reporter.note(text)

    def plan(self, fits: int) -> None:
        self.reporter.plan(int(fits))

    def table(self, title: str, columns: list[tuple[str, str]], rows: list[list], caption: str = "") -> None:
        """``columns``: ``(header, format)`` with format pct, points, loss, int, epoch, float or text."""
        self.final_table = {"title": title, "columns": [list(c) for c in columns], "rows": [list(r) for r in rows],
                            "caption": caption}
        self.reporter.table(self.final_table)

    def figure(self, name: str, value) -> None:
        self.figures[name] = value

    def resolve(self, **settings) -> None:
        self.resolved.update(settings)

    def fit(self, models, train, val=None, **options):
        """Train with the shared engine (see :func:`tutor.training.engine.fit` for the options)."""
        from tutor.training import engine

        options.setdefault("device", self.device)
        options.setdefault("seed", self.seed)
        options.setdefault("reporter", self.reporter)
        if self.precision is not None and "precision" in _fit_parameters():
            options.setdefault("precision", self.precision)
            self._note_precision(models, train, options)
        elif self.precision not in (None, "fp32"):
            raise TutorError(f"--precision {self.precision}: this training engine trains in fp32 only")
        self.held_out = held_out_name(models, options) if val is not None else self.held_out
        tell = getattr(self.reporter, "held_out", None)
        if val is not None and callable(tell):
            tell(self.held_out)
        result = engine.fit(models, train, val, **options)
        self.results.extend(result if isinstance(result, list) else [result])
        if options.get("boundary") is not None:
            self.boundary = options["boundary"]
        return result

    def _note_precision(self, models, train, options: dict) -> None:
        """``auto`` decides per fit (a net too small for bf16 stays in fp32): where a fit's choice is not the
        one the header stated, say so once. Resolved as the engine resolves it (its first model, its batch)."""
        shown = self.precision_shown
        if shown is None or options.get("precision") != "auto":
            return
        from tutor.training.precision import resolve_precision
        from tutor.training.protocol import Trainee

        first = (models if isinstance(models, (list, tuple)) else [models])[0]
        model = first.model if isinstance(first, Trainee) else first
        batch = options.get("batch_size", 32)
        try:
            chosen = resolve_precision("auto", self.device, model, batch or len(train[0]))
        except Exception:  # noqa: BLE001 - the engine reports its own errors
            return
        key = (chosen.name, chosen.reason)
        if chosen.name != shown.name and key not in self._precision_notes:
            self._precision_notes.add(key)
            self.note(f"precision auto → {chosen.name} for this net ({chosen.reason.removeprefix('auto: ')})")

    def evaluate(self, model, x, y, task: str = "classification", **options) -> dict:
        from tutor.training import engine

        options.setdefault("device", self.device)
        return engine.evaluate(model, x, y, task, **options)


def held_out_name(models, options: dict) -> str:
    """What a fit's held-out set is, in the course's words: ``"val"`` (validation) when it chooses something
    (early stopping on a ``val_`` metric, which also puts back the best epoch's weights), else ``"test"``:
    a set that is only ever measured is a test set."""
    from tutor.training.protocol import EarlyStopping, Trainee

    fit_level = options.get("early_stopping")
    for item in models if isinstance(models, (list, tuple)) else [models]:
        own = item.early_stopping if isinstance(item, Trainee) else None
        stopper = fit_level if own is None else own
        if isinstance(stopper, EarlyStopping) and str(stopper.monitor).startswith("val"):
            return "val"
    return "test"


def _fit_parameters() -> set[str]:
    import inspect

    from tutor.training import engine

    return set(inspect.signature(engine.fit).parameters)


def _model_finals(results) -> dict:
    names = [r.name for r in results]
    models: dict = {}
    for i, r in enumerate(results):
        key = r.name if names.count(r.name) == 1 else (r.title or f"{r.name} {i + 1}")
        if key in models:
            key = f"{key} {i + 1}"
        models[key] = {**r.final, "epochs_run": r.epochs_run, "stopped_epoch": r.stopped_epoch}
    return models


def divergence_note(results) -> str | None:
    """One line for the learner when a training loss stopped being a number (shown as "—" in the tables)."""
    for r in results:
        for record in r.history:
            loss = record.train_loss
            if loss is None or not math.isfinite(loss):
                who = f"{r.name}: " if len(results) > 1 else ""
                return (f"{who}the training loss became {'NaN' if loss is None or loss != loss else 'infinite'} "
                        f"at epoch {record.epoch} (shown as —): the steps were too large for this net; "
                        "try a smaller learning rate")
    return None


def run_demo(demo_id: str, title: str, module, cfg, choice, reporter: DemoReporter | None = None,
             quick: bool = False, precision: str | None = None) -> DemoOutcome:
    """Seed, run ``module.run(cfg, session)`` and gather the outcome (no plot, no journal)."""
    import torch  # noqa: F401 - loaded before the clock starts: the run's time is the demo's own

    from tutor.training.engine import seed_everything
    from tutor.training.precision import resolve_precision

    reporter = reporter or DemoReporter()
    seed = int(getattr(cfg, "seed", 0) or 0)
    seed_everything(seed)
    session = Session(demo_id, choice, reporter, seed=seed, quick=quick, precision=precision)
    # The header states what --precision becomes on this device, and why (emulated bf16 is slower); per-model
    # choices of auto that differ are noted by Session.fit.
    shown = session.precision_shown = resolve_precision(precision, session.device) if precision is not None else None
    config = config_dict(cfg)
    start = time.perf_counter()
    reporter.run_start({
        "demo": demo_id, "title": title, "device": choice.name, "device_label": choice.label,
        "device_reason": choice.reason, "seed": seed, "config": config, "quick": quick, "started": start,
        "precision": precision, "precision_used": shown.name if shown else None,
        "precision_reason": shown.reason if shown else None,
    })
    headline = module.run(cfg, session) or {}
    diverged = divergence_note(session.results)
    if diverged:
        session.note(diverged)
    seconds = time.perf_counter() - start
    config.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in session.resolved.items()})
    if precision is not None:
        config["precision"] = precision  # journaled with the settings, so fp32 and bf16 runs compare
    metrics = dict(headline)
    results = session.results
    if len(results) == 1:
        r = results[0]
        metrics.setdefault("epochs_run", r.epochs_run)
        if r.stopped_epoch is not None:
            metrics.setdefault("stopped_epoch", r.stopped_epoch)
            metrics.setdefault("best_epoch", r.best_epoch)
    elif results and len({r.title for r in results}) == 1:  # one fit of several models side by side
        metrics.setdefault("models", _model_finals(results))
    samples = sum(r.samples for r in results)
    train_seconds = sum(r.samples / r.samples_per_s for r in results if r.samples_per_s)
    outcome = DemoOutcome(
        demo_id=demo_id, title=title, config=config, metrics=finite(metrics), device=choice.name,
        device_label=choice.label, device_reason=choice.reason, seconds=seconds, samples=samples,
        samples_per_s=samples / train_seconds if train_seconds else 0.0, train_seconds=train_seconds,
        results=results, boundary=session.boundary, notes=session.notes, table=session.final_table,
        figures=session.figures, held_out=session.held_out,
    )
    reporter.run_end(outcome)
    return outcome
