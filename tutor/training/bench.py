"""``dnn-tutor bench``: the engine against a canonical PyTorch tutorial loop, same model/data/device/seed.

The canonical loop is what most tutorials write: ``TensorDataset`` + ``DataLoader(shuffle=True)``,
``zero_grad`` / ``backward`` / ``step`` and ``loss.item()`` per batch, a default ``Adam``. Both loops
train a fresh copy of the same model (same initial weights) for ``epochs`` epochs, interleaved over
``repeats`` after one warm-up epoch each; the median seconds per epoch are reported with the final
test accuracies (mean over the repeats; repeat r shuffles with seed + r in both loops). The
arithmetic floor is the training FLOPs per epoch (forward + backward of every
Linear layer: 3 x 2 x in x out per sample) over this machine's measured matmul rate on the same
layer shapes: no loop can beat it, and each loop's time is given as a multiple of it.
This module never prints (``note`` is called with progress lines when given).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Callable

def _shared_mnist() -> Path:
    """The MNIST test set beside a development checkout (``../shared/data/mnist-t10k``), or
    ``DNN_TUTOR_MNIST_DIR``; benchmarks use it when present, never required."""
    import os

    override = os.environ.get("DNN_TUTOR_MNIST_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist-t10k"


def _load(data_dir: Path | None, seed: int):
    from tutor.training import data as data_mod

    if data_dir is not None:
        return data_mod.load_mnist_dir(data_dir, split_seed=seed)
    cached = data_mod.mnist_cache_dir()
    if data_mod.find_mnist_files(cached):
        return data_mod.load_mnist_dir(cached, split_seed=seed)
    shared = _shared_mnist()
    if data_mod.find_mnist_files(shared):
        return data_mod.load_mnist_dir(shared, split_seed=seed)
    return data_mod.load_sklearn_digits(seed)


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _build(hidden: str | None, in_features: int, seed: int):
    import torch

    from tutor.training.models import mlp, mnist_mlp

    torch.manual_seed(seed)
    if hidden:
        sizes = [int(h) for h in hidden.split(",") if h.strip()]
        return torch.nn.Sequential(torch.nn.Flatten(), mlp([in_features, *sizes, 10])), f"MLP {in_features}-{'-'.join(map(str, sizes))}-10"
    return mnist_mlp(in_features), "mnist-mlp (784-512-256-128-10, batch norm, dropout)"


def dataloader_epochs(model, x, y, epochs: int, batch_size: int, lr: float, device, seed: int):
    """The canonical tutorial loop; returns (seconds per epoch list, optimiser)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        running = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            running += loss.item()
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


def matmul_rate(model, batch_size: int, device, seconds: float = 0.6) -> float:
    """Measured FLOP/s of forward matmuls with the model's Linear shapes at this batch size."""
    import torch

    shapes = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    xs = [torch.randn(batch_size, i, device=device) for i, _ in shapes]
    ws = [torch.randn(o, i, device=device) for i, o in shapes]
    flops = sum(2 * batch_size * i * o for i, o in shapes)
    best = 0.0
    deadline = time.perf_counter() + seconds
    with torch.inference_mode():
        for _ in range(3):  # warm-up
            for x, w in zip(xs, ws):
                torch.mm(x, w.t())
        _sync(device)
        while time.perf_counter() < deadline:
            reps = 20
            start = time.perf_counter()
            for _ in range(reps):
                for x, w in zip(xs, ws):
                    torch.mm(x, w.t())
            _sync(device)
            best = max(best, reps * flops / (time.perf_counter() - start))
    return best


def run_bench(device: str | None = None, data_dir: Path | None = None, epochs: int = 2, repeats: int = 3,
              batch_size: int = 128, limit: int | None = None, hidden: str | None = None, seed: int = 0,
              lr: float = 1e-3, note: Callable | None = None) -> dict:
    """Time both loops; returns a JSON-ready dict (see ``dnn-tutor bench --json``)."""
    import numpy as np
    import torch

    from tutor.device import pick_device, torch_device
    from tutor.training.engine import auto_threads, evaluate, fit
    from tutor.training.models import count_parameters, mlp_flops_per_sample

    choice = pick_device(device)
    dev = torch_device(choice)
    data = _load(data_dir, seed)
    x_train, y_train = data.x_train, data.y_train
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
    mean, std = float(x_train.mean()), float(x_train.std())
    x_train = np.ascontiguousarray((x_train - mean) / std)  # (N, 1, 28, 28)
    x_test = np.ascontiguousarray((data.x_test - mean) / std)  # (M, 1, 28, 28)
    in_features = x_train.shape[-1] * x_train.shape[-2]
    n = len(x_train)
    model0, label = _build(hidden, in_features, seed)
    initial = {k: v.clone() for k, v in model0.state_dict().items()}
    threads = auto_threads(model0, batch_size, dev)
    torch.set_num_threads(threads)
    if note:
        note(f"bench: {label} on {data.description}"
             + (f" (first {n:,} images)" if limit else "") + f", {choice.label}, batch {batch_size}, {threads} thread(s)")

    x_cpu = torch.from_numpy(x_train)
    y_cpu = torch.from_numpy(y_train)

    def fresh():
        model, _ = _build(hidden, in_features, seed)
        model.load_state_dict(initial)
        return model.to(dev)

    def engine_run(n_epochs: int, run_seed: int):
        model = fresh()
        result = fit(model, (x_train, y_train), None, task="classification", epochs=n_epochs,
                     batch_size=batch_size, lr=lr, optimizer="adam", device=dev, seed=run_seed, threads=threads)
        per_epoch = [r.seconds for r in result.history]
        return per_epoch, model, result.optimizer

    def loader_run(n_epochs: int, run_seed: int):
        model = fresh()
        torch.manual_seed(run_seed)  # dropout masks, as fit() does
        times = dataloader_epochs(model, x_cpu, y_cpu, n_epochs, batch_size, lr, dev, run_seed)
        return times, model

    # warm-up: one epoch each (allocator, kernels, lazy imports)
    engine_run(1, seed)
    loader_run(1, seed)
    engine_times: list[float] = []
    loader_times: list[float] = []
    engine_accs: list[float] = []
    loader_accs: list[float] = []
    opt_label = ""
    for r in range(repeats):  # interleaved; repeat r shuffles with seed + r in both loops
        times, model, opt_label = engine_run(epochs, seed + r)
        engine_times += times
        engine_accs.append(evaluate(model, x_test, data.y_test, device=dev)["acc"])
        times, model = loader_run(epochs, seed + r)
        loader_times += times
        loader_accs.append(evaluate(model, x_test, data.y_test, device=dev)["acc"])
        if note:
            note(f"repeat {r + 1}/{repeats}: engine {statistics.median(engine_times):.3f} s/epoch, "
                 f"DataLoader {statistics.median(loader_times):.3f} s/epoch")
    engine_acc = statistics.fmean(engine_accs)
    loader_acc = statistics.fmean(loader_accs)

    flops_per_epoch = mlp_flops_per_sample(model0) * n
    rate = matmul_rate(model0.to(dev), batch_size, dev)
    floor_s = flops_per_epoch / rate if rate else 0.0
    e_s = statistics.median(engine_times)
    l_s = statistics.median(loader_times)
    return {
        "model": f"{label}, {count_parameters(model0):,} parameters",
        "data": data.description + (f" (first {n:,} training images)" if limit else ""),
        "data_source": data.source,
        "device": choice.label, "device_reason": choice.reason, "threads": threads,
        "n_train": n, "batch_size": batch_size, "epochs": epochs, "repeats": repeats, "seed": seed,
        "engine": {"label": f"engine, {opt_label.replace(' (', ' ').rstrip(')')}", "seconds_per_epoch": e_s,
                   "samples_per_s": n / e_s, "x_floor": e_s / floor_s if floor_s else None,
                   "test_acc": engine_acc, "test_accs": engine_accs, "epoch_times": engine_times},
        "dataloader": {"label": "DataLoader loop, adam default", "seconds_per_epoch": l_s,
                       "samples_per_s": n / l_s, "x_floor": l_s / floor_s if floor_s else None,
                       "test_acc": loader_acc, "test_accs": loader_accs, "epoch_times": loader_times},
        "speedup": l_s / e_s,
        "accuracy_gap": abs(engine_acc - loader_acc),
        "floor": {"flops_per_epoch": flops_per_epoch, "matmul_gflops": rate / 1e9, "seconds_per_epoch": floor_s},
    }
