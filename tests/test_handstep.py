"""The written-out MLP step (tutor.training.handstep): autograd's gradients, or autograd itself."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from tutor.training import engine, handstep, loop  # noqa: E402
from tutor.training.evaluation import fit_shape, task_loss  # noqa: E402
from tutor.training.models import make_dropout, mlp, mnist_mlp  # noqa: E402

CPU = torch.device("cpu")


def _data(task: str, n: int = 12, features: int = 6, out: int = 3, image: bool = False):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(n, 1, 2, 3, generator=g) if image else torch.randn(n, features, generator=g)  # (N, 1, 2, 3) or (N, F)
    if task == "classification":
        y = torch.randint(0, out, (n,), generator=g)  # (N,)
    elif task == "binary":
        y = torch.randint(0, 2, (n,), generator=g).float()  # (N,)
    else:
        y = torch.randn(n, generator=g) if out == 1 else torch.randn(n, out, generator=g)  # (N,) or (N, out)
    return x, y


def _twin_step(model, x, y, task: str):
    """One step both ways from the same weights and seed: (written-out, autograd) results."""
    twin = copy.deepcopy(model)
    plan = handstep.plan_hand_step(model, task_loss(task), task, CPU, "fp32", y)
    assert plan is not None, "the written-out step should take this net"
    model.train()
    twin.train()
    torch.manual_seed(11)
    out_h, loss_h = plan.step(x, y)
    torch.manual_seed(11)
    out_a = fit_shape(twin(x), y, task)
    loss_a = task_loss(task)(out_a, y)
    loss_a.backward()
    return (model, out_h, loss_h), (twin, out_a, loss_a)


def _same(hand, auto):
    (model, out_h, loss_h), (twin, out_a, loss_a) = hand, auto
    torch.testing.assert_close(out_h, out_a.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(loss_h, loss_a.detach(), rtol=1e-5, atol=1e-6)
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        if q.grad is None:
            assert p.grad is None, name
            continue
        assert p.grad is not None, f"{name} got no gradient"
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6, msg=lambda m, name=name: f"{name}: {m}")
    for (name, b), c in zip(model.named_buffers(), twin.buffers()):
        torch.testing.assert_close(b, c, rtol=1e-5, atol=1e-6, msg=lambda m, name=name: f"buffer {name}: {m}")


NETS = {
    "mnist-mlp": lambda f, o: mnist_mlp(f, o),
    "relu-bn-dropout": lambda f, o: mlp([f, 8, 7, o], "relu", dropout=0.3, batch_norm=True),
    "tanh": lambda f, o: mlp([f, 8, 7, o], "tanh", dropout=0.2),
    "sigmoid-bn": lambda f, o: mlp([f, 8, o], "sigmoid", batch_norm=True),
    "leaky": lambda f, o: mlp([f, 8, 7, o], "leaky_relu", dropout=0.5, batch_norm=True),
    "gelu": lambda f, o: mlp([f, 8, o], "gelu"),
    "linear": lambda f, o: mlp([f, 8, o], "linear"),
    "no-bias-no-affine": lambda f, o: nn.Sequential(nn.Linear(f, 8, bias=False), nn.BatchNorm1d(8, affine=False),
                                                    nn.ReLU(inplace=True), nn.Linear(8, o, bias=False)),
    "cumulative-bn": lambda f, o: nn.Sequential(nn.Linear(f, 8), nn.BatchNorm1d(8, momentum=None), nn.ReLU(),
                                                nn.Linear(8, o)),
    "untracked-bn": lambda f, o: nn.Sequential(nn.Linear(f, 8), nn.BatchNorm1d(8, track_running_stats=False),
                                               nn.Tanh(), nn.Linear(8, o)),
    "stacked-activations": lambda f, o: nn.Sequential(nn.Linear(f, 8), nn.ReLU(), nn.Tanh(), nn.Sigmoid(),
                                                      nn.Identity(), make_dropout(0.25), nn.ReLU(), nn.Linear(8, o)),
    "bn-first": lambda f, o: nn.Sequential(nn.BatchNorm1d(f), nn.Linear(f, 8), nn.ReLU(), nn.Linear(8, o)),
    "activation-first": lambda f, o: nn.Sequential(nn.Tanh(), nn.Linear(f, 8), nn.ReLU(), nn.Linear(8, o)),
    "nested": lambda f, o: nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(f, 8), nn.Sequential(nn.ReLU())),
                                         nn.Linear(8, o)),
}


@pytest.mark.parametrize("net", sorted(NETS))
@pytest.mark.parametrize("task,out", [("classification", 3), ("binary", 1), ("regression", 1), ("regression", 2)])
def test_gradients_are_autograds(net, task, out):
    torch.manual_seed(0)
    features = 784 if net == "mnist-mlp" else 6
    model = NETS[net](features, out)
    x, y = _data(task, features=features, out=out)
    if net == "mnist-mlp" and task == "classification":
        x = x.reshape(len(x), 1, 28, 28)  # (N, 1, 28, 28) images, flattened by the net
    _same(*_twin_step(model, x, y, task))


def test_images_flattened_by_the_net_and_a_frozen_layer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    model[1].weight.requires_grad_(False)
    model[1].bias.requires_grad_(False)
    x, y = _data("classification", image=True)
    hand, auto = _twin_step(model, x, y, "classification")
    _same(hand, auto)
    assert hand[0][1].weight.grad is None and hand[0][3].weight.grad is not None


def test_batch_norm_statistics_move_as_autograds_over_steps():
    torch.manual_seed(0)
    model = mlp([6, 8, 7, 3], "relu", dropout=0.3, batch_norm=True)
    twin = copy.deepcopy(model)
    plan = handstep.plan_hand_step(model, F.cross_entropy, "classification", CPU, "fp32")
    opt_h = torch.optim.SGD(model.parameters(), lr=0.1)
    opt_a = torch.optim.SGD(twin.parameters(), lr=0.1)
    x, y = _data("classification", n=20)
    torch.manual_seed(5)
    for _ in range(4):
        opt_h.zero_grad(set_to_none=True)  # as the loop does: the step adds to what it finds
        plan.step(x, y)
        opt_h.step()
    torch.manual_seed(5)
    for _ in range(4):
        opt_a.zero_grad()
        F.cross_entropy(twin(x), y).backward()
        opt_a.step()
    for p, q in zip(model.state_dict().values(), twin.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    assert int(model[1].num_batches_tracked) == 4


class _Double(nn.Module):
    def forward(self, x):
        return 2 * x


def _twice(layer, first=None):
    head = [first] if first is not None else []
    return nn.Sequential(*head, layer, nn.Linear(6, 6), layer, nn.Linear(6, 3))


def _tied():
    a, b = nn.Linear(6, 6), nn.Linear(6, 6)
    b.weight = a.weight
    return nn.Sequential(a, nn.ReLU(), b, nn.Linear(6, 3))


@pytest.mark.parametrize("why,make", [
    ("a conv net", lambda: (nn.Sequential(nn.Conv2d(1, 2, 2), nn.Flatten(), nn.Linear(4, 3)), {})),
    ("a learner's own module", lambda: (nn.Sequential(nn.Linear(6, 4), _Double(), nn.Linear(4, 3)), {})),
    ("a plain nn.Dropout", lambda: (nn.Sequential(nn.Linear(6, 4), nn.Dropout(0.5), nn.Linear(4, 3)), {})),
    ("not a Sequential", lambda: (nn.Linear(6, 3), {})),
    ("a flatten in the middle", lambda: (nn.Sequential(nn.Linear(6, 4), nn.Flatten(), nn.Linear(4, 3)), {})),
    ("widths that do not meet", lambda: (nn.Sequential(nn.Linear(6, 4), nn.Linear(5, 3)), {})),
    ("a custom loss", lambda: (mlp([6, 4, 3]), {"loss_fn": lambda out, y: F.cross_entropy(out, y)})),
    ("bf16", lambda: (mlp([6, 4, 3]), {"precision": "bf16"})),
    ("a GPU", lambda: (mlp([6, 4, 3]), {"device": torch.device("cuda")})),
    ("a label below 0", lambda: (mlp([6, 4, 3]), {"labels": torch.tensor([0, -100, 2])})),
    ("one layer run twice", lambda: (_twice(nn.Linear(6, 6)), {})),
    ("one activation object run twice", lambda: (_twice(nn.ReLU(), first=nn.Linear(6, 6)), {})),
    ("tied weights", lambda: (_tied(), {})),
])
def test_autograd_trains_what_is_not_written_out(why, make):
    model, extra = make()
    args = dict(loss_fn=F.cross_entropy, task="classification", device=CPU, precision="fp32", labels=None)
    args.update(extra)
    assert handstep.plan_hand_step(model, **args) is None, why


@pytest.mark.parametrize("where", ["layer forward", "layer pre-forward", "net backward", "parameter", "global"])
def test_a_hook_sends_the_step_to_autograd(where):
    model = mlp([6, 4, 3])
    seen = []
    handle = None
    if where == "layer forward":
        handle = model[0].register_forward_hook(lambda m, i, o: seen.append(o))
    elif where == "layer pre-forward":
        handle = model[2].register_forward_pre_hook(lambda m, i: seen.append(i))
    elif where == "net backward":
        handle = model.register_full_backward_hook(lambda m, gi, go: seen.append(go))
    elif where == "parameter":
        handle = model[0].weight.register_hook(lambda g: seen.append(g))
    else:
        handle = nn.modules.module.register_module_forward_hook(lambda m, i, o: seen.append(o))
    try:
        assert handstep.plan_hand_step(model, F.cross_entropy, "classification", CPU, "fp32") is None
    finally:
        handle.remove()
    assert handstep.plan_hand_step(model, F.cross_entropy, "classification", CPU, "fp32") is not None


def test_a_batch_it_cannot_take_changes_nothing():
    torch.manual_seed(0)
    model = mlp([6, 8, 3], "relu", dropout=0.3, batch_norm=True)
    plan = handstep.plan_hand_step(model, F.cross_entropy, "classification", CPU, "fp32")
    before = copy.deepcopy(model.state_dict())
    x, y = _data("classification")
    rng = torch.get_rng_state()
    assert plan.step(x[:, :5], y) is None  # 5 features for a net that takes 6
    assert plan.step(x.double(), y) is None
    assert plan.step(x[:1], y[:1]) is None  # batch norm needs two examples
    assert plan.step(x, y.float()) is None  # class labels as floats
    assert plan.step(x, y[:5]) is None
    model[1].eval()
    assert plan.step(x, y) is None  # a layer in eval mode
    assert torch.equal(torch.get_rng_state(), rng)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(p.grad is None for p in model.parameters())


def _fit(monkeypatch, written_out: bool, **kwargs):
    if not written_out:
        monkeypatch.setattr(loop, "plan_hand_step", lambda *a, **k: None)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 1, 4, 4)).astype(np.float32)  # (N, 1, 4, 4)
    y = (x.reshape(96, -1)[:, :3].sum(1) > 0).astype(np.int64) + (x.reshape(96, -1)[:, 5] > 1)  # (N,) 3 classes
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), *mlp([16, 12, 8, 3], "relu", dropout=0.2, batch_norm=True))
    result = engine.fit(model, (x[:72], y[:72]), (x[72:], y[72:]), epochs=4, batch_size=16, seed=1, **kwargs)
    monkeypatch.undo()
    return model, result


@pytest.mark.parametrize("optimizer,rel", [("sgd", 1e-5), ("adam", 5e-3), ("adamw", 5e-3)])
def test_fit_trains_the_same_with_the_step_written_out(monkeypatch, optimizer, rel):
    """With SGD the two fits agree to rounding. Adam divides each gradient by its own running size,
    so the bias of a Linear layer before batch norm (whose true gradient is 0, and whose computed
    one is rounding noise either way) takes steps of the full learning rate in directions that
    the noise decides: the running means then differ in the 4th digit, and so do the losses."""
    calls = []
    real = handstep.HandStep.step

    def counted(self, x, y):
        calls.append(len(x))
        return real(self, x, y)

    monkeypatch.setattr(handstep.HandStep, "step", counted)
    model_h, hand = _fit(monkeypatch, True, optimizer=optimizer, clip_grad=1.0)
    assert len(calls) == 4 * 5  # every step of every epoch (72 examples in batches of 16)
    model_a, auto = _fit(monkeypatch, False, optimizer=optimizer, clip_grad=1.0)
    for h, a in zip(hand.history, auto.history):
        assert h.train_loss == pytest.approx(a.train_loss, rel=rel)
        assert h.val_loss == pytest.approx(a.val_loss, rel=rel)
        assert h.train_acc == a.train_acc and h.val_acc == a.val_acc
    for (name, p), q in zip(model_h.state_dict().items(), model_a.state_dict().values()):
        if optimizer == "sgd" or name.endswith("weight"):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6, msg=lambda m, name=name: f"{name}: {m}")


def test_a_refused_batch_hands_the_rest_of_the_fit_to_autograd(monkeypatch):
    """A batch the step cannot take (here: the third) trains through autograd, and so does every later one."""
    asked = []

    def takes(self, a, y):
        asked.append(len(a))
        return len(asked) < 3

    forwards = []

    class Counter(engine.Callback):
        def on_fit_start(self, trainee):  # a hook added once the fit has begun: seen at the next epoch
            trainee.model.register_forward_pre_hook(lambda m, i: forwards.append(1))

    monkeypatch.setattr(handstep.HandStep, "takes", takes)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype(np.float32)  # (N, 6)
    y = (x[:, 0] > 0).astype(np.int64)  # (N,)
    result = engine.fit(mlp([6, 8, 2], batch_norm=True), (x, y), None, epochs=2, batch_size=16,
                        callbacks=[Counter()])
    assert len(asked) == 0 and len(forwards) == 8  # the hook was there before the first epoch's plan
    assert np.isfinite(result.history[-1].train_loss)
    monkeypatch.undo()

    asked.clear()
    monkeypatch.setattr(handstep.HandStep, "takes", takes)
    seen = []
    real_step = handstep.HandStep.step

    def step(self, x, y):
        got = real_step(self, x, y)
        seen.append(got is not None)
        return got

    monkeypatch.setattr(handstep.HandStep, "step", step)
    result = engine.fit(mlp([6, 8, 2], batch_norm=True), (x, y), None, epochs=2, batch_size=16)
    assert seen == [True, True, False]  # then autograd for the other 5 steps
    assert np.isfinite(result.history[-1].train_loss)


@pytest.mark.parametrize("where", ["a layer", "the net"])
def test_a_forward_of_its_own_sends_the_step_to_autograd(where):
    model = mlp([6, 4, 3])
    target = model[2] if where == "a layer" else model
    real = target.forward
    target.forward = lambda x: real(x) * 0.0
    assert handstep.plan_hand_step(model, F.cross_entropy, "classification", CPU, "fp32") is None


def test_a_weight_stored_transposed_is_left_to_autograd():
    model = mlp([6, 8, 3])
    model[0].weight = nn.Parameter(torch.randn(6, 8).t())  # (8, 6) with a transposed layout
    assert handstep.plan_hand_step(model, F.cross_entropy, "classification", CPU, "fp32") is None


def test_without_gradients_or_with_anomaly_detection_autograd_decides():
    model = mlp([6, 4, 3])
    with torch.no_grad():
        assert handstep.plan_hand_step(model, F.cross_entropy, "classification", CPU, "fp32") is None
    with pytest.warns(UserWarning, match="Anomaly Detection"), torch.autograd.detect_anomaly(check_nan=False):
        assert handstep.plan_hand_step(model, F.cross_entropy, "classification", CPU, "fp32") is None


@pytest.mark.parametrize("first", [nn.ReLU, nn.Tanh, nn.Sigmoid])
def test_the_batch_itself_is_never_overwritten(first):
    model = nn.Sequential(first(), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3))
    x, y = _data("classification")
    kept = x.clone()
    handstep.plan_hand_step(model, F.cross_entropy, "classification", CPU, "fp32").step(x, y)
    assert torch.equal(x, kept)


def _trained(monkeypatch, written_out: bool, make, task="classification", **kwargs):
    """Weights after a fit, through the written-out step or through autograd."""
    if not written_out:
        monkeypatch.setattr(loop, "plan_hand_step", lambda *a, **k: None)
    x, y = _data(task, n=48, out=kwargs.pop("out", 3))
    torch.manual_seed(0)
    model, trainee = make()
    engine.fit(trainee, (x.numpy(), y.numpy()), None, epochs=2, batch_size=16, task=task, seed=2, **kwargs)
    monkeypatch.undo()
    return {k: v.clone() for k, v in model.state_dict().items()}, model


def _frozen_with_a_stale_gradient():
    model = mlp([6, 8, 3])
    model(torch.randn(4, 6)).sum().backward()  # gradients left over from before the fit
    for p in model[0].parameters():
        p.requires_grad_(False)
    return model, engine.Trainee(model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))


def _optimiser_over_the_last_layer():
    model = mlp([6, 8, 3])
    return model, engine.Trainee(model, optimizer=torch.optim.SGD(model[2].parameters(), lr=0.1))


@pytest.mark.parametrize("make,extra", [(_frozen_with_a_stale_gradient, {}),
                                        (_optimiser_over_the_last_layer, {"clip_grad": 0.1})])
def test_gradients_are_cleared_and_added_up_as_backward_does(monkeypatch, make, extra):
    """zero_grad(set_to_none) clears what the optimiser holds; backward adds to the rest."""
    hand, model_h = _trained(monkeypatch, True, make, **extra)
    auto, model_a = _trained(monkeypatch, False, make, **extra)
    for k in hand:
        torch.testing.assert_close(hand[k], auto[k], rtol=1e-5, atol=1e-6, msg=lambda m, k=k: f"{k}: {m}")
    for p, q in zip(model_h.parameters(), model_a.parameters()):
        assert (p.grad is None) == (q.grad is None)
        if p.grad is not None:
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("task,out", [("binary", 1), ("regression", 1), ("regression", 2)])
def test_fit_with_other_losses_trains_the_same(monkeypatch, task, out):
    def make():
        model = mlp([6, 8, 8, out], "tanh", dropout=0.2, batch_norm=True)
        return model, model

    hand, _ = _trained(monkeypatch, True, make, task=task, out=out, optimizer="sgd")
    auto, _ = _trained(monkeypatch, False, make, task=task, out=out, optimizer="sgd")
    for k in hand:
        torch.testing.assert_close(hand[k], auto[k], rtol=1e-5, atol=1e-6, msg=lambda m, k=k: f"{k}: {m}")


def test_a_hook_added_by_a_callback_mid_epoch_is_honoured_from_the_next_step():
    fired = []

    class AddHook(engine.Callback):
        def after_backward(self, trainee, step):
            if step == 0:
                trainee.model[0].register_forward_hook(lambda m, i, o: fired.append(step))

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype(np.float32)  # (N, 6)
    y = (x[:, 0] > 0).astype(np.int64)  # (N,)
    engine.fit(mlp([6, 8, 2]), (x, y), None, epochs=2, batch_size=16, callbacks=[AddHook()])
    assert len(fired) == 2 * 4 - 1  # every forward after the first step's
