"""Start-up time of the light commands, against importing what any rich CLI on typer imports.

Run: python benchmarks/bench_startup.py [--repeats 15]
Prints the median wall time of each command (fresh process each run, interleaved so that a
busy machine slows every command alike) and its multiple of the baseline
`python -c "import typer, rich.console, rich.table"` (the target for `lessons` is at most 1.6x),
with the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def seconds(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except (OSError, AttributeError):
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="dnn-tutor-bench-")
    env = dict(os.environ, DNN_TUTOR_HOME=home)
    exe = shutil.which("dnn-tutor") or sys.executable
    tutor = [exe] if exe.endswith("dnn-tutor") else [sys.executable, "-m", "tutor"]
    cases = {
        "baseline (typer, rich)": [sys.executable, "-c", "import typer, rich.console, rich.table"],
        "dnn-tutor --help": tutor + ["--help"],
        "dnn-tutor lessons": tutor + ["lessons"],
        "dnn-tutor lesson 1 --plain": tutor + ["lesson", "1", "--plain"],
        "dnn-tutor progress": tutor + ["progress"],
        'python -c "import torch"': [sys.executable, "-c", "import torch"],
    }
    for argv in cases.values():  # warm the file cache
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    print(f"median of {args.repeats} interleaved runs each ({os.cpu_count()} cores; load average {loadavg()})")
    times: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(args.repeats):
        for label, argv in cases.items():
            times[label].append(seconds(argv, env))
    base = statistics.median(times["baseline (typer, rich)"])
    for label in cases:
        median = statistics.median(times[label])
        print(f"  {label:<30} {median * 1000:7.0f} ms   {median / base:4.2f}x baseline")
    print(f"load average after: {loadavg()}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
