"""Checks for exercises/transfer.py: freeze a backbone, replace its head, train only the head.

The child builds the small models of :mod:`tutor.grading.tinymodels` (random
weights, no downloads), runs the learner's functions and one SGD step, and
reports facts: parameter values after building and after the step,
``requires_grad`` flags, the head's shape, which parameters
``trainable_parameters`` returned. The parent judges those facts.

The child runs the learner's code, so its facts could be forged. The parent
therefore builds the same seeded backbone itself (its weights before, never
the child's word for them) and redoes the SGD step from the head the child
reports: "frozen", "trainable" and "one step" pass only when the reported
parameters after the step are what that step gives. Inventing facts fails;
passing takes a model with a real new head and a real SGD step, which is most
of the exercise (only the freeze itself, one line, could still be claimed by
code that also rewrites the grader's report).
"""

from __future__ import annotations

import functools
from pathlib import Path

from typing import Any

import numpy as np

from tutor.grading.compare import describe, fail
from tutor.grading.diagnoses import Diagnosis as D
from tutor.grading.engine import Plan
from tutor.grading.specs._common import check
from tutor.grading.wire import PLAIN_LAYERS

LR = 0.5  # the child's one plain SGD step (worker.Runner.step_transfer)

MODELS_PATH = Path(__file__).resolve().parents[1] / "tinymodels.py"
HEADS = {  # model -> (head attribute, head parameter prefix, head in_features)
    "TinyResNet": ("fc", "fc.", 8),
    "TinyVGG": ("classifier", "classifier.2.", 16),
    "TinyNet": ("classifier", "classifier.", 12),
}


def plan(rng: np.random.Generator) -> Plan:
    p = Plan(needs_torch=True)
    runs = []
    originals: dict[str, Any] = {}  # job -> the backbone's parameters as built, computed here
    inputs: dict[str, Any] = {}
    verdicts: dict[tuple[str, str], str | None] = {}  # (job, step) -> what does not hold, once per plan
    for model, classes in [("TinyResNet", 5), ("TinyVGG", 3), ("TinyNet", 7)]:
        attr, prefix, in_features = HEADS[model]
        x = rng.normal(size=(4, 3, 8, 8)).astype(np.float32)
        y = rng.integers(0, classes, size=4)
        seed = int(rng.integers(2**31))
        step_seed = int(rng.integers(2**31))
        step = {"op": "transfer", "models_path": str(MODELS_PATH), "model": model, "num_classes": classes,
                "seed": seed, "step_seed": step_seed, "head": attr, "x": x, "y": y, "save": "facts",
                "fns": ["build_feature_extractor", "trainable_parameters"]}  # what the step calls (a timeout names it)
        name = p.job(f"build_feature_extractor#{model}", step)
        runs.append((name, f"{model} (head .{attr}), num_classes={classes}", model, classes, prefix, in_features))
        originals[name] = p.lazy(functools.partial(_original, model, seed))
        inputs[name] = (model, seed, attr, x, y, step_seed)

    def facts_of(results: Any, name: Any, case: Any) -> Any:
        facts = results.get(name, "facts", case)
        returned = facts.get("returned")
        if facts.get("is_module") is not True:
            raise fail(f"build_feature_extractor should return the model (an nn.Module); it returned {describe(returned)} [{case}]",
                       code=D.NONE if returned is None else D.NOT_MODULE, case=case)
        return facts

    def head_names(facts: Any, prefix: Any) -> Any:
        return {n for n in facts["after_build"] if n.startswith(prefix)}

    def old_head(name: Any, prefix: Any) -> Any:
        return {n for n in originals[name]() if n.startswith(prefix)}

    def verify(results: Any, name: Any, case: Any, prefix: Any, classes: Any, in_features: Any, key: str = "after_step") -> None:
        """Fail unless the reported step (``key``) is the one SGD step this model takes (see the module's docstring)."""
        if (name, key) not in verdicts:  # "trainable" and "one step" judge the same step: redone once
            facts = facts_of(results, name, case)
            verdicts[(name, key)] = _unverified(facts, originals[name](), inputs[name], prefix, classes, in_features, key)
        problem = verdicts[(name, key)]
        if isinstance(problem, Unbuildable):  # the learner's own choice of layers, not a forgery
            raise fail(f"{problem} [{case}]", code=D.HEAD, case=case)
        if problem:
            raise fail(f"the facts the grading process reported do not hold: {problem} — the grader redoes the step "
                       f"itself; did your code write to the grader's channel or change its code? [{case}]", code=D.PROTOCOL, case=case)

    @check(p, "build_feature_extractor.head", "build_feature_extractor", "head replaced: Linear(in_features, num_classes)", None)
    def _head(results: Any) -> Any:
        for name, case, model, classes, prefix, in_features in runs:
            facts = facts_of(results, name, case)
            head = facts["head"]
            if head["type"] != "Linear":
                raise fail(f"the head should be an nn.Linear, found {head['type']} [{case}]", code=D.HEAD, case=case)
            if head["out_features"] != classes:
                raise fail(f"the head should have out_features={classes} (num_classes), found {head['out_features']} [{case}]", code=D.HEAD, case=case)
            if head["in_features"] != in_features:
                raise fail(f"the head should keep in_features={in_features} of the layer it replaces, found {head['in_features']} [{case}]", code=D.HEAD, case=case)
            if tuple(facts.get("logits_shape", ())) != (4, classes):
                raise fail(f"the model's output should have shape (4, {classes}) for a batch of 4, found {facts.get('logits_shape')} [{case}]", code=D.HEAD, case=case)
        return None

    @check(p, "build_feature_extractor.frozen", "build_feature_extractor", "backbone frozen, head trainable", None)
    def _frozen(results: Any) -> Any:
        for name, case, model, classes, prefix, in_features in runs:
            facts = facts_of(results, name, case)
            flags = facts["requires_grad"]
            head = head_names(facts, prefix)
            thawed = sorted(n for n, flag in flags.items() if flag and n not in head)
            moved = [n for n in thawed if n not in originals[name]() and n.startswith(prefix.rsplit(".", 2)[0] + ".")]
            if thawed and moved == thawed and prefix.count(".") > 1:  # classifier.3.* after a layer put into classifier
                raise fail(f"the head is not where it should be: {', '.join(thawed[:2])} are new, but the classifier's own layers "
                           f"must stay as they are and only its last one ({prefix[:-1]}) be replaced; to add dropout, make the "
                           f"new head nn.Sequential(nn.Dropout(p), nn.Linear(...)) [{case}]", code=D.HEAD, case=case)
            if thawed:
                raise fail(f"backbone parameters still have requires_grad=True: {', '.join(thawed[:4])}{' …' if len(thawed) > 4 else ''} [{case}]", code=D.NOT_FROZEN, case=case)
            frozen_head = sorted(n for n in head if not flags.get(n))
            if frozen_head or not head:
                raise fail(f"the new head must be trainable (requires_grad=True): {', '.join(frozen_head) or 'no head parameters found'} — freeze first, then replace the head [{case}]", code=D.HEAD_FROZEN, case=case)
            verify(results, name, case, prefix, classes, in_features, "after_flag_step")
        return None

    @check(p, "build_feature_extractor.weights", "build_feature_extractor", "backbone weights kept", None)
    def _weights(results: Any) -> Any:
        for name, case, model, classes, prefix, in_features in runs:
            facts = facts_of(results, name, case)
            old = old_head(name, prefix)
            for pname, before in originals[name]().items():
                if pname in old:
                    continue
                after = facts["after_build"].get(pname)
                if after is None:
                    raise fail(f"the backbone parameter {pname} is gone: keep the backbone's layers, replace only the head [{case}]", code=D.BACKBONE_CHANGED, case=case)
                if after.shape != before.shape or not np.array_equal(after, before):
                    raise fail(f"the backbone parameter {pname} changed: the pretrained weights must be kept as they are [{case}]", code=D.BACKBONE_CHANGED, case=case)
        return None

    @check(p, "trainable_parameters.list", "trainable_parameters", "returns exactly the head's parameters", None)
    def _trainable(results: Any) -> Any:
        for name, case, model, classes, prefix, in_features in runs:
            facts = facts_of(results, name, case)
            if "trainable_error" in facts:
                raise results.explain(name, "facts", facts["trainable_error"], case)
            got = facts.get("trainable")
            if not isinstance(got, list):
                raise fail(f"trainable_parameters should return a list of parameters, got {describe(got)} [{case}]", code=D.NOT_LIST, case=case)
            want = sorted(head_names(facts, prefix))
            if sorted(got) != want:
                raise fail(f"trainable_parameters returned {sorted(got)[:6]}, expected the head's {want} [{case}]", code=D.TRAINABLE, case=case)
            verify(results, name, case, prefix, classes, in_features)
        return None

    @check(p, "trainable_parameters.step", "trainable_parameters", "one SGD step changes only the head", None)
    def _step(results: Any) -> Any:
        for name, case, model, classes, prefix, in_features in runs:
            facts = facts_of(results, name, case)
            if "trainable_error" in facts:
                raise results.explain(name, "facts", facts["trainable_error"], case)
            after = facts.get("after_step")
            if after is None:
                raise fail(f"could not take an optimiser step with what trainable_parameters returned [{case}]", code=D.TRAINABLE, case=case)
            head = head_names(facts, prefix)
            for pname, value in after.items():
                changed = not np.array_equal(value, facts["after_build"][pname])
                if pname in head and not changed:
                    raise fail(f"one SGD step left the head parameter {pname} unchanged [{case}]", code=D.HEAD_FROZEN, case=case)
                if pname not in head and changed:
                    raise fail(f"one SGD step changed the backbone parameter {pname}: only the head should learn [{case}]", code=D.NOT_FROZEN, case=case)
            verify(results, name, case, prefix, classes, in_features)
        return None

    return p


def _original(model: str, seed: int) -> dict[str, np.ndarray]:
    """The backbone's parameters as the child builds it (same seed, same code), computed here."""
    import torch

    from tutor.grading import tinymodels

    torch.manual_seed(seed)
    backbone = getattr(tinymodels, model)()
    return {n: p.detach().numpy().copy() for n, p in backbone.named_parameters()}


def _unverified(facts: Any, original: dict[str, np.ndarray], inputs: Any, prefix: str, classes: int, in_features: int,
                key: str = "after_step") -> str | None:
    """What in the reported facts differs from this process's own SGD step; None when they all hold.

    ``key``: the step on what trainable_parameters returned ("after_step"), or on the parameters
    flagged requires_grad ("after_flag_step"). The model is rebuilt here: the seeded backbone, the
    head from the layers the child described (standard layers only), every parameter as reported
    after building. Then the step is redone on the claimed parameters, with the child's seed just
    before the forward (dropout in the head draws the same mask), and compared.
    """
    import torch

    from tutor.grading import tinymodels

    model_name, seed, attr, x, y, step_seed = inputs
    built, after = facts.get("after_build"), facts.get(key)
    if not isinstance(built, dict) or not isinstance(after, dict):
        return "no parameters after the step"
    for pname, value in original.items():  # the backbone, as this process built it
        if pname.startswith(prefix):
            continue
        for stage, reported in (("after building", built.get(pname)), ("after the step", after.get(pname))):
            if stage == "after the step" and pname in _claimed(facts, key):
                continue  # a backbone parameter claimed trainable may change: the flags checks say so
            if not isinstance(reported, np.ndarray) or reported.shape != value.shape or not np.array_equal(reported, value):
                return f"the backbone parameter {pname} {stage} is not the backbone's own"
    torch.manual_seed(seed)
    model = getattr(tinymodels, model_name)()
    head = _rebuild_head(facts.get("head_layers"), getattr(model, attr))
    if isinstance(head, str):
        return head if head.startswith("no description") else Unbuildable(head)
    setattr(model, attr, head)
    names = {n for n, _ in model.named_parameters()}
    if set(built) != names or set(after) != names:
        return "the parameters reported are not those of the model and head described"
    claimed = _claimed(facts, key)
    try:
        with torch.no_grad():
            for pname, parameter in model.named_parameters():
                parameter.copy_(torch.from_numpy(np.asarray(built[pname], dtype=np.float32)))
                parameter.requires_grad_(pname in claimed)
    except (RuntimeError, TypeError, ValueError):
        return "the parameters reported do not fit the model and head described"
    if not claimed:
        return "no parameter to train"
    model.train()
    xt, yt = torch.from_numpy(np.asarray(x)), torch.from_numpy(np.asarray(y))
    torch.manual_seed(step_seed)
    torch.nn.functional.cross_entropy(model(xt), yt).backward()
    for pname, parameter in model.named_parameters():
        want = (parameter - LR * _grad(parameter)).detach().numpy() if pname in claimed else parameter.detach().numpy()
        got = after.get(pname)
        if not isinstance(got, np.ndarray) or got.shape != want.shape or not np.allclose(got, want, rtol=1e-4, atol=1e-5):
            return f"the parameter {pname} after the step is not what one SGD step from its reported start gives"
    return None


class Unbuildable(str):
    """Why the head cannot be rebuilt here: a layer outside the standard ones (said as such, not as tampering)."""


def _claimed(facts: Any, key: str) -> set[str]:
    """The parameters the child says the step trained: flagged requires_grad, or returned by trainable_parameters."""
    if key == "after_flag_step":
        flags = facts.get("requires_grad")
        return {str(n) for n, flag in flags.items() if flag is True} if isinstance(flags, dict) else set()
    listed = facts.get("trainable")
    return {n for n in listed if isinstance(n, str)} if isinstance(listed, list) else set()


def _rebuild_head(described: Any, old: Any) -> Any:
    """The head module from the child's description, or a message saying why it cannot be rebuilt."""
    import torch

    nn = torch.nn
    if not isinstance(described, dict) or not isinstance(described.get("layers"), list) or not described["layers"]:
        return "no description of the head"
    layers: list[Any] = []
    for layer in described["layers"][:32]:
        kind = layer.get("type") if isinstance(layer, dict) else None
        if kind == "Linear" and all(isinstance(layer.get(k), int) and 0 < layer[k] <= 4096 for k in ("in", "out")):
            layers.append(nn.Linear(layer["in"], layer["out"], bias=bool(layer.get("bias", True))))
        elif kind == "Dropout" and isinstance(layer.get("p"), float) and 0.0 <= layer["p"] < 1.0:
            layers.append(nn.Dropout(layer["p"]))
        elif kind in PLAIN_LAYERS and not layer.get("unknown"):
            layers.append(getattr(nn, kind)())
        else:
            shown = str(kind)[:60] if kind else "an undescribed layer"
            return (f"the head holds {shown}, which the grader cannot rebuild to check the step; build the head "
                    "from standard layers (nn.Linear, nn.Dropout, nn.ReLU ...)")
    if described.get("sequential") is True:
        return nn.Sequential(*layers)
    return layers[0] if len(layers) == 1 else "a head described as one layer, with several"


def _grad(parameter: Any) -> Any:
    import torch

    return parameter.grad if parameter.grad is not None else torch.zeros_like(parameter)
