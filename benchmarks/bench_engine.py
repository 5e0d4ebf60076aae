"""Time the training engine against a canonical DataLoader loop (the figures `dnn-tutor bench` prints).

    python benchmarks/bench_engine.py                       # mnist-mlp, shared MNIST split or digits
    python benchmarks/bench_engine.py --threads 1 2         # the same at 1 and at 2 CPU threads
    python benchmarks/bench_engine.py --precision bf16      # the engine's bf16 run beside fp32
    python benchmarks/bench_engine.py --device cuda --repeats 5

Prints one block per thread setting: each loop's median s/epoch, samples/s, multiple of the
arithmetic floor and test accuracy; the paired speed-ups (median of per-repeat ratios) against the
targets of the performance issue; and the load average before and after, so a figure taken on a
busy machine says so. With --json, the full result dicts. Never asserts on timings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("GOMP_SPINCOUNT", "20000")  # as the CLI does (see tutor/commands/demos.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGETS = {"fp32": 1.3, "default": 1.6, "x_floor_1_thread": 1.5}


def describe(r: dict) -> list[str]:
    """The lines printed for one bench result."""
    lines = [f"threads={r['threads']} device={r['device']} batch={r['batch_size']} {r['data']}",
             f"  model: {r['model']}; engine default precision: {r['precision']['label']} ({r['precision']['reason']})"]
    for key in ("engine", "dataloader", "engine_default"):
        f = r.get(key)
        if not f:
            continue
        x_floor = f"{f['x_floor']:.2f}x floor" if f.get("x_floor") else "floor n/a"
        lines.append(f"  {f['label']:<40} {f['seconds_per_epoch']:.3f} s/epoch  {f['samples_per_s']:>9,.0f} samples/s  "
                     f"{x_floor}  acc {100 * f['test_acc']:.2f}%")
    fl = r["floor"]
    lines.append(f"  floor: {fl['seconds_per_epoch']:.3f} s/epoch ({fl['matmul_gflops']:.1f} GFLOP/s fp32, median of "
                 f"{fl['samples']} timings)" + (f"; bf16 {fl['bf16_seconds_per_epoch']:.3f} s/epoch"
                                               if fl.get("bf16_seconds_per_epoch") else ""))
    paired = ", ".join(f"{v:.2f}" for v in r["paired_speedups"])
    ok = "meets" if r["speedup"] >= TARGETS["fp32"] else "below"
    lines.append(f"  engine/DataLoader fp32: {r['speedup']:.2f}x paired median [{paired}] ({ok} the {TARGETS['fp32']}x target); "
                 f"ratio of medians {r['speedup_of_medians']:.2f}x")
    if r.get("engine_default"):
        ok = "meets" if r["speedup_default"] >= TARGETS["default"] else "below"
        lines.append(f"  engine {r['precision']['default']}/DataLoader fp32: {r['speedup_default']:.2f}x paired median "
                     f"({ok} the {TARGETS['default']}x target)")
    else:
        lines.append(f"  engine default precision is fp32 here ({r['precision']['reason']}): no separate run")
    if r["threads"] == 1 and r["engine"].get("x_floor"):
        ok = "meets" if r["engine"]["x_floor"] <= TARGETS["x_floor_1_thread"] else "above"
        lines.append(f"  1 thread: engine at {r['engine']['x_floor']:.2f}x the floor ({ok} the {TARGETS['x_floor_1_thread']}x target)")
    lines.append(f"  load average before {r['load_average']['before']}, after {r['load_average']['after']}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--limit", type=int, default=None, help="only the first N training images")
    parser.add_argument("--hidden", default=None, help="hidden sizes of a plain MLP instead of mnist-mlp, e.g. 64")
    parser.add_argument("--threads", type=int, nargs="*", default=[0], help="0 = the engine's automatic choice")
    parser.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"],
                        help="the engine's default precision, run beside the fp32 comparison")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    # Refuse bad numbers before the seconds of importing torch.
    for name in ("epochs", "repeats", "batch_size", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.exit(2, f"error: --{name.replace('_', '-')} must be at least 1\n")
    if any(t < 0 for t in args.threads):
        parser.exit(2, "error: --threads must be at least 1 (or 0 for the engine's automatic choice)\n")

    from tutor.errors import TutorError
    from tutor.training.bench import run_bench

    results = []
    for threads in args.threads:
        try:
            r = run_bench(device=args.device, data_dir=args.data_dir, epochs=args.epochs, repeats=args.repeats,
                          batch_size=args.batch_size, limit=args.limit, hidden=args.hidden, threads=threads or None,
                          precision=args.precision)
        except TutorError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            raise SystemExit(2) from None
        results.append(r)
        print("\n".join(describe(r)), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
