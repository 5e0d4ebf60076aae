"""Pictures made of characters: decision boundaries, line charts, heat maps with a drawn scale, sparklines.

Each function returns a rich :class:`~rich.text.Text`. Colour follows the output console
(``NO_COLOR``, a dumb terminal or a pipe give the monochrome forms: one glyph per class, dashed
second curves); every picture keeps its meaning without colour.
"""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text

# Class colours (RGB): blue, orange, green, magenta; series colours for the curves.
CLASS_RGB = [(66, 133, 244), (244, 140, 40), (52, 168, 83), (200, 70, 200)]
POINT_RGB = [(20, 60, 170), (170, 70, 0), (10, 100, 40), (120, 20, 120)]
SERIES_STYLES = ["cyan", "magenta", "green", "yellow", "blue", "red"]
REGION_GLYPHS = ["·", "▒", "+", "="]
POINT_GLYPHS = ["o", "x", "*", "#"]
SHADES = " ░▒▓█"  # least to most ink: the scale is drawn next to every heat map, so it reads the same on any background
SPARKS = "▁▂▃▄▅▆▇█"
# Output that cannot take Unicode (PYTHONIOENCODING=ascii, a Latin-1 terminal): the same pictures in ASCII.
ASCII_REGIONS = [".", "+", ":", "="]
ASCII_MARKS = ["*", "o", "+", "x", "#", "%"]  # one mark per curve instead of braille dots
ASCII_SPARKS = "_.-:=+*#"
_BRAILLE_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # [row][col] inside a cell


def use_color() -> bool:
    """Whether the output console shows colour (the console module decides: NO_COLOR, pipes, TERM=dumb)."""
    from tutor import console

    out = console.stdout_console()
    return not out.no_color and out.color_system is not None


def plain_text() -> bool:
    """Whether the output cannot take Unicode glyphs (half blocks, braille): then ASCII pictures are drawn."""
    from tutor import console

    return not console.encodes_unicode()


def _rgb(c) -> str:
    return f"rgb({c[0]},{c[1]},{c[2]})"


def boundary_key(n_classes: int, *, color: bool, ascii: bool) -> Text:
    """One short line that says what the boundary map's colours or glyphs mean."""
    text = Text()
    for k in range(min(n_classes, 4)):
        if color:
            text.append("■", style=_rgb(np.array(CLASS_RGB[k])))
        else:
            text.append((ASCII_REGIONS if ascii else REGION_GLYPHS)[k] + POINT_GLYPHS[k])
        text.append(f" {k}  ")
    text.append("pale: unsure" if color else "blank: unsure", style="dim")
    return text


def render_boundary(grid: np.ndarray, boundary, *, color: bool | None = None, title: str = "",
                    max_points: int | None = None, ascii: bool | None = None, key: bool = False) -> Text:
    """A heat map of class probabilities ``grid`` (rows, cols, C) with ``boundary``'s points on it.

    In colour each character is ``▀`` with the top pixel as foreground and the bottom pixel as
    background (so ``rows`` should be twice the lines wanted); a data point is one pixel in its
    class's dark colour. Without colour each character is one cell: ``·`` / ``▒`` for the regions,
    ``o`` / ``x`` for (at most ``max_points``, default a quarter of the cells) points, blank where
    the net is unsure. ``ascii`` (default: when the output cannot take Unicode): the uncoloured
    form with ASCII glyphs only (``.`` / ``+`` regions). ``key``: a last line saying what the
    colours (or glyphs) mean, class by class.
    """
    ascii = plain_text() if ascii is None else ascii
    color = (use_color() if color is None else color) and not ascii
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
        levels = np.round(strength * 10) / 10  # (rows, cols) ten shades per class: neighbours share a style
        pixels[:] = base + (palette[winner % 4] - base) * levels[..., None]
        pixels[py[inside], px[inside]] = np.array(POINT_RGB)[boundary.y[inside] % 4]
        for line in range(rows // 2):
            top, bottom = pixels[2 * line], pixels[min(2 * line + 1, rows - 1)]
            col = 0
            while col < cols:  # one span per run of identical cells: far less for the terminal to draw
                end = col + 1
                while end < cols and (top[end] == top[col]).all() and (bottom[end] == bottom[col]).all():
                    end += 1
                text.append("▀" * (end - col), style=f"{_rgb(top[col])} on {_rgb(bottom[col])}")
                col = end
            if line < rows // 2 - 1:
                text.append("\n")
        if key:
            text.append("\n").append_text(boundary_key(n_classes, color=True, ascii=False))
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
                text.append((ASCII_REGIONS if ascii else REGION_GLYPHS)[int(winner[line, col]) % 4])
        if line < rows - 1:
            text.append("\n")
    if key:
        text.append("\n").append_text(boundary_key(n_classes, color=False, ascii=ascii))
    return text


def render_chart(series: list[tuple[str, list[float]]], width: int = 40, height: int = 8, *,
                 title: str = "", color: bool | None = None, log: bool = False, ascii: bool | None = None) -> Text:
    """A braille line chart of one or more series (``[(label, values), ...]``, values may hold None).

    Each character holds 2x4 dots, so the plot has ``2*width`` x ``4*height`` dots. Without colour
    the second and later series are dashed so they can be told apart. ``ascii`` (default: when the
    output cannot take Unicode): one mark per character cell, a different mark per series.
    """
    ascii = plain_text() if ascii is None else ascii
    color = use_color() if color is None else color
    clean = [(label, [v for v in values if v is not None and math.isfinite(v)]) for label, values in series]
    clean = [(label, values) for label, values in clean if values]
    text = Text()
    if title:
        text.append(title, style="bold")
        for i, (label, _) in enumerate(clean):
            style = SERIES_STYLES[i % len(SERIES_STYLES)] if color else ""
            marker = ASCII_MARKS[i % len(ASCII_MARKS)] * 2 if ascii else "──" if (color or i == 0) else "╌╌"
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
            px = int(round(i / max(n_max - 1, 1) * (dots_w - 1)))
            py = int(round((hi - transform(values[i])) / (hi - lo) * (dots_h - 1)))
            pixels.append((px, py))
        dashed = index > 0 and not color and not ascii
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
            if ascii:
                ch = ASCII_MARKS[owner[r][c] % len(ASCII_MARKS)] if cells[r][c] else " "
            else:
                ch = chr(0x2800 + cells[r][c]) if cells[r][c] else " "
            style = SERIES_STYLES[owner[r][c] % len(SERIES_STYLES)] if color and owner[r][c] >= 0 else ""
            text.append(ch, style=style)
        text.append("\n")
    room = max(0, width - len(str(n_max)) - 1)
    middle = "epoch".center(room) if room >= 7 else " " * room
    text.append(" " * pad + " └" + "─" * width + "\n", style="dim")
    text.append(" " * (pad + 2) + f"1{middle}{n_max}", style="dim")
    return text


def shade_map(values, width: int) -> list[str]:
    """A 2-D array as lines of shade glyphs, ``width`` characters wide (a character is about twice as
    tall as wide, so rows are sampled half as densely). Scaled from the array's own min to max."""
    image = np.asarray(values, dtype=np.float64)  # (H, W)
    h, w = image.shape
    rows = max(1, round(width * h / w / 2))
    ys = np.minimum((np.arange(rows) + 0.5) * h / rows, h - 1).astype(int)  # (rows,)
    xs = np.minimum((np.arange(width) + 0.5) * w / width, w - 1).astype(int)  # (width,)
    sample = image[np.ix_(ys, xs)]  # (rows, width)
    lo, hi = float(sample.min()), float(sample.max())
    if hi - lo < 1e-9:
        level = np.zeros_like(sample, dtype=int)
    else:
        level = np.round((sample - lo) / (hi - lo) * (len(SHADES) - 1)).astype(int)
    return ["".join(SHADES[v] for v in row) for row in level]


def shade_scale(low: str, high: str) -> Text:
    """The drawn legend of :func:`shade_map`: each glyph in a box, from ``low`` to ``high``."""
    text = Text("scale: ", style="dim")
    text.append(f"{low} ")
    for glyph in SHADES:
        text.append("[", style="dim")
        text.append(glyph)
        text.append("]", style="dim")
    text.append(f" {high}")
    return text


def render_heatmaps(group: dict, width: int = 80) -> Text:
    """A titled group of heat maps side by side (wrapped to ``width``) with its drawn scale.

    ``group``: ``{"title", "low", "high", "width", "panels": [{"title", "values"}]}`` (a figure a
    demo keeps, e.g. the cnn's filters and feature maps).
    """
    cell = int(group.get("width", 8))
    gap = 2
    per_row = max(1, (width + gap) // (cell + gap))
    panels = group["panels"]
    text = Text()
    text.append(group["title"] + "\n", style="bold")
    text.append_text(shade_scale(group.get("low", "low"), group.get("high", "high")))
    text.append("  (each map scaled to its own range)\n", style="dim")
    for start in range(0, len(panels), per_row):
        chunk = panels[start:start + per_row]
        blocks = [shade_map(p["values"], cell) for p in chunk]
        height = max(len(b) for b in blocks)
        text.append((" " * gap).join(str(p["title"])[:cell].ljust(cell) for p in chunk).rstrip() + "\n", style="dim")
        for i in range(height):
            text.append((" " * gap).join((b[i] if i < len(b) else "").ljust(cell) for b in blocks).rstrip() + "\n")
    text.rstrip()
    return text


def sparkline(values, lo: float, hi: float, width: int = 40, ascii: bool | None = None) -> str:
    """The values as block glyphs on a log scale from ``lo`` to ``hi`` (first value on the left), at most ``width``."""
    v = np.log10(np.maximum(np.asarray(values, dtype=np.float64), 1e-30))  # (T,)
    if len(v) > width:  # average neighbouring steps
        v = np.array([chunk.mean() for chunk in np.array_split(v, width)])
    lo_log, hi_log = np.log10(max(lo, 1e-30)), np.log10(max(hi, 1e-30))
    scaled = np.zeros_like(v) if hi_log - lo_log < 1e-12 else np.clip((v - lo_log) / (hi_log - lo_log), 0.0, 1.0)
    glyphs = ASCII_SPARKS if (plain_text() if ascii is None else ascii) else SPARKS
    return "".join(glyphs[int(round(s * (len(glyphs) - 1)))] for s in scaled)
