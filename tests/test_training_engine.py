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


def test_auto_threads(monkeypatch):
    import os

    small = nn.Linear(2, 1)
    assert engine.auto_threads(small, 32, torch.device("cpu")) == 1
    big = nn.Linear(784, 512)
    assert 1 <= engine.auto_threads(big, 128, torch.device("cpu")) <= torch.get_num_threads()
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert engine.auto_threads(big, 128, torch.device("cpu")) == torch.get_num_threads()
    monkeypatch.setattr(os, "getloadavg", lambda: (float(os.cpu_count()), 0.0, 0.0))
    assert engine.auto_threads(big, 128, torch.device("cpu")) == 1
    monkeypatch.setenv("DNN_TUTOR_THREADS", "3")
    assert engine.auto_threads(small, 32, torch.device("cpu")) == 3
