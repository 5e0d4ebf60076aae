"""A fit's steps as one replayed CUDA graph: when it is used, that it trains the same as the usual
steps, and that a step that cannot be captured falls back to them (the GPU tests skip without one)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tutor.training.cudagraph import graph_ready  # noqa: E402
from tutor.training.optim import make_optimizer  # noqa: E402

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _adam():
    return make_optimizer("adam", torch.nn.Linear(2, 2).parameters(), 1e-3)


def test_graphs_only_where_every_step_is_the_same(monkeypatch):
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    monkeypatch.setenv("DNN_TUTOR_CUDA_GRAPHS", "1")
    opt, impl = _adam()
    assert graph_ready(cuda, opt, impl, None, None, None, [])
    assert not graph_ready(cpu, opt, impl, None, None, None, [])  # a CPU step has no launches to save
    assert not graph_ready(cuda, opt, "given", None, None, None, [])  # a learner's own optimiser
    assert not graph_ready(cuda, opt, impl, object(), None, None, [])  # a scheduler changes the rate
    assert not graph_ready(cuda, opt, impl, None, lambda x: x, None, [])  # augment may do anything
    assert not graph_ready(cuda, opt, impl, None, None, 1.0, [])  # clipping
    assert not graph_ready(cuda, opt, impl, None, None, None, [object()])  # after-backward hooks
    sgd, sgd_impl = make_optimizer("momentum", torch.nn.Linear(2, 2).parameters(), 1e-2)
    assert not graph_ready(cuda, sgd, sgd_impl, None, None, None, [])
    for off in ("0", "off", "No", "false"):
        monkeypatch.setenv("DNN_TUTOR_CUDA_GRAPHS", off)
        assert not graph_ready(cuda, opt, impl, None, None, None, [])
    for on in ("1", "", "yes", " On "):
        monkeypatch.setenv("DNN_TUTOR_CUDA_GRAPHS", on)
        assert graph_ready(cuda, opt, impl, None, None, None, [])
    from tutor.errors import TutorError

    for bad in ("garbage", "2", "-1"):
        monkeypatch.setenv("DNN_TUTOR_CUDA_GRAPHS", bad)
        with pytest.raises(TutorError, match="DNN_TUTOR_CUDA_GRAPHS is .*: give 1 \\(on, the default\\) or 0 \\(off\\)"):
            graph_ready(cuda, opt, impl, None, None, None, [])
    monkeypatch.delenv("DNN_TUTOR_CUDA_GRAPHS")
    assert graph_ready(cuda, opt, impl, None, None, None, [])  # on by default


def _data(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 20)).astype(np.float32)  # (N, 20)
    y = (x[:, :3].sum(axis=1) > 0).astype(np.int64) + (x[:, 3] > 1)  # (N,) three classes
    return x, y


def _net(dropout=0.0):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.BatchNorm1d(64), torch.nn.ReLU(),
                               torch.nn.Dropout(dropout), torch.nn.Linear(64, 3))


def _fit(monkeypatch, graphs: bool, net=None, epochs=4, **kwargs):
    from tutor.training.engine import fit

    monkeypatch.setenv("DNN_TUTOR_CUDA_GRAPHS", "1" if graphs else "0")
    x, y = _data()
    return fit(net if net is not None else _net(), (x[:800], y[:800]), (x[800:], y[800:]), epochs=epochs,
               batch_size=96, device="cuda", **kwargs)


@needs_cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_graphed_fit_trains_as_the_usual_steps_do(monkeypatch, precision):
    usual = _fit(monkeypatch, False, precision=precision)
    graphed = _fit(monkeypatch, True, precision=precision)
    assert "CUDA graph" in graphed.optimizer and "CUDA graph" not in usual.optimizer
    tol = 1e-3 if precision == "fp32" else 2e-2
    for a, b in zip(usual.history, graphed.history):  # 800 = 8 x 96 + 32: every epoch ends on a short batch
        assert a.train_loss == pytest.approx(b.train_loss, rel=tol)
        assert a.train_acc == pytest.approx(b.train_acc, abs=0.01)
        assert a.val_loss == pytest.approx(b.val_loss, rel=tol)
    for (name, p), q in zip(usual.model.state_dict().items(), graphed.model.state_dict().values()):
        assert torch.allclose(p.float(), q.float(), rtol=tol, atol=tol), name


class _Masks(torch.nn.Module):
    """A net with dropout that also counts, for each row of the batch, how often a dropout kept it."""

    def __init__(self, batch: int):
        super().__init__()
        self.net = _net(0.3)
        self.register_buffer("kept", torch.zeros(batch))  # (B,) times row j was kept

    def forward(self, x):  # x: (b, 20)
        if self.training:
            keep = torch.nn.functional.dropout(torch.ones(len(x), device=x.device), 0.5, True) > 0  # (b,)
            self.kept[: len(x)].add_(keep.float())
        return self.net(x)


@needs_cuda
def test_a_graphed_fit_draws_new_dropout_masks_each_step_and_repeats_itself(monkeypatch):
    first = _fit(monkeypatch, True, net=_Masks(96), seed=3)
    again = _fit(monkeypatch, True, net=_Masks(96), seed=3)
    assert "CUDA graph" in first.optimizer
    assert [r.train_loss for r in first.history] == [r.train_loss for r in again.history]
    kept = first.model.kept.cpu()  # (96,) out of 36 steps (32 replays of the graph)
    # A mask recorded once and replayed would keep each row about 0 or 30 times; fresh masks about 18.
    assert kept.std() < 6 and 10 < kept.mean() < 26, kept


@needs_cuda
def test_a_graphed_fit_with_dropout_learns_as_the_usual_steps_do(monkeypatch):
    usual = _fit(monkeypatch, False, net=_net(0.3), seed=3, epochs=10)
    graphed = _fit(monkeypatch, True, net=_net(0.3), seed=3, epochs=10)
    assert "CUDA graph" in graphed.optimizer
    assert graphed.history[-1].train_loss == pytest.approx(usual.history[-1].train_loss, rel=0.15)
    assert graphed.history[-1].val_acc == pytest.approx(usual.history[-1].val_acc, abs=0.08)
    assert graphed.history[-1].val_acc > graphed.history[0].val_acc


class _Peeks(torch.nn.Module):
    """A forward that reads a value back to the host: no graph can hold it."""

    def __init__(self):
        super().__init__()
        self.net = _net()
        self.peeks = 0

    def forward(self, x):
        self.peeks += float(x.abs().max().item()) > 0
        return self.net(x)


@needs_cuda
def test_a_step_that_cannot_be_captured_trains_as_usual(monkeypatch):
    usual = _fit(monkeypatch, False, net=_Peeks())
    fallback = _fit(monkeypatch, True, net=_Peeks())
    assert "CUDA graph" not in fallback.optimizer
    assert fallback.model.peeks == usual.model.peeks  # every step ran, once
    for a, b in zip(usual.history, fallback.history):
        assert a.train_loss == pytest.approx(b.train_loss, rel=1e-3)
