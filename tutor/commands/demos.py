"""Commands: demos, demo, playground, data, bench.

Thin layer: parse options, run the demo through :func:`tutor.training.session.run_demo` with a
reporter from :mod:`tutor.render.training`, save the plot, write the journal, print the footer.
Torch is imported only when something trains (``demos`` and ``--help`` stay light).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer

from tutor import console
from tutor.app import app
from tutor.commands.common import emit_json, open_store
from tutor.errors import TutorError

DEVICE_HELP = "Device to train on: auto, cpu, cuda, cuda:N or mps (default: auto, or DNN_TUTOR_DEVICE)."
SEED_HELP = "Random seed for the data, the initial weights and the shuffles (default: the demo's own)."
EPOCHS_HELP = "Passes over the training data (default: the demo's own)."
LR_HELP = "Learning rate (default: the demo's own)."
BATCH_HELP = "Examples per gradient step (default: the demo's own)."
JSON_HELP = "Print one JSON object per epoch, then a summary with the final metrics."
PLOT_HELP = "Also save the curves (and the decision boundary of 2-D data) as a PNG file."
QUICK_HELP = "A tiny run that takes a few seconds (what the tests use)."
DATA_DIR_HELP = "Folder with the MNIST IDX files (gzipped or not; also MNIST/raw/ inside it)."
SET_HELP = "Change any setting of the demo's config, e.g. --set hidden=32,16 (repeatable)."

# Before torch loads its OpenMP runtime (libgomp): idle worker threads spin only briefly, then
# sleep. With the default (300,000 spins) a busy 2-core machine stalls training 5-20x (measured
# under two busy processes: `demo spiral --quick` with 2 threads 12.9 s by default, 2.5 s with
# 20,000 spins, 4.1 s with OMP_WAIT_POLICY=PASSIVE); on an idle machine 20,000 is as fast as the
# default (bench: 0.22-0.26 s/epoch both) while PASSIVE costs ~70%. The learner's own setting wins.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "20000")


def _parse_sets(sets: list[str] | None) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in sets or []:
        if "=" not in item:
            raise TutorError(f"--set {item!r}: expected KEY=VALUE, e.g. --set noise=0.2")
        key, value = item.split("=", 1)
        overrides[key.strip().replace("-", "_")] = value.strip()
    return overrides


def _check_plot_path(save_plot: Path | None) -> Path | None:
    if save_plot is None:
        return None
    path = save_plot.expanduser()
    if path.suffix.lower() != ".png":
        raise TutorError(f"--save-plot {save_plot}: the file name must end in .png")
    if not path.parent.exists():
        raise TutorError(f"--save-plot {save_plot}: folder {path.parent} does not exist")
    if path.is_dir():
        raise TutorError(f"--save-plot {save_plot} is a folder; give a file name ending in .png")
    return path


def run_demo_command(demo_id: str, *, device: str | None = None, seed: int | None = None,
                     epochs: int | None = None, lr: float | None = None, batch_size: int | None = None,
                     as_json: bool = False, save_plot: Path | None = None, quick: bool = False,
                     data_dir: Path | None = None, overrides: dict[str, str] | None = None) -> None:
    """Run one demo end to end: config, device, reporter, training, plot, journal, footer/summary."""
    from tutor.demos import registry
    from tutor.render.training import make_reporter, render_footer

    info = registry.get(demo_id)
    plot_path = _check_plot_path(save_plot)
    if epochs is not None and epochs < 1:
        raise TutorError("--epochs must be at least 1")
    if batch_size is not None and batch_size < 1:
        raise TutorError("--batch-size must be at least 1")
    if lr is not None and not lr > 0:
        raise TutorError("--lr must be a positive number")
    module = registry.load(info)

    from tutor.device import pick_device
    from tutor.training.session import build_config, run_demo

    options = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "seed": seed,
               "data_dir": str(data_dir.expanduser()) if data_dir else None}
    cfg = build_config(module, quick=quick, options=options, overrides=overrides)
    choice = pick_device(device)
    reporter = make_reporter(info.id, as_json)
    try:
        outcome = run_demo(info.id, info.title, module, cfg, choice, reporter, quick=quick)
    finally:
        close = getattr(reporter, "close", None)
        if close:
            close()

    plot_written = None
    if plot_path is not None:
        from tutor.training.plots import save_demo_plot

        # A demo with a figure of its own (filters, gradient bars, a results table) draws it.
        own_plot = getattr(module, "save_plot", None)
        plot_written = own_plot(outcome, plot_path) if own_plot else save_demo_plot(outcome, plot_path)
    with open_store() as store:
        run = store.record_demo_run(outcome.demo_id, outcome.config, outcome.metrics, outcome.device, outcome.seconds)
    if as_json:
        import json
        import sys

        summary = outcome.summary()
        summary["plot"] = str(plot_written) if plot_written else None
        summary["journal_id"] = run.id
        sys.stdout.write(json.dumps(summary, default=str) + "\n")
    else:
        console.out(render_footer(outcome, plot_written))


@app.command("demos")
def demos_command(
    as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    """List the live demos: id, lesson, what it shows, typical time on a CPU."""
    from tutor.demos import registry
    from tutor.render.training import render_demo_list

    demos = registry.all_demos()
    if as_json:
        emit_json([d.__dict__ for d in demos])
        return
    console.out(render_demo_list(demos))


@app.command("demo")
def demo_command(
    demo_id: Optional[str] = typer.Argument(None, help="Which demo to run (see dnn-tutor demos).", metavar="ID"),
    history: bool = typer.Option(False, "--history", help="Show past runs from the journal instead of running."),
    limit: int = typer.Option(20, "--limit", help="With --history: how many runs to show."),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
    seed: Optional[int] = typer.Option(None, "--seed", help=SEED_HELP),
    epochs: Optional[int] = typer.Option(None, "--epochs", help=EPOCHS_HELP),
    lr: Optional[float] = typer.Option(None, "--lr", help=LR_HELP),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help=BATCH_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    save_plot: Optional[Path] = typer.Option(None, "--save-plot", help=PLOT_HELP, dir_okay=False, metavar="FILE.png"),
    quick: bool = typer.Option(False, "--quick", help=QUICK_HELP),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP, metavar="DIR"),
    task: Optional[str] = typer.Option(None, "--task", help="rnn only: recall (remember the first symbol) or sine (forecast a wave)."),
    length: Optional[int] = typer.Option(None, "--length", help="rnn only: sequence length T, how far back the net must remember."),
    backbone: Optional[str] = typer.Option(None, "--backbone", help="transfer only: small (shipped, pretrained on digits 0-4) or resnet18 (ImageNet weights)."),
    sets: Optional[List[str]] = typer.Option(None, "--set", help=SET_HELP, metavar="KEY=VALUE"),
) -> None:
    """Run a live demo: watch a network learn (curves, metrics, the decision boundary)."""
    if history:
        from tutor.demos import registry
        from tutor.render.training import render_history

        wanted = registry.get(demo_id).id if demo_id else None
        with open_store() as store:
            runs = store.demo_runs(wanted, limit=max(1, limit))
        if as_json:
            emit_json([{k: v for k, v in r.__dict__.items()} for r in runs])
        else:
            console.out(render_history(runs))
        return
    if demo_id is None:
        from tutor.demos import registry
        from tutor.render.training import render_demo_list

        if as_json:
            raise TutorError(f"name a demo to run: dnn-tutor demo <id> (ids: {', '.join(registry.ids())})")
        console.out(render_demo_list(registry.all_demos()))
        return
    overrides = _parse_sets(sets)
    named = {key: (flag, value) for flag, key, value in
             (("--task", "task", task), ("--length", "length", length), ("--backbone", "backbone", backbone))
             if value is not None}
    if named:
        import dataclasses

        from tutor.demos import registry

        info = registry.get(demo_id)
        fields = {f.name for f in dataclasses.fields(registry.load(info).Config)}
        for key, (flag, value) in named.items():
            if key not in fields:
                raise TutorError(f"{flag} does not apply to the {info.id} demo (it is for {'transfer' if key == 'backbone' else 'rnn'})")
            overrides[key] = str(value)
    run_demo_command(demo_id, device=device, seed=seed, epochs=epochs, lr=lr, batch_size=batch_size,
                     as_json=as_json, save_plot=save_plot, quick=quick, data_dir=data_dir,
                     overrides=overrides)


@app.command("playground")
def playground_command(
    dataset: str = typer.Option("circle", "--dataset", help="xor, spiral, circle, moons or gaussian."),
    layers: str = typer.Option("8,8", "--layers", help="Hidden layer sizes, comma-separated (e.g. 8,8; 0 for none)."),
    activation: str = typer.Option("tanh", "--activation", help="relu, tanh, sigmoid, leaky_relu, gelu or linear."),
    l2: float = typer.Option(0.0, "--l2", help="L2 penalty (weight decay) on the weights."),
    dropout: float = typer.Option(0.0, "--dropout", help="Dropout rate after each hidden layer (0 to 0.9)."),
    noise: float = typer.Option(0.1, "--noise", help="Gaussian jitter of the points (0 = clean)."),
    points: Optional[int] = typer.Option(None, "--points", help="How many points (default 600)."),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="sgd, momentum, nesterov, adam, adamw, rmsprop or adagrad."),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
    seed: Optional[int] = typer.Option(None, "--seed", help=SEED_HELP),
    epochs: Optional[int] = typer.Option(None, "--epochs", help=EPOCHS_HELP),
    lr: Optional[float] = typer.Option(None, "--lr", help=LR_HELP),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help=BATCH_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    save_plot: Optional[Path] = typer.Option(None, "--save-plot", help=PLOT_HELP, dir_okay=False),
    quick: bool = typer.Option(False, "--quick", help=QUICK_HELP),
) -> None:
    """Build your own small network on a 2-D dataset and watch its decision boundary form."""
    if not 0.0 <= dropout < 0.95:
        raise TutorError("--dropout must be between 0 and 0.9")
    if l2 < 0 or noise < 0:
        raise TutorError("--l2 and --noise cannot be negative")
    overrides = {"dataset": dataset, "layers": layers, "activation": activation, "l2": str(l2),
                 "dropout": str(dropout), "noise": str(noise)}
    if points is not None:
        overrides["n_points"] = str(points)
    if optimizer is not None:
        overrides["optimizer"] = optimizer
    run_demo_command("playground", device=device, seed=seed, epochs=epochs, lr=lr, batch_size=batch_size,
                     as_json=as_json, save_plot=save_plot, quick=quick, overrides=overrides)


data_app = typer.Typer(help="Datasets: see what is cached, download MNIST.", no_args_is_help=False,
                       invoke_without_command=True, add_completion=False)
app.add_typer(data_app, name="data")


@data_app.callback()
def data_status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the cache status as JSON."),
) -> None:
    """Datasets: where the cache is and what it holds (subcommand: download)."""
    if ctx.invoked_subcommand is not None:
        return
    from tutor.render.training import render_data_status
    from tutor.training.data import describe_cache

    status = describe_cache()
    if as_json:
        emit_json(status)
    else:
        console.out(render_data_status(status))


@data_app.command("download")
def data_download(
    name: str = typer.Argument(..., help="Dataset to fetch into the cache: mnist."),
) -> None:
    """Download a dataset into the cache (needs the network)."""
    from tutor.training.data import download_mnist

    if name.lower() != "mnist":
        raise TutorError(f"unknown dataset {name!r}: the only downloadable dataset is mnist")
    path = download_mnist()
    console.out(f"MNIST is in {path}")


@app.command("bench")
def bench_command(
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP + " Default: the shared MNIST test set when present, else the digits."),
    epochs: int = typer.Option(2, "--epochs", help="Epochs per timed repeat."),
    repeats: int = typer.Option(3, "--repeats", help="Timed repeats of each loop (interleaved, after one warm-up)."),
    batch_size: int = typer.Option(128, "--batch-size", help=BATCH_HELP),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N training images (quick checks)."),
    hidden: Optional[str] = typer.Option(None, "--hidden", help="Hidden sizes of a plain MLP instead of the mnist-mlp net, e.g. 64 (quick checks)."),
    seed: int = typer.Option(0, "--seed", help=SEED_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Time the engine against a canonical DataLoader training loop on the same model and data."""
    from tutor.render.training import render_bench
    from tutor.training.bench import run_bench

    if epochs < 1 or repeats < 1 or batch_size < 1:
        raise TutorError("--epochs, --repeats and --batch-size must be at least 1")
    result = run_bench(device=device, data_dir=data_dir, epochs=epochs, repeats=repeats, batch_size=batch_size,
                       limit=limit, hidden=hidden, seed=seed, note=None if as_json else console.out)
    if as_json:
        emit_json(result)
    else:
        console.out(render_bench(result))
