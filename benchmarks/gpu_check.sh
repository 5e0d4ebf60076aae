#!/usr/bin/env bash
# Check dnn-tutor on a machine with an NVIDIA GPU, in under 5 minutes:
#   1. the device choice: automatic choice is cuda, `--device cpu` still wins, precision auto -> bf16/TF32;
#   2. every demo with --quick on CUDA (`dnn-tutor demo <id> --quick --device cuda --json`): an untimed run,
#      then one with CUDA graphs and one without (DNN_TUTOR_CUDA_GRAPHS=0), back to back;
#   3. `dnn-tutor bench` on CUDA (target: engine >= 3x the DataLoader loop there);
#   4. bench again without CUDA graphs, to show what they are worth, and tests/test_cudagraph.py
#      (when pytest is there).
#
#   bash benchmarks/gpu_check.sh [RESULTS_DIR]
#
# Run it from a checkout. When `dnn-tutor` is not installed it uses ./.venv, or creates it with the
# README's command (needs the package index). Learner state goes to a temporary DNN_TUTOR_HOME,
# so nothing of yours is touched. Logs and JSON land in RESULTS_DIR (default: a new temp folder).
# Exit status: 0 all passed, 1 a check failed, 2 no CUDA GPU here (nothing was checked), 3 install failed.
#
# For a dry run of the script itself on a machine without a GPU: GPU_CHECK_DEVICE=cpu (checks the
# same things on the CPU), GPU_CHECK_DEMOS="xor spiral" (only these demos), GPU_CHECK_BENCH_ARGS
# (replaces the bench's size options, e.g. "--limit 512 --epochs 1 --repeats 1").

set -u -o pipefail
cd "$(dirname "$0")/.." || exit 3
ROOT=$(pwd)
START=$(date +%s)
BUDGET=${GPU_CHECK_BUDGET_S:-290}         # stop starting new steps after this many seconds
DEMO_TIMEOUT=${GPU_CHECK_DEMO_TIMEOUT_S:-60}
BENCH_TIMEOUT=${GPU_CHECK_BENCH_TIMEOUT_S:-90}
DEV=${GPU_CHECK_DEVICE:-cuda}
BENCH_ARGS=${GPU_CHECK_BENCH_ARGS:---epochs 2 --repeats 3}
case "$DEV" in cuda|cpu) ;; *) echo "gpu_check: GPU_CHECK_DEVICE must be cuda or cpu" >&2; exit 2 ;; esac
RESULTS=${1:-$(mktemp -d "${TMPDIR:-/tmp}/dnn-tutor-gpu-check.XXXXXX")}
mkdir -p "$RESULTS" || { echo "gpu_check: cannot create $RESULTS" >&2; exit 3; }
export DNN_TUTOR_HOME
DNN_TUTOR_HOME=$(mktemp -d "${TMPDIR:-/tmp}/dnn-tutor-home.XXXXXX")
unset DNN_TUTOR_DEVICE DNN_TUTOR_THREADS DNN_TUTOR_CUDA_GRAPHS
export NO_COLOR=1 PYTHONUNBUFFERED=1

say() { printf '%s\n' "gpu_check: $*"; }
elapsed() { echo $(( $(date +%s) - START )); }

# --- 0. an installed dnn-tutor -------------------------------------------------------------
if ! command -v dnn-tutor >/dev/null 2>&1; then
    if [ -x "$ROOT/.venv/bin/dnn-tutor" ]; then
        . "$ROOT/.venv/bin/activate"
    else
        say "dnn-tutor is not installed: installing it into $ROOT/.venv with the README's command"
        if ! { python3 -m venv .venv && . .venv/bin/activate && pip install -q uv && uv pip install -q . ; } \
                >"$RESULTS/install.log" 2>&1; then
            say "install failed (see $RESULTS/install.log; it needs the package index)" >&2
            exit 3
        fi
    fi
fi
PY=$(dirname "$(command -v dnn-tutor)")/python
[ -x "$PY" ] || PY=python3

# --- 1. is there a CUDA GPU at all? ------------------------------------------------------------
if [ "$DEV" = cuda ] && ! "$PY" - >"$RESULTS/cuda.txt" 2>&1 <<'EOF'
import sys
import torch
ok = torch.cuda.is_available()
print(f"torch {torch.__version__}, built for CUDA {torch.version.cuda}, cuda available: {ok}")
if ok:
    print(f"GPU 0: {torch.cuda.get_device_name(0)}, {torch.cuda.device_count()} visible")
sys.exit(0 if ok else 1)
EOF
then
    say "no CUDA GPU is visible to PyTorch here ($(tail -n 1 "$RESULTS/cuda.txt")): nothing to check." >&2
    say "run this on a machine with an NVIDIA GPU and a CUDA build of torch (e.g. uv pip install --torch-backend=auto .)" >&2
    rm -rf "$DNN_TUTOR_HOME"
    exit 2
fi
if [ "$DEV" = cuda ]; then say "$(tr '\n' ' ' <"$RESULTS/cuda.txt")"; else say "dry run on the CPU"; fi
say "results in $RESULTS"

FAILED=0
fail() { say "FAIL: $*" >&2; FAILED=1; }

# --- 2. the device choice ------------------------------------------------------------------------
if "$PY" - "$DEV" >"$RESULTS/device.txt" 2>&1 <<'EOF'
import os
import sys
import torch
from tutor.device import pick_device, torch_device
from tutor.training.precision import Precision, native_bf16, resolve_precision
from tutor.training.threads import auto_threads
from tutor.training.models import mnist_mlp

auto = pick_device() if sys.argv[1] == "cuda" else pick_device("cpu")
assert auto.name == sys.argv[1], f"automatic choice was {auto.name}: {auto.reason}"
print(f"auto: {auto.label} ({auto.reason}); detail {auto.detail}")
cpu = pick_device("cpu")
assert cpu.name == "cpu", "--device cpu did not win over the GPU"
os.environ["DNN_TUTOR_DEVICE"] = "cpu"
assert pick_device().name == "cpu", "DNN_TUTOR_DEVICE=cpu did not win over the GPU"
del os.environ["DNN_TUTOR_DEVICE"]
dev = torch_device(auto)
model = mnist_mlp().to(dev)
prec = resolve_precision("auto", dev, model, 128)
print(f"precision auto on {dev}: {prec.label} ({prec.reason}); native bf16: {native_bf16(dev)}")
assert prec.name == ("bf16" if native_bf16(dev) else "fp32")
print(f"fp32 on cuda is {Precision('fp32', 'cuda', '').label}")
print(f"threads on {dev}: {auto_threads(model, 128, dev)}")
x = torch.randn(512, 784, device=dev)
with prec.autocast():
    out = model(x)
print(f"forward under {prec.name}: output dtype {out.dtype}")
EOF
then
    sed 's/^/    /' "$RESULTS/device.txt"
else
    sed 's/^/    /' "$RESULTS/device.txt" >&2
    fail "device choice (see $RESULTS/device.txt)"
fi
dnn-tutor doctor --json >"$RESULTS/doctor.json" 2>&1 || fail "dnn-tutor doctor exited non-zero"

# --- 3. every demo with --quick on CUDA, then 4. bench there; both with and without CUDA graphs ------
DEMOS=${GPU_CHECK_DEMOS:-}
[ -n "$DEMOS" ] || DEMOS=$(dnn-tutor demos --json | "$PY" -c 'import json, sys; print(" ".join(d["id"] for d in json.load(sys.stdin)))') \
    || { fail "dnn-tutor demos --json"; DEMOS=""; }

# run_demo ID TAG GRAPHS: one quick demo with CUDA graphs on (1) or off (0); logs as demo-<id><TAG>.*
# Sets SECS (wall seconds), SUMMARY (device, precision and final metrics) and STATUS (ok or FAIL).
run_demo() {
    local demo=$1 tag=$2 graphs=$3 t0 rc ok
    t0=$(date +%s.%N)
    DNN_TUTOR_CUDA_GRAPHS=$graphs timeout "$DEMO_TIMEOUT" dnn-tutor demo "$demo" --quick --device "$DEV" --json \
        >"$RESULTS/demo-$demo$tag.jsonl" 2>"$RESULTS/demo-$demo$tag.err"
    rc=$?
    SECS=$("$PY" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
    SUMMARY=$("$PY" - "$RESULTS/demo-$demo$tag.jsonl" "$DEV" <<'EOF'
import json, sys
last = None
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.strip()
    if line.startswith("{"):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("type") == "summary":
            last = record
if last is None:
    print("no summary")
    sys.exit(1)
metrics = {k: round(v, 4) if isinstance(v, float) else v for k, v in (last.get("metrics") or {}).items()
           if not isinstance(v, (dict, list))}
print(f"{last.get('device_label', last.get('device'))}, {last.get('precision') or 'no fit'}  {metrics}")
sys.exit(0 if str(last.get("device", "")).startswith(sys.argv[2]) else 1)
EOF
)
    ok=$?
    if [ "$rc" -eq 0 ] && [ "$ok" -eq 0 ]; then STATUS=ok; else STATUS=FAIL; fi
    [ "$STATUS" = ok ] || fail "demo $demo$tag (exit $rc; see $RESULTS/demo-$demo$tag.err)"
}

# demos: every demo three times in a row: once untimed (a fresh machine reads each library and CUDA's
# and cuDNN's kernels from its disk the first time a process uses them, seconds that a later run does
# not pay), then with CUDA graphs (the default) and without, back to back, so that both timings see
# the same machine. Table in demos.txt; logs as demo-<id>.* and demo-<id>-nographs.*.
demos() {
    local demo graphs_secs graphs_status graphs_summary
    printf '%-14s %-6s %8s %10s  %s\n' demo status graphs "no graphs" "(seconds) device, precision / final metrics" \
        | tee "$RESULTS/demos.txt"
    for demo in $DEMOS; do
        if [ "$(elapsed)" -ge "$BUDGET" ]; then
            fail "time budget used up before demo $demo"
            continue
        fi
        DNN_TUTOR_CUDA_GRAPHS=1 timeout "$DEMO_TIMEOUT" dnn-tutor demo "$demo" --quick --device "$DEV" --json \
            >/dev/null 2>"$RESULTS/demo-$demo-warmup.err"
        run_demo "$demo" "" 1
        graphs_secs=$SECS graphs_status=$STATUS graphs_summary=$SUMMARY
        run_demo "$demo" "-nographs" 0
        [ "$STATUS" = ok ] || graphs_status=FAIL
        printf '%-14s %-6s %8s %10s  %s\n' "$demo" "$graphs_status" "$graphs_secs" "$SECS" "$graphs_summary" \
            | tee -a "$RESULTS/demos.txt"
        [ "$graphs_summary" = "$SUMMARY" ] || say "  without graphs: $SUMMARY"
    done
}

# bench TAG: dnn-tutor bench once; bench<TAG>.json and bench<TAG>.txt
bench() {
    local tag=$1
    if [ "$(elapsed)" -ge "$BUDGET" ]; then
        fail "time budget used up before bench$tag"
        return
    fi
    # shellcheck disable=SC2086  # BENCH_ARGS is a list of options
    if ! timeout "$BENCH_TIMEOUT" dnn-tutor bench --device "$DEV" --json $BENCH_ARGS \
            >"$RESULTS/bench$tag.json" 2>"$RESULTS/bench$tag.err"; then
        fail "dnn-tutor bench$tag on $DEV (see $RESULTS/bench$tag.err)"
        return
    fi
    "$PY" - "$RESULTS/bench$tag.json" "$tag" <<'EOF' | tee "$RESULTS/bench$tag.txt"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"bench: {r['model']} on {r['data']}, {r['device']}, batch {r['batch_size']}")
for key in ("engine", "dataloader", "engine_default"):
    f = r.get(key)
    if f:
        print(f"  {f['label']:<44} {f['seconds_per_epoch']:.4f} s/epoch {f['samples_per_s']:>11,.0f} samples/s "
              f"acc {100 * f['test_acc']:.2f}%")
if not r["device"].startswith("cuda"):
    target = "CPU dry run"
elif sys.argv[2]:  # the run without CUDA graphs: shown for comparison, held to no target
    target = "without CUDA graphs, for comparison"
else:
    target = "target >= 3x on a GPU: " + ("met" if r["speedup"] >= 3 else "NOT met")
print(f"  engine/DataLoader fp32: {r['speedup']:.2f}x (paired median; {target})")
if r.get("engine_default"):
    print(f"  engine {r['precision']['default']}/DataLoader fp32: {r['speedup_default']:.2f}x")
print(f"  precision: {r['precision']['label']} ({r['precision']['reason']})")
EOF
}

say "--- every demo with --quick: seconds with CUDA graphs (the default) and without (DNN_TUTOR_CUDA_GRAPHS=0)"
demos
say "--- bench, with CUDA graphs (the default)"
bench ""
say "--- bench without CUDA graphs (DNN_TUTOR_CUDA_GRAPHS=0), for comparison"
DNN_TUTOR_CUDA_GRAPHS=0 bench "-nographs"
if [ -f "$ROOT/tests/test_cudagraph.py" ] && "$PY" -c "import pytest" 2>/dev/null; then
    if timeout 120 "$PY" -m pytest -q -n 0 -p no:cacheprovider "$ROOT/tests/test_cudagraph.py" >"$RESULTS/tests-graphs.txt" 2>&1; then
        say "tests/test_cudagraph.py: $(tail -n 1 "$RESULTS/tests-graphs.txt")"
    else
        tail -n 30 "$RESULTS/tests-graphs.txt" >&2
        fail "tests/test_cudagraph.py (see $RESULTS/tests-graphs.txt)"
    fi
fi

rm -rf "$DNN_TUTOR_HOME"
say "finished in $(elapsed) s: $([ "$FAILED" -eq 0 ] && echo 'all checks passed' || echo 'some checks FAILED') (logs in $RESULTS)"
exit "$FAILED"
