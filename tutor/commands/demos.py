"""Commands: demos, demo, playground, data, bench.

Thin layer: every number arrives as text and is checked by the one validation layer
(:func:`tutor.training.session.validate`, through :func:`tutor.training.flow.run_demo_flow`), so a
bad value names the flag the learner typed. Each command parses, calls one function, renders.
Torch is imported only when something trains (``demos`` and ``--help`` stay light).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from tutor import console
from tutor.app import app
from tutor.commands.common import emit_json
from tutor.errors import TutorError

DEVICE_HELP = "Device to train on: auto, cpu, cuda, cuda:N or mps (default: auto, or DNN_TUTOR_DEVICE)."
PRECISION_HELP = ("Arithmetic for training (default: fp32): fp32, bf16 (bfloat16 autocast: fast where the device "
                  "computes bf16 in hardware, emulated and slower elsewhere) or auto (bf16 where it is in hardware and the net "
                  "is big enough to gain, else fp32).")
BENCH_PRECISION_HELP = ("The engine's precision, timed beside the two fp32 loops when it is not fp32 (default: auto): "
                        "fp32, bf16 or auto (bf16 where the device computes it in hardware and the net is big enough "
                        "to gain, else fp32).")
SEED_HELP = "Random seed (0 to 4294967295) for the data, the initial weights and the shuffles (default: the demo's own)."
EPOCHS_HELP = "Passes over the training data (default: the demo's own)."
LR_HELP = "Learning rate, above 0 (default: the demo's own)."
BATCH_HELP = "Examples per gradient step (default: the demo's own)."
JSON_HELP = "Print one JSON object per epoch, then a summary with the final metrics."
PLOT_HELP = "Also save the curves (and the decision boundary of 2-D data) as a PNG file (never overwritten without --force)."
FORCE_HELP = "With --save-plot: overwrite the file if it exists."
QUICK_HELP = "A tiny run that takes a few seconds: see that it works before a full run."
DATA_DIR_HELP = "Folder with the MNIST IDX files (gzipped or not; also MNIST/raw/ inside it)."
SET_HELP = "Change any setting of the demo's config, e.g. --set hidden=32,16 (repeatable)."


def _emit(outcome, as_json: bool, plain: bool = False) -> None:
    """The end of a run: warnings, then the JSON summary or the final table, heat maps and footer
    (``plain``: no pictures were drawn, and the footer says how to see them)."""
    from tutor.render.training import render_outcome

    for warning in outcome.warnings:
        console.warning_line(warning)
    if as_json:
        console.write_out(json.dumps(outcome.summary(), default=str, allow_nan=False) + "\n")
    else:
        console.out(render_outcome(outcome, console.stdout_console().width, plain))


def _run(request, as_json: bool) -> None:
    from tutor.render.live import make_reporter
    from tutor.training.flow import prepare_demo, run_demo_flow

    prepared = prepare_demo(request)  # every check, before torch loads or a display starts
    reporter = make_reporter(prepared.info.id, as_json)
    _emit(run_demo_flow(prepared, reporter), as_json, plain=not getattr(reporter, "draws_pictures", True))


def _demo_list():
    """The demo list, each demo's lesson by its number (and title where the line has room)."""
    from tutor.demos import registry
    from tutor.render.training import render_demo_list

    return render_demo_list(registry.all_demos(), _lesson_names(), console.stdout_console().width)


def _lesson_names() -> dict:
    """``{lesson id: (number, title)}`` of the course; {} where it cannot be read (the ids are shown then)."""
    from tutor.lessons import load_course

    try:
        return {lesson.id: (lesson.number, lesson.title) for lesson in load_course().lessons}
    except (TutorError, OSError, ValueError):
        return {}


@app.command("demos")
def demos_command(
    as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    """List the live demos: id, lesson, what it shows, typical time on a CPU."""
    from tutor.demos import registry

    console.require_stdout("the demo list")
    if as_json:
        emit_json([d.__dict__ for d in registry.all_demos()])
    else:
        console.out(_demo_list())


def _history(demo_id: str | None, limit: str | None, as_json: bool) -> None:
    from tutor.render.training import render_history
    from tutor.training.flow import demo_history
    from tutor.training.session import finite

    console.require_stdout("the history of runs")
    runs = demo_history(demo_id, limit)
    if as_json:
        emit_json([finite(dict(r.__dict__)) for r in runs])
    else:
        console.out(render_history(runs, console.stdout_console().width))


@app.command("demo")
def demo_command(
    demo_id: Optional[str] = typer.Argument(None, help="Which demo to run (see dnn-tutor demos).", metavar="ID"),
    history: bool = typer.Option(False, "--history", help="Show past runs from the journal instead of running."),
    limit: Optional[str] = typer.Option(None, "--limit", help="With --history: how many runs to show (1 to 10,000; default 20).", metavar="N"),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
    precision: Optional[str] = typer.Option(None, "--precision", help=PRECISION_HELP, metavar="fp32|bf16|auto"),
    seed: Optional[str] = typer.Option(None, "--seed", help=SEED_HELP, metavar="INT"),
    epochs: Optional[str] = typer.Option(None, "--epochs", help=EPOCHS_HELP, metavar="INT"),
    lr: Optional[str] = typer.Option(None, "--lr", help=LR_HELP, metavar="FLOAT"),
    batch_size: Optional[str] = typer.Option(None, "--batch-size", help=BATCH_HELP, metavar="INT"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    save_plot: Optional[Path] = typer.Option(None, "--save-plot", help=PLOT_HELP, metavar="FILE.png"),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
    quick: bool = typer.Option(False, "--quick", help=QUICK_HELP),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP, metavar="DIR"),
    task: Optional[str] = typer.Option(None, "--task", help="rnn only: recall (remember the first symbol) or sine (forecast a wave)."),
    length: Optional[str] = typer.Option(None, "--length", help="rnn only: sequence length T (2 to 2,000), how far back the net must remember.", metavar="INT"),
    backbone: Optional[str] = typer.Option(None, "--backbone", help="transfer only: small (shipped, pretrained on digits 0-4) or resnet18 (ImageNet weights)."),
    sets: Optional[List[str]] = typer.Option(None, "--set", help=SET_HELP, metavar="KEY=VALUE"),
) -> None:
    """Run a live demo: watch a network learn (curves, metrics, the decision boundary)."""
    if history:
        training = {"--device": device, "--precision": precision, "--seed": seed, "--epochs": epochs, "--lr": lr,
                    "--batch-size": batch_size, "--save-plot": save_plot, "--data-dir": data_dir, "--task": task,
                    "--length": length, "--backbone": backbone, "--set": sets or None, "--quick": quick or None,
                    "--force": force or None}
        given = [flag for flag, value in training.items() if value is not None]
        if given:  # they were ignored without a word
            raise TutorError(f"--history lists past runs and trains nothing: drop {', '.join(given)} (or drop --history to run the demo)")
        return _history(demo_id, limit, as_json)
    if limit is not None:
        raise TutorError("--limit only applies with --history (how many past runs to list); "
                         "to train on fewer images, use --set limit=N (mnist-mlp, cnn)")
    if demo_id is None:
        from tutor.demos import registry

        if as_json:
            raise TutorError(f"name a demo to run: dnn-tutor demo <id> (ids: {', '.join(registry.ids())})")
        console.require_stdout("the demo list")
        return console.out(_demo_list())
    from tutor.training.flow import DemoRequest

    flags = {"--seed": seed, "--epochs": epochs, "--lr": lr, "--batch-size": batch_size,
             "--data-dir": data_dir,
             "--task": task, "--length": length, "--backbone": backbone}
    _run(DemoRequest(demo_id, flags, list(sets or []), quick, device, precision, save_plot, force), as_json)


@app.command("playground")
def playground_command(
    dataset: Optional[str] = typer.Option(None, "--dataset", help="xor, spiral, circle, moons or gaussian (default circle)."),
    layers: Optional[str] = typer.Option(None, "--layers", help="Hidden layer sizes, comma-separated, 0 to 1,024 each (default 8,8; 0 for none).", metavar="N,N"),
    activation: Optional[str] = typer.Option(None, "--activation", help="relu, tanh, sigmoid, leaky_relu, gelu or linear (default tanh)."),
    l2: Optional[str] = typer.Option(None, "--l2", help="L2 penalty (weight decay) on the weights, 0 to 10 (default 0).", metavar="FLOAT"),
    dropout: Optional[str] = typer.Option(None, "--dropout", help="Dropout rate after each hidden layer, 0 to 0.9 (default 0).", metavar="FLOAT"),
    noise: Optional[str] = typer.Option(None, "--noise", help="Gaussian jitter of the points, 0 to 2 (default 0.1; 0 = clean).", metavar="FLOAT"),
    points: Optional[str] = typer.Option(None, "--points", help="How many points, 8 to 1,000,000 (default 600).", metavar="INT"),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="sgd, momentum, nesterov, adam, adamw, rmsprop or adagrad."),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
    precision: Optional[str] = typer.Option(None, "--precision", help=PRECISION_HELP, metavar="fp32|bf16|auto"),
    seed: Optional[str] = typer.Option(None, "--seed", help=SEED_HELP, metavar="INT"),
    epochs: Optional[str] = typer.Option(None, "--epochs", help=EPOCHS_HELP, metavar="INT"),
    lr: Optional[str] = typer.Option(None, "--lr", help=LR_HELP, metavar="FLOAT"),
    batch_size: Optional[str] = typer.Option(None, "--batch-size", help=BATCH_HELP, metavar="INT"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    save_plot: Optional[Path] = typer.Option(None, "--save-plot", help=PLOT_HELP, metavar="FILE.png"),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
    quick: bool = typer.Option(False, "--quick", help=QUICK_HELP),
) -> None:
    """Build your own small network on a 2-D dataset and watch its decision boundary form."""
    from tutor.training.flow import DemoRequest

    flags = {"--dataset": dataset, "--layers": layers, "--activation": activation, "--l2": l2, "--dropout": dropout,
             "--noise": noise, "--points": points, "--optimizer": optimizer, "--seed": seed, "--epochs": epochs,
             "--lr": lr, "--batch-size": batch_size}
    _run(DemoRequest("playground", flags, [], quick, device, precision, save_plot, force), as_json)


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

    console.require_stdout("the cache status")
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
        raise TutorError(f"unknown dataset {name[:40]!r}: the only downloadable dataset is mnist")
    path = download_mnist()
    console.out(f"MNIST is in {path}", markup=False)


@app.command("bench")
def bench_command(
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
    precision: Optional[str] = typer.Option(None, "--precision", help=BENCH_PRECISION_HELP, metavar="fp32|bf16|auto"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP + " Default: the shared MNIST test set when present, else the digits."),
    epochs: Optional[str] = typer.Option(None, "--epochs", help="Epochs per timed repeat (1 to 1,000; default 2).", metavar="INT"),
    repeats: Optional[str] = typer.Option(None, "--repeats", help="Timed repeats of each loop, interleaved, after one warm-up (1 to 100; default 3).", metavar="INT"),
    batch_size: Optional[str] = typer.Option(None, "--batch-size", help="Examples per gradient step, 1 to 65,536 (default 128).", metavar="INT"),
    limit: Optional[str] = typer.Option(None, "--limit", help="Use only the first N training images, 1 to 10,000,000 (default auto: every image).", metavar="N"),
    hidden: Optional[str] = typer.Option(None, "--hidden", help="Hidden sizes of a plain MLP instead of the mnist-mlp net, e.g. 64: up to 8 sizes of 1 to 8,192 (default auto: the mnist-mlp net).", metavar="N,N"),
    seed: Optional[str] = typer.Option(None, "--seed", help="Random seed (0 to 4294967295) for the data, the initial weights and the shuffles (default 0).", metavar="INT"),
    threads: Optional[str] = typer.Option(None, "--threads", help="CPU threads for every loop (default: the engine's automatic choice).", metavar="INT"),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Time the engine against a canonical DataLoader training loop on the same model and data."""
    from tutor.render.training import render_bench
    from tutor.training.flow import run_bench_flow

    flags = {"--epochs": epochs, "--repeats": repeats, "--batch-size": batch_size, "--limit": limit,
             "--hidden": hidden, "--seed": seed, "--threads": threads}
    console.require_stdout("the timings", "nothing was timed")
    result = run_bench_flow(flags, device=device, precision=precision, data_dir=data_dir,
                            note=None if as_json else console.out)
    if as_json:
        emit_json(result)
    else:
        console.out(render_bench(result))
