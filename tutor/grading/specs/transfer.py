"""Checks for exercises/transfer.py: freeze a backbone, replace its head, train only the head.

The child builds the small models of :mod:`tutor.grading.tinymodels` (random
weights, no downloads), runs the learner's functions and one SGD step, and
reports facts: parameter values before and after, ``requires_grad`` flags,
the head's shape, which parameters ``trainable_parameters`` returned. The
parent judges those facts.
"""

from __future__ import annotations

from pathlib import Path

from typing import Any

import numpy as np

from tutor.grading.compare import describe, fail
from tutor.grading.diagnoses import Diagnosis as D
from tutor.grading.engine import Plan
from tutor.grading.specs._common import check

MODELS_PATH = Path(__file__).resolve().parents[1] / "tinymodels.py"
HEADS = {  # model -> (head attribute, head parameter prefix, head in_features)
    "TinyResNet": ("fc", "fc.", 8),
    "TinyVGG": ("classifier", "classifier.2.", 16),
    "TinyNet": ("classifier", "classifier.", 12),
}


def plan(rng: np.random.Generator) -> Plan:
    p = Plan(needs_torch=True)
    runs = []
    for model, classes in [("TinyResNet", 5), ("TinyVGG", 3), ("TinyNet", 7)]:
        attr, prefix, in_features = HEADS[model]
        x = rng.normal(size=(4, 3, 8, 8)).astype(np.float32)
        y = rng.integers(0, classes, size=4)
        step = {"op": "transfer", "models_path": str(MODELS_PATH), "model": model, "num_classes": classes,
                "seed": int(rng.integers(2**31)), "head": attr, "x": x, "y": y, "save": "facts"}
        name = p.job(f"build_feature_extractor#{model}", step)
        runs.append((name, f"{model} (head .{attr}), num_classes={classes}", model, classes, prefix, in_features))

    def facts_of(results: Any, name: Any, case: Any) -> Any:
        facts = results.get(name, "facts", case)
        returned = facts.get("returned")
        if facts.get("is_module") is not True:
            raise fail(f"build_feature_extractor should return the model (an nn.Module); it returned {describe(returned)} [{case}]",
                       code=D.NONE if returned is None else D.NOT_MODULE, case=case)
        return facts

    def head_names(facts: Any, prefix: Any) -> Any:
        return {n for n in facts["after_build"] if n.startswith(prefix)}

    def old_head(facts: Any, prefix: Any) -> Any:
        return {n for n in facts["before"] if n.startswith(prefix)}

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
            if thawed:
                raise fail(f"backbone parameters still have requires_grad=True: {', '.join(thawed[:4])}{' …' if len(thawed) > 4 else ''} [{case}]", code=D.NOT_FROZEN, case=case)
            frozen_head = sorted(n for n in head if not flags.get(n))
            if frozen_head or not head:
                raise fail(f"the new head must be trainable (requires_grad=True): {', '.join(frozen_head) or 'no head parameters found'} — freeze first, then replace the head [{case}]", code=D.HEAD_FROZEN, case=case)
        return None

    @check(p, "build_feature_extractor.weights", "build_feature_extractor", "backbone weights kept", None)
    def _weights(results: Any) -> Any:
        for name, case, model, classes, prefix, in_features in runs:
            facts = facts_of(results, name, case)
            old = old_head(facts, prefix)
            for pname, before in facts["before"].items():
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
        return None

    return p
