"""How long `dnn-tutor check` takes per exercise, next to `python -c "import torch"`.

Runs each command ``--repeats`` times, interleaved (so a busy machine slows both
alike), on the reference solutions copied into a temporary workspace, and
prints the best and median wall time of each and the ratio check / import
torch (the target is at most 1.3). Prints figures; asserts nothing.

    python benchmarks/bench_check.py [--repeats 3] [--exercise backprop ...]
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tutor.grading.catalogue import ids  # noqa: E402  (the catalogue itself imports no torch)

EXERCISES = ids()


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--exercise", action="append", choices=EXERCISES)
    args = parser.parse_args()
    chosen = args.exercise or EXERCISES
    exe = shutil.which("dnn-tutor", path=str(Path(sys.executable).parent)) or "dnn-tutor"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "exercises").mkdir()
        for name in chosen:
            shutil.copy(REPO / "tests" / "solutions" / f"{name}.py", work / "exercises" / f"{name}.py")
        env = dict(os.environ, DNN_TUTOR_HOME=str(work / "home"), NO_COLOR="1")
        torch_times: list[float] = []
        check_times: dict[str, list[float]] = {name: [] for name in chosen}
        for _ in range(args.repeats):
            torch_times.append(timed([sys.executable, "-c", "import torch"], work, env))
            for name in chosen:
                check_times[name].append(timed([exe, "check", f"exercises/{name}.py", "--seed", "1"], work, env))
        base = min(torch_times)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {args.repeats} repeats, interleaved")
        print(f"{'import torch':<14} best {base:6.2f} s  median {statistics.median(torch_times):6.2f} s")
        for name in chosen:
            best = min(check_times[name])
            print(f"{'check ' + name:<14} best {best:6.2f} s  median {statistics.median(check_times[name]):6.2f} s  ratio {best / base:4.2f}")


if __name__ == "__main__":
    main()
