"""The three displays of a training demo (the reporters the engine and the session talk to).

- :class:`LiveReporter` (a terminal): ONE rich Live view for the whole run - progress bar (with
  "fit k of n" when a demo trains several times), metrics table, braille line charts and, for 2-D
  data, a half-block heat map of the decision boundary - sized to the terminal, refreshed at most
  8 times a second. Notes print above it. The last frame stays on screen and may scroll, so it
  keeps both charts where the terminal is too short to show them while training.
- :class:`PlainReporter` (not a terminal): plain lines, no cursor codes: at most ~50 epoch lines
  per model, always the last; a demo that trains many times gets one line per training.
- :class:`JsonReporter` (``--json``): one JSON object per line per epoch; notes go to stderr.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from tutor.render.rasters import render_boundary, render_chart
from tutor.render.training import (
    epoch_line, fmt_loss, fmt_pct, fmt_seconds, precision_phrase, render_header, render_metrics_table,
    render_result_table, render_title,
)
from tutor.training.session import DemoReporter, finite

MAX_REFRESH_PER_S = 8.0
MAX_PLAIN_LINES = 50
# What follows the last frame of a live view: the footer (six lines at 60 columns: the time, the result, how the
# train figures were measured, the journal) and the shell's prompt. The last frame leaves them room.
FOOTER_ROOM = 7
SIDE_WIDTH = 76  # from this width the boundary sits beside the charts while training
FINAL_SIDE_WIDTH = 56  # the last frame of a one-model view puts them side by side from here: it then fits 24 lines


class PlainReporter(DemoReporter):
    """Not a terminal: plain lines, at most ~50 epoch lines per model, always the last epoch."""

    draws_pictures = False  # no curves, no boundary: the footer says how to see them (--save-plot)

    def __init__(self):
        self.every = 1
        self.named = False
        self.fits = 1
        self.fit_index = 0
        self.title = ""
        self.held = "val"  # what the held-out set is called (the session says: "val" or "test")

    def _print(self, line: str) -> None:
        from tutor import console

        console.out(Text(line), soft_wrap=self._soft_wrap())

    @staticmethod
    def _width() -> int | None:
        """The terminal's width (TERM=dumb), which an epoch line must fit; None off a terminal."""
        from tutor import console

        out = console.stdout_console()
        return out.width if out.is_terminal else None

    @staticmethod
    def _soft_wrap() -> bool:
        """Piped or to a file: one line per record, however long. In a terminal (TERM=dumb gets this
        reporter too): wrapped at spaces, or the terminal would break a number in two at its edge."""
        from tutor import console

        return not console.stdout_console().is_terminal

    def run_start(self, header):
        from tutor import console

        console.out(render_header(header), soft_wrap=self._soft_wrap())

    def plan(self, fits):
        self.fits = max(1, fits)

    def held_out(self, name):
        self.held = name

    def fit_start(self, info):
        self.fit_index += 1
        self.title = info.title
        self.every = max(1, math.ceil(info.epochs * len(info.names) / (MAX_PLAIN_LINES - 2 * len(info.names))))
        self.named = len(info.names) > 1
        if info.title and self.fits == 1:
            self._print(info.title)

    def epoch_end(self, record, view):
        if self.fits > 1:
            return
        if record.epoch == 1 or record.last or record.epoch % self.every == 0:
            self._print(epoch_line(record, self.named, self._width(), self.held))

    def fit_end(self, results):
        if self.fits <= 1:
            return
        parts = []
        for r in results:
            acc = f" acc {fmt_pct(r.final.get('train_acc'))}" if r.final.get("train_acc") is not None else ""
            parts.append(f"{r.name} loss {fmt_loss(r.final.get('train_loss'))}{acc}")
        width = len(str(self.fits))
        self._print(f"fit {self.fit_index:>{width}}/{self.fits} {self.title}: " + ", ".join(parts)
                    + f" ({results[0].epochs_run} epochs)")

    def note(self, text):
        self._print(f"note: {text}")


class JsonReporter(DemoReporter):
    """``--json``: one compact JSON object per epoch on stdout; notes on stderr."""

    draws_pictures = True  # the JSON holds the numbers: no hint about pictures

    def __init__(self, demo_id: str):
        self.demo_id = demo_id

    def run_start(self, header):
        """No header on stdout (it is JSON); a precision that slows the run down is said on stderr."""
        from tutor import console

        phrase = precision_phrase(header)
        if "emulated" in phrase:
            console.err(Text(f"note: precision {phrase}"))

    def epoch_end(self, record, view):
        from tutor import console

        line = finite({"type": "epoch", "demo": self.demo_id, **record.to_dict()})
        console.write_out(json.dumps(line, default=str, allow_nan=False) + "\n", flush=True)

    def note(self, text):
        from tutor import console

        console.err(Text(f"note: {text}"))


class LiveReporter(DemoReporter):
    """A terminal: one rich Live view per run, refreshed at most :data:`MAX_REFRESH_PER_S` times a second."""

    draws_pictures = True

    def __init__(self):
        from tutor import console

        self.console = console.stdout_console()
        self.live = None
        self.header: dict = {}
        self.held = "val"  # what the held-out set is called (the session says: "val" or "test")
        self.printed = 0  # lines printed above the view (header, notes): they scroll away first
        self.above: list[RenderableType] = []  # the header and the notes, to print again after a resize
        self.drawn_size: tuple[int, int] | None = None  # the terminal's size when the view was last drawn
        self.title_again = False  # the last frame repeats the header's title line (the header scrolled away)
        self.views: dict[str, Any] = {}  # model -> the last EpochView (to draw its boundary at the last frame's size)
        self.fit_done = False  # the fit shown ran to its end
        self.run_seconds: float | None = None  # the run's own time, once it has ended
        self.info: Any = None  # the engine's FitInfo of the fit being shown
        self.records: dict = {}
        self.histories: dict[str, list] = {}
        self.grids: dict[str, Any] = {}
        self.batch: tuple[int, int] | None = None
        self.last_refresh = 0.0
        self.started = time.perf_counter()
        self.fits = 1
        self.fit_index = 0
        self.partial_table: dict | None = None
        self.boards: dict[str, tuple] = {}  # model -> (grid, its rasterised Text)
        self.closed = False
        self._suspend_saved: Any = None  # the SIGTSTP handler to put back (see _catch_suspend)
        self._writing = False  # a frame is being written: Ctrl-Z waits for its end (no half-written character)
        self._suspend_due = False

    # -- layout ----------------------------------------------------------------
    @property
    def color(self) -> bool:
        from tutor.render.rasters import plain_text

        return not self.console.no_color and self.console.color_system is not None and not plain_text()

    def _size(self) -> tuple[int, int]:
        return max(40, self.console.width or 80), max(16, self.console.height or 24)

    def _budget(self, final: bool = False, left: int = 0) -> dict:
        """Lines and columns for the boundary and the charts, so the whole view fits the terminal.

        ``left``: the width the boundaries beside the charts really take (their key line can be wider
        than the picture), when it is known. The last frame (``final``) of a run without a results table
        leaves :data:`FOOTER_ROOM` lines for the footer, so that the title, the boundary and both charts are
        on the last screen."""
        width, height = self._size()
        names = list(self.info.names) if self.info else ["model"]
        has_board = self.info is not None and self.info.boundary is not None
        compact = final and self._compact_end()
        if compact:
            spare = max(4, height - FOOTER_ROOM - self._fixed_lines(width))
            side = has_board and (width >= SIDE_WIDTH or (width >= FINAL_SIDE_WIDTH and len(names) == 1))
        else:
            used = 1 + (1 if self.fits > 1 or (self.info and self.info.title) else 0) + 3 + len(names)
            if self._shows_table(final) and self.partial_table:
                used += len(self.partial_table["rows"]) + 5
            spare = max(4, height - used - 1)
            side = has_board and width >= SIDE_WIDTH
        board_lines, chart_spare = 0, spare
        if has_board:
            board_lines = max(4, min(16, spare - 2 if side else (spare - 2) // 2))  # less its title and key lines
            if not side:
                chart_spare = spare - board_lines - 1
        stacked = side and len(names) > 1  # two models' boundaries one above the other beside the charts
        per_board = max(4, board_lines // 2 - 2) if stacked else board_lines
        # A character is about half as wide as tall: 2 columns per line keep the picture square.
        board_cols = max(16, min(44, 2 * per_board, (width // 2 - 4) if side else width - 2))
        room = (width - max(board_cols, left) - 3) if side else width
        chart_cols = max(16, min(60, room - 11))  # less the axis labels ("-1.23e-05 ┤")
        train_label = "train (running)"
        if len(names) == 1 and len(f"accuracy  ── {train_label}  ── {self.held}") > room:
            train_label = "train"  # a legend on two lines costs each chart a line; the footer says how train was measured
        if len(names) > 1:
            legend = len("accuracy (train, running)") + sum(len(n) + 5 for n in names)
        else:
            legend = len(f"accuracy  ── {train_label}  ── {self.held}")
        overhead = 2 + math.ceil(legend / room)  # title and legend lines, the axis and its labels
        has_acc = bool(self.records) and any(r.train_acc is not None for r in self.records.values())
        if has_acc and chart_spare >= 2 * overhead + 5:
            loss_h = min(7, (chart_spare - 2 * overhead + 1) // 2)
            acc_h = min(5, chart_spare - 2 * overhead - loss_h)
        else:
            loss_h, acc_h = min(7, chart_spare - overhead), 0
        if final:  # the last frame stays on screen and may scroll: both charts, each readable
            least = 3 if compact else 4
            loss_h, acc_h = max(loss_h, least), (max(acc_h, least) if has_acc else 0)
        return {"side": side, "board_lines": per_board, "board_cols": board_cols, "chart_cols": chart_cols,
                "loss_h": max(0, loss_h), "acc_h": max(0, acc_h), "width": width, "train_label": train_label}

    def _compact_end(self) -> bool:
        """Whether the last frame is sized to share the last screen with the footer: not where a results table
        (and heat maps) come after it, which take that screen whatever the frame does."""
        return not self.partial_table

    def _fixed_lines(self, width: int) -> int:
        """The last frame's lines above the pictures: the title again (when it is repeated), the progress
        bar, the fit's title and the metrics table as it is drawn at ``width``."""
        lines = 1 + (1 if self.fits > 1 or (self.info and self.info.title) else 0)
        if self.title_again and self.header:
            lines += self._lines(render_title(self.header), width)
        if self.records and self.info is not None:
            table = render_metrics_table(self.records, width, self.info.has_val, self.held)
            lines += self._lines(table, width)
        return lines

    def _lines(self, renderable: RenderableType, width: int | None = None) -> int:
        options = self.console.options if width is None else self.console.options.update_width(width)
        return len(self.console.render_lines(renderable, options, pad=False))

    def _shows_table(self, final: bool) -> bool:
        """The results so far, under the view, while a demo that trains many times is running."""
        return bool(self.partial_table) and self.fits > 1 and not final

    def _progress(self) -> RenderableType:
        epochs = self.info.epochs if self.info else 1
        done = max((r.epoch for r in self.records.values()), default=0)
        fraction = done / max(epochs, 1)
        if self.batch and done < epochs:
            b, nb = self.batch
            fraction = (done + b / nb) / max(epochs, 1)
        overall = (max(self.fit_index - 1, 0) + min(fraction, 1.0)) / self.fits
        elapsed = self.run_seconds if self.run_seconds is not None else time.perf_counter() - self.started
        eta = elapsed / overall * (1 - overall) if overall > 0 else None
        width, _ = self._size()
        grid = Table.grid(padding=(0, 1))
        for _ in range(3):
            grid.add_column(no_wrap=True)
        label = f"fit {self.fit_index}/{self.fits} " if self.fits > 1 else ""
        bar = ProgressBar(total=1.0, completed=min(overall, 1.0), width=max(8, min(30, width - 48)))
        tail = f"{100 * overall:.0f}%  {fmt_seconds(elapsed)}" + (f", ~{fmt_seconds(eta)} left" if eta and overall < 1 else "")
        grid.add_row(Text(f"{label}epoch {done}/{epochs}", style="bold"), bar, Text(tail, style="dim"))
        return grid

    def _charts(self, b: dict) -> list[RenderableType]:
        names = list(self.histories)
        several = len(names) > 1
        has_val = self.info.has_val
        train = b.get("train_label", "train (running)")
        loss_series, acc_series = [], []
        for name in names:
            hist = self.histories[name]
            key = "val" if has_val else "train"
            if several:
                loss_series.append((name, [getattr(r, f"{key}_loss") for r in hist]))
                if hist and hist[-1].train_acc is not None:
                    acc_series.append((name, [getattr(r, f"{key}_acc") for r in hist]))
            else:
                loss_series.append((train, [r.train_loss for r in hist]))
                if has_val:
                    loss_series.append((self.held, [r.val_loss for r in hist]))
                if hist and hist[-1].train_acc is not None:
                    acc_series.append((train, [r.train_acc for r in hist]))
                    if has_val:
                        acc_series.append((self.held, [r.val_acc for r in hist]))
        which = (f" ({self.held})" if has_val else " (train, running)") if several else ""
        parts: list[RenderableType] = []
        if b["loss_h"] >= 2:
            parts.append(render_chart(loss_series, b["chart_cols"], b["loss_h"], title="loss" + which, log=True,
                                      color=self.color))
        if acc_series and b["acc_h"] >= 2:
            parts.append(render_chart(acc_series, b["chart_cols"], b["acc_h"], title="accuracy" + which, color=self.color))
        return parts

    def _view(self, final: bool = False) -> RenderableType:
        if self.info is None:
            return Text("getting the data and the network ready...", style="dim")
        b = self._budget(final)
        parts: list[RenderableType] = [render_title(self.header)] if final and self.title_again and self.header else []
        parts.append(self._progress())
        if self.info and (self.fits > 1 or self.info.title):
            parts.append(Text(self.info.title, style="bold"))
        if self.records:
            parts.append(render_metrics_table(self.records, b["width"], self.info.has_val, self.held))
        boards = []
        if self.info and self.info.boundary is not None:
            for name, grid in list(self.grids.items())[:2 if b["side"] else 1]:
                cached = self.boards.get(name)
                if cached is None or cached[0] is not grid:  # rasterise a grid once, however often it is shown
                    titles = [f"boundary · {name}", name] if len(self.grids) > 1 else ["decision boundary", "boundary"]
                    title = next((t for t in titles if len(t) <= b["board_cols"]), titles[-1][:b["board_cols"]])
                    cached = self.boards[name] = (grid, render_boundary(grid, self.info.boundary, title=title,
                                                                        color=self.color, key=True))
                boards.append(cached[1])
        if boards and b["side"]:
            left = max(cell_len(line) for board in boards for line in board.plain.split("\n"))
            if left > b["board_cols"]:
                b = self._budget(final, left=left)
        charts = self._charts(b) if self.records else []
        if boards and b["side"]:
            row = Table.grid(padding=(0, 3))
            row.add_column()
            row.add_column()
            row.add_row(Group(*boards), Group(*charts))
            parts.append(row)
        else:
            parts.extend(boards + charts)
        if self._shows_table(final) and self.partial_table:
            parts.append(render_result_table({**self.partial_table, "caption": ""}, b["width"]))
        return Group(*parts)

    def _grid_shape(self, final: bool = False) -> tuple[int, int]:
        b = self._budget(final)
        return b["board_cols"], (2 * b["board_lines"] if self.color else b["board_lines"])

    def _fit_boards(self) -> None:
        """Draw each boundary again at the last frame's size (the live frame's may be taller than the last
        screen has room for), from the weights the fit ended with. Only after a fit that ran to its end."""
        if not self.fit_done or self.info is None or self.info.boundary is None or not self._compact_end():
            return
        w, h = self._grid_shape(final=True)
        for name, view in self.views.items():
            grid = self.grids.get(name)
            if grid is not None and tuple(grid.shape[:2]) == (h, w):
                continue
            try:
                self.grids[name] = view.boundary_grid(w, h)
            except Exception:  # noqa: BLE001 - the picture drawn while training stays
                pass

    # -- reporter --------------------------------------------------------------
    def run_start(self, header):
        self.started = header.get("started", time.perf_counter())
        self.header = header
        shown = render_header(header)
        self.console.print(shown)
        self.printed += self._lines(shown)
        self.above.append(shown)
        self._start_live()
        self._catch_suspend()

    def _start_live(self) -> None:
        from rich.live import Live

        self.live = Live(self._view(), console=self.console, auto_refresh=False, transient=False,
                         redirect_stdout=False, redirect_stderr=False, vertical_overflow="crop")
        self.live.start()

    def _catch_suspend(self) -> None:
        """Ctrl-Z: leave the view as it stands with the cursor shown (the shell's prompt is usable), stop,
        and on ``fg`` go on drawing below the prompt. Without this the shell came back with no cursor."""
        import signal

        self._suspend_saved = None
        if not hasattr(signal, "SIGTSTP"):
            return
        try:
            if signal.getsignal(signal.SIGTSTP) == signal.SIG_DFL:
                signal.signal(signal.SIGTSTP, self._suspend)
                self._suspend_saved = signal.SIG_DFL
        except (ValueError, OSError):  # not the main thread: the default (stop) stays
            pass

    def _suspend(self, signum, _frame) -> None:
        if self._writing:  # mid-write (a character may be half out): stop once this frame is written
            self._suspend_due = True
            return
        self._stop_here()

    def _stop_here(self) -> None:
        import os
        import signal

        self._suspend_due = False
        if self.live is not None:
            self.live.stop()
            self.live = None
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here until SIGCONT
        signal.signal(signal.SIGTSTP, self._suspend)
        if self.closed:
            return
        self._start_live()
        self._refresh(time.perf_counter())

    def plan(self, fits):
        self.fits = max(1, fits)

    def held_out(self, name):
        self.held = name

    def fit_start(self, info):
        self.info = info
        self.fit_index += 1
        self.records, self.histories, self.grids, self.boards = {}, {n: [] for n in info.names}, {}, {}
        self.views, self.fit_done = {}, False
        self.batch = None
        self._refresh(time.perf_counter())

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
                w, h = self._grid_shape()
                self.grids[record.model] = view.boundary_grid(w, h)
                self.views[record.model] = view
            if due or record.last:
                self._refresh(now)

    def _resized(self) -> bool:
        """Whether the terminal changed size since the view was last drawn (noted for the next call)."""
        size = (self.console.width, self.console.height)
        changed = self.drawn_size is not None and size != self.drawn_size
        self.drawn_size = size
        return changed

    def _start_over(self) -> None:
        """After a resize: a clean screen with the header, the notes and the view. Terminals that re-wrap their
        lines on a resize (tmux, iTerm2, GNOME Terminal) moved the old view, so rich's cursor no longer went back
        to its top and every frame left a stale, re-wrapped copy above the next."""
        if self.live is not None:
            self.live.update(Text(""), refresh=False)  # stop() draws the view once more: let that be nothing
            self.live.stop()
            self.live = None
        self.console.clear()  # the visible screen, cursor home (what scrolled away stays in the scrollback)
        self.printed = 0
        for shown in self.above:
            self.console.print(shown)
            self.printed += self._lines(shown)
        self._start_live()

    def _refresh(self, now: float, final: bool = False) -> None:
        if self.live is not None and self._resized():
            self._write(self._start_over)
        if self.live is not None:
            view = self._view(final)
            self._write(lambda: self.live.update(view, refresh=True))
        self.last_refresh = now

    def fit_end(self, results):
        self.fit_done = True

    def table(self, spec):
        self.partial_table = spec
        self._refresh(time.perf_counter())

    def note(self, text):
        line = Text("note: ", style="dim")
        line.append(text)
        self.printed += self._lines(line)
        self.above.append(line)
        self._write(lambda: self.console.print(line))

    def _write(self, write) -> None:
        """Write to the terminal; a Ctrl-Z that comes meanwhile stops the demo once the write is whole."""
        self._writing = True
        try:
            write()
        finally:
            self._writing = False
        if self._suspend_due:
            self._stop_here()

    def run_end(self, outcome):
        self.run_seconds = outcome.seconds  # the last frame's clock stops where the footer's does
        self.close()

    def close(self):
        self.closed = True
        if self._suspend_saved is not None:
            import signal

            try:
                signal.signal(signal.SIGTSTP, self._suspend_saved)
            except (ValueError, OSError):
                pass
            self._suspend_saved = None
        if self.live is not None and self._resized():
            self._start_over()
        if self.live is not None:
            if self.info is not None:
                self.live.update(self.final_view(), refresh=True)
            self.live.stop()
            self.live = None

    def final_view(self) -> RenderableType:
        """The frame that stays on screen: sized to leave room for the footer; where what was printed above it
        (the header, the notes) will have scrolled away by then, it starts with the title line again."""
        self.title_again = False
        self._fit_boards()
        view = self._view(final=True)
        if self.header and self._compact_end() and self.printed + self._lines(view) + FOOTER_ROOM > self._size()[1]:
            self.title_again = True
            self._fit_boards()
            view = self._view(final=True)
        return view


def make_reporter(demo_id: str, as_json: bool) -> DemoReporter:
    """JSON for ``--json``, the live view in a terminal, plain lines otherwise (pipes, TERM=dumb)."""
    if as_json:
        return JsonReporter(demo_id)
    from tutor import console

    out = console.stdout_console()
    if out.is_terminal and not out.is_dumb_terminal:
        return LiveReporter()
    return PlainReporter()
