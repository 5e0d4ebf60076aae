"""What the learner sees while a demo trains, and the tables around it.

Renderers (``render_*``) return rich objects. The three reporters are the display side of the
engine (:class:`tutor.training.engine.Reporter`) and print through :mod:`tutor.console`:

- :class:`LiveReporter` (a terminal): a rich Live view - progress bar, metrics table, braille line
  charts of the curves and, for 2-D data, a half-block heat map of the decision boundary with the
  data points - refreshed at most 8 times a second.
- :class:`PlainReporter` (not a terminal): one plain line per epoch (at most ~50 per model per
  run, always the last), no cursor codes.
- :class:`JsonReporter` (``--json``): one JSON object per line per epoch; notes go to stderr.

``NO_COLOR`` gives a monochrome boundary with one glyph per class and dashed second curves.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np
from rich import box
from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from tutor.training.session import DemoReporter

# Class colours (RGB): blue, orange, green, magenta; series colours for the curves.
CLASS_RGB = [(66, 133, 244), (244, 140, 40), (52, 168, 83), (200, 70, 200)]
POINT_RGB = [(20, 60, 170), (170, 70, 0), (10, 100, 40), (120, 20, 120)]
SERIES_STYLES = ["cyan", "magenta", "green", "yellow", "blue", "red"]
REGION_GLYPHS = ["·", "▒", "+", "="]
POINT_GLYPHS = ["o", "x", "*", "#"]
MAX_REFRESH_PER_S = 8.0
MAX_PLAIN_LINES = 50


def no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


# --------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------


def fmt_pct(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def fmt_loss(value) -> str:
    return "—" if value is None else f"{value:.4f}"


def fmt_rate(value) -> str:
    if not value:
        return "—"
    if value >= 1e6:
        return f"{value / 1e6:.2f}M/s"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k/s"
    return f"{value:.0f}/s"


def fmt_seconds(value) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def epoch_line(record, named: bool = False) -> str:
    """One plain line for an epoch (no styling)."""
    width = len(str(record.epochs))
    parts = [f"{record.model}: " if named else "", f"epoch {record.epoch:>{width}}/{record.epochs}"]
    parts.append(f"  train loss {fmt_loss(record.train_loss)}")
    if record.train_acc is not None:
        parts.append(f" acc {fmt_pct(record.train_acc)}")
    if record.val_loss is not None:
        parts.append(f"  val loss {fmt_loss(record.val_loss)}")
    if record.val_acc is not None:
        parts.append(f" acc {fmt_pct(record.val_acc)}")
    for key, value in list(record.extra.items())[:4]:
        if isinstance(value, (int, float)):
            parts.append(f"  {key} {value:.4g}")
    parts.append(f"  {fmt_seconds(record.seconds)}  {fmt_rate(record.samples_per_s)}")
    if record.stopped:
        parts.append("  (early stop)")
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# Decision boundary (half blocks) and line charts (braille)
# --------------------------------------------------------------------------------------------


def _blend(rgb, strength: float) -> tuple[int, int, int]:
    """Class colour faded towards a light grey as confidence drops."""
    base = (236, 236, 236)
    s = max(0.0, min(1.0, strength))
    return tuple(int(b + (c - b) * s) for b, c in zip(base, rgb))


def _rgb(c) -> str:
    return f"rgb({c[0]},{c[1]},{c[2]})"


def render_boundary(grid: np.ndarray, boundary, *, color: bool | None = None, title: str = "",
                    max_points: int | None = None) -> Text:
    """A heat map of class probabilities ``grid`` (rows, cols, C) with ``boundary``'s points on it.

    In colour each character is ``▀`` with the top pixel as foreground and the bottom pixel as
    background (so ``rows`` should be twice the lines wanted); a data point is one pixel in its
    class's dark colour, so the regions stay visible. Without colour each character is one cell:
    ``·`` / ``▒`` for the regions, ``o`` / ``x`` for (at most ``max_points``, default a quarter of
    the cells) points, blank where the net is unsure.
    """
    color = (not no_color()) if color is None else color
    rows, cols, n_classes = grid.shape
    winner = grid.argmax(axis=-1)  # (rows, cols)
    confidence = grid.max(axis=-1)  # (rows, cols) in [1/C, 1]
    strength = (confidence - 1.0 / n_classes) / (1.0 - 1.0 / n_classes) * 0.85 + 0.15  # (rows, cols)
    x0, x1, y0, y1 = boundary.extent
    px = np.rint((boundary.x[:, 0] - x0) / (x1 - x0) * (cols - 1)).astype(int)  # (N,) column of each point
    py = np.rint((y1 - boundary.x[:, 1]) / (y1 - y0) * (rows - 1)).astype(int)  # (N,) pixel row
    inside = (px >= 0) & (px < cols) & (py >= 0) & (py < rows)
    text = Text()
    if title:
        text.append(title + "\n", style="bold")
    if color:
        pixels = np.empty((rows, cols, 3), dtype=np.int64)  # (rows, cols, RGB)
        base = np.array([236, 236, 236])
        palette = np.array(CLASS_RGB)  # (4, 3)
        pixels[:] = base + (palette[winner % 4] - base) * strength[..., None]
        pixels[py[inside], px[inside]] = np.array(POINT_RGB)[boundary.y[inside] % 4]
        for line in range(rows // 2):
            top, bottom = pixels[2 * line], pixels[min(2 * line + 1, rows - 1)]
            for col in range(cols):
                text.append("▀", style=f"{_rgb(top[col])} on {_rgb(bottom[col])}")
            if line < rows // 2 - 1:
                text.append("\n")
        return text
    limit = max_points if max_points is not None else max(1, rows * cols // 4)
    keep = np.flatnonzero(inside)
    if len(keep) > limit:
        keep = keep[np.linspace(0, len(keep) - 1, limit).astype(int)]
    points = {(int(py[i]), int(px[i])): int(boundary.y[i]) for i in keep}
    for line in range(rows):
        for col in range(cols):
            label = points.get((line, col))
            if label is not None:
                text.append(POINT_GLYPHS[label % 4])
            elif confidence[line, col] < 0.5 + 0.1 / n_classes:
                text.append(" ")
            else:
                text.append(REGION_GLYPHS[int(winner[line, col]) % 4])
        if line < rows - 1:
            text.append("\n")
    return text


_BRAILLE_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # [row][col] inside a cell


def render_chart(series: list[tuple[str, list[float]]], width: int = 40, height: int = 8, *,
                 title: str = "", color: bool | None = None, log: bool = False) -> Text:
    """A braille line chart of one or more series (``[(label, values), ...]``, values may hold None).

    Each character holds 2x4 dots, so the plot has ``2*width`` x ``4*height`` dots. Without colour
    the second and later series are dashed so they can be told apart.
    """
    color = (not no_color()) if color is None else color
    clean = [(label, [v for v in values if v is not None and math.isfinite(v)]) for label, values in series]
    clean = [(label, values) for label, values in clean if values]
    text = Text()
    if title:
        text.append(title, style="bold")
        for i, (label, _) in enumerate(clean):
            style = SERIES_STYLES[i % len(SERIES_STYLES)] if color else ""
            marker = "──" if (color or i == 0) else "╌╌"
            text.append(f"  {marker} {label}", style=style)
        text.append("\n")
    if not clean:
        text.append("(no data yet)")
        return text
    transform = (lambda v: math.log10(max(v, 1e-12))) if log else (lambda v: v)
    all_values = [transform(v) for _, values in clean for v in values]
    lo, hi = min(all_values), max(all_values)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    n_max = max(len(values) for _, values in clean)
    dots_w, dots_h = 2 * width, 4 * height
    cells = [[0] * width for _ in range(height)]
    owner = [[-1] * width for _ in range(height)]
    for index, (_, values) in enumerate(clean):
        pixels = []
        step = max(1, len(values) // (2 * dots_w))  # long runs: about two values per dot column
        for i in list(range(0, len(values), step)) + ([len(values) - 1] if (len(values) - 1) % step else []):
            v = values[i]
            px = int(round(i / max(n_max - 1, 1) * (dots_w - 1)))
            py = int(round((hi - transform(v)) / (hi - lo) * (dots_h - 1)))
            pixels.append((px, py))
        dashed = index > 0 and not color
        count = 0
        for (ax, ay), (bx, by) in zip(pixels, pixels[1:] or pixels):
            steps = max(abs(bx - ax), abs(by - ay), 1)
            for s in range(steps + 1):
                x = ax + (bx - ax) * s // steps
                y = ay + (by - ay) * s // steps
                count += 1
                if dashed and count % 4 >= 2:
                    continue
                cells[y // 4][x // 2] |= _BRAILLE_BITS[y % 4][x % 2]
                owner[y // 4][x // 2] = index
    fmt = (lambda v: f"{10 ** v:.3g}") if log else (lambda v: f"{v:.3g}")
    top_label, bottom_label = fmt(hi), fmt(lo)
    pad = max(len(top_label), len(bottom_label))
    for r in range(height):
        label = top_label if r == 0 else bottom_label if r == height - 1 else ""
        text.append(f"{label:>{pad}} ┤" if label else " " * pad + " │", style="dim")
        for c in range(width):
            ch = chr(0x2800 + cells[r][c]) if cells[r][c] else " "
            style = SERIES_STYLES[owner[r][c] % len(SERIES_STYLES)] if color and owner[r][c] >= 0 else ""
            text.append(ch, style=style)
        text.append("\n")
    axis = f"1{' ' * max(0, width - len(str(n_max)) - 1)}{n_max}"
    text.append(" " * pad + " └" + "─" * width + "\n", style="dim")
    text.append(" " * (pad + 2) + axis + " epoch", style="dim")
    return text


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def render_metrics_table(records: dict) -> Table:
    """Latest metrics per model: ``records`` maps model name -> last EpochRecord."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    named = len(records) > 1
    if named:
        table.add_column("model", style="cyan")
    for col in ("epoch", "train loss", "train acc", "val loss", "val acc", "time/epoch", "samples/s"):
        table.add_column(col, justify="right")
    for name, r in records.items():
        row = [f"{r.epoch}/{r.epochs}", fmt_loss(r.train_loss), fmt_pct(r.train_acc), fmt_loss(r.val_loss),
               fmt_pct(r.val_acc), fmt_seconds(r.seconds), fmt_rate(r.samples_per_s)]
        if named:
            row.insert(0, name + (" ■" if r.stopped else ""))
        table.add_row(*row)
    return table


def render_header(header: dict) -> Text:
    text = Text()
    text.append(f"{header['demo']}", style="bold cyan")
    text.append(f"  {header['title']}\n", style="bold")
    text.append("device: ", style="dim")
    text.append(header["device_label"], style="bold")
    text.append(f" ({header['device_reason']})\n")
    config = header.get("config", {})
    text.append("settings: ", style="dim")
    text.append("  ".join(f"{k}={_short(v)}" for k, v in config.items() if v is not None))
    if header.get("quick"):
        text.append("  (--quick)", style="yellow")
    return text


def _short(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


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


def render_footer(outcome, plot_path=None) -> Text:
    text = Text()
    text.append("done ", style="bold green")
    text.append(f"in {fmt_seconds(outcome.seconds)} on {outcome.device_label}")
    text.append(f"  ·  {fmt_rate(outcome.samples_per_s).replace('/s', '')} samples/s\n")
    text.append("result: ", style="dim")
    text.append(headline(outcome.metrics), style="bold")
    models = outcome.metrics.get("models")
    if isinstance(models, dict):
        for name, final in models.items():
            text.append(f"\n  {name}: ", style="cyan")
            text.append(f"val loss {fmt_loss(final.get('val_loss'))}  val acc {fmt_pct(final.get('val_acc'))}"
                        f"  train acc {fmt_pct(final.get('train_acc'))}  epochs {final.get('epochs_run')}")
            if final.get("stopped_epoch"):
                text.append(f" (stopped early at {final['stopped_epoch']})")
    if plot_path:
        text.append(f"\nplot saved to {plot_path}", style="dim")
    text.append("\nrecorded in your demo journal (dnn-tutor demo --history)", style="dim")
    return text


def render_demo_list(demos) -> Table:
    table = Table(title="Demos (run one: dnn-tutor demo <id>)", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("lesson")
    table.add_column("what it shows")
    table.add_column("CPU time", justify="right", no_wrap=True)
    for d in demos:
        table.add_row(d.id, d.lesson, d.shows, d.cpu_time)
    return table


def _varying_settings(runs) -> dict[int, str]:
    """Per run, the settings worth reading: those that differ between runs of the same demo
    (always including epochs and lr when present), so runs can be compared at a glance."""
    skip = {"seed", "data_dir"}
    by_demo: dict[str, list] = {}
    for run in runs:
        by_demo.setdefault(run.demo_id, []).append(run)
    shown: dict[int, str] = {}
    for group in by_demo.values():
        keys = sorted({k for r in group for k in r.config})
        varying = [k for k in keys if k not in skip and len({repr(r.config.get(k)) for r in group}) > 1]
        core = [k for k in ("epochs", "lr") if k in keys and k not in varying]
        for r in group:
            chosen = core + varying
            if len(group) == 1:
                chosen = [k for k in keys if k not in skip and r.config.get(k) is not None]
            shown[r.id] = "  ".join(f"{k}={_short(r.config.get(k))}" for k in chosen)
    return shown


def render_history(runs) -> RenderableType:
    if not runs:
        return Text("No demo runs recorded yet: try dnn-tutor demo xor", style="dim")
    table = Table(title="Demo journal (most recent first; settings that differ between runs)", box=box.SIMPLE_HEAVY,
                  title_justify="left")
    table.add_column("when (UTC)", style="dim", no_wrap=True)
    table.add_column("demo", style="cyan", no_wrap=True)
    table.add_column("device", no_wrap=True)
    table.add_column("settings", overflow="fold", ratio=3)
    table.add_column("result", ratio=2)
    table.add_column("time", justify="right", no_wrap=True)
    settings = _varying_settings(runs)
    for run in runs:
        metrics = {k: v for k, v in run.metrics.items() if k.endswith("acc") or k == "test_loss"}
        result = headline(metrics)
        if isinstance(run.metrics.get("data"), str):
            result += f"  ({run.metrics['data']})"
        if run.metrics.get("stopped_epoch"):
            result += f"  stopped at {run.metrics['stopped_epoch']}"
        table.add_row(run.at[:16].replace("T", " "), run.demo_id, run.device, settings.get(run.id, ""),
                      result, fmt_seconds(run.seconds))
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
    text.append(f"device {result['device']}  ·  batch {result['batch_size']}  ·  {result['epochs']} epoch(s) x "
                f"{result['repeats']} repeats after a warm-up  ·  threads {result.get('threads', '—')}\n")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("loop")
    table.add_column("s/epoch", justify="right")
    table.add_column("samples/s", justify="right")
    table.add_column("x floor", justify="right")
    table.add_column("test acc (mean)", justify="right")
    for key in ("engine", "dataloader"):
        r = result[key]
        table.add_row(r["label"], f"{r['seconds_per_epoch']:.3f}", f"{r['samples_per_s']:,.0f}",
                      f"{r['x_floor']:.2f}" if r.get("x_floor") else "—", fmt_pct(r["test_acc"]))
    floor = result["floor"]
    summary = Text()
    summary.append("engine: data on the device, one permutation per epoch, fused optimiser, metrics read once "
                   "per epoch\nDataLoader loop: TensorDataset + DataLoader(shuffle=True), default Adam, "
                   "loss.item() per batch\n", style="dim")
    summary.append(f"engine / DataLoader: {result['speedup']:.2f}x faster\n", style="bold green" if result["speedup"] >= 1 else "bold red")
    summary.append(
        f"arithmetic floor: {floor['flops_per_epoch'] / 1e9:.2f} GFLOP per epoch / {floor['matmul_gflops']:.1f} GFLOP/s "
        f"measured matmul rate = {floor['seconds_per_epoch']:.3f} s/epoch"
    )
    return Group(text, table, summary)


# --------------------------------------------------------------------------------------------
# Reporters
# --------------------------------------------------------------------------------------------


class PlainReporter(DemoReporter):
    """Not a terminal: plain lines, at most ~50 epoch lines per model, always the last epoch."""

    def __init__(self):
        self.every = 1
        self.named = False

    def _print(self, line: str) -> None:
        from tutor import console

        console.out(Text(line), soft_wrap=True)

    def run_start(self, header):
        from tutor import console

        console.out(render_header(header), soft_wrap=True)

    def fit_start(self, info):
        self.every = max(1, math.ceil(info.epochs * len(info.names) / (MAX_PLAIN_LINES - 2 * len(info.names))))
        self.named = len(info.names) > 1
        if info.title:
            self._print(info.title)

    def epoch_end(self, record, view):
        if record.epoch == 1 or record.last or record.epoch % self.every == 0:
            self._print(epoch_line(record, self.named))

    def note(self, text):
        self._print(f"note: {text}")


class JsonReporter(DemoReporter):
    """``--json``: one compact JSON object per epoch on stdout; notes on stderr."""

    def __init__(self, demo_id: str):
        self.demo_id = demo_id

    def epoch_end(self, record, view):
        sys.stdout.write(json.dumps({"type": "epoch", "demo": self.demo_id, **record.to_dict()}, default=str) + "\n")
        sys.stdout.flush()

    def note(self, text):
        from tutor import console

        console.err(Text(f"note: {text}"))


class LiveReporter(DemoReporter):
    """A terminal: a rich Live view refreshed at most :data:`MAX_REFRESH_PER_S` times a second."""

    def __init__(self):
        from tutor import console

        self.console = console.stdout_console()
        self.live = None
        self.info = None
        self.records: dict = {}
        self.histories: dict[str, list] = {}
        self.grids: dict[str, np.ndarray] = {}
        self.batch: tuple[int, int] | None = None
        self.last_refresh = 0.0
        self.started = 0.0
        self.previous: list[tuple[str, list]] = []  # (label, history) of earlier fits in this run

    # -- layout ----------------------------------------------------------------
    def _sizes(self) -> tuple[int, int, int]:
        width = self.console.width or 100
        side = width >= 96 and self.info is not None and self.info.boundary is not None
        board = min(44, max(24, (width - 6) // 2 - 6)) if side else min(60, width - 4)
        chart = max(20, (width - board - 16) if side else width - 14)
        return board, min(chart, 60), width

    def _progress(self) -> RenderableType:
        info = self.info
        epochs = info.epochs
        done = max((r.epoch for r in self.records.values()), default=0)
        fraction = done / max(epochs, 1)
        if self.batch and done < epochs:
            b, nb = self.batch
            fraction = (done + b / nb) / max(epochs, 1)
        elapsed = time.perf_counter() - self.started
        eta = elapsed / fraction * (1 - fraction) if fraction > 0 else None
        grid = Table.grid(padding=(0, 1))
        grid.add_column()
        grid.add_column()
        grid.add_column()
        label = Text(f"epoch {done}/{epochs}", style="bold")
        bar = ProgressBar(total=1.0, completed=min(fraction, 1.0), width=30)
        grid.add_row(label, bar, Text(f"{100 * fraction:.0f}%  {fmt_seconds(elapsed)} elapsed"
                                      + (f", ~{fmt_seconds(eta)} left" if eta is not None and fraction < 1 else ""),
                                      style="dim"))
        return grid

    def _charts(self, width: int) -> RenderableType:
        names = list(self.histories)
        several = len(names) > 1
        loss_series, acc_series = [], []
        for name in names:
            hist = self.histories[name]
            prefix = f"{name} " if several else ""
            if not several:
                loss_series.append((f"{prefix}train", [r.train_loss for r in hist]))
            if self.info.has_val:
                loss_series.append((f"{prefix}val" if not several else name, [r.val_loss for r in hist]))
            if hist and hist[-1].train_acc is not None:
                if not several:
                    acc_series.append(("train", [r.train_acc for r in hist]))
                if self.info.has_val:
                    acc_series.append(("val" if not several else name, [r.val_acc for r in hist]))
        if several and not self.info.has_val:
            loss_series = [(n, [r.train_loss for r in self.histories[n]]) for n in names]
        # Earlier fits of this demo (run one after another) stay on the charts for comparison.
        key = "val_loss" if self.info.has_val else "train_loss"
        for label, hist in reversed(self.previous[-3:]):
            loss_series.insert(0, (label, [getattr(r, key) for r in hist]))
            if acc_series and hist and hist[-1].train_acc is not None:
                acc_series.insert(0, (label, [r.val_acc if self.info.has_val else r.train_acc for r in hist]))
        parts = [render_chart(loss_series, width, 7, title="loss" + (" (val)" if several and self.info.has_val else ""),
                              log=True)]
        if acc_series:
            parts.append(render_chart(acc_series, width, 5, title="accuracy" + (" (val)" if several else "")))
        return Group(*parts)

    def _view(self) -> RenderableType:
        board, chart, width = self._sizes()
        parts: list[RenderableType] = [self._progress(), render_metrics_table(self.records)]
        charts = self._charts(chart)
        boards = []
        if self.info.boundary is not None:
            for name, grid in self.grids.items():
                title = f"decision boundary{f' · {name}' if len(self.grids) > 1 else ''}"
                boards.append(render_boundary(grid, self.info.boundary, title=title))
        if boards and width >= 96:
            row = Table.grid(padding=(0, 3))
            row.add_column()
            row.add_column()
            row.add_row(Group(*boards[:2]), charts)
            parts.append(row)
        else:
            parts.extend(boards[:1])
            parts.append(charts)
        return Group(*parts)

    def _grid_size(self) -> tuple[int, int]:
        board, _, width = self._sizes()
        n = max(1, len(self.info.names))
        height = self.console.height or 40
        # Fit the terminal: beside the charts (wide) the board has the charts' height to itself;
        # stacked above them (narrow) it shares the screen with ~30 lines of table and charts.
        spare = height - (10 if width >= 96 else 32)
        lines = max(6, min(16 if n == 1 else 9, spare if n == 1 else spare // 2))
        return board, (2 * lines if not no_color() else lines)

    # -- reporter --------------------------------------------------------------
    def run_start(self, header):
        self.console.print(render_header(header))

    def fit_start(self, info):
        from rich.live import Live

        self.info = info
        self.records, self.histories, self.grids = {}, {n: [] for n in info.names}, {}
        self.batch = None
        self.started = time.perf_counter()
        if info.title:
            self.console.print(Text(info.title, style="bold"))
        self.live = Live(self._progress(), console=self.console, auto_refresh=False, transient=False,
                         redirect_stdout=False, redirect_stderr=False)
        self.live.start()

    def batch_end(self, name, epoch, batch, n_batches):
        self.batch = (batch, n_batches)
        now = time.perf_counter()
        if now - self.last_refresh >= 1.0 / MAX_REFRESH_PER_S and self.records:
            self._refresh(now)

    def epoch_end(self, record, view):
        self.batch = None
        self.records[record.model] = record
        self.histories.setdefault(record.model, []).append(record)
        now = time.perf_counter()
        due = now - self.last_refresh >= 1.0 / MAX_REFRESH_PER_S
        if due or record.last or record.model not in self.grids:
            if self.info.boundary is not None:
                w, h = self._grid_size()
                self.grids[record.model] = view.boundary_grid(w, h)
            if due or record.last:
                self._refresh(now)

    def _refresh(self, now: float) -> None:
        if self.live is not None:
            self.live.update(self._view(), refresh=True)
        self.last_refresh = now

    def fit_end(self, results):
        if self.live is not None:
            self.live.update(self._view(), refresh=True)
            self.live.stop()
            self.live = None
        for result in results:
            label = result.name if len(results) > 1 or not self.info.title else self.info.title
            self.previous.append((label[:24], result.history))

    def note(self, text):
        line = Text("note: ", style="dim")
        line.append(text)
        if self.live is not None:
            self.live.console.print(line)
        else:
            self.console.print(line)

    def close(self):
        if self.live is not None:
            self.live.stop()
            self.live = None


def make_reporter(demo_id: str, as_json: bool) -> DemoReporter:
    """JSON for ``--json``, the live view in a terminal, plain lines otherwise."""
    if as_json:
        return JsonReporter(demo_id)
    if sys.stdout.isatty() and os.environ.get("TERM", "") != "dumb":
        return LiveReporter()
    return PlainReporter()
