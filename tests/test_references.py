"""Stable references and taught questions.

Cross-references in lessons, question texts and exercise hints name a lesson by
its id and a section by its slug (``dnn-tutor lesson training --section
learning-rate-schedules-and-batch-size``), never by number, so moving a section
cannot silently retarget them. Every reference must resolve, and the target
section must teach what the citing text is about: each target has a key term
(``TARGET_TERMS``) that appears both in the target section and in the paragraph
that cites it.

Every bank question is taught where it says: the section it names contains all
of the question's key terms (``KEY_TERMS``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from tutor.lessons import load_course
from tutor.quiz.bank import load_bank

REPO = Path(__file__).resolve().parents[1]
LESSON_REF_RE = re.compile(r"dnn-tutor\s+lesson\s+([A-Za-z0-9-]+)(?:\s+--section\s+([A-Za-z0-9-]+))?")


def norm(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def course():
    return load_course(REPO / "lessons")


# What each cited section is cited for: the term must appear in the section and in the citing paragraph.
TARGET_TERMS = {
    ("deep-networks", "counting-parameters"): "parameters",
    ("deep-networks", "activation-functions"): "relu",
    ("overfitting", "train-validation-and-test-splits"): "validation",
    ("overfitting", "early-stopping-and-data-augmentation"): "augment",
    ("overfitting", "batch-normalisation"): "batch norm",
    ("overfitting", "weight-penalties-l1-and-l2"): "weight decay",
    ("training", "learning-rate-schedules-and-batch-size"): "schedule",
    ("training", "the-whole-workflow"): "loop",
    ("training", "rmsprop-and-adam"): "adam",
    ("cnn", "a-digit-classifier-shape-by-shape"): "flatten",
    ("cnn", "stride-padding-and-output-size"): "padding",
    ("rnn", "vanishing-gradients-over-long-sequences"): "clip",
    ("transfer", "feature-extraction-freeze-the-base"): "global average pooling",
    ("transfer", "fine-tuning"): "fine-tun",
    ("practice", "sanity-checks-before-a-long-run"): "sanity",
    ("practice", "gradient-clipping"): "clip",
    ("practice", "adamw-warm-up-and-per-batch-schedules"): "warm-up",
    ("practice", "inputs-on-a-common-scale"): "scal",
    ("practice", "plotting-the-training-history"): "history",
    ("practice", "cross-validation"): "cross-validation",
    ("modern-cnns", "batchnorm2d-in-convolutional-networks"): "batchnorm2d",
    ("modern-cnns", "residual-connections"): "residual",
    ("modern-cnns", "an-augmentation-pipeline-for-training-and-validation"): "augment",
    ("modern-cnns", "dead-and-leaky-relus"): "leaky",
}


def paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def reference_sources(course) -> list[tuple[str, str]]:
    """(where, paragraph) for every paragraph of lessons, bank questions and hints that cites a lesson."""
    found = []
    for lesson in course.lessons:
        for section in lesson.sections:
            for para in paragraphs(section.body):
                if LESSON_REF_RE.search(para):
                    found.append((f"{lesson.path.name} / {section.slug}", para))
    for q in load_bank(REPO / "data" / "questions").questions:
        for field in (q.prompt, q.explanation, *q.choices):
            if LESSON_REF_RE.search(field):
                found.append((f"question {q.id}", field))
    info = tomllib.loads((REPO / "exercises" / "info.toml").read_text(encoding="utf-8"))
    for exercise in info.get("exercise", []):
        texts = list(exercise.get("hints", [])) + list(exercise.get("tailored", {}).values())
        for text in texts:
            if LESSON_REF_RE.search(text):
                found.append((f"hint of {exercise['id']}", text))
    return found


def check_reference(course, where: str, paragraph: str) -> list[str]:
    problems = []
    ids = {l.id: l for l in course.lessons}
    for key, slug in LESSON_REF_RE.findall(paragraph):
        if key.isdigit():
            problems.append(f"{where}: 'lesson {key}' names a lesson by number; use its id")
            continue
        if key not in ids:
            problems.append(f"{where}: no lesson {key!r}")
            continue
        if not slug:
            continue
        if slug.isdigit():
            problems.append(f"{where}: '--section {slug}' names a section by number; use its slug")
            continue
        section = next((s for s in ids[key].sections if s.slug == slug), None)
        if section is None:
            problems.append(f"{where}: lesson {key} has no section {slug!r}")
            continue
        term = TARGET_TERMS.get((key, slug))
        if term is None:
            problems.append(f"{where}: add what {key} --section {slug} is cited for to TARGET_TERMS")
            continue
        if term not in norm(section.title + " " + section.body):
            problems.append(f"{where}: {key} --section {slug} never mentions {term!r}")
        if term not in norm(paragraph):
            problems.append(f"{where}: the text citing {key} --section {slug} is not about {term!r}")
    return problems


def test_every_reference_resolves_to_a_section_that_teaches_its_topic(course):
    sources = reference_sources(course)
    assert len(sources) >= 10, "the course should cross-reference itself"
    problems = [p for where, para in sources for p in check_reference(course, where, para)]
    assert not problems, "\n".join(problems)


def test_the_reference_check_can_fail(course):
    assert check_reference(course, "x", "see `dnn-tutor lesson 3 --section 6`")  # numbers
    assert check_reference(course, "x", "see `dnn-tutor lesson training --section no-such`")
    # augmentation text pointing at the batch-norm section: the wrong target
    wrong = "augment the images (`dnn-tutor lesson overfitting --section batch-normalisation`)"
    assert any("not about" in p for p in check_reference(course, "x", wrong))
    right = "augment the images (`dnn-tutor lesson overfitting --section early-stopping-and-data-augmentation`)"
    assert check_reference(course, "x", right) == []


def test_every_target_term_is_used(course):
    """No stale entries: every TARGET_TERMS entry names a real section."""
    ids = {l.id: l for l in course.lessons}
    for key, slug in TARGET_TERMS:
        assert key in ids and any(s.slug == slug for s in ids[key].sections), (key, slug)


# --------------------------------------------------------------------------- every question is taught

# Each question id -> terms its section must contain (case and spacing ignored).
KEY_TERMS: dict[str, tuple[str, ...]] = {
    "dnn-output-activation": ("softmax", "sigmoid", "independent labels"),
    "dnn-multiclass-softmax": ("softmax", "mutually exclusive"),
    "dnn-dense-params": ("401,920",),
    "dnn-xor-hidden": ("XOR", "straight"),
    "dnn-what-is-deep": ("two or more hidden layers",),
    "dnn-neuron-relu-value": ("max(0, z)", "bias"),
    "dnn-batch-output-shape": ("batch", "nn.Linear"),
    "dnn-softmax-value": ("softmax", "exponentials"),
    "dnn-softmax-sums-to-one": ("sigmoid", "sum to 1"),
    "dnn-linear-collapse": ("collapse", "linear"),
    "dnn-hidden-activation": ("ReLU", "hidden"),
    "dnn-regression-output": ("MSELoss", "no activation"),
    "dnn-crossentropy-logits": ("logits", "CrossEntropyLoss"),
    "dnn-softmax-stable": ("subtract the maximum", "overflow"),
    "dnn-crossentropy-value": ("−log p", "cross-entropy"),
    "dnn-initial-loss-ten-classes": ("ln K", "2.30"),
    "dnn-loss-pairs": ("BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss"),
    "dnn-mlp-total-params": ("567,434",),
    "dnn-biggest-layer": ("first layer",),
    "dnn-hierarchy": ("hierarchy", "edges"),
    "dnn-depth-challenges": ("vanishing", "overfitting", "compute"),
    "dnn-sigmoid-ten-layers": ("0.25", "vanishing"),
    "bp-chain-rule": ("chain rule", "backward pass"),
    "bp-scalar-chain": ("chain rule", "local derivative"),
    "bp-dw-shape": ("dW = x.T @ dout",),
    "bp-dx-shape": ("dx = dout @ W.T",),
    "bp-bias-grad-value": ("db", "sums"),
    "bp-relu-backward": ("ReLU", "dout * (x > 0)"),
    "bp-sigmoid-max-slope": ("s * (1 − s)", "0.25"),
    "bp-softmax-ce-grad": ("p − y",),
    "bp-sgd-step": ("θ ← θ − η·∂L/∂θ",),
    "bp-forward-cache": ("cache",),
    "bp-backward-order": ("from the last layer to the first",),
    "bp-centered-difference": ("centred difference", "(f(θ + h) − f(θ − h)) / 2h"),
    "bp-numeric-gradient": ("centred difference", "h²"),
    "bp-centred-difference-error": ("h²",),
    "bp-gradcheck-rel-error": ("relative error", "1e-7"),
    "bp-gradcheck-locate": ("relative error", "each parameter"),
    "bp-zero-init": ("symmetry", "identical"),
    "bp-he-std": ("2 / fan_in", "He"),
    "bp-he-vs-xavier": ("He", "Xavier"),
    "bp-grad-accumulates": ("accumulate", "zero_grad"),
    "bp-exploding-fix": ("clip_grad_norm_", "explode"),
    "bp-softmax-grad": ("p − y", "/ N"),
    "bp-gradient-check": ("centred difference", "float64", "1e-3"),
    "bp-he-init": ("2 / fan_in", "half"),
    "of-test-set": ("test set", "leaks"),
    "of-dropout-purpose": ("dropout", "inference"),
    "of-dropout-scaling": ("1/(1 − p)", "expected"),
    "of-batchnorm-eval": ("model.eval()", "running"),
    "of-dropout-scale-value": ("inverted", "1 − p"),
    "of-dropout-eval-identity": ("evaluation mode", "unchanged"),
    "of-dropout-rate": ("20–50%", "output layer"),
    "of-diagnose-overfitting": ("high variance", "validation loss"),
    "of-diagnose-underfitting": ("high bias", "capacity"),
    "of-l2-penalty-value": ("λ·Σ w²",),
    "of-weight-decay-step": ("weight_decay", "d·w"),
    "of-l1-sparse": ("L1", "sparse", "exactly zero"),
    "of-adamw": ("AdamW",),
    "of-early-stopping-epoch": ("patience", "restore_best_weights"),
    "of-augment-digits": ("augment", "rotation", "label"),
    "of-augment-validation": ("training set only",),
    "of-bn-train-value": ("batch's", "variance"),
    "of-bn-running-mean": ("running", "momentum=0.1"),
    "of-bn-params": ("2·features", "γ"),
    "of-bn-net-params": ("568,970",),
    "of-bn-benefits": ("initialisation", "learning rates", "regularising"),
    "of-regularisers": ("dropout", "weight decay", "early stopping"),
    "of-forgot-eval": ("model.eval()", "dropout"),
    "tr-adam-first-step": ("first step", "size `η`"),
    "tr-adam-constant-grad": ("Adam", "steady gradient"),
    "tr-sgd-step": ("θ ← θ − η·g",),
    "tr-momentum-steps": ("velocity", "1.9"),
    "tr-adam-state": ("running mean of gradients", "squared gradients"),
    "tr-adam-default-lr": ("lr=1e-3",),
    "tr-lr-too-high": ("diverges", "nan"),
    "tr-lr-too-low": ("too small", "slow"),
    "tr-steplr": ("StepLR",),
    "tr-iterations-per-epoch": ("422",),
    "tr-loop-order": ("zero_grad", "backward", "step"),
    "tr-eval-no-grad": ("torch.no_grad()", "model.eval()"),
    "tr-overfit-one-batch": ("one small batch",),
    "tr-lr-log-scale": ("log scale",),
    "tr-random-search": ("random search", "grid search"),
    "tr-tune-first": ("learning rate first",),
    "tr-batch-size-effects": ("batch size", "memory", "fewer updates"),
    "tr-device-mismatch": (".to(device)",),
    "tr-gpu-parallel": ("in parallel",),
    "tr-adam-bias-correction": ("bias correction", "start at zero"),
    "tr-adam-uncorrected-step": ("3.16",),
    "tr-learning-rate": ("diverges", "too small"),
    "tr-save-reload": ("state_dict", "checkpoint", "optimiser's state"),
    "tr-gpu-small-model": ("copying data",),
    "tr-last-batch-shape": ("DataLoader", "batch_size"),
    "cnn-spatial-layer": ("Conv2d", "edge"),
    "cnn-output-size": ("floor((n + 2p - k) / s) + 1",),
    "cnn-conv-params": ("18,496",),
    "cnn-first-conv-params": ("320",),
    "cnn-rgb-conv-params": ("in_channels × k × k",),
    "cnn-params-image-size": ("image size",),
    "cnn-weight-sharing": ("weight sharing",),
    "cnn-feature-map-value": ("filter", "bias"),
    "cnn-conv-output-shape": ("(8, 32, 26, 26)",),
    "cnn-same-padding-shape": ("padding", "keeps the size"),
    "cnn-stem-output-size": ("out = floor((n + 2p - k) / s) + 1", "stride"),
    "cnn-padding-purpose": ("padding", "border of zeros"),
    "cnn-pool-shape": ("MaxPool2d", "halving"),
    "cnn-pool-odd-shape": ("floor",),
    "cnn-maxpool-value": ("largest value",),
    "cnn-pool-no-weights": ("no parameters",),
    "cnn-pool-partial-invariance": ("translation invariance", "block boundary"),
    "cnn-receptive-field-two-convs": ("receptive field",),
    "cnn-receptive-field-pool": ("receptive field", "jump"),
    "cnn-flatten-features": ("flatten", "1600"),
    "cnn-digit-net-params": ("225,034",),
    "cnn-layers-with-params": ("params",),
    "cnn-channels-first": ("permute(0, 3, 1, 2)",),
    "rnn-long-term": ("LSTM", "additive"),
    "rnn-vanishing": ("vanishing", "one factor per step"),
    "rnn-forget-gate": ("forget gate", "keep"),
    "rnn-rnn-params": ("RNN 416",),
    "rnn-lstm-params": ("LSTM 1664",),
    "rnn-gru-params": ("GRU 1248",),
    "rnn-text-lstm-params": ("nn.LSTM(dim, hidden", "parameters"),
    "rnn-output-shape": ("batch_first=True", "every"),
    "rnn-hn-shape": ("h_n", "layers"),
    "rnn-time-first-shape": ("time-first",),
    "rnn-bidirectional-shape": ("bidirectional", "128"),
    "rnn-one-step": ("h_t = tanh",),
    "rnn-cell-update": ("c_t = f_t * c_(t-1) + i_t * g_t",),
    "rnn-lstm-hidden-value": ("h_t = o_t * tanh(c_t)",),
    "rnn-shared-weights": ("same weights",),
    "rnn-bptt-sum": ("sum", "every step"),
    "rnn-truncated-bptt": ("truncated", "detach()"),
    "rnn-clip-grad": ("clip_grad_norm_",),
    "rnn-lstm-gates": ("forget gate", "input gate", "output gate"),
    "rnn-gru-vs-lstm": ("update gate", "reset gate", "three quarters"),
    "rnn-problem-shapes": ("many-to-one",),
    "rnn-sequence-tasks": ("translation", "forecasting", "speech"),
    "rnn-embedding-params": ("nn.Embedding", "vocab × dim"),
    "tl-500-images": ("500", "pretrained"),
    "tl-freeze": ("requires_grad", "freeze"),
    "tl-finetune-lr": ("10 to 100 times lower",),
    "tl-head-trainable-params": ("2,565",),
    "tl-resnet18-params": ("11,689,512",),
    "tl-vgg16-params": ("138,357,544",),
    "tl-vgg-flatten-features": ("25,088",),
    "tl-vgg-dense-head-params": ("25,088 × 256",),
    "tl-gap-head-params": ("global average pooling", "131,328"),
    "tl-layer4-trainable": ("8,396,293",),
    "tl-feature-shape": ("512", "nn.Identity()"),
    "tl-normalise-value": ("mean", "standard deviation", "0.456"),
    "tl-input-prep": ("224", "3 channels", "normalised"),
    "tl-grey-images": ("expand", "sum"),
    "tl-bn-frozen-stats": ("BatchNorm", "running mean"),
    "tl-optimizer-after-unfreeze": ("add_param_group",),
    "tl-head-first": ("random", "scramble"),
    "tl-generic-layers": ("generic", "early layers"),
    "tl-param-groups": ("parameter groups",),
    "tl-more-data-different-domain": ("dataset size", "similar"),
    "tl-precomputed-features": ("once", "512 features"),
    "pr-overfit-one-batch": ("one small batch", "nearly zero"),
    "pr-clip-placement": ("loss.backward()", "opt.step()"),
    "pr-no-decay-groups": ("parameter groups", "weight_decay=0", "biases"),
    "pr-pixel-scale": ("255", "[0, 1]"),
    "pr-zero-std": ("scale of 1", "1e-8"),
    "pr-initial-loss": ("ln K",),
    "pr-clip-value": ("c / norm", "[0.6, 0.8]"),
    "pr-warmup-lr": ("LambdaLR", "once per batch"),
    "pr-warmup-per-epoch": ("once per batch", "per epoch"),
    "pr-cv-fold-size": ("k − 1", "fold"),
    "pr-cv-preprocess": ("training folds only",),
    "pr-history-reading": ("validation curve", "epoch"),
    "mc-batchnorm2d-stats": ("(N, H, W)", "per channel"),
    "mc-residual-gradient": ("dy/dx = 1 + dF/dx", "identity path"),
    "bp-sigmoid-stable": ("exp(x) / (1 + exp(x))", "Subtracting the max"),
    "mc-validation-pipeline": ("centre crop", "nothing random"),
    "mc-bn2d-params": ("one `γ` and one `β` per channel",),
    "mc-conv-bn-params": ("bias=False", "928"),
    "mc-residual-shape": ("1×1 convolution of stride 2",),
    "mc-residual-factor": ("1.1³⁰",),
    "mc-dead-relu": ("dead", "gradient of exactly 0"),
    "mc-leaky-grad": ("max(αz, z)", "0.01"),
    "mc-shortcut-projection": ("shortcut", "1×1"),
    "mc-conv-bias-bn": ("bias=False",),
    "mc-augment-where": ("split the indices", "own transform"),
}


def untaught(course, questions) -> list[str]:
    problems = []
    by_number = {l.number: l for l in course.lessons}
    for q in questions:
        terms = KEY_TERMS.get(q.id)
        if not terms:
            problems.append(f"{q.id}: add its key terms to KEY_TERMS in tests/test_references.py")
            continue
        lesson = by_number.get(q.lesson)
        section = next((s for s in lesson.sections if s.slug == q.section), None) if lesson else None
        if section is None:
            problems.append(f"{q.id}: lesson {q.lesson} has no section {q.section!r}")
            continue
        text = norm(section.title + " " + section.body)
        missing = [t for t in terms if norm(t) not in text]
        if missing:
            problems.append(f"{q.id}: section {q.section!r} never mentions {missing}")
    return problems


def test_every_question_is_taught_in_its_section(course):
    problems = untaught(course, load_bank(REPO / "data" / "questions").questions)
    assert not problems, "\n".join(problems)


def test_the_taught_check_can_fail(course):
    from dataclasses import replace

    q = load_bank(REPO / "data" / "questions").by_id()["tr-overfit-one-batch"]
    assert untaught(course, [q]) == []
    assert untaught(course, [replace(q, section="saving-reloading-and-gpus")])  # taught elsewhere


def test_no_stale_key_terms():
    ids = set(load_bank(REPO / "data" / "questions").by_id())
    assert sorted(set(KEY_TERMS) - ids) == []
