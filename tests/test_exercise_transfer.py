"""Planted bugs in the transfer solution (small models, random weights, no downloads).

The planted bugs are graded in this process by the same plan, job runner and
judges as `dnn-tutor check` (tests/bugs/harness.py), wording included; the
half-done file goes end to end through a child process (about 2 s: the child
imports torch), as the solution, the starter and odd return values do in
test_grading.py.
"""

from __future__ import annotations

import pytest

from bugs.harness import grade_source, plant
from test_grading_helpers import assert_diagnosis, grade, planted

FREEZE = "    for parameter in backbone.parameters():\n        parameter.requires_grad = False\n"

BUGS = [
    ("backbone not frozen", [("        parameter.requires_grad = False", "        pass")], "build_feature_extractor.frozen", "not-frozen", ["requires_grad=True"]),
    ("frozen after replacing the head", [(FREEZE, ""), ("    return backbone\n", FREEZE + "    return backbone\n")], "build_feature_extractor.frozen", "head-frozen", ["freeze first"]),
    ("all parameters returned", [("    return [p for p in model.parameters() if p.requires_grad]", "    return list(model.parameters())")], "trainable_parameters.list", "trainable", ["fc.weight"]),
    ("whole classifier replaced", [("        head = backbone.classifier\n        last = max(i for i, layer in enumerate(head) if isinstance(layer, nn.Linear))\n        head[last] = nn.Linear(head[last].in_features, num_classes)", "        backbone.classifier = nn.Linear(32, num_classes)")], "build_feature_extractor.head", "head", ["in_features=16"]),
    ("model not returned", [("    return backbone\n", "")], "build_feature_extractor.head", "none", ["returned None"]),
]


@pytest.mark.parametrize("name, replacements, check, code, fragments", BUGS, ids=[b[0] for b in BUGS])
def test_planted_bug_is_diagnosed(tmp_path, name, replacements, check, code, fragments):
    report = grade_source("transfer", plant("transfer", *replacements), tmp_path, seed=7)
    assert_diagnosis(report, check, code, *fragments)


@pytest.mark.slow
def test_half_done_transfer_gets_partial_credit(tmp_path):
    path = planted(tmp_path, "transfer", ("    return [p for p in model.parameters() if p.requires_grad]", '    raise NotImplementedError("trainable_parameters")'))
    report = grade("transfer", path, seed=7)
    by_id = {c.id: c for c in report.checks}
    assert by_id["build_feature_extractor.head"].passed and by_id["build_feature_extractor.frozen"].passed
    assert by_id["trainable_parameters.list"].not_started
    assert "trainable_parameters is not started" in by_id["trainable_parameters.list"].message
    assert report.status == "3 of 5 checks"


@pytest.mark.slow
def test_made_up_facts_from_the_learners_process_do_not_pass(tmp_path):
    """The child runs the learner's code, which can replace the grader's code there and report any facts
    it likes; the parent builds the backbone and redoes the SGD step itself, so invented facts fail."""
    forged = '''import sys
import numpy as np

HEADS = {"TinyResNet": ("fc.", 8), "TinyVGG": ("classifier.2.", 16), "TinyNet": ("classifier.", 12)}


def invented(self, step, env, variables):
    prefix, width = HEADS[step["model"]]
    weight = prefix + "weight"
    return {"is_module": True, "returned": None, "after_build": {weight: np.zeros(1)}, "requires_grad": {weight: True},
            "head": {"type": "Linear", "in_features": width, "out_features": step["num_classes"]},
            "logits_shape": (4, step["num_classes"]), "trainable": [weight], "after_step": {weight: np.ones(1)},
            "after_flag_step": {weight: np.ones(1)}}


sys.modules["__main__"].Runner.step_transfer = invented


def build_feature_extractor(backbone, num_classes):
    raise NotImplementedError


def trainable_parameters(model):
    raise NotImplementedError
'''
    path = tmp_path / "transfer.py"
    path.write_text(forged)
    report = grade("transfer", path, seed=7)
    by_id = {c.id: c for c in report.checks}
    assert report.status != "done"
    for check in ("build_feature_extractor.frozen", "trainable_parameters.list", "trainable_parameters.step"):
        assert not by_id[check].passed and by_id[check].code == "protocol", by_id[check].message
    assert report.passed <= 1


HEADS = [
    ("the new head wrapped in Sequential", "nn.Sequential(nn.Linear({src}.in_features, num_classes))"),
    ("dropout before the new head", "nn.Sequential(nn.Dropout(0.3), nn.Linear({src}.in_features, num_classes))"),
]


@pytest.mark.parametrize("name, head", HEADS, ids=[h[0] for h in HEADS])
def test_correct_heads_in_other_shapes_pass(tmp_path, name, head):
    """The parent redoes the SGD step to check the child's facts; heads it rebuilds from standard layers
    (dropout included: the step is seeded) pass as the plain Linear does, never "did your code write to
    the grader's channel"."""
    source = plant(
        "transfer",
        ("        backbone.fc = nn.Linear(backbone.fc.in_features, num_classes)",
         "        backbone.fc = " + head.format(src="backbone.fc")),
        ("        backbone.classifier = nn.Linear(backbone.classifier.in_features, num_classes)",
         "        backbone.classifier = " + head.format(src="backbone.classifier")),
    )
    report = grade_source("transfer", source, tmp_path, seed=5)
    assert report.ok, report.failing()


def test_a_head_of_custom_layers_is_told_to_use_standard_ones_not_accused(tmp_path):
    custom = ("class Scale(nn.Module):\n    def forward(self, x):\n        return 2 * x\n\n\n"
              "def build_feature_extractor(backbone, num_classes):")
    source = plant("transfer", ("def build_feature_extractor(backbone, num_classes):", custom),
                   ("        backbone.fc = nn.Linear(backbone.fc.in_features, num_classes)",
                    "        backbone.fc = nn.Sequential(Scale(), nn.Linear(backbone.fc.in_features, num_classes))"))
    report = grade_source("transfer", source, tmp_path, seed=5)
    failing = report.failing()
    assert failing and all(code != "protocol" for code, _ in failing.values()), failing
    assert any("standard layers" in message for _, message in failing.values())


def test_a_layer_put_into_the_classifier_is_told_where_the_head_goes_not_accused_of_thawing(tmp_path):
    """Dropout inserted before TinyVGG's last Linear moved the new head to classifier.3: it was reported as
    a backbone left trainable; the report now says the classifier's own layers must stay."""
    source = '''from torch import nn
def build_feature_extractor(backbone, num_classes):
    backbone.requires_grad_(False)
    if isinstance(getattr(backbone, "fc", None), nn.Linear):
        backbone.fc = nn.Sequential(nn.Dropout(0.5), nn.Linear(backbone.fc.in_features, num_classes))
    elif isinstance(getattr(backbone, "classifier", None), nn.Linear):
        backbone.classifier = nn.Sequential(nn.Dropout(0.5), nn.Linear(backbone.classifier.in_features, num_classes))
    else:
        head = backbone.classifier
        head[-1] = nn.Linear(head[-1].in_features, num_classes)
        backbone.classifier = nn.Sequential(*list(head)[:-1], nn.Dropout(0.5), head[-1])
    return backbone
def trainable_parameters(model):
    return (p for p in model.parameters() if p.requires_grad)
'''
    failing = grade_source("transfer", source, tmp_path).failing()
    code, message = failing["build_feature_extractor.frozen"]
    assert code == "head" and "the classifier's own layers must stay" in message and "still have requires_grad" not in message
