"""Start-up time of the light commands, against importing typer alone.

Run: python benchmarks/bench_startup.py [--repeats 15]
Prints the median wall time of each command (fresh process each run).
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


def median_seconds(argv: list[str], repeats: int, env: dict) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="dnn-tutor-bench-")
    env = dict(os.environ, DNN_TUTOR_HOME=home)
    exe = shutil.which("dnn-tutor") or sys.executable
    tutor = [exe] if exe.endswith("dnn-tutor") else [sys.executable, "-m", "tutor"]
    cases = {
        'python -c "import typer"': [sys.executable, "-c", "import typer"],
        "dnn-tutor --help": tutor + ["--help"],
        "dnn-tutor lessons": tutor + ["lessons"],
        "dnn-tutor lesson 1 --plain": tutor + ["lesson", "1", "--plain"],
        "dnn-tutor progress": tutor + ["progress"],
        'python -c "import torch"': [sys.executable, "-c", "import torch"],
    }
    for argv in cases.values():  # warm the file cache
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    base = None
    print(f"median of {args.repeats} runs each ({os.cpu_count()} cores)")
    for label, argv in cases.items():
        seconds = median_seconds(argv, args.repeats, env)
        base = base or seconds
        print(f"  {label:<30} {seconds * 1000:7.0f} ms   {seconds / base:4.1f}× import typer")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
