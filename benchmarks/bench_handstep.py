"""Time the engine's written-out MLP step against the same fits through autograd (CPU, fp32).

    python benchmarks/bench_handstep.py                 # mnist-mlp on the shared MNIST split (or digits), 1 thread
    python benchmarks/bench_handstep.py --threads 2 --repeats 7
    python benchmarks/bench_handstep.py --hidden 64     # a small MLP, where autograd's bookkeeping weighs most

Each repeat trains a fresh copy of the same net from the same weights for --epochs epochs both
ways, the order alternating; prints the median seconds per epoch of each, the median of the
paired ratios, and the final accuracies. Never asserts on timings.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("GOMP_SPINCOUNT", "20000")  # as the CLI does
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--hidden", default=None, help="hidden sizes of a plain MLP instead of mnist-mlp, e.g. 64")
    args = parser.parse_args()
    for name in ("epochs", "repeats", "batch_size", "threads"):
        if getattr(args, name) < 1:
            parser.exit(2, f"error: --{name.replace('_', '-')} must be at least 1\n")

    import torch

    from tutor.training import bench, loop
    from tutor.training.engine import fit

    torch.set_num_threads(args.threads)
    data = bench._load(args.data_dir, 0)
    first, label = bench._build(args.hidden, data.x_train[0].size, 0)  # the same starting weights every run
    weights = {k: v.clone() for k, v in first.state_dict().items()}
    planner = loop.plan_hand_step

    def run(written_out: bool, seed: int):
        model, _ = bench._build(args.hidden, data.x_train[0].size, 0)
        model.load_state_dict(weights)
        loop.plan_hand_step = planner if written_out else (lambda *a, **k: None)
        try:
            result = fit(model, (data.x_train, data.y_train), (data.x_test, data.y_test), epochs=args.epochs,
                         batch_size=args.batch_size, optimizer="adam", device="cpu", seed=seed,
                         threads=args.threads, precision="fp32")
        finally:
            loop.plan_hand_step = planner
        n = len(data.x_train)
        return [n / r.samples_per_s for r in result.history], result.history[-1].val_acc  # training seconds

    run(True, 0)  # warm-up
    run(False, 0)
    times: dict[bool, list[float]] = {True: [], False: []}
    accs: dict[bool, float] = {}
    ratios = []
    for r in range(args.repeats):
        order = (True, False) if r % 2 == 0 else (False, True)
        got = {}
        for way in order:
            secs, accs[way] = run(way, r)
            got[way] = statistics.median(secs)
            times[way] += secs
        ratios.append(got[False] / got[True])
    print(f"{label} on {data.description}, batch {args.batch_size}, {args.threads} thread(s), CPU fp32")
    for way, name in ((True, "written-out step"), (False, "autograd")):
        print(f"  {name:<17} {statistics.median(times[way]):.4f} s/epoch (train)  val acc {100 * accs[way]:.2f}%")
    print(f"  autograd / written-out: {statistics.median(ratios):.3f}x paired median "
          f"[{', '.join(f'{v:.3f}' for v in ratios)}]; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
