"""What the learner reads around a demo: its header, the final table, the heat maps, the footer,
the demo list, the journal (``demo --history``), the dataset cache and the bench figures.

Renderers return rich objects; the live display while a demo trains is in :mod:`tutor.render.live`
and the character pictures in :mod:`tutor.render.rasters`.
"""

from __future__ import annotations

import math

from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from tutor.demos.registry import all_demos
from tutor.render.rasters import render_heatmaps, sparkline

# --------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------


def _bad(value) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fmt_pct(value) -> str:
    return "—" if _bad(value) else f"{100 * value:.1f}%"


def fmt_loss(value) -> str:
    if _bad(value):
        return "—"
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:.3g}"


def fmt_rate(value) -> str:
    if _bad(value) or not value:
        return "—"
    if value >= 1e6:
        return f"{value / 1e6:.2f}M/s"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k/s"
    return f"{value:.0f}/s"


def fmt_seconds(value) -> str:
    if _bad(value):
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def fmt_cell(value, kind: str) -> str:
    """One cell of a demo's final table by its column format."""
    if kind == "text" or isinstance(value, str):
        return str(value)
    if _bad(value):
        return "—"
    if kind == "pct":
        return fmt_pct(value)
    if kind == "points":
        return f"{value:+.1f} pts"
    if kind == "loss":
        return fmt_loss(value)
    if kind == "int":
        return f"{int(value):,}"
    if kind == "ratio":
        return f"{value:.1e}"
    return f"{value:g}"


# What an epoch line loses, in this order, where the terminal is narrower than the whole line: the speed, the
# time, the extra metrics, the running training accuracy (when there is a validation one), the words "epoch"
# and "train", then the validation accuracy.
EPOCH_LINE_CUTS = ("rate", "time", "extra", "train acc", "words", "val acc")


def epoch_line(record, named: bool = False, width: int | None = None, held: str = "val") -> str:
    """One plain line for an epoch (no styling). With a ``width`` (a terminal's) it fits that width, losing
    fields in the order of :data:`EPOCH_LINE_CUTS`: a terminal's wrap put the last number alone on a line.
    ``held``: what the held-out set is called, ``val`` or ``test`` (the demo's own word for it).

    Fields are measured at their widest (``100.0%``), so every line of a run loses the same fields."""
    cut: set[str] = set()
    for field in ("", *EPOCH_LINE_CUTS):
        cut.add(field)
        if width is None or len(_epoch_line(record, named, cut, widest=True, held=held)) <= width:
            break
    return _epoch_line(record, named, cut, held=held)


def _epoch_line(record, named: bool, cut: set[str], widest: bool = False, held: str = "val") -> str:
    def pct(value) -> str:
        return fmt_pct(value).rjust(6) if widest else fmt_pct(value)

    words = "words" not in cut
    width = len(str(record.epochs))
    parts = [f"{record.model}: " if named else "", "epoch " if words else "", f"{record.epoch:>{width}}/{record.epochs}"]
    parts.append(f"  {'train ' if words else ''}loss {fmt_loss(record.train_loss)}")
    if record.train_acc is not None and ("train acc" not in cut or record.val_acc is None):
        parts.append(f" acc {pct(record.train_acc)}")
    if record.val_loss is not None:
        parts.append(f"  {held} loss {fmt_loss(record.val_loss)}")
    if record.val_acc is not None and "val acc" not in cut:
        parts.append(f" acc {pct(record.val_acc)}")
    if "extra" not in cut:
        for key, value in list(record.extra.items())[:4]:
            if isinstance(value, (int, float)):
                parts.append(f"  {key} {value:.4g}")
    if "time" not in cut:
        parts.append("  " + fmt_seconds(record.seconds).rjust(6 if widest else 0))
    if "rate" not in cut:
        parts.append("  " + fmt_rate(record.samples_per_s).rjust(8 if widest else 0))
    if record.stopped:
        parts.append("  (early stop)" if words else "  (stopped)")
    return "".join(parts)


def setting_text(value) -> str:
    """A setting as the header shows it: lists comma-joined, floats short, None as auto."""
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "auto"
    from tutor.console import one_line

    return one_line(str(value))  # a folder name that is not UTF-8 as the error lines show it: bad\xff


def setting_item(key: str, value) -> str:
    """A setting as ``key=value`` (see :func:`setting_text`); a batch size of 0 (spiral's) as ``full batch``."""
    return "full batch" if key == "batch_size" and value == 0 else f"{key}={setting_text(value)}"


# --------------------------------------------------------------------------------------------
# Around a run: header, metrics table, final table, footer
# --------------------------------------------------------------------------------------------


def precision_phrase(header: dict) -> str:
    """``--precision`` as the run will use it, and why: ``auto → fp32 (cpu has no bf16 in hardware)``, or
    ``bf16 — this device has no bf16 in hardware, so it is emulated (slower)``; "" when it was not given."""
    requested = header.get("precision")
    if not requested:
        return ""
    used = header.get("precision_used") or requested
    reason = str(header.get("precision_reason") or "")
    why = reason.split("; ", 1)[1] if reason.startswith("asked for") and "; " in reason else reason.removeprefix("auto: ")
    if requested == "auto":
        return f"auto → {used}" + (f" ({why})" if why else "")
    if used == "fp32" or not why:
        return str(used)
    return f"{used} — {why}"


def render_title(header: dict) -> Text:
    """The first line of a run's header: the demo's id and title."""
    text = Text()
    text.append(f"{header['demo']}", style="bold cyan")
    text.append(f"  {header['title']}", style="bold")
    return text


def render_header(header: dict) -> Text:
    text = render_title(header)
    text.append("\ndevice: ", style="dim")
    text.append(header["device_label"], style="bold")
    text.append(f" ({header['device_reason']})")
    precision = precision_phrase(header)
    if precision:
        text.append("\nprecision: ", style="dim")
        text.append(precision, style="yellow" if "emulated" in precision else "")
    text.append("\nsettings: ", style="dim")
    skip = {"data_dir"} if header.get("config", {}).get("data_dir") is None else set()
    text.append("  ".join(setting_item(k, v) for k, v in header.get("config", {}).items() if k not in skip))
    if header.get("quick"):
        text.append("  (--quick)", style="yellow")
    return text


def _numeric_table(columns: list[tuple[str, str]], rows: list[list[str]], width: int | None, **kwargs) -> Table:
    """A table whose number columns are never cut: headers stack their words when the width is short."""
    natural = sum(max(len(h), *(len(r[i]) for r in rows)) + 2 for i, (h, _) in enumerate(columns)) if rows else 0
    stack = width is not None and natural > width
    # Stacked headers: each column as wide as its longest word or cell; still too wide: one space between columns.
    stacked = sum(max(max(len(w) for w in (h.split() or [""])), *(len(r[i]) for r in rows)) + 2
                  for i, (h, _) in enumerate(columns)) if rows else 0
    if stack and width is not None and stacked > width:
        kwargs.setdefault("collapse_padding", True)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, **kwargs)
    for i, (header, kind) in enumerate(columns):
        cells = [r[i] for r in rows]
        longest = max((len(c) for c in cells), default=1)
        title = header.replace(" ", "\n") if stack and kind != "text" else header
        if kind == "text":  # a short name (a model, a cure) stays whole; long prose may fold
            table.add_column(title, style="cyan" if i == 0 else None, overflow="fold",
                             min_width=min(longest, 16))
        else:
            table.add_column(title, justify="right", no_wrap=True, min_width=longest)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # journal text is data, never markup
    return table


def render_metrics_table(records: dict, width: int | None = None, has_val: bool = True, held: str = "val") -> Table:
    """Latest metrics per model: ``records`` maps model name -> last EpochRecord (train: running, train mode);
    ``held``: what the held-out set is called (``val`` or ``test``)."""
    named = len(records) > 1
    has_acc = any(r.train_acc is not None for r in records.values())
    columns = ([("model", "text")] if named else []) + [("epoch", "n"), ("train loss", "n")]
    columns += [("train acc", "n")] if has_acc else []
    columns += ([(f"{held} loss", "n")] + ([(f"{held} acc", "n")] if has_acc else [])) if has_val else []
    wide = width is None or width >= 86 + (12 if named else 0)
    columns += [("time/epoch", "n"), ("samples/s", "n")] if wide else []
    rows = []
    for name, r in records.items():
        row = ([name + (" ■" if r.stopped else "")] if named else []) + [f"{r.epoch}/{r.epochs}", fmt_loss(r.train_loss)]
        row += [fmt_pct(r.train_acc)] if has_acc else []
        row += ([fmt_loss(r.val_loss)] + ([fmt_pct(r.val_acc)] if has_acc else [])) if has_val else []
        row += [fmt_seconds(r.seconds), fmt_rate(r.samples_per_s)] if wide else []
        rows.append(row)
    return _numeric_table(columns, rows, width)


def render_result_table(spec: dict, width: int | None = None) -> RenderableType:
    """A demo's final table (``session.table``): the lesson in numbers, with how it was measured."""
    columns = [(str(h), str(k)) for h, k in spec["columns"]]
    sparks = [i for i, (_, k) in enumerate(columns) if k == "spark"]
    rows = [list(r) for r in spec["rows"]]
    for i in sparks:  # one log scale per column, so the rows compare
        values = [v for r in rows for v in (r[i] or []) if isinstance(v, (int, float)) and v > 0]
        hi = max(values, default=1.0)
        lo = max(min(values, default=1.0), hi * 1e-12)
        spark_width = max(8, min(30, (width or 80) - 40))
        for r in rows:
            r[i] = sparkline(r[i] or [lo], lo, hi, spark_width)
    cells = [[fmt_cell(v, "text" if i in sparks else columns[i][1]) for i, v in enumerate(r)] for r in rows]
    table = _numeric_table([(h, "spark" if i in sparks else k) for i, (h, k) in enumerate(columns)], cells, width)
    parts: list[RenderableType] = [Text(str(spec.get("title", "")), style="bold"), table]
    if spec.get("caption"):
        parts.append(Text(str(spec["caption"]), style="dim"))
    return Group(*parts)


def headline(metrics: dict) -> str:
    """The demo's headline metrics as one phrase, e.g. ``test acc 99.6%  test loss 0.0123``."""
    parts = []
    for key, value in metrics.items():
        if key == "models" or not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        label = key.replace("_", " ")
        if key.endswith("acc"):
            parts.append(f"{label} {fmt_pct(value)}")
        elif key.endswith("loss"):
            parts.append(f"{label} {fmt_loss(value)}")
        else:
            parts.append(f"{label} {value:g}" if isinstance(value, float) else f"{label} {value}")
    return "  ".join(parts)


TRAIN_FIGURES = "train figures: averaged over the last epoch while training"


def _has_dropout(outcome) -> bool:
    """Whether any net the run trained has a dropout layer (its train figures were taken with it on)."""
    for result in getattr(outcome, "results", None) or []:
        modules = getattr(getattr(result, "model", None), "modules", None)
        try:
            if callable(modules) and any("Dropout" in type(m).__name__ for m in modules()):
                return True
        except Exception:  # noqa: BLE001 - an odd model object: say nothing about dropout
            continue
    return False


def render_footer(outcome, plain: bool = False) -> Text:
    """The last lines of a run: its time (and the whole command's, start-up included), the result, the plot
    and the journal. ``plain``: the curves and boundary were not drawn (plain lines, TERM=dumb): say how to
    see them."""
    text = Text()
    text.append("done ", style="bold green")
    text.append(f"in {fmt_seconds(outcome.seconds)}")
    wall = getattr(outcome, "wall_seconds", None)  # the whole command: Python, PyTorch's import, plot, journal
    if not _bad(wall) and fmt_seconds(wall) != fmt_seconds(outcome.seconds):
        text.append(f" ({fmt_seconds(wall)} with start-up)")
    text.append(f" on {outcome.device_label}")
    if outcome.train_seconds:
        text.append(f" (of which training {fmt_seconds(outcome.train_seconds)} at "
                    f"{fmt_rate(outcome.samples_per_s).replace('/s', '')} samples/s"
                    f"{' in ' + outcome.precision if 'bf16' in outcome.precision else ''})")

    if outcome.table is None:
        metrics = {k: v for k, v in outcome.metrics.items() if k != "epochs_run"}
        text.append("\nresult: ", style="dim")
        text.append(headline(metrics), style="bold")
        if any(k.startswith("train_") for k in metrics):  # said once; test figures are the finished net's
            text.append(f"\n{TRAIN_FIGURES}" + (", dropout on" if _has_dropout(outcome) else ""), style="dim")
    if outcome.plot_path:
        text.append(f"\nplot saved to {outcome.plot_path}", style="dim")
    if outcome.journal_id is not None:
        text.append("\nrecorded in your demo journal (dnn-tutor demo --history)", style="dim")
    if plain and not outcome.plot_path and outcome.results:
        what = "the curves and the boundary" if outcome.boundary is not None else "the curves"
        text.append(f"\nsee {what}: add --save-plot FILE.png")  # one line, even at 60 columns
    return text


def render_outcome(outcome, width: int | None = None, plain: bool = False) -> RenderableType:
    """After the live view: the final table, the demo's heat maps, then the footer (see :func:`render_footer`)."""
    parts: list[RenderableType] = []
    if outcome.table:
        parts.append(render_result_table(outcome.table, width))
    for group in outcome.figures.get("heatmaps", []):
        parts.append(render_heatmaps(group, width or 80))
    parts.append(render_footer(outcome, plain))
    return Group(*parts)


# --------------------------------------------------------------------------------------------
# Lists: demos, journal, data cache, bench
# --------------------------------------------------------------------------------------------


def render_demo_list(demos, lessons: dict | None = None, width: int | None = None) -> RenderableType:
    """One block per demo: its id, lesson and typical time on a line, what it shows wrapped below.

    ``lessons`` maps a lesson id to ``(number, title)``: the lesson is named by its number, as every other
    list names it, with its title where the line has room (``width``). A block reads whole at any width
    (a four-column table squeezed its descriptions into one word per line at 60 columns)."""
    parts: list[RenderableType] = [Text("Demos (run one: dnn-tutor demo <id>)", style="bold")]
    for d in demos:
        head = Text()
        head.append(str(d.id), style="bold cyan")
        number, title = (lessons or {}).get(d.lesson, (d.lesson, ""))
        tail = f"  ·  typical CPU time {d.cpu_time}"
        lesson = f"lesson {number}"
        if title and len(f"{d.id}  {lesson} ({title}){tail}") <= (width or 80):
            lesson += f" ({title})"
        head.append(f"  {lesson}{tail}", style="dim")
        parts.append(head)
        parts.append(Padding(Text(str(d.shows)), (0, 0, 0, 4)))
    return Group(*parts)


def _defaults(demo_id: str) -> dict:
    """The demo's Config defaults in declaration order ({} for a demo this version does not know)."""
    import dataclasses

    from tutor.demos import registry

    try:
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(registry.load(registry.get(demo_id)).Config()).items()}
    except Exception:  # noqa: BLE001 - an unknown or renamed demo in an old journal
        return {}


def _changed_settings(runs) -> dict[int, str]:
    """Per run, the settings that differ from the demo's defaults, in the demo's own order (the seed and the
    data folder are left out; a precision of fp32 is the default, and ``auto`` is followed by what it picked: ``precision=auto→fp32``). A setting at its default is not listed,
    even where other runs changed it: the caption says "those that differ from the demo's defaults"."""
    from tutor.training.session import DEFAULT_PRECISION

    skip = {"seed", "data_dir"}
    shown: dict[int, str] = {}
    known: dict[str, dict] = {}
    for r in runs:
        demo_id = str(r.demo_id)
        if demo_id not in known:
            known[demo_id] = {**_defaults(demo_id), "precision": DEFAULT_PRECISION}
        defaults = known[demo_id]
        config = r.config if isinstance(r.config, dict) else {}
        keys = [k for k in defaults if k in config] + sorted(str(k) for k in config if k not in defaults)
        chosen = [k for k in keys if k not in skip and (k not in defaults or config.get(k) != defaults[k])]
        items = [setting_item(k, config.get(k)) for k in chosen]
        used = r.metrics.get("precision") if isinstance(r.metrics, dict) else None
        if config.get("precision") == "auto" and isinstance(used, str) and used:
            items[chosen.index("precision")] += f"→{setting_text(used)}"  # what auto picked: precision=auto→fp32
        shown[r.id] = " ".join(items) or "(defaults)"
    return shown


def _key_result(metrics: dict, headline: str = "") -> str:
    """The run's main figure: the demo's ``headline`` metric where it has one, else its first accuracy
    (else its first loss), e.g. ``test 97.2%``."""
    for suffix, fmt in (("acc", fmt_pct), ("loss", fmt_loss)):
        keys = [headline] if headline.endswith(suffix) and headline in metrics else []
        for key in keys + list(metrics):
            value = metrics[key]
            if key.endswith(suffix) and isinstance(value, (int, float)) and not isinstance(value, bool):
                label = key[: -len(suffix)].rstrip("_").replace("_", " ")
                return f"{label} {fmt(value)}".strip() if suffix == "acc" else f"{label} loss {fmt(value)}".strip()
    return "—"


def render_history(runs, width: int | None = None) -> RenderableType:
    """The journal as a compact table: one line per run at 80 columns. Narrower (``width`` under 80), each
    run is one line with its settings indented under it, wrapped between settings, never inside one."""
    if not runs:
        return Text("No demo runs recorded yet: try dnn-tutor demo xor", style="dim")
    try:
        settings = _changed_settings(runs)
    except Exception:  # noqa: BLE001 - an odd imported row must not hide the others
        settings = {}
    rows = []
    headlines = {d.id: d.headline for d in all_demos()}
    for run in runs:
        metrics = run.metrics if isinstance(run.metrics, dict) else {}
        rows.append([str(run.at)[5:16].replace("T", " "), str(run.demo_id)[:20],
                     _key_result(metrics, headlines.get(str(run.demo_id), "")),
                     fmt_seconds(run.seconds if isinstance(run.seconds, (int, float)) else None),
                     settings.get(run.id, "")])
    if width is not None and width < 80:
        parts: list[RenderableType] = [Text("Demo journal, newest first", style="italic")]
        for when, demo, result, seconds, changed in rows:
            line = Text(f"{when}  ", style="dim")
            line.append(demo, style="cyan")
            line.append(f"  {result}  {seconds}")
            parts.append(line)
            if changed:
                parts.append(Padding(Text(changed), (0, 0, 0, 4)))
        parts.append(Text("settings (indented): those that differ from the demo's defaults", style="dim"))
        return Group(*parts)
    table = Table(title="Demo journal, newest first", caption="settings: those that differ from the demo's defaults",
                  box=box.SIMPLE_HEAD, title_justify="left", caption_justify="left", pad_edge=False,
                  show_edge=False, collapse_padding=True)
    for i, header in enumerate(("when (UTC)", "demo", "result", "time")):
        table.add_column(header, style="dim" if i == 0 else "cyan" if i == 1 else None, no_wrap=True,
                         justify="right" if i == 3 else "left", min_width=max(len(r[i]) for r in rows))
    # Wrapped between settings where the terminal is narrow: a cut hid the one setting two runs differ in.
    table.add_column("settings", overflow="fold", max_width=40)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # journal text is data, never markup
    return table


def render_data_status(status: dict) -> Text:
    text = Text()
    text.append("dataset cache: ", style="dim")
    text.append(status["cache_dir"] + "\n")
    if status["mnist_complete"]:
        text.append("MNIST: cached (all four IDX files)", style="green")
    elif status["mnist_files"]:
        text.append(f"MNIST: partly cached ({', '.join(status['mnist_files'])})", style="yellow")
    else:
        text.append("MNIST: not cached; run dnn-tutor data download mnist when online, or pass --data-dir DIR", style="yellow")
    text.append("\noffline fallback: scikit-learn's 8x8 digits (always available)")
    return text


def render_bench(result: dict) -> RenderableType:
    text = Text()
    text.append("bench ", style="bold cyan")
    text.append(f"{result['model']} on {result['data']}\n", style="bold")
    text.append(f"device {result['device']} · batch {result['batch_size']} · {result['epochs']} epoch(s) x "
                f"{result['repeats']} repeats after a warm-up · threads {result.get('threads', '—')}\n")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("loop")
    for header in ("s/epoch", "samples/s", "x floor", "test acc"):  # short: the loop's name stays on one line at 80 columns
        table.add_column(header, justify="right", no_wrap=True)
    for key in ("engine", "dataloader", "engine_default"):
        r = result.get(key)
        if not r:  # engine_default: only where the engine's default precision is not fp32
            continue
        table.add_row(r["label"], f"{r['seconds_per_epoch']:.3f}", f"{r['samples_per_s']:,.0f}",
                      f"{r['x_floor']:.2f}" if r.get("x_floor") else "—", fmt_pct(r["test_acc"]))
    floor = result["floor"]
    summary = Text()
    graph = ", each step one replayed CUDA graph" if "CUDA graph" in result["engine"]["label"] else ""
    written = ("; in fp32 the backward is written out layer by layer instead of autograd's graph"
               + (f" (the {result['precision']['default']} row uses autograd)" if result.get("engine_default") else "")
               if result.get("written_out_backward") else "")
    summary.append(f"engine: all the data in one tensor, one shuffle per epoch, Adam's update in one fused kernel{graph}, "
                   f"metrics read once per epoch{written}\nDataLoader loop: TensorDataset + DataLoader(shuffle=True), "
                   "default Adam, loss.item() per batch\ntest acc: the mean over the repeats; x floor: the row's time over "
                   "the arithmetic floor of its precision (below)\n", style="dim")
    summary.append(f"engine / DataLoader: {result['speedup']:.2f}x faster\n", style="bold green" if result["speedup"] >= 1 else "bold red")
    if result.get("engine_default"):
        default = result["precision"]
        summary.append(f"engine in {default['default']} / DataLoader in fp32: {result['speedup_default']:.2f}x faster "
                       f"({default['reason']})\n", style="bold green" if result["speedup_default"] >= 1 else "bold red")
    summary.append(
        f"arithmetic floor: {floor['flops_per_epoch'] / 1e9:.2f} GFLOP per epoch / {floor['matmul_gflops']:.1f} GFLOP/s "
        f"measured matmul rate = {floor['seconds_per_epoch']:.4f} s/epoch in fp32"
    )
    if result.get("engine_default") and floor.get("bf16_seconds_per_epoch"):
        summary.append(f"; {floor['bf16_seconds_per_epoch']:.4f} s/epoch in {result['precision']['default']} "
                       f"({floor['bf16_matmul_gflops']:.1f} GFLOP/s)")
    return Group(text, table, summary)
