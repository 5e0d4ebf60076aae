"""Does the automatic thread choice ever lose to 1 thread? Paired runs, with and without a busy neighbour.

    python benchmarks/bench_threads.py                    # mnist-mlp, 4,096 images, 3 pairs per setting
    python benchmarks/bench_threads.py --busy 1 2 --pairs 5

For each background load (0 = as the machine is; N = this script starts N CPU-bound processes and
stops them afterwards) it trains the mnist-mlp for one epoch with the automatic choice, with 1
thread and with every core, interleaved (the order rotates), and prints the median seconds per
epoch of each, the threads the automatic choice took, and auto / 1-thread (<= 1.0 means the
default never ran slower than one thread). Never asserts on timings.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("GOMP_SPINCOUNT", "20000")  # as the CLI does
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, nargs="*", default=[0, 1], help="busy processes to start (0 = none)")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=4096)
    args = parser.parse_args()
    if args.pairs < 1 or args.samples < 128 or any(b < 0 for b in args.busy):
        print("error: --pairs must be >= 1, --samples >= 128, --busy >= 0", file=sys.stderr)
        raise SystemExit(2)

    import numpy as np
    import torch

    from tutor.training.engine import fit
    from tutor.training.models import mnist_mlp
    from tutor.training.threads import usable_cores

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.samples, 1, 28, 28)).astype(np.float32)  # (N, 1, 28, 28)
    y = rng.integers(0, 10, args.samples)
    cores = usable_cores()

    def epoch(threads: int | None) -> tuple[float, int]:
        torch.manual_seed(0)
        result = fit(mnist_mlp(), (x, y), None, epochs=1, batch_size=128, threads=threads)
        return result.history[0].seconds, result.threads

    epoch(1)  # warm-up
    print(f"{cores} usable cores; mnist-mlp, {args.samples:,} samples, batch 128, {args.pairs} interleaved pairs")
    for busy in args.busy:
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
        try:
            time.sleep(0.5 if busy else 0.0)
            runs: dict[str, list[float]] = {"auto": [], "1 thread": [], f"{cores} threads": []}
            chosen: list[int] = []
            settings = [("auto", None), ("1 thread", 1), (f"{cores} threads", cores)]
            for p in range(args.pairs):
                for name, threads in settings[p % 3:] + settings[:p % 3]:
                    seconds, used = epoch(threads)
                    runs[name].append(seconds)
                    if threads is None:
                        chosen.append(used)
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
        med = {k: statistics.median(v) for k, v in runs.items()}
        print(f"busy processes {busy} (load average now {load}): "
              + ", ".join(f"{k} {v:.3f} s" for k, v in med.items())
              + f"; auto chose {chosen}; auto / 1 thread = {med['auto'] / med['1 thread']:.2f}")


if __name__ == "__main__":
    main()
