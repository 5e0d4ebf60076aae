"""Figures drawn with matplotlib for ``--save-plot``: the loss and accuracy curves and, for 2-D data,
the decision boundary; and :func:`write_figure`, which every demo's own figure uses to save.

matplotlib (Agg backend, no window) is imported inside the functions. Every panel says how its
numbers were measured (the training curves are running averages in train mode; the held-out
figures, "val" or "test" as the demo names its held-out set, are measured in eval mode after each epoch).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tutor.errors import TutorError

CLASS_COLORS = ["#4285f4", "#f48c28", "#34a853", "#c846c8"]
POINT_COLORS = ["#143caa", "#aa4600", "#0a6428", "#781478"]
SERIES_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"]


def result_labels(results) -> list[str]:
    """A distinct label per result: its name, or its fit's title when names repeat."""
    names = [r.name for r in results]
    labels = []
    for i, r in enumerate(results):
        label = r.name if names.count(r.name) == 1 else (r.title or f"{r.name} {i + 1}")
        labels.append(label if label not in labels else f"{label} {i + 1}")
    return labels


def write_figure(fig, path, *, tight: bool = True) -> Path:
    """Save a matplotlib figure as PNG and close it; an unwritable path is a one-line error (exit 1)."""
    import matplotlib.pyplot as plt

    try:
        if tight:
            fig.tight_layout()
            fig.savefig(path, format="png")
        else:
            fig.savefig(path, format="png", bbox_inches="tight")
    except OSError as exc:
        raise TutorError(f"cannot write the plot to {path}: {exc}", exit_code=1) from None
    finally:
        plt.close(fig)
    return Path(path)


def save_demo_plot(outcome, path: Path | str) -> Path:
    """Write the outcome's curves (and boundaries) to ``path`` (PNG); returns the path."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.colors import LinearSegmentedColormap

    from tutor.training.engine import predict_grid

    path = Path(path)
    results = outcome.results
    held = getattr(outcome, "held_out", "val")  # "val" when the held-out set chose something, else "test"
    boundary_results = [r for r in results if r.boundary is not None][-3:]  # the last three 2-D fits
    n_boards = len(boundary_results)
    if n_boards <= 1:  # one row: [boundary] loss accuracy
        n_panels = n_boards + 2
        fig, axes = plt.subplots(1, n_panels, figsize=(4.6 * n_panels, 4.3), dpi=110)
        axes = list(np.atleast_1d(axes))
    else:  # boundaries on top, the two curve panels below
        fig = plt.figure(figsize=(4.4 * n_boards, 8.4), dpi=110)
        grid_spec = fig.add_gridspec(2, 2 * n_boards)
        axes = [fig.add_subplot(grid_spec[0, 2 * i:2 * i + 2]) for i in range(n_boards)]
        axes += [fig.add_subplot(grid_spec[1, :n_boards]), fig.add_subplot(grid_spec[1, n_boards:])]

    labels = dict(zip(map(id, results), result_labels(results)))
    for ax, result in zip(axes, boundary_results):
        boundary, name = result.boundary, labels[id(result)]
        x0, x1, y0, y1 = boundary.extent
        grid = predict_grid(result.model, boundary, 300, 300, result.task)  # (300, 300, C) top row first
        n_classes = grid.shape[-1]
        xs = np.linspace(x0, x1, grid.shape[1])
        ys = np.linspace(y1, y0, grid.shape[0])
        if n_classes == 2:
            cmap = LinearSegmentedColormap.from_list("classes", [CLASS_COLORS[0], "#f4f4f4", CLASS_COLORS[1]])
            ax.contourf(xs, ys, grid[..., 1], levels=np.linspace(0, 1, 21), cmap=cmap, alpha=0.75)
            ax.contour(xs, ys, grid[..., 1], levels=[0.5], colors="#222222", linewidths=1.3)
        else:
            winner = grid.argmax(-1)  # (H, W)
            strength = (grid.max(-1) - 1 / n_classes) / (1 - 1 / n_classes)  # (H, W) 0 unsure .. 1 sure
            rgb = np.array([matplotlib.colors.to_rgb(c) for c in CLASS_COLORS])[winner % 4]  # (H, W, 3)
            image = 1 - (1 - rgb) * (0.25 + 0.6 * strength[..., None])  # faded towards white when unsure
            ax.imshow(image, extent=(x0, x1, y0, y1), origin="upper", interpolation="bilinear", aspect="auto")
        for c in range(int(boundary.y.max()) + 1 if len(boundary.y) else 0):
            mask = boundary.y == c
            ax.scatter(boundary.x[mask, 0], boundary.x[mask, 1], s=11, c=POINT_COLORS[c % 4],
                       edgecolors="white", linewidths=0.4, label=f"class {c}")
        acc = result.final.get("val_acc")
        label = f"{name}: " if len(boundary_results) > 1 else ""
        ax.set_title(f"{label}decision boundary" + (f" ({held} acc {100 * acc:.1f}%, eval mode)" if acc is not None else ""),
                     fontsize=10)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(loc="upper right", fontsize=7, framealpha=0.8)

    loss_ax, acc_ax = axes[-2], axes[-1]
    several = len(results) > 1
    for i, result in enumerate(results):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        epochs = [r.epoch for r in result.history]
        prefix = f"{labels[id(result)]} " if several else ""
        train_loss = [r.train_loss for r in result.history]
        val_loss = [r.val_loss for r in result.history]
        loss_ax.plot(epochs, train_loss, color=color, lw=1.2, ls="--" if several else "-",
                     alpha=0.7, label=f"{prefix}train")
        if any(v is not None for v in val_loss):
            loss_ax.plot(epochs, val_loss, color=color if several else SERIES_COLORS[1], lw=1.6, label=f"{prefix}{held}")
        train_acc = [r.train_acc for r in result.history]
        val_acc = [r.val_acc for r in result.history]
        if any(v is not None for v in train_acc):
            acc_ax.plot(epochs, [100 * v for v in train_acc], color=color, lw=1.2, ls="--" if several else "-",
                        alpha=0.7, label=f"{prefix}train")
        if any(v is not None for v in val_acc):
            acc_ax.plot(epochs, [100 * v for v in val_acc], color=color if several else SERIES_COLORS[1], lw=1.6,
                        label=f"{prefix}{held}")
        if result.stopped_epoch:
            loss_ax.axvline(result.stopped_epoch, color=color, ls=":", lw=1)
    loss_ax.set_title(f"loss (train: running mean in train mode; {held}: eval mode)", fontsize=9)
    loss_ax.set_xlabel("epoch")
    losses = [v for r in results for h in r.history for v in (h.train_loss, h.val_loss) if v is not None]
    if losses and min(losses) > 0 and max(losses) / min(losses) > 20:  # log scale only when it spans decades
        loss_ax.set_yscale("log")
    acc_ax.set_title(f"accuracy (%) (train: running, train mode; {held}: eval mode)", fontsize=9)
    acc_ax.set_xlabel("epoch")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    if not acc_ax.get_lines():
        acc_ax.text(0.5, 0.5, "no accuracy for this task", ha="center", va="center", transform=acc_ax.transAxes)
    headline = ", ".join(
        f"{k.replace('_', ' ')} {100 * v:.1f}%" if k.endswith("acc") else f"{k.replace('_', ' ')} {v:.4g}"
        for k, v in outcome.metrics.items() if isinstance(v, float) and (k.endswith("acc") or k.endswith("loss"))
    )
    details = " · ".join(part for part in (headline, outcome.device_label, f"{outcome.seconds:.1f} s") if part)
    fig.suptitle(f"{outcome.demo_id}: {outcome.title}\n{_settings_line(outcome.config)}\n{details}", fontsize=10)
    return write_figure(fig, path)


def _settings_line(config: dict, limit: int = 110) -> str:
    """The run's settings, so a saved picture says what produced it (dataset, layers, lr ...)."""
    from tutor.render.training import setting_item

    line = "  ".join(setting_item(key, value) for key, value in (config or {}).items()
                     if value is not None and key != "data_dir")
    return line if len(line) <= limit else line[: limit - 1].rsplit("  ", 1)[0] + " …"
