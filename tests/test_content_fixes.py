"""Content corrections a reviewer asked for: each test fails on the old wording and passes on the fix."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def _questions() -> dict[str, dict]:
    found: dict[str, dict] = {}
    for path in sorted((REPO / "data" / "questions").glob("*.toml")):
        for q in tomllib.loads(path.read_text(encoding="utf-8")).get("question", []):
            found[q["id"]] = q
    return found


def _lesson(name: str) -> str:
    return " ".join((REPO / "lessons" / name).read_text(encoding="utf-8").split())  # one line, single spaces


def _concepts(exercise: str) -> dict[str, str]:
    data = tomllib.loads((REPO / "exercises" / "info.toml").read_text(encoding="utf-8"))
    entry = next(e for e in data["exercise"] if e["id"] == exercise)
    return entry.get("concepts", {})


# --------------------------------------------------------------------------- 1. channels-last NumPy input


def test_channels_first_key_works_on_a_numpy_array():
    q = _questions()["cnn-channels-first"]
    assert "NumPy array" in q["prompt"]
    key = q["answer"]
    assert "np.transpose(x, (0, 3, 1, 2))" in key or "torch.from_numpy(x).permute" in key
    assert not re.search(r"(?<![\w.)])x\.permute", key), "an ndarray has no .permute"
    # The keyed call really gives the layout nn.Conv2d(1, ...) needs, and nothing else is keyed.
    x = np.zeros((16, 28, 28, 1), dtype=np.float32)
    assert np.transpose(x, (0, 3, 1, 2)).shape == (16, 1, 28, 28)
    assert [c for c in q["choices"] if "transpose" in c or "permute" in c] == [key]
    assert not hasattr(x, "permute")


def test_cnn_lesson_tells_an_array_from_a_tensor():
    text = _lesson("05-cnn.md")
    assert "np.transpose(x, (0, 3, 1, 2))" in text
    assert "A NumPy array has no `.permute`" in text
    assert "Convert with `x.permute(0, 3, 1, 2)`" not in text


# --------------------------------------------------------------------------- 5. padding="same" in PyTorch


def test_same_padding_is_said_to_be_stride_one_only_in_pytorch():
    text = _lesson("05-cnn.md")
    assert 'PyTorch accepts `padding="same"` too' not in text
    assert 'PyTorch accepts `padding="same"` only at stride 1' in text
    import torch.nn as nn

    with pytest.raises(ValueError):  # what the lesson now claims
        nn.Conv2d(1, 1, 3, stride=2, padding="same")


# --------------------------------------------------------------------------- 2. sigmoid slope and depth


def test_sigmoid_slope_explanation_lets_weights_amplify():
    text = _questions()["bp-sigmoid-max-slope"]["explanation"]
    assert "at least a factor of 4" not in text
    assert "at most 0.25" in text and "W^T" in text and "large weights" in text


# --------------------------------------------------------------------------- 3. pretrained input size


def test_input_prep_asks_what_keeps_the_pretrained_features_working():
    q = _questions()["tl-input-prep"]
    assert "features work as they did in training" in q["prompt"]
    assert any("224x224" in a for a in q["answer"])
    assert "adaptive average pooling" in q["explanation"] and "not because other sizes fail" in q["explanation"]
    assert "The size is the soft requirement" not in q["explanation"]


# --------------------------------------------------------------------------- 4. cross-entropy targets


def test_cross_entropy_targets_include_float_probabilities():
    text = _lesson("01-deep-networks.md")
    assert "One-hot labels by habit" not in text
    assert "float class probabilities of shape `(N, K)`" in text
    assert "one-hot tensor of dtype `long`" in text
    q = _questions()["dnn-crossentropy-logits"]
    assert "raw logits and integer class labels" not in q["explanation"]
    assert "float class probabilities" in q["explanation"]


def test_cross_entropy_really_takes_one_hot_floats_but_not_one_hot_longs():
    import torch
    import torch.nn as nn

    logits = torch.tensor([[2.0, 1.0, 0.1]])
    ce = nn.CrossEntropyLoss()
    assert torch.isclose(ce(logits, torch.tensor([0])), ce(logits, torch.tensor([[1.0, 0.0, 0.0]])))
    with pytest.raises(RuntimeError):
        ce(logits, torch.tensor([[1, 0, 0]]))


# --------------------------------------------------------------------------- 6. downsampling shortcut


def test_shortcut_is_not_said_to_need_a_projection():
    text = _lesson("09-modern-cnns.md")
    assert "the shortcut must change it too, with a 1×1 convolution of stride 2" not in text
    assert "pad the extra channels with zeros" in text and "1×1 convolution of stride 2" in text
    q = _questions()["mc-shortcut-projection"]
    assert "What must its shortcut do?" not in q["prompt"]
    assert q["answer"] == "A 1x1 convolution with stride 2 (and batch norm) to match the shape"
    assert "parameter-free" in q["explanation"]


# --------------------------------------------------------------------------- 7. diagnosis code -> quiz question


@pytest.mark.parametrize("exercise, code, question", [
    ("dropout", "keep-prob", "of-dropout-scale-value"),
    ("rnn", "tanh-derivative", "rnn-vanishing"),
    ("lstm", "lstm-dc-through-h", "rnn-lstm-hidden-value"),
    ("lstm", "lstm-dc-missing", "rnn-long-term"),
    ("lstm", "lstm-dc-prev-forget", "rnn-long-term"),
])
def test_diagnosis_codes_bring_forward_a_fitting_question(exercise, code, question):
    assert _concepts(exercise)[code] == question
    assert question in _questions()


# --------------------------------------------------------------------------- three-decimal answers, graded alike


def test_a_three_decimal_question_takes_the_rounded_value_and_never_a_two_decimal_one():
    from tutor.quiz.answers import number_matches

    for words, places, at_least in (("three decimal", 3, 9), ("four decimal", 4, 3)):
        asked = {qid: q for qid, q in _questions().items() if words in q.get("prompt", "").lower()}
        assert len(asked) >= at_least, words
        for qid, q in asked.items():
            answer, tol = float(q["answer"]), float(q["tolerance"])
            step = 10.0 ** -places
            assert number_matches(round(answer, places), answer, tol), qid  # the correctly rounded value
            if round(answer, places - 1) != round(answer, places):  # 2.30 for ln 10, 1.61 for ln 5: too coarse
                assert not number_matches(round(answer, places - 1), answer, tol), qid
            assert not number_matches(round(answer, places) + step, answer, tol), qid  # one off in the last place


def test_max_pool_hint_sends_a_tied_window_gradient_to_one_place():
    data = tomllib.loads((REPO / "exercises" / "info.toml").read_text(encoding="utf-8"))
    hints = " ".join(next(e for e in data["exercise"] if e["id"] == "conv")["hints"])
    assert "position(s)" not in hints and "counts it twice" in hints


def test_summed_grey_kernels_are_equal_only_before_per_channel_normalisation():
    assert "as long as the three channels really are equal" in _lesson("07-transfer.md")
    assert "must be made three-channel first" not in _lesson("07-transfer.md")  # it is one of two ways
    assert "exact only away from the border" in _lesson("07-transfer.md")
    assert "before any per-channel normalisation" in _questions()["tl-grey-images"]["explanation"]
    assert "Hinton and colleagues introduced it in 2012" in _lesson("03-overfitting.md")
