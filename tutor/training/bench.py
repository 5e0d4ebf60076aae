"""``dnn-tutor bench``: the engine against a canonical PyTorch tutorial loop, same model/data/device/seed.

The canonical loop is what most tutorials write: ``TensorDataset`` + ``DataLoader(shuffle=True)``,
``zero_grad`` / ``backward`` / ``step`` and ``loss.item()`` per batch, a default ``Adam``.

How the figures are taken, so that they can be trusted on a busy machine:

- Same work: every loop trains a fresh copy of the same model (same initial weights) on the same
  data, on the same device, with the same threads (``threads``, default the engine's automatic
  choice, fixed for the whole bench). The engine and the DataLoader loop both run in fp32
  (TF32 matmuls on CUDA for both); the engine's default precision (``precision``, default
  ``auto``) runs beside them when it resolves to something else (bf16 on hardware that has it).
  Every loop's epoch time includes its shuffle (the DataLoader's sampler and collation; the
  engine's gathers of the shuffled batches).
- Paired and interleaved: after one warm-up epoch of each loop, every repeat runs each loop for
  ``epochs`` epochs back to back, the order alternating between repeats; repeat r shuffles with
  seed + r in every loop. The speed-up is the median of the per-repeat ratios (each ratio compares
  epochs taken moments apart), next to the ratio of the median epoch times.
- The arithmetic floor: training FLOPs per epoch (forward + backward of every Linear layer:
  3 x 2 x in x out per sample) over the median of many short timings of the same matmuls (the
  layer shapes at this batch size), taken in slices between the repeats so they see the same
  machine as the epochs. No loop can beat it; each loop's time is given as a multiple of it.
- The load average before and after goes into the result: figures from a busy machine say so.

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
        if not Path(override).is_dir():  # a typo fell back to the digits without a word
            from tutor.errors import TutorError

            raise TutorError(f"DNN_TUTOR_MNIST_DIR points to {override}, which is not a folder; unset it or give the folder of the MNIST files")
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


class MatmulFloor:
    """Timings of the model's forward matmuls at one batch size, taken a few at a time.

    Each sample times ``reps`` passes over every Linear shape (~10 ms); :attr:`rate` is the FLOP/s
    of the median sample, so one stall (another process taking the core) cannot move it much.
    """

    def __init__(self, model, batch_size: int, device, dtype=None):
        import torch

        self.device = device
        dtype = dtype or torch.float32
        shapes = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, torch.nn.Linear)]
        self.xs = [torch.randn(batch_size, i, device=device, dtype=dtype) for i, _ in shapes]  # (B, in)
        self.ws = [torch.randn(o, i, device=device, dtype=dtype) for i, o in shapes]  # (out, in)
        self.flops = sum(2 * batch_size * i * o for i, o in shapes)
        self.samples: list[float] = []  # seconds per pass over the shapes
        self.reps = 1
        with torch.inference_mode():
            self._pass()
            _sync(device)
            start = time.perf_counter()
            self._pass()
            _sync(device)
            one = max(time.perf_counter() - start, 1e-6)
        self.reps = max(1, min(1000, int(0.01 / one)))

    def _pass(self) -> None:
        import torch

        for x, w in zip(self.xs, self.ws):
            torch.mm(x, w.t())  # (B, out)

    def sample(self, count: int = 5) -> None:
        import torch

        with torch.inference_mode():
            self._pass()  # wake the thread pool
            for _ in range(count):
                start = time.perf_counter()
                for _ in range(self.reps):
                    self._pass()
                _sync(self.device)
                self.samples.append((time.perf_counter() - start) / self.reps)

    @property
    def rate(self) -> float:
        """FLOP/s of the median timing (0.0 before any sample)."""
        if not self.samples or not self.flops:
            return 0.0
        return self.flops / statistics.median(self.samples)


def _load_average() -> list[float] | None:
    import os

    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _figures(label: str, times: list[float], per_repeat: list[float], accs: list[float], n: int,
             floor_s: float, precision: str) -> dict:
    seconds = statistics.median(times)
    return {"label": label, "precision": precision, "seconds_per_epoch": seconds, "samples_per_s": n / seconds,
            "x_floor": seconds / floor_s if floor_s else None, "test_acc": statistics.fmean(accs),
            "test_accs": accs, "epoch_times": times, "repeat_seconds": per_repeat}


def run_bench(device: str | None = None, data_dir: Path | None = None, epochs: int = 2, repeats: int = 3,
              batch_size: int = 128, limit: int | None = None, hidden: str | None = None, seed: int = 0,
              lr: float = 1e-3, note: Callable | None = None, threads: int | None = None,
              precision: str | None = "auto") -> dict:
    """Time the loops; returns a JSON-ready dict (see ``dnn-tutor bench --json``).

    ``threads``: CPU threads for every loop (None: the engine's automatic choice, made once).
    ``precision``: the engine's default precision to report beside the fp32 comparison
    (``"auto"``, ``"bf16"`` or ``"fp32"``; fp32 adds no third loop).
    """
    import numpy as np
    import torch

    from tutor.device import pick_device, torch_device
    from tutor.errors import TutorError
    from tutor.training.engine import auto_threads, evaluate, fit
    from tutor.training.models import count_parameters, mlp_flops_per_sample
    from tutor.training.precision import matmul_scope, resolve_precision

    if threads is not None and threads < 1:
        raise TutorError("--threads must be at least 1")
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
    default = resolve_precision(precision or "auto", dev, model0, batch_size)
    previous_threads = torch.get_num_threads()
    threads = threads or auto_threads(model0, batch_size, dev)
    load_before = _load_average()
    x_cpu = torch.from_numpy(x_train)
    y_cpu = torch.from_numpy(y_train)

    def fresh():
        model, _ = _build(hidden, in_features, seed)
        model.load_state_dict(initial)
        return model.to(dev)

    def engine_loop(prec: str):
        def run(n_epochs: int, run_seed: int):
            model = fresh()
            result = fit(model, (x_train, y_train), None, task="classification", epochs=n_epochs,
                         batch_size=batch_size, lr=lr, optimizer="adam", device=dev, seed=run_seed,
                         threads=threads, precision=prec)
            return [r.seconds for r in result.history], model, result.optimizer
        return run

    def loader_loop(n_epochs: int, run_seed: int):
        model = fresh()
        torch.manual_seed(run_seed)  # dropout masks, as fit() does
        with matmul_scope(dev):
            times = dataloader_epochs(model, x_cpu, y_cpu, n_epochs, batch_size, lr, dev, run_seed)
        return times, model, "adam (default)"

    loops = {"engine": (engine_loop("fp32"), "fp32"), "dataloader": (loader_loop, "fp32")}
    if default.name != "fp32":
        loops["engine_default"] = (engine_loop(default.name), default.name)
    times: dict[str, list[float]] = {k: [] for k in loops}
    per_repeat: dict[str, list[float]] = {k: [] for k in loops}
    accs: dict[str, list[float]] = {k: [] for k in loops}
    opt_labels: dict[str, str] = {}  # the engine runs' optimiser labels ("adam (fused, CUDA graph)", ...)
    torch.set_num_threads(threads)
    try:
        if note:
            note(f"bench: {label} on {data.description}" + (f" (first {n:,} training images)" if limit else "")
                 + f", {choice.label}, batch {batch_size}, {threads} thread(s), engine default precision "
                 f"{default.label} ({default.reason})")
        floor = MatmulFloor(model0.to(dev), batch_size, dev)
        floor_bf16 = MatmulFloor(model0, batch_size, dev, torch.bfloat16) if "engine_default" in loops else None
        for key, (loop, _) in loops.items():  # warm-up: one epoch each (allocator, kernels, lazy imports)
            loop(1, seed)
        for r in range(repeats):
            order = list(loops) if r % 2 == 0 else list(reversed(loops))
            for key in order:
                loop, prec = loops[key]
                epoch_times, model, label_opt = loop(epochs, seed + r)
                if key != "dataloader":
                    opt_labels[key] = label_opt
                times[key] += epoch_times
                per_repeat[key].append(statistics.median(epoch_times))
                accs[key].append(evaluate(model, x_test, data.y_test, device=dev, precision=prec)["acc"])
            floor.sample(5)
            if floor_bf16 is not None:
                floor_bf16.sample(5)
            if note:
                names = {"engine": "engine fp32", "dataloader": "DataLoader", "engine_default": f"engine {default.name}"}
                note(f"repeat {r + 1}/{repeats}, median so far: " + ", ".join(
                    f"{names[k]} {statistics.median(v):.3f} s/epoch" for k, v in times.items()))
    finally:
        torch.set_num_threads(previous_threads)

    flops_per_epoch = mlp_flops_per_sample(model0) * n
    floor_s = flops_per_epoch / floor.rate if floor.rate else 0.0
    floor16_s = flops_per_epoch / floor_bf16.rate if floor_bf16 is not None and floor_bf16.rate else 0.0
    def engine_name(key: str) -> str:  # "adam fused, CUDA graph": the written-out backward is said apart
        return opt_labels.get(key, "").replace(", written-out backward", "").replace(" (", " ").rstrip(")")

    result = {
        "model": f"{label}, {count_parameters(model0):,} parameters",
        "data": data.description + (f" (first {n:,} training images)" if limit else ""),
        "data_source": data.source,
        "device": choice.label, "device_reason": choice.reason, "threads": threads,
        "n_train": n, "batch_size": batch_size, "epochs": epochs, "repeats": repeats, "seed": seed,
        "precision": {"requested": precision or "auto", "default": default.name, "label": default.label,
                      "reason": default.reason},
        "engine": _figures(f"engine, {engine_name('engine')}, fp32", times["engine"], per_repeat["engine"], accs["engine"],
                           n, floor_s, "fp32"),
        "dataloader": _figures("DataLoader loop, adam default, fp32", times["dataloader"], per_repeat["dataloader"],
                               accs["dataloader"], n, floor_s, "fp32"),
        "engine_default": None,
        "written_out_backward": "written-out backward" in opt_labels.get("engine", ""),
        "floor": {"flops_per_epoch": flops_per_epoch, "matmul_gflops": floor.rate / 1e9,
                  "seconds_per_epoch": floor_s, "samples": len(floor.samples)},
        "load_average": {"before": load_before, "after": _load_average()},
    }
    paired = [d / e for d, e in zip(per_repeat["dataloader"], per_repeat["engine"])]
    result["paired_speedups"] = paired
    result["speedup"] = statistics.median(paired)
    result["speedup_of_medians"] = result["dataloader"]["seconds_per_epoch"] / result["engine"]["seconds_per_epoch"]
    result["accuracy_gap"] = abs(result["engine"]["test_acc"] - result["dataloader"]["test_acc"])
    if "engine_default" in loops:
        result["engine_default"] = _figures(f"engine, {engine_name('engine_default')}, {default.name}", times["engine_default"],
                                            per_repeat["engine_default"], accs["engine_default"], n,
                                            floor16_s, default.name)
        paired_default = [d / e for d, e in zip(per_repeat["dataloader"], per_repeat["engine_default"])]
        result["paired_speedups_default"] = paired_default
        result["speedup_default"] = statistics.median(paired_default)
        result["floor"]["bf16_matmul_gflops"] = floor_bf16.rate / 1e9 if floor_bf16 is not None else None
        result["floor"]["bf16_seconds_per_epoch"] = floor16_s
    else:
        result["speedup_default"] = result["speedup"]
    return result
