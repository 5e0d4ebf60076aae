"""Time the training engine against a canonical DataLoader loop (the figures `dnn-tutor bench` prints).

    python benchmarks/bench_engine.py                       # mnist-mlp, shared MNIST split or digits
    python benchmarks/bench_engine.py --threads 1 2         # the same at 1 and at 2 CPU threads
    python benchmarks/bench_engine.py --device cuda --repeats 5

Prints one line per setting (s/epoch for each loop, the ratio, multiples of the arithmetic floor,
final test accuracies) and, with --json, the full result dicts. Never asserts on timings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("GOMP_SPINCOUNT", "20000")  # as the CLI does (see tutor/commands/demos.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, nargs="*", default=[0], help="0 = the engine's automatic choice")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from tutor.training.bench import run_bench

    results = []
    for threads in args.threads:
        if threads:
            os.environ["DNN_TUTOR_THREADS"] = str(threads)
        else:
            os.environ.pop("DNN_TUTOR_THREADS", None)
        r = run_bench(device=args.device, data_dir=args.data_dir, epochs=args.epochs, repeats=args.repeats,
                      batch_size=args.batch_size)
        results.append(r)
        e, d, f = r["engine"], r["dataloader"], r["floor"]
        print(f"threads={r['threads']} {r['device']} {r['data']}: engine {e['seconds_per_epoch']:.3f} s/epoch "
              f"({e['x_floor']:.2f}x floor, acc {100 * e['test_acc']:.2f}%), DataLoader {d['seconds_per_epoch']:.3f} "
              f"s/epoch ({d['x_floor']:.2f}x floor, acc {100 * d['test_acc']:.2f}%), ratio {r['speedup']:.2f}x, "
              f"floor {f['seconds_per_epoch']:.3f} s/epoch ({f['matmul_gflops']:.0f} GFLOP/s)")
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
