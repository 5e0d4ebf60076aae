"""The shared training loop: tasks, input shapes, side-by-side models, callbacks, early stopping, seeds."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from tutor.training import engine  # noqa: E402
from tutor.training.data import make_2d, train_test_split  # noqa: E402


def blobs(n=200, seed=0):
    x, y = make_2d("gaussian", n, 0.0, seed)
    return train_test_split(x, y, 0.25, seed)


class Recorder(engine.Reporter):
    def __init__(self):
        self.events = []

    def fit_start(self, info):
        self.events.append(("start", info.names, info.epochs))

    def epoch_end(self, record, view):
        self.events.append(("epoch", record.model, record.epoch))

    def fit_end(self, results):
        self.events.append(("end", len(results)))


def test_binary_fit_learns_and_reports():
    xtr, ytr, xte, yte = blobs()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    rec = Recorder()
    result = engine.fit(model, (xtr, ytr), (xte, yte), task="binary", epochs=15, batch_size=16, lr=0.05, reporter=rec)
    assert result.final["val_acc"] >= 0.9
    assert result.epochs_run == 15 and len(result.history) == 15
    assert result.history[-1].last and not result.history[0].last
    assert rec.events[0] == ("start", ["model"], 15) and rec.events[-1] == ("end", 1)
    assert sum(1 for e in rec.events if e[0] == "epoch") == 15
    assert result.samples == 15 * len(xtr)
    assert result.samples_per_s > 0
    assert "fused" in result.optimizer or "foreach" in result.optimizer


def test_classification_with_images_and_full_batch():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 90)
    x = rng.normal(0, 0.3, (90, 1, 4, 4)).astype(np.float32)  # (N, 1, 4, 4)
    x[np.arange(90), 0, y, y] += 2.0  # the class is written on the diagonal
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    result = engine.fit(model, (x, y), (x, y), epochs=60, batch_size=None, lr=0.05)
    assert result.final["val_acc"] > 0.95
    assert result.history[0].train_acc is not None


def test_regression_has_no_accuracy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5])).astype(np.float32)
    torch.manual_seed(0)
    result = engine.fit(nn.Linear(3, 1), (x, y), (x, y), task="regression", epochs=40, batch_size=32, lr=0.05)
    assert result.final["val_acc"] is None
    assert result.final["val_loss"] < 0.01


def test_sequences_and_token_ids():
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 5, size=(64, 7))  # (N, T) int64 token ids stay integers
    labels = (tokens[:, 0] > 2).astype(np.int64)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(5, 4)
            self.rnn = nn.GRU(4, 8, batch_first=True)
            self.head = nn.Linear(8, 2)

        def forward(self, t):
            out, _ = self.rnn(self.emb(t))  # (N, T, 8)
            return self.head(out[:, -1])  # (N, 2)

    torch.manual_seed(0)
    result = engine.fit(Net(), (tokens, labels), None, epochs=2, batch_size=16)
    assert result.final["val_loss"] is None and result.epochs_run == 2


def test_side_by_side_trainees_same_batches_and_callbacks():
    xtr, ytr, xte, yte = blobs()
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    b = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))

    class GradNorm(engine.Callback):
        def __init__(self):
            self.sums = {}
            self.started = []

        def on_fit_start(self, trainee):
            self.started.append(trainee.name)

        def after_backward(self, trainee, step):
            norm = torch.stack([p.grad.norm() for p in trainee.model.parameters()]).norm()
            self.sums[trainee.name] = self.sums.get(trainee.name, 0) + norm.detach()

        def on_epoch_end(self, trainee, record):
            return {"grad_norm": float(self.sums.pop(trainee.name))}

    cb = GradNorm()
    results = engine.fit(
        [engine.Trainee(a, "sgd", optimizer_name="sgd", lr=0.1), engine.Trainee(b, "adam", optimizer_name="adam", lr=0.01)],
        (xtr, ytr), (xte, yte), task="binary", epochs=5, batch_size=32,
        callbacks=[cb, lambda trainee, record: {"double_epoch": 2 * record.epoch}],
    )
    assert [r.name for r in results] == ["sgd", "adam"]
    assert cb.started == ["sgd", "adam"]
    assert results[0].optimizer.startswith("sgd") and results[1].optimizer.startswith("adam")
    for r in results:
        assert all(h.extra["grad_norm"] > 0 for h in r.history)
        assert r.curve("double_epoch") == [2, 4, 6, 8, 10]
        assert r.curve("val_loss")[0] is not None


def test_early_stopping_restores_best_weights():
    xtr, ytr, xte, yte = blobs()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    stop = engine.EarlyStopping(patience=2, monitor="val_loss", min_delta=10.0)  # nothing "improves" by 10
    result = engine.fit(model, (xtr, ytr), (xte, yte), task="binary", epochs=50, batch_size=16, lr=0.01,
                        early_stopping=stop)
    assert result.stopped_epoch == 3 and result.epochs_run == 3
    assert result.best_epoch == 1
    assert result.history[-1].stopped and result.history[-1].last
    assert result.final["epoch"] == 1
    again = engine.evaluate(model, xte, yte, task="binary")
    assert again["loss"] == pytest.approx(result.history[0].val_loss, rel=1e-5)


def test_early_stopping_on_an_accuracy_maximises_it():
    """monitor="val_acc" keeps the epoch with the HIGHEST validation accuracy (a loss is minimised)."""
    x, y = make_2d("spiral", 240, 0.3, 1)
    xtr, ytr, xte, yte = train_test_split(x, y, 0.3, 1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 1))
    stop = engine.EarlyStopping(patience=100, monitor="val_acc")  # never stops: only tracks the best
    result = engine.fit(model, (xtr, ytr), (xte, yte), task="binary", epochs=12, batch_size=16, lr=0.05,
                        early_stopping=stop)
    accs = [h.val_acc for h in result.history]
    assert max(accs) > min(accs), "the run must move the accuracy for this test to mean anything"
    assert result.best_epoch == accs.index(max(accs)) + 1
    assert result.final["val_acc"] == pytest.approx(max(accs))


def test_schedulers_change_the_learning_rate():
    xtr, ytr, xte, yte = blobs()
    for name in ("cosine", "step", "plateau", "onecycle"):
        torch.manual_seed(0)
        result = engine.fit(nn.Linear(2, 1), (xtr, ytr), (xte, yte), task="binary", epochs=6, batch_size=32,
                            lr=0.1, scheduler=name)
        lrs = [h.lr for h in result.history]
        assert len(lrs) == 6
        if name in ("cosine", "step", "onecycle"):
            assert lrs[-1] != lrs[0], name


def test_same_seed_same_result_different_seed_differs():
    xtr, ytr, xte, yte = blobs()

    def once(seed):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 1))
        return engine.fit(model, (xtr, ytr), (xte, yte), task="binary", epochs=3, batch_size=16, seed=seed)

    a, b, c = once(1), once(1), once(2)
    assert [h.train_loss for h in a.history] == [h.train_loss for h in b.history]
    assert [h.train_loss for h in a.history] != [h.train_loss for h in c.history]


def test_augment_applies_to_training_only():
    xtr, ytr, xte, yte = blobs()
    seen = []

    def augment(xb):
        seen.append(xb.shape[0])
        return xb + 0.0

    engine.fit(nn.Linear(2, 1), (xtr, ytr), (xte, yte), task="binary", epochs=2, batch_size=50, augment=augment)
    assert sum(seen) == 2 * len(xtr)


def test_boundary_grid_and_unknown_names():
    xtr, ytr, _, _ = blobs()
    boundary = engine.Boundary(xtr, ytr)
    model = nn.Linear(2, 1)
    grid = engine.predict_grid(model, boundary, 12, 6, "binary")
    assert grid.shape == (6, 12, 2)
    assert np.allclose(grid.sum(-1), 1.0, atol=1e-5)
    from tutor.errors import TutorError

    with pytest.raises(TutorError, match="unknown optimizer"):
        engine.make_optimizer("adamax", model.parameters(), 0.1)
    with pytest.raises(TutorError, match="unknown task"):
        engine.fit(model, (xtr, ytr), task="ranking", epochs=1)


def test_auto_threads_small_work_and_override(monkeypatch):
    monkeypatch.delenv("DNN_TUTOR_THREADS", raising=False)
    small = nn.Linear(2, 1)
    assert engine.auto_threads(small, 32, torch.device("cpu")) == 1
    big = nn.Linear(784, 512)
    assert 1 <= engine.auto_threads(big, 128, torch.device("cpu")) <= torch.get_num_threads()
    monkeypatch.setenv("DNN_TUTOR_THREADS", "3")
    assert engine.auto_threads(small, 32, torch.device("cpu")) == 3
    monkeypatch.setenv("DNN_TUTOR_THREADS", "")  # set but empty: the automatic choice
    assert engine.auto_threads(small, 32, torch.device("cpu")) == 1
    from tutor.errors import TutorError

    for bad in ("zero", "0", "-1", "99999", "2147483648", "\u0663"):  # 99999 crashed the OpenMP runtime
        monkeypatch.setenv("DNN_TUTOR_THREADS", bad)
        with pytest.raises(TutorError, match="from 1 to 1024"):
            engine.auto_threads(small, 32, torch.device("cpu"))


# --------------------------------------------------------------------------------------------
# Threads: a rule from what runs now, never the load average
# --------------------------------------------------------------------------------------------

from tutor.training import threads as threads_mod  # noqa: E402


@pytest.fixture
def two_cores(monkeypatch):
    """A 2-core machine whose other runnable threads the test sets (``machine["others"]``)."""
    machine = {"others": 0}
    monkeypatch.delenv("DNN_TUTOR_THREADS", raising=False)
    monkeypatch.setattr(threads_mod, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads_mod, "_own_running", lambda: 1)
    monkeypatch.setattr(threads_mod, "_procs_running", lambda: 1 + machine["others"])
    monkeypatch.setattr(threads_mod.time, "sleep", lambda s: None)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield machine
    torch.set_num_threads(previous)


def test_threads_follow_free_cores_not_the_load_average(two_cores, monkeypatch):
    import os

    big = nn.Linear(784, 512)
    cpu = torch.device("cpu")
    # a high load average left by our own previous run must not cost a thread when nothing runs now
    monkeypatch.setattr(os, "getloadavg", lambda: (4.0, 4.0, 4.0))
    assert threads_mod.auto_threads(big, 128, cpu) == 2
    two_cores["others"] = 1  # one busy process: give it its core
    assert threads_mod.auto_threads(big, 128, cpu) == 1
    two_cores["others"] = 5
    assert threads_mod.auto_threads(big, 128, cpu) == 1
    assert threads_mod.auto_threads(nn.Linear(2, 1), 32, cpu) == 1  # small work: always 1


def test_other_runnable_takes_the_median(monkeypatch):
    samples = iter([1, 9, 1, 2, 1])  # one spike of a short-lived process
    monkeypatch.setattr(threads_mod, "_procs_running", lambda: next(samples))
    monkeypatch.setattr(threads_mod, "_own_running", lambda: 1)
    monkeypatch.setattr(threads_mod.time, "sleep", lambda s: None)
    assert threads_mod.other_runnable() == 0.0


def test_without_proc_stat_a_probe_decides(two_cores, monkeypatch):
    monkeypatch.setattr(threads_mod, "_procs_running", lambda: None)
    asked = []
    monkeypatch.setattr(threads_mod, "probe_threads", lambda candidates: asked.append(candidates) or 1)
    assert threads_mod.auto_threads(nn.Linear(784, 512), 128, torch.device("cpu")) == 1
    assert asked == [[1, 2]]


def test_probe_threads_picks_a_candidate_and_restores():
    before = torch.get_num_threads()
    assert threads_mod.probe_threads([1], seconds=0.005) == 1
    assert torch.get_num_threads() == before


def test_own_running_threads_are_read_from_proc():
    if not threads_mod._OWN_TASKS.exists():
        pytest.skip("no /proc here")
    assert threads_mod._own_running() >= 1  # this thread is running while it reads
    assert threads_mod._procs_running() >= 1


def test_a_busy_process_is_seen(tmp_path):
    """A real CPU-bound child shows up as another runnable thread."""
    import subprocess
    import sys

    if threads_mod._procs_running() is None:
        pytest.skip("no /proc/stat here")
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        import time

        time.sleep(0.2)
        assert threads_mod.other_runnable(samples=5, interval=0.01) >= 1
    finally:
        child.kill()
        child.wait()


def test_thread_plan_restores_and_follows_the_machine(two_cores):
    big = nn.Linear(784, 512)
    with threads_mod.ThreadPlan(big, 128, torch.device("cpu")) as plan:
        assert plan.threads == 2 and plan.adaptive
        two_cores["others"] = 1
        assert plan.recheck(0.01) == 2  # a short epoch is not worth a look
        assert plan.recheck(1.0) == 1 and torch.get_num_threads() == 1
        two_cores["others"] = 0
        assert plan.recheck(1.0) == 2
        torch.set_num_threads(1)
    assert torch.get_num_threads() == 2  # the previous setting is back
    with threads_mod.ThreadPlan(big, 128, torch.device("cpu"), requested=1) as plan:
        two_cores["others"] = 0
        assert plan.threads == 1 and not plan.adaptive and plan.recheck(5.0) == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_fit_reports_its_threads_and_restores_them(two_cores):
    xtr, ytr, xte, yte = blobs()
    result = engine.fit(nn.Linear(2, 1), (xtr, ytr), (xte, yte), task="binary", epochs=1, threads=1)
    assert result.threads == 1 and torch.get_num_threads() == 2


# --------------------------------------------------------------------------------------------
# Precision, channels-last, dropout
# --------------------------------------------------------------------------------------------

from tutor.training import precision as precision_mod  # noqa: E402
from tutor.errors import TutorError  # noqa: E402


def test_resolve_precision(monkeypatch):
    cpu = torch.device("cpu")
    big = nn.Linear(784, 512)
    assert precision_mod.resolve_precision("fp32", cpu).name == "fp32"
    assert precision_mod.resolve_precision(None, cpu).name == "fp32"
    assert precision_mod.resolve_precision(" BF16 ", cpu).name == "bf16"
    for bad in ("fp16", "", 16, "auto32"):
        with pytest.raises(TutorError, match="unknown precision"):
            precision_mod.resolve_precision(bad, cpu)
    monkeypatch.setattr(precision_mod, "native_bf16", lambda device: False)
    auto = precision_mod.resolve_precision("auto", cpu, big, 128)
    assert auto.name == "fp32" and "no bf16 in hardware" in auto.reason
    assert "emulated" in precision_mod.resolve_precision("bf16", cpu).reason
    monkeypatch.setattr(precision_mod, "native_bf16", lambda device: True)
    assert precision_mod.resolve_precision("auto", cpu, big, 128).name == "bf16"
    small = precision_mod.resolve_precision("auto", cpu, nn.Linear(2, 1), 32)
    assert small.name == "fp32" and "too small" in small.reason
    assert precision_mod.Precision("fp32", "cuda", "").label == "fp32 (TF32 matmuls)"


def test_native_bf16_reads_the_cpu(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    monkeypatch.setattr(precision_mod, "_cpu_flags", lambda: {"avx2", "fma"})
    assert precision_mod.native_bf16(cpu) is False
    monkeypatch.setattr(precision_mod, "_cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    assert precision_mod.native_bf16(cpu) is True
    assert precision_mod.native_bf16(torch.device("meta")) is False


def test_bf16_fit_trains_in_bf16_and_stays_accurate():
    xtr, ytr, xte, yte = blobs()
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))

        def forward(self, x):
            out = self.net(x)
            seen.append(out.dtype)
            return out

    torch.manual_seed(0)
    model = Spy()
    result = engine.fit(model, (xtr, ytr), (xte, yte), task="binary", epochs=10, batch_size=16, lr=0.05,
                        precision="bf16")
    assert result.precision == "bf16"
    assert torch.bfloat16 in seen  # autocast was on in training (and evaluation)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights stay fp32
    assert result.final["val_acc"] >= 0.9
    torch.manual_seed(0)
    seen.clear()
    plain = engine.fit(Spy(), (xtr, ytr), (xte, yte), task="binary", epochs=1, batch_size=16)
    assert plain.precision == "fp32" and set(seen) == {torch.float32}
    with pytest.raises(TutorError, match="unknown precision"):
        engine.fit(nn.Linear(2, 1), (xtr, ytr), task="binary", epochs=1, precision="half")


def test_conv_nets_train_channels_last():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2, 6, 6)).astype(np.float32)  # (N, 2, 6, 6)
    y = rng.integers(0, 2, 40)
    torch.manual_seed(0)
    layouts = []
    conv = nn.Conv2d(2, 3, 3)
    conv.register_forward_pre_hook(lambda m, args: layouts.append(args[0].is_contiguous(memory_format=torch.channels_last)))
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2))
    engine.fit(model, (x, y), None, epochs=1, batch_size=10)
    assert layouts and all(layouts)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    layouts.clear()
    torch.manual_seed(0)
    conv2 = nn.Conv2d(2, 3, 3)
    conv2.register_forward_pre_hook(lambda m, args: layouts.append(args[0].is_contiguous(memory_format=torch.channels_last)))
    engine.fit(nn.Sequential(conv2, nn.Flatten(), nn.Linear(48, 2)), (x, y), None, epochs=1, batch_size=10,
               channels_last=False)
    assert not any(layouts)


def test_fast_dropout_statistics_and_gradient():
    from tutor.training.models import dropout_mask, make_dropout

    torch.manual_seed(0)
    mask = dropout_mask(torch.ones(400, 500), 0.3)  # (400, 500)
    dropped = (mask == 0).float().mean().item()
    assert abs(dropped - 0.3) < 0.005
    assert mask.mean().item() == pytest.approx(1.0, abs=0.01)  # inverted dropout keeps the mean
    assert mask.unique().tolist() == [0.0, pytest.approx(1 / (1 - 0.3), rel=1e-3)]
    layer = make_dropout(0.5)
    x = torch.randn(64, 32, requires_grad=True)
    out = layer(x)
    out.sum().backward()
    assert torch.equal(out == 0, x.grad == 0)  # the gradient flows only through the kept units
    assert torch.allclose(x.grad[x.grad != 0], torch.tensor(2.0))
    layer.eval()
    assert torch.equal(layer(x), x)
    assert dropout_mask(torch.ones(8, dtype=torch.bfloat16), 0.5).dtype == torch.bfloat16
    assert torch.equal(dropout_mask(torch.ones(8), 1.0), torch.zeros(8))
    torch.manual_seed(3)
    a = dropout_mask(torch.ones(1000), 0.2)
    torch.manual_seed(3)
    assert torch.equal(a, dropout_mask(torch.ones(1000), 0.2))  # seeded, reproducible


def test_mnist_mlp_fit_is_deterministic_per_seed():
    from tutor.training.models import mnist_mlp

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 1, 28, 28)).astype(np.float32)  # (N, 1, 28, 28)
    y = rng.integers(0, 10, 256)

    def once(seed):
        torch.manual_seed(0)
        result = engine.fit(mnist_mlp(), (x, y), None, epochs=2, batch_size=64, seed=seed, threads=1)
        return [h.train_loss for h in result.history], [h.train_acc for h in result.history]

    assert once(5) == once(5)
    assert once(5) != once(6)


def test_losses_and_accuracy_match_a_plain_count():
    """The per-epoch sums read once must equal an explicit per-batch tally."""
    xtr, ytr, _, _ = blobs()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3))

    # lr=0: the weights never change, so the epoch's mean loss equals the evaluation loss
    result = engine.fit(model, (xtr, ytr.astype(np.int64)), (xtr, ytr.astype(np.int64)), epochs=1, batch_size=7,
                        lr=0.0, optimizer="sgd")
    ev = engine.evaluate(model, xtr, ytr.astype(np.int64))
    assert result.history[0].train_loss == pytest.approx(ev["loss"], rel=1e-5)
    assert result.history[0].train_acc == pytest.approx(ev["acc"])


def test_matmul_scope_sets_tf32_on_cuda_only_and_restores():
    before = (torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark)
    with precision_mod.matmul_scope(torch.device("cpu")):
        assert torch.get_float32_matmul_precision() == before[0]
    with precision_mod.matmul_scope(torch.device("cuda")):  # only flags: no GPU needed
        assert torch.get_float32_matmul_precision() == "high"
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cudnn.benchmark
    assert (torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32,
            torch.backends.cudnn.benchmark) == before


def test_side_by_side_cnn_and_mlp_share_channels_last_batches():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 3, 5, 5)).astype(np.float32)  # (N, 3, 5, 5)
    y = rng.integers(0, 2, 30)
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(36, 2))
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(75, 2))
    results = engine.fit([cnn, mlp], (x, y), (x, y), epochs=2, batch_size=8)
    assert cnn[0].weight.is_contiguous(memory_format=torch.channels_last)
    for r in results:  # the MLP reads the same images correctly from the channels-last batches
        again = engine.evaluate(r.model, x, y)
        assert again["loss"] == pytest.approx(r.final["val_loss"], rel=1e-4)


def test_fit_rejects_bad_arguments_in_one_line():
    xtr, ytr, _, _ = blobs()
    model = nn.Linear(2, 1)
    cases = [
        (dict(epochs=0), "epochs must be"),
        (dict(epochs=2.5), "epochs must be"),
        (dict(epochs=True), "epochs must be"),
        (dict(batch_size=0), "batch_size must be"),
        (dict(batch_size=-3), "batch_size must be"),
    ]
    for kwargs, message in cases:
        with pytest.raises(TutorError, match=message):
            engine.fit(model, (xtr, ytr), task="binary", **kwargs)
    with pytest.raises(TutorError, match="inputs but"):
        engine.fit(model, (xtr, ytr[:-1]), task="binary", epochs=1)
    with pytest.raises(TutorError, match="val must be a pair"):
        engine.fit(model, (xtr, ytr), xtr, task="binary", epochs=1)
    with pytest.raises(TutorError, match="no samples"):
        engine.fit(model, (xtr[:0], ytr[:0]), task="binary", epochs=1)
    result = engine.fit(model, (xtr, ytr), task="binary", epochs=np.int64(1), batch_size=np.int64(50))
    assert result.epochs_run == 1


def test_fit_auto_precision_follows_the_hardware(monkeypatch):
    xtr, ytr, xte, yte = blobs()
    monkeypatch.setattr(precision_mod, "BF16_MIN_WORK", 0)
    monkeypatch.setattr(precision_mod, "native_bf16", lambda device: False)
    torch.manual_seed(0)
    plain = engine.fit(nn.Linear(2, 1), (xtr, ytr), (xte, yte), task="binary", epochs=2, precision="auto")
    assert plain.precision == "fp32"
    monkeypatch.setattr(precision_mod, "native_bf16", lambda device: True)
    torch.manual_seed(0)
    fast = engine.fit(nn.Linear(2, 1), (xtr, ytr), (xte, yte), task="binary", epochs=2, precision="auto")
    assert fast.precision == "bf16"
    assert abs(fast.final["val_acc"] - plain.final["val_acc"]) <= 0.05  # same learning, within bf16 noise


def test_a_last_batch_of_one_is_folded_into_the_batch_before():
    """101 examples in batches of 50 once left a batch of 1, and batch norm crashed on it mid-run."""
    x, y = make_2d("moons", 101, 0.1, 0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
    seen = []
    model[0].register_forward_hook(lambda mod, inp, out: seen.append(len(inp[0])) if mod.training else None)
    result = engine.fit(model, (x, y), epochs=1, batch_size=50, lr=0.01)
    assert seen == [50, 51]
    assert abs(result.history[0].train_loss - result.final["train_loss"]) < 1e-12
    assert np.isfinite(result.final["train_loss"])


def test_batch_norm_with_batches_of_one_is_one_clear_error():
    from tutor.errors import TutorError

    x, y = make_2d("moons", 20, 0.1, 0)
    model = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    with pytest.raises(TutorError, match="batch norm, which needs at least 2"):
        engine.fit(model, (x, y), epochs=1, batch_size=1)
    plain = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))  # no batch norm: batches of 1 are fine
    assert engine.fit(plain, (x[:4], y[:4]), epochs=1, batch_size=1).epochs_run == 1


def test_a_loss_that_stops_being_a_number_is_explained():
    """A diverged run showed only '—' in every loss column; now one note says what happened and what to try."""
    from dataclasses import dataclass
    from types import SimpleNamespace

    from tutor.device import pick_device
    from tutor.training.session import DemoReporter, run_demo

    class Blows(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 1)

        def forward(self, x):  # (N, 2) -> (N,)
            return self.lin(x).squeeze(1) * float("inf")

    @dataclass
    class Config:
        seed: int = 0

    def run(cfg, session):
        x, y = make_2d("moons", 40, 0.1, 0)
        session.fit(Blows(), (x, y), task="binary", epochs=2, batch_size=20)
        return {}

    notes = []

    class Notes(DemoReporter):
        def note(self, text):
            notes.append(text)

    outcome = run_demo("t", "t", SimpleNamespace(run=run), Config(), pick_device("cpu"), Notes())
    assert len(notes) == 1 and "at epoch 1" in notes[0] and "smaller learning rate" in notes[0], notes
    assert outcome.notes == notes


OPTIMIZER_CASES = [
    ("sgd", {}), ("momentum", {}), ("nesterov", {}), ("adam", {"weight_decay": 1e-2}), ("adamw", {"weight_decay": 1e-2}),
    ("rmsprop", {}), ("adagrad", {}),
]


@pytest.mark.parametrize("name, extra", OPTIMIZER_CASES)
def test_the_engine_optimizers_take_torch_optims_own_steps(name, extra):
    """make_optimizer's classes unwrap three torch.optim methods (no compiler import): same numbers, same schedules."""
    import torch

    from tutor.training.optim import make_optimizer, make_scheduler

    plain_cls = {"sgd": torch.optim.SGD, "momentum": torch.optim.SGD, "nesterov": torch.optim.SGD, "adam": torch.optim.Adam,
                 "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}[name]

    def trajectory(build):
        torch.manual_seed(3)
        model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))  # (N, 6) -> (N, 3)
        opt = build(model)
        sched, _ = make_scheduler("cosine", opt, epochs=4, steps_per_epoch=1, lr=0.05)
        x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))  # (32, 6), (32,)
        losses = []
        for _ in range(4):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        return losses, [p.detach().clone() for p in model.parameters()], opt

    light_losses, light_params, light_opt = trajectory(lambda m: make_optimizer(name, m.parameters(), 0.05, **extra)[0])
    _, impl = make_optimizer(name, torch.nn.Linear(2, 2).parameters(), 0.05, **extra)
    kwargs = {"lr": 0.05, **extra}
    if name != "sgd" and plain_cls is torch.optim.SGD:
        kwargs.update(momentum=0.9, nesterov=name == "nesterov")
    if impl != "default":
        kwargs[impl] = True
    plain_losses, plain_params, _ = trajectory(lambda m: plain_cls(m.parameters(), **kwargs))
    assert light_losses == plain_losses
    assert all(torch.equal(a, b) for a, b in zip(light_params, plain_params))
    assert isinstance(light_opt, plain_cls) and type(light_opt).__name__ == plain_cls.__name__


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_adam_steps_go_straight_to_the_kernel_with_torchs_numbers(name, monkeypatch):
    """After torch's own first step (it creates the state), steps call the fused kernel directly: the
    same numbers as torch.optim, with two parameter groups, a frozen-then-thawed layer and a changed lr."""
    import torch
    import torch.optim.adam as torch_adam

    from tutor.training.optim import light

    plain_cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW

    def trajectory(build):
        torch.manual_seed(5)
        model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))  # (N, 6) -> (N, 3)
        opt = build([{"params": model[0].parameters(), "lr": 0.03}, {"params": model[2].parameters()}])
        x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))  # (16, 6), (16,)
        for step in range(6):
            model[0].weight.requires_grad_(step not in (2, 3))  # no gradient for two steps: skipped, as torch does
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            if step == 3:
                opt.param_groups[1]["lr"] = 0.002  # what a scheduler does
        return [p.detach().clone() for p in model.parameters()], opt

    calls = []
    real = torch_adam._fused_adam
    monkeypatch.setattr(torch_adam, "_fused_adam", lambda *a, **k: calls.append(1) or real(*a, **k))
    mine, opt = trajectory(lambda groups: light(plain_cls)(groups, lr=0.05, weight_decay=1e-2, fused=True))
    assert opt.param_groups[0]["fused"] and len(calls) == 2  # torch's first step (a call per group), then direct
    monkeypatch.setattr(torch_adam, "_fused_adam", real)
    plain, _ = trajectory(lambda groups: plain_cls(groups, lr=0.05, weight_decay=1e-2, fused=True))
    assert all(torch.equal(a, b) for a, b in zip(mine, plain))


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_a_grad_scaler_step_takes_torchs_path_unscaling_and_skipping_an_inf_step(name):
    import pickle

    import torch

    from tutor.training.optim import light

    plain_cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW

    def run(cls):
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 3)  # (N, 4) -> (N, 3)
        opt = cls(model.parameters(), lr=0.01, fused=True)
        scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
        x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))  # (8, 4), (8,)
        for step in range(4):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y) * (float("inf") if step == 2 else 1.0)
            scaler.scale(loss).backward()
            scaler.step(opt)  # the inf step is skipped, its step count taken back
            scaler.update()
        return model.weight.detach().clone(), opt

    mine, opt = run(light(plain_cls))
    plain, plain_opt = run(plain_cls)
    assert torch.equal(mine, plain) and not mine.isnan().any()
    assert opt.state_dict()["state"][0]["step"].item() == plain_opt.state_dict()["state"][0]["step"].item() == 3
    again = pickle.loads(pickle.dumps(opt))  # a whole optimiser pickles (torch.save of the object)
    assert type(again) is type(opt) and isinstance(again, plain_cls)


def test_fused_adam_steps_aside_for_a_closure_and_amsgrad():
    import torch

    from tutor.training.optim import _fused_adam_step, light

    model = torch.nn.Linear(3, 2)
    opt = light(torch.optim.Adam)(model.parameters(), lr=0.1, fused=True, amsgrad=True)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    assert _fused_adam_step(opt) is False  # amsgrad: torch's step
    plain = light(torch.optim.Adam)(model.parameters(), lr=0.1, fused=True)
    assert _fused_adam_step(plain) is False  # no state yet: torch's first step creates it
    loss = plain.step(lambda: model(torch.randn(4, 3)).sum())  # a closure: torch's step, which returns the loss
    assert isinstance(loss, torch.Tensor)


@pytest.mark.slow
def test_a_fit_does_not_import_the_compiler():
    """torch.optim's first step would import torch._dynamo: seconds of start-up in every demo."""
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from tutor.training.engine import fit\n"
        "x = torch.randn(64, 4); y = (x.sum(1) > 0).long()\n"
        "model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))\n"
        "fit(model, (x, y), epochs=2, batch_size=16, optimizer='adam', lr=0.01, scheduler='cosine', threads=1)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_batches_gathered_on_use_are_the_shuffled_copy_cut_up():
    from tutor.training.loop import _Gathered

    x = torch.randn(23, 2, 3, 3).contiguous(memory_format=torch.channels_last)  # (N, C, H, W) stored as (N, H, W, C)
    y = torch.arange(23)  # (N,)
    perm = torch.randperm(23, generator=torch.Generator().manual_seed(1))  # (N,)
    sizes = [8, 8, 7]
    got = list(_Gathered(x, y, perm.split(sizes)))
    assert len(_Gathered(x, y, perm.split(sizes))) == 3
    for (xb, yb), want_x, want_y in zip(got, x[perm].split(sizes), y[perm].split(sizes)):
        assert torch.equal(xb, want_x) and torch.equal(yb, want_y)
        assert xb.is_contiguous(memory_format=torch.channels_last)  # the set's layout is kept
    flat = list(_Gathered(x.reshape(23, -1).contiguous(), y, perm.split(sizes)))
    assert [len(b[0]) for b in flat] == sizes and all(b[0].is_contiguous() for b in flat)


def test_an_epochs_seconds_include_its_shuffle(monkeypatch):
    """The loop it is timed against shuffles inside its epochs: so does an epoch of fit()."""
    import time

    real = torch.randperm

    def slow_randperm(*args, **kwargs):
        time.sleep(0.4)
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "randperm", slow_randperm)
    x = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)  # (N, 3)
    y = np.arange(16) % 2
    torch.manual_seed(0)
    result = engine.fit(nn.Linear(3, 2), (x, y), None, epochs=1, batch_size=8)
    assert result.history[0].seconds >= 0.4
    torch.manual_seed(0)
    both = engine.fit([nn.Linear(3, 2), nn.Linear(3, 2)], (x, y), None, epochs=1, batch_size=8)
    assert all(0.2 <= r.history[0].seconds < 0.4 for r in both)  # one shuffle, shared by the two
