"""The quiz question bank (data/questions/NN-*.toml): schema, coverage, and correct answers.

Every ``number`` and ``shape`` answer is recomputed here, with torch where a layer
or an optimiser is involved, so a typo in the bank fails the suite. A new number
or shape question needs a new entry in ``VERIFY``; the test says so.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

import pytest

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
BANK_DIR = REPO / "data" / "questions"
LESSONS_DIR = REPO / "lessons"

BANK_FILES = {
    1: "01-deep-networks.toml",
    2: "02-backprop.toml",
    3: "03-overfitting.toml",
    4: "04-training.toml",
    5: "05-cnn.toml",
    6: "06-rnn.toml",
    7: "07-transfer.toml",
    8: "08-practice.toml",
    9: "09-modern-cnns.toml",
}
ID_PREFIX = {1: "dnn-", 2: "bp-", 3: "of-", 4: "tr-", 5: "cnn-", 6: "rnn-", 7: "tl-", 8: "pr-", 9: "mc-"}
TOPICS = {
    1: {"basics", "activations", "losses", "parameters", "depth"},
    2: {"backprop", "gradient-checking", "initialisation"},
    3: {"overfitting", "dropout", "regularisation", "batchnorm", "augmentation"},
    4: {"optimizers", "learning-rate", "tuning", "workflow", "gpu"},
    5: {"cnn", "pooling", "conv-shapes"},
    6: {"rnn", "lstm", "gru", "sequences"},
    7: {"transfer", "fine-tuning"},
    8: {"inputs", "sanity-checks", "clipping", "optimizers", "schedules", "cross-validation", "history"},
    9: {"batchnorm", "residual", "activations", "augmentation"},
}
MIN_QUESTIONS = {number: (15 if number <= 7 else 10) for number in BANK_FILES}

# Section slugs of the course outline (slugify of each lesson's "## " titles).
# The lesson files are the source of truth; test_sections_match_lesson_files
# re-checks against them whenever they are present.
OUTLINE_SLUGS = {
    1: {
        "neurons-layers-and-the-forward-pass",
        "activation-functions",
        "matching-outputs-and-losses",
        "counting-parameters",
        "why-depth-helps",
        "what-makes-deep-networks-hard",
        "common-mistakes",
        "summary",
    },
    2: {
        "computational-graphs-and-the-chain-rule",
        "the-algorithm-step-by-step",
        "local-gradients-of-common-layers",
        "caches-and-batched-backward",
        "gradient-checking",
        "initialisation-and-a-network-from-scratch",
        "common-mistakes",
        "summary",
    },
    3: {
        "train-validation-and-test-splits",
        "bias-variance-and-learning-curves",
        "dropout",
        "weight-penalties-l1-and-l2",
        "early-stopping-and-data-augmentation",
        "batch-normalisation",
        "common-mistakes",
        "summary",
    },
    4: {
        "gradient-descent-and-momentum",
        "rmsprop-and-adam",
        "learning-rate-schedules-and-batch-size",
        "tuning-hyperparameters",
        "the-whole-workflow",
        "saving-reloading-and-gpus",
        "common-mistakes",
        "summary",
    },
    5: {
        "convolution-as-a-sliding-filter",
        "stride-padding-and-output-size",
        "parameters-convolution-versus-dense",
        "pooling-and-translation-invariance",
        "receptive-fields-and-flattening",
        "a-digit-classifier-shape-by-shape",
        "common-mistakes",
        "summary",
    },
    6: {
        "sequences-and-hidden-state",
        "unrolling-and-backpropagation-through-time",
        "vanishing-gradients-over-long-sequences",
        "lstm-gates-and-the-cell-state",
        "gru-a-lighter-gated-cell",
        "applications",
        "common-mistakes",
        "summary",
    },
    7: {
        "why-reuse-a-trained-network",
        "feature-extraction-freeze-the-base",
        "fine-tuning",
        "learning-rates-for-fine-tuning",
        "pretrained-models-in-torchvision",
        "a-plan-for-500-labelled-images",
        "common-mistakes",
        "summary",
    },
    8: {
        "inputs-on-a-common-scale",
        "sanity-checks-before-a-long-run",
        "gradient-clipping",
        "adamw-warm-up-and-per-batch-schedules",
        "cross-validation",
        "plotting-the-training-history",
        "common-mistakes",
        "summary",
    },
    9: {
        "batchnorm2d-in-convolutional-networks",
        "residual-connections",
        "dead-and-leaky-relus",
        "an-augmentation-pipeline-for-training-and-validation",
        "common-mistakes",
        "summary",
    },
}

# The checkpoint ids of the lessons' front matter (21 or more) -> lesson number.
CHECKPOINTS = {
    "dnn-output-activation": 1,
    "dnn-dense-params": 1,
    "dnn-xor-hidden": 1,
    "bp-softmax-grad": 2,
    "bp-gradient-check": 2,
    "bp-he-init": 2,
    "of-test-set": 3,
    "of-dropout-purpose": 3,
    "of-dropout-scaling": 3,
    "of-batchnorm-eval": 3,
    "tr-adam-bias-correction": 4,
    "tr-learning-rate": 4,
    "tr-random-search": 4,
    "tr-save-reload": 4,
    "cnn-spatial-layer": 5,
    "cnn-output-size": 5,
    "cnn-conv-params": 5,
    "rnn-long-term": 6,
    "rnn-vanishing": 6,
    "rnn-forget-gate": 6,
    "tl-500-images": 7,
    "tl-freeze": 7,
    "tl-finetune-lr": 7,
    "pr-overfit-one-batch": 8,
    "pr-clip-placement": 8,
    "pr-no-decay-groups": 8,
    "mc-batchnorm2d-stats": 9,
    "mc-residual-gradient": 9,
    "mc-validation-pipeline": 9,
}

# The five practice questions of the seed material, in our own words:
# id -> (kind, a word the right answer must contain).
SEED_QUESTIONS = {
    "dnn-multiclass-softmax": ("choice", "Softmax"),
    "of-dropout-purpose": ("choice", "overfitting"),
    "tl-500-images": ("choice", "pretrained"),
    "cnn-spatial-layer": ("choice", "Conv2d"),
    "rnn-long-term": ("choice", "LSTM"),
}

KINDS = {"choice", "multi", "true-false", "number", "shape"}
REQUIRED = {"id", "lesson", "topic", "kind", "prompt", "answer", "explanation", "section"}
ALLOWED = {
    "choice": REQUIRED | {"choices"},
    "multi": REQUIRED | {"choices"},
    "true-false": REQUIRED,
    "number": REQUIRED | {"tolerance", "misconceptions"},
    "shape": REQUIRED,
}
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# --------------------------------------------------------------------------- loading


def _load(path: Path) -> list[dict]:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    assert set(data) <= {"question"}, f"{path.name}: only [[question]] tables belong in a bank file"
    return data.get("question", [])


@lru_cache(maxsize=1)
def bank() -> dict[int, list[dict]]:
    return {number: _load(BANK_DIR / name) for number, name in BANK_FILES.items() if (BANK_DIR / name).exists()}


def all_questions() -> list[dict]:
    return [q for questions in bank().values() for q in questions]


def by_id() -> dict[str, dict]:
    return {q["id"]: q for q in all_questions()}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --------------------------------------------------------------------------- schema


def test_every_lesson_has_its_bank_file_and_no_strays():
    present = sorted(p.name for p in BANK_DIR.glob("*.toml"))
    assert present == sorted(BANK_FILES.values())


def test_file_names_match_lesson_numbers():
    for number, questions in bank().items():
        assert int(BANK_FILES[number][:2]) == number
        for q in questions:
            assert q.get("lesson") == number, f"{q.get('id')} sits in {BANK_FILES[number]} but says lesson {q.get('lesson')}"


def test_schema_fields_and_types():
    problems = []
    for q in all_questions():
        qid = q.get("id", "?")
        kind = q.get("kind")
        if kind not in KINDS:
            problems.append(f"{qid}: unknown kind {kind!r}")
            continue
        missing = REQUIRED - set(q)
        if missing:
            problems.append(f"{qid}: missing {sorted(missing)}")
        unknown = set(q) - ALLOWED[kind]
        if unknown:
            problems.append(f"{qid}: keys not allowed for a {kind} question: {sorted(unknown)}")
        if not isinstance(q.get("id"), str) or not SLUG_RE.match(q["id"]):
            problems.append(f"{qid}: id must be a lowercase slug")
        if not isinstance(q.get("lesson"), int) or isinstance(q.get("lesson"), bool):
            problems.append(f"{qid}: lesson must be an integer")
        for key in ("prompt", "explanation", "topic", "section"):
            if not isinstance(q.get(key), str) or not q.get(key, "").strip():
                problems.append(f"{qid}: {key} must be non-empty text")
        if len(q.get("explanation", "")) < 60:
            problems.append(f"{qid}: explanation shorter than 60 characters")
        answer = q.get("answer")
        if kind in ("choice", "multi"):
            choices = q.get("choices")
            if not isinstance(choices, list) or not 3 <= len(choices) <= 5:
                problems.append(f"{qid}: needs 3-5 choices")
            elif not all(isinstance(c, str) and c.strip() for c in choices):
                problems.append(f"{qid}: choices must be non-empty texts")
            elif len({c.strip().lower() for c in choices}) != len(choices):
                problems.append(f"{qid}: choices repeat")
        if kind == "choice" and not isinstance(answer, str):
            problems.append(f"{qid}: a choice answer is one choice's text")
        if kind == "multi" and not isinstance(answer, list):
            problems.append(f"{qid}: a multi answer is a list of choices")
        if kind == "true-false" and not isinstance(answer, bool):
            problems.append(f"{qid}: a true-false answer is a TOML boolean")
        if kind == "number":
            if not _is_number(answer) or not math.isfinite(answer):
                problems.append(f"{qid}: a number answer must be a finite number")
            tol = q.get("tolerance")
            if tol is not None and (not _is_number(tol) or tol <= 0):
                problems.append(f"{qid}: tolerance must be a positive number")
            elif tol is not None and _is_number(answer) and tol > 0.01 * max(abs(answer), 1e-300):
                # A tolerance wider than 1 % would accept answers that are simply wrong.
                problems.append(f"{qid}: tolerance {tol} is more than 1% of the answer {answer}")
        if kind == "shape" and not (
            isinstance(answer, list)
            and answer
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in answer)
        ):
            problems.append(f"{qid}: a shape answer is a non-empty list of positive integers")
    assert not problems, "\n".join(problems)


def test_ids_unique_across_files_and_prefixed_by_lesson():
    seen: dict[str, int] = {}
    problems = []
    for number, questions in bank().items():
        for q in questions:
            if q["id"] in seen:
                problems.append(f"{q['id']} appears in lessons {seen[q['id']]} and {number}")
            seen[q["id"]] = number
            if not q["id"].startswith(ID_PREFIX[number]):
                problems.append(f"{q['id']}: lesson {number} ids start with {ID_PREFIX[number]!r}")
    assert not problems, "\n".join(problems)


def test_counts_per_lesson_and_in_total():
    counts = {number: len(bank().get(number, [])) for number in BANK_FILES}
    assert all(counts[n] >= MIN_QUESTIONS[n] for n in counts), counts
    assert sum(counts.values()) >= 105, counts


def test_every_lesson_mixes_kinds():
    for number, questions in bank().items():
        kinds = {q["kind"] for q in questions}
        assert "choice" in kinds, f"lesson {number} has no choice question"
        others = kinds & {"true-false", "number", "shape", "multi"}
        assert len(others) >= 2, f"lesson {number} has only {sorted(kinds)}"


def test_choice_answers_are_among_the_choices():
    problems = []
    for q in all_questions():
        if q["kind"] == "choice" and q["answer"] not in q["choices"]:
            problems.append(f"{q['id']}: answer {q['answer']!r} is not one of its choices")
        if q["kind"] == "multi":
            answer = q["answer"]
            if not answer:
                problems.append(f"{q['id']}: a multi answer must name at least one choice")
            if len(set(answer)) != len(answer):
                problems.append(f"{q['id']}: a multi answer repeats a choice")
            stray = [a for a in answer if a not in q["choices"]]
            if stray:
                problems.append(f"{q['id']}: {stray} are not among the choices")
            if set(answer) == set(q["choices"]):
                problems.append(f"{q['id']}: every choice is right; add a wrong one")
    assert not problems, "\n".join(problems)


def test_topics_come_from_the_lesson_vocabulary():
    problems = [
        f"{q['id']}: topic {q['topic']!r} is not one of {sorted(TOPICS[q['lesson']])}"
        for q in all_questions()
        if q["topic"] not in TOPICS[q["lesson"]]
    ]
    assert not problems, "\n".join(problems)


def test_every_topic_of_the_vocabulary_is_asked_about():
    for number, questions in bank().items():
        used = {q["topic"] for q in questions}
        assert TOPICS[number] <= used, f"lesson {number} never asks about {sorted(TOPICS[number] - used)}"


def test_sections_are_outline_slugs():
    problems = [
        f"{q['id']}: section {q['section']!r} is not a section of lesson {q['lesson']}"
        for q in all_questions()
        if q["section"] not in OUTLINE_SLUGS[q["lesson"]]
    ]
    assert not problems, "\n".join(problems)


def _lesson_files() -> list[Path]:
    return sorted(p for p in LESSONS_DIR.glob("[0-9][0-9]-*.md"))


def _lessons_on_disk() -> dict[int, object]:
    """The lessons present, via load_course() when the course is complete, else file by file."""
    from tutor.lessons import load_course, load_lesson

    files = _lesson_files()
    if not files:
        pytest.skip("no lesson files yet")
    if len(files) == len(BANK_FILES):
        return {lesson.number: lesson for lesson in load_course(LESSONS_DIR).lessons}
    return {lesson.number: lesson for lesson in map(load_lesson, files)}


def test_sections_match_lesson_files():
    lessons = _lessons_on_disk()
    problems = []
    for q in all_questions():
        lesson = lessons.get(q["lesson"])
        if lesson is None:
            continue
        slugs = [s.slug for s in lesson.sections]
        if q["section"] not in slugs:
            problems.append(f"{q['id']}: section {q['section']!r} is not in {lesson.path.name} ({slugs})")
    assert not problems, "\n".join(problems)


def test_outline_slugs_agree_with_lesson_files():
    lessons = _lessons_on_disk()
    for number, lesson in lessons.items():
        assert {s.slug for s in lesson.sections} == OUTLINE_SLUGS[number], (
            f"{lesson.path.name} sections changed; update OUTLINE_SLUGS and the bank's section slugs"
        )


def test_checkpoints_exist_with_their_lesson():
    ids = by_id()
    assert len(CHECKPOINTS) >= 21
    problems = []
    for qid, number in CHECKPOINTS.items():
        if qid not in ids:
            problems.append(f"checkpoint {qid} is missing from the bank")
        elif ids[qid]["lesson"] != number:
            problems.append(f"checkpoint {qid} belongs to lesson {number}, the bank says {ids[qid]['lesson']}")
    assert not problems, "\n".join(problems)


def test_lesson_checkpoints_are_in_the_bank():
    lessons = _lessons_on_disk()
    ids = by_id()
    problems = []
    for number, lesson in lessons.items():
        for qid in lesson.checkpoints:
            if qid not in ids:
                problems.append(f"{lesson.path.name} names checkpoint {qid}, which the bank lacks")
            elif ids[qid]["lesson"] != number:
                problems.append(f"{qid}: lesson {number} names it, the bank files it under {ids[qid]['lesson']}")
            elif CHECKPOINTS.get(qid) != number:
                problems.append(f"{qid}: add it to CHECKPOINTS in this test")
    assert not problems, "\n".join(problems)


def test_seed_practice_questions_exist():
    ids = by_id()
    for qid, (kind, word) in SEED_QUESTIONS.items():
        assert qid in ids, f"seed practice question {qid} is missing"
        q = ids[qid]
        assert q["kind"] == kind
        assert word.lower() in q["answer"].lower(), f"{qid}: the right answer should mention {word!r}"


# --------------------------------------------------------------------------- computed answers
# Each entry recomputes one number or shape answer from scratch. torch is imported
# inside, so only this part of the file pays for it.


def _n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def _shape(tensor) -> list[int]:
    return list(tensor.shape)


def _torch():
    import torch

    torch.manual_seed(0)
    return torch


def v_dnn_dense_params():
    from torch import nn

    return _n_params(nn.Linear(784, 512))


def v_dnn_neuron_relu_value():
    torch = _torch()
    w, x = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([3.0, 1.0, 2.0])
    return torch.relu(w @ x + 0.5).item()


def v_dnn_batch_output_shape():
    torch = _torch()
    from torch import nn

    net = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))
    return _shape(net(torch.zeros(64, 784)))


def v_dnn_softmax_value():
    torch = _torch()
    return torch.softmax(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), dim=0)[2].item()


def v_dnn_crossentropy_value():
    torch = _torch()
    logits = torch.log(torch.tensor([[0.25, 0.75]], dtype=torch.float64))  # p(true) = 0.25
    return torch.nn.functional.cross_entropy(logits, torch.tensor([0])).item()


def v_dnn_initial_loss_ten_classes():
    torch = _torch()
    return torch.nn.functional.cross_entropy(torch.zeros(5, 10, dtype=torch.float64), torch.arange(5)).item()


def v_dnn_mlp_total_params():
    from torch import nn

    return _n_params(
        nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
            nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10),
        )
    )


def v_dnn_sigmoid_ten_layers():
    torch = _torch()
    z = torch.zeros((), dtype=torch.float64, requires_grad=True)
    torch.sigmoid(z).backward()
    return z.grad.item() ** 10


def v_bp_scalar_chain():
    torch = _torch()
    w = torch.tensor(2.0, requires_grad=True)
    ((w * 3.0 - 4.0) ** 2).backward()
    return w.grad.item()


def _dense_grads():
    torch = _torch()
    x = torch.zeros(32, 100, requires_grad=True)
    W = torch.zeros(100, 50, requires_grad=True)
    b = torch.zeros(50, requires_grad=True)
    (x @ W + b).sum().backward()
    return x, W, b


def v_bp_dw_shape():
    return _shape(_dense_grads()[1].grad)


def v_bp_dx_shape():
    return _shape(_dense_grads()[0].grad)


def v_bp_bias_grad_value():
    grad = _dense_grads()[2].grad
    assert bool((grad == grad[0]).all())
    return grad[0].item()


def v_bp_relu_backward():
    torch = _torch()
    z = torch.tensor([-2.0, 0.5, 1.0], requires_grad=True)
    torch.relu(z).backward(torch.tensor([3.0, -1.0, 2.0]))
    return z.grad[1].item()


def v_bp_sigmoid_max_slope():
    torch = _torch()
    z = torch.linspace(-6, 6, 1201, dtype=torch.float64, requires_grad=True)
    torch.sigmoid(z).sum().backward()
    return z.grad.max().item()


def v_bp_softmax_ce_grad():
    torch = _torch()
    logits = torch.zeros(1, 4, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0])).backward()
    return logits.grad[0, 0].item()


def v_bp_sgd_step():
    torch = _torch()
    w = torch.nn.Parameter(torch.tensor(0.5, dtype=torch.float64))
    opt = torch.optim.SGD([w], lr=0.1)
    (2.0 * w).backward()  # dL/dw = 2
    opt.step()
    return w.item()


def v_bp_numeric_gradient():
    def f(x):
        return x**3

    return (f(2.0 + 0.01) - f(2.0 - 0.01)) / (2 * 0.01)


def v_bp_centred_difference_error():
    torch = _torch()
    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (x**3).backward()  # the exact derivative, 12, from autograd
    return v_bp_numeric_gradient() - x.grad.item()


def v_bp_he_std():
    import torch

    fan_in = 512
    std = torch.nn.init.calculate_gain("relu") / math.sqrt(fan_in)  # kaiming_normal_ with fan_in mode
    weight = torch.empty(4096, fan_in)
    torch.manual_seed(0)
    torch.nn.init.kaiming_normal_(weight, nonlinearity="relu")
    assert abs(weight.std().item() - std) < 0.01 * std  # PyTorch really draws with this std
    return std


def v_cnn_output_size():
    torch = _torch()
    return torch.nn.Conv2d(1, 1, 3, stride=2, padding=1)(torch.zeros(1, 1, 32, 32)).shape[-1]


def v_cnn_conv_params():
    from torch import nn

    return _n_params(nn.Conv2d(32, 64, kernel_size=3))


def v_cnn_first_conv_params():
    from torch import nn

    return _n_params(nn.Conv2d(1, 32, kernel_size=3))


def v_cnn_rgb_conv_params():
    from torch import nn

    return _n_params(nn.Conv2d(3, 16, kernel_size=5))


def v_cnn_feature_map_value():
    torch = _torch()
    image = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 1.0, 0.0]]).view(1, 1, 3, 3)
    kernel = torch.tensor([[1.0, 0.0], [0.0, -1.0]]).view(1, 1, 2, 2)
    fmap = torch.nn.functional.conv2d(image, kernel, bias=torch.tensor([0.5]))  # (1, 1, 2, 2)
    return fmap[0, 0, 0, 1].item()


def v_cnn_conv_output_shape():
    torch = _torch()
    return _shape(torch.nn.Conv2d(1, 32, 3)(torch.zeros(8, 1, 28, 28)))


def v_cnn_same_padding_shape():
    torch = _torch()
    return _shape(torch.nn.Conv2d(3, 16, 3, padding=1)(torch.zeros(1, 3, 32, 32)))


def v_cnn_stem_output_size():
    torch = _torch()
    return torch.nn.Conv2d(3, 1, 7, stride=2, padding=3)(torch.zeros(1, 3, 224, 224)).shape[-2]


def v_cnn_pool_shape():
    torch = _torch()
    return _shape(torch.nn.MaxPool2d(2)(torch.zeros(4, 32, 26, 26)))


def v_cnn_pool_odd_shape():
    torch = _torch()
    return _shape(torch.nn.MaxPool2d(2)(torch.zeros(4, 64, 11, 11)))


def v_cnn_maxpool_value():
    torch = _torch()
    m = torch.tensor([[2.0, 1, 0, 3], [5, 4, 1, 1], [0, 2, 9, 6], [7, 3, 4, 8]]).view(1, 1, 4, 4)
    return torch.nn.MaxPool2d(2)(m)[0, 0, 0, 1].item()


def _receptive_field(*layers) -> int:
    """Width of the input patch that one central output unit depends on (all-ones weights)."""
    torch = _torch()
    net = torch.nn.Sequential(*layers)
    for p in net.parameters():
        torch.nn.init.ones_(p)
    x = torch.zeros(1, 1, 32, 32, requires_grad=True)
    out = net(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    cols = (x.grad[0, 0] != 0).any(dim=0).nonzero().flatten()
    return int(cols.max() - cols.min() + 1)


def v_cnn_receptive_field_two_convs():
    from torch import nn

    return _receptive_field(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3))


def v_cnn_receptive_field_pool():
    from torch import nn

    return _receptive_field(nn.Conv2d(1, 1, 3), nn.AvgPool2d(2), nn.Conv2d(1, 1, 3))


def _digit_cnn():
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def v_cnn_flatten_features():
    torch = _torch()
    return _digit_cnn()[:7](torch.zeros(2, 1, 28, 28)).shape[1]


def v_cnn_digit_net_params():
    torch = _torch()
    net = _digit_cnn()
    assert _shape(net(torch.zeros(2, 1, 28, 28))) == [2, 10]  # the stated architecture really runs
    return _n_params(net)


def v_rnn_rnn_params():
    from torch import nn

    return _n_params(nn.RNN(10, 20))


def v_rnn_lstm_params():
    from torch import nn

    return _n_params(nn.LSTM(10, 20))


def v_rnn_gru_params():
    from torch import nn

    return _n_params(nn.GRU(10, 20))


def v_rnn_text_lstm_params():
    from torch import nn

    return _n_params(nn.LSTM(32, 64))


def v_rnn_output_shape():
    torch = _torch()
    out, _ = torch.nn.LSTM(10, 20, batch_first=True)(torch.zeros(4, 15, 10))
    return _shape(out)


def v_rnn_hn_shape():
    torch = _torch()
    _, (h_n, _) = torch.nn.LSTM(10, 20, num_layers=2, batch_first=True)(torch.zeros(4, 15, 10))
    return _shape(h_n)


def v_rnn_time_first_shape():
    torch = _torch()
    out, _ = torch.nn.GRU(8, 16)(torch.zeros(10, 4, 8))
    return _shape(out)


def v_rnn_bidirectional_shape():
    torch = _torch()
    out, _ = torch.nn.LSTM(40, 128, batch_first=True, bidirectional=True)(torch.zeros(2, 50, 40))
    return _shape(out)


def v_rnn_one_step():
    torch = _torch()
    cell = torch.nn.RNNCell(1, 1)
    with torch.no_grad():
        cell.weight_ih.fill_(0.5)
        cell.weight_hh.fill_(1.0)
        cell.bias_ih.fill_(0.25)
        cell.bias_hh.zero_()
    return cell(torch.tensor([[2.0]]), torch.tensor([[-0.5]])).item()


def _lstm_step():
    """One real nn.LSTMCell step whose gates are f=0.9, i=0.5, g=-0.4, o=0.5 and c_prev=2."""
    torch = _torch()
    cell = torch.nn.LSTMCell(1, 1)
    gates = {"i": math.log(0.5 / 0.5), "f": math.log(0.9 / 0.1), "g": math.atanh(-0.4), "o": 0.0}
    with torch.no_grad():
        cell.weight_ih.zero_()
        cell.weight_hh.zero_()
        cell.bias_hh.zero_()
        cell.bias_ih.copy_(torch.tensor([gates[k] for k in "ifgo"]))  # PyTorch's gate order
    h, c = cell(torch.zeros(1, 1), (torch.zeros(1, 1), torch.tensor([[2.0]])))
    return h.item(), c.item()


def v_rnn_cell_update():
    return _lstm_step()[1]


def v_rnn_lstm_hidden_value():
    return _lstm_step()[0]


def v_rnn_clip_grad():
    torch = _torch()
    p = torch.nn.Parameter(torch.zeros(2))
    p.grad = torch.tensor([3.0, 4.0])
    torch.nn.utils.clip_grad_norm_([p], max_norm=1.0)
    return p.grad[0].item()


def v_rnn_embedding_params():
    from torch import nn

    return _n_params(nn.Embedding(10000, 128))


def v_of_dropout_scale_value():
    torch = _torch()
    drop = torch.nn.Dropout(p=0.25)
    drop.train()
    out = drop(torch.full((1000,), 3.0))
    kept = out[out != 0]
    assert 0 < len(kept) < 1000 and torch.allclose(kept, kept[0].expand_as(kept))
    return kept[0].item()


def v_of_l2_penalty_value():
    torch = _torch()
    w = torch.tensor([3.0, -4.0], dtype=torch.float64)
    return (0.01 * (w**2).sum()).item()


def v_of_weight_decay_step():
    torch = _torch()
    w = torch.nn.Parameter(torch.tensor([2.0], dtype=torch.float64))
    opt = torch.optim.SGD([w], lr=0.1, weight_decay=0.05)
    w.grad = torch.zeros_like(w)  # a flat loss
    opt.step()
    return w.item()


def v_of_early_stopping_epoch():
    losses = [0.90, 0.70, 0.62, 0.60, 0.61, 0.63, 0.59, 0.64, 0.66, 0.70, 0.71]
    best, best_epoch, waited, patience = math.inf, None, 0, 3
    for epoch, loss in enumerate(losses, start=1):
        if loss < best:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                break
    assert epoch == 10  # it really stops early, after epoch 10
    return best_epoch


def _bn_after_one_batch():
    torch = _torch()
    bn = torch.nn.BatchNorm1d(1)
    bn.train()
    out = bn(torch.tensor([[2.0], [4.0], [6.0], [8.0]]))  # (N=4, 1)
    return bn, out


def v_of_bn_train_value():
    return _bn_after_one_batch()[1][0, 0].item()


def v_of_bn_running_mean():
    return _bn_after_one_batch()[0].running_mean.item()


def v_of_bn_params():
    from torch import nn

    return _n_params(nn.BatchNorm1d(256))


def v_of_bn_net_params():
    from torch import nn

    return _n_params(
        nn.Sequential(
            nn.Linear(784, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout(0.3),
            nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.3),
            nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10),
        )
    )


def _resnet18_frozen_with_head():
    torch = _torch()
    from torchvision import models

    net = models.resnet18(weights=None)  # same architecture as the pretrained one, no download
    for p in net.parameters():
        p.requires_grad_(False)
    net.fc = torch.nn.Linear(net.fc.in_features, 5)
    return net


def _trainable(module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def v_tl_head_trainable_params():
    return _trainable(_resnet18_frozen_with_head())


def v_tl_layer4_trainable():
    net = _resnet18_frozen_with_head()
    for p in net.layer4.parameters():
        p.requires_grad_(True)
    return _trainable(net)


def v_tl_resnet18_params():
    from torchvision import models

    return _n_params(models.resnet18(weights=None))


def v_tl_feature_shape():
    torch = _torch()
    from torchvision import models

    with torch.device("meta"):  # shapes only: no memory, no compute
        net = models.resnet18(weights=None)
        net.fc = torch.nn.Identity()
        return _shape(net(torch.zeros(2, 3, 224, 224)))


def _vgg16_meta():
    torch = _torch()
    from torchvision import models

    with torch.device("meta"):
        return models.vgg16(weights=None)


def v_tl_vgg16_params():
    return _n_params(_vgg16_meta())


def _vgg16_feature_map():
    torch = _torch()
    vgg = _vgg16_meta()
    with torch.device("meta"):
        fmap = vgg.features(torch.zeros(1, 3, 224, 224))
    assert _shape(fmap) == [1, 512, 7, 7]
    return fmap


def v_tl_vgg_flatten_features():
    torch = _torch()
    return torch.nn.Flatten()(_vgg16_feature_map()).shape[1]


def v_tl_vgg_dense_head_params():
    torch = _torch()
    features = v_tl_vgg_flatten_features()
    with torch.device("meta"):
        return _n_params(torch.nn.Linear(features, 256))


def v_tl_gap_head_params():
    torch = _torch()
    with torch.device("meta"):
        pooled = torch.nn.Flatten()(torch.nn.AdaptiveAvgPool2d(1)(_vgg16_feature_map()))  # (1, 512)
        return _n_params(torch.nn.Linear(pooled.shape[1], 256))


def v_tl_normalise_value():
    torch = _torch()
    from torchvision.models import ResNet18_Weights

    preprocess = ResNet18_Weights.DEFAULT.transforms()  # the real pipeline; no download needed
    assert abs(preprocess.mean[1] - 0.456) < 1e-9 and abs(preprocess.std[1] - 0.224) < 1e-9
    image = torch.full((3, 256, 256), 100, dtype=torch.uint8)  # (C, H, W) flat grey-green
    return preprocess(image)[1, 0, 0].item()


def _optimise(make_opt, start, grads):
    """Real optimiser steps on one float64 weight, feeding it the given gradients."""
    torch = _torch()
    w = torch.nn.Parameter(torch.tensor([start], dtype=torch.float64))
    opt = make_opt([w])
    for g in grads:
        w.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
    return w.item()


def v_tr_adam_first_step():
    import torch

    return _optimise(lambda ps: torch.optim.Adam(ps, lr=0.01), 1.0, [5.0])


def v_tr_adam_constant_grad():
    import torch

    return _optimise(lambda ps: torch.optim.Adam(ps, lr=0.1), 0.0, [2.0, 2.0, 2.0])


def v_tr_sgd_step():
    torch = _torch()
    w = torch.nn.Parameter(torch.tensor(2.0, dtype=torch.float64))
    opt = torch.optim.SGD([w], lr=0.1)
    (w**2).backward()
    opt.step()
    return w.item()


def v_tr_momentum_steps():
    import torch

    return _optimise(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), 0.0, [1.0, 1.0])


def v_tr_adam_uncorrected_step():
    torch = _torch()
    g = torch.tensor(0.5, dtype=torch.float64)
    m = (1 - 0.9) * g  # first moving averages, starting from zero, no bias correction
    v = (1 - 0.999) * g**2
    return (0.1 * m / (v.sqrt() + 1e-8)).item()


def v_tr_steplr():
    torch = _torch()
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.1)
    for _ in range(25):
        opt.step()
        sched.step()
    return opt.param_groups[0]["lr"]


def v_tr_iterations_per_epoch():
    from torch.utils.data import DataLoader

    return len(DataLoader(range(54_000), batch_size=128, drop_last=False))



def v_tr_last_batch_shape():
    torch = _torch()
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(torch.zeros(1077, 64), torch.zeros(1077)), batch_size=64)
    *_, (last_x, _) = loader
    return _shape(last_x)


VERIFY = {
    # lesson 1
    "dnn-dense-params": v_dnn_dense_params,
    "dnn-neuron-relu-value": v_dnn_neuron_relu_value,
    "dnn-batch-output-shape": v_dnn_batch_output_shape,
    "dnn-softmax-value": v_dnn_softmax_value,
    "dnn-crossentropy-value": v_dnn_crossentropy_value,
    "dnn-initial-loss-ten-classes": v_dnn_initial_loss_ten_classes,
    "dnn-mlp-total-params": v_dnn_mlp_total_params,
    "dnn-sigmoid-ten-layers": v_dnn_sigmoid_ten_layers,
    # lesson 2
    "bp-scalar-chain": v_bp_scalar_chain,
    "bp-dw-shape": v_bp_dw_shape,
    "bp-dx-shape": v_bp_dx_shape,
    "bp-bias-grad-value": v_bp_bias_grad_value,
    "bp-relu-backward": v_bp_relu_backward,
    "bp-sigmoid-max-slope": v_bp_sigmoid_max_slope,
    "bp-softmax-ce-grad": v_bp_softmax_ce_grad,
    "bp-sgd-step": v_bp_sgd_step,
    "bp-numeric-gradient": v_bp_numeric_gradient,
    "bp-centred-difference-error": v_bp_centred_difference_error,
    "bp-he-std": v_bp_he_std,
    # lesson 4
    "tr-adam-first-step": v_tr_adam_first_step,
    "tr-adam-constant-grad": v_tr_adam_constant_grad,
    "tr-sgd-step": v_tr_sgd_step,
    "tr-momentum-steps": v_tr_momentum_steps,
    "tr-adam-uncorrected-step": v_tr_adam_uncorrected_step,
    "tr-steplr": v_tr_steplr,
    "tr-iterations-per-epoch": v_tr_iterations_per_epoch,
    "tr-last-batch-shape": v_tr_last_batch_shape,
    # lesson 5
    "cnn-output-size": v_cnn_output_size,
    "cnn-conv-params": v_cnn_conv_params,
    "cnn-first-conv-params": v_cnn_first_conv_params,
    "cnn-rgb-conv-params": v_cnn_rgb_conv_params,
    "cnn-feature-map-value": v_cnn_feature_map_value,
    "cnn-conv-output-shape": v_cnn_conv_output_shape,
    "cnn-same-padding-shape": v_cnn_same_padding_shape,
    "cnn-stem-output-size": v_cnn_stem_output_size,
    "cnn-pool-shape": v_cnn_pool_shape,
    "cnn-pool-odd-shape": v_cnn_pool_odd_shape,
    "cnn-maxpool-value": v_cnn_maxpool_value,
    "cnn-receptive-field-two-convs": v_cnn_receptive_field_two_convs,
    "cnn-receptive-field-pool": v_cnn_receptive_field_pool,
    "cnn-flatten-features": v_cnn_flatten_features,
    "cnn-digit-net-params": v_cnn_digit_net_params,
    # lesson 6
    "rnn-rnn-params": v_rnn_rnn_params,
    "rnn-lstm-params": v_rnn_lstm_params,
    "rnn-gru-params": v_rnn_gru_params,
    "rnn-text-lstm-params": v_rnn_text_lstm_params,
    "rnn-output-shape": v_rnn_output_shape,
    "rnn-hn-shape": v_rnn_hn_shape,
    "rnn-time-first-shape": v_rnn_time_first_shape,
    "rnn-bidirectional-shape": v_rnn_bidirectional_shape,
    "rnn-one-step": v_rnn_one_step,
    "rnn-cell-update": v_rnn_cell_update,
    "rnn-lstm-hidden-value": v_rnn_lstm_hidden_value,
    "rnn-clip-grad": v_rnn_clip_grad,
    "rnn-embedding-params": v_rnn_embedding_params,
    # lesson 3
    "of-dropout-scale-value": v_of_dropout_scale_value,
    "of-l2-penalty-value": v_of_l2_penalty_value,
    "of-weight-decay-step": v_of_weight_decay_step,
    "of-early-stopping-epoch": v_of_early_stopping_epoch,
    "of-bn-train-value": v_of_bn_train_value,
    "of-bn-running-mean": v_of_bn_running_mean,
    "of-bn-params": v_of_bn_params,
    "of-bn-net-params": v_of_bn_net_params,
    # lesson 7
    "tl-head-trainable-params": v_tl_head_trainable_params,
    "tl-layer4-trainable": v_tl_layer4_trainable,
    "tl-resnet18-params": v_tl_resnet18_params,
    "tl-feature-shape": v_tl_feature_shape,
    "tl-vgg16-params": v_tl_vgg16_params,
    "tl-vgg-flatten-features": v_tl_vgg_flatten_features,
    "tl-vgg-dense-head-params": v_tl_vgg_dense_head_params,
    "tl-gap-head-params": v_tl_gap_head_params,
    "tl-normalise-value": v_tl_normalise_value,
}


def v_pr_pixel_scale():
    torch = _torch()
    from torchvision.transforms import v2

    return v2.ToDtype(torch.float32, scale=True)(torch.tensor([51], dtype=torch.uint8)).item()


def v_pr_initial_loss():
    torch = _torch()
    return torch.nn.functional.cross_entropy(torch.zeros(1, 5), torch.tensor([3])).item()


def v_pr_clip_value():
    torch = _torch()
    p = torch.nn.Parameter(torch.zeros(2))
    p.grad = torch.tensor([6.0, 8.0])
    torch.nn.utils.clip_grad_norm_([p], max_norm=2.0)
    return p.grad[0].item()


def v_pr_warmup_lr():
    torch = _torch()
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.001)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: (step + 1) / 100 if step < 100 else 1.0)
    for _ in range(9):  # steps 0..8 done; step 9 is next
        opt.step()
        sched.step()
    return opt.param_groups[0]["lr"]


def v_pr_cv_fold_size():
    from sklearn.model_selection import KFold

    sizes = {len(train) for train, _ in KFold(n_splits=5).split(range(500))}
    assert len(sizes) == 1
    return sizes.pop()


def v_mc_bn2d_params():
    from torch import nn

    return _n_params(nn.BatchNorm2d(64))


def v_mc_conv_bn_params():
    from torch import nn

    return _n_params(nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU()))


def v_mc_residual_shape():
    torch = _torch()
    from torch import nn

    main = nn.Sequential(
        nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.BatchNorm2d(128), nn.ReLU(),
        nn.Conv2d(128, 128, 3, padding=1), nn.BatchNorm2d(128),
    )
    shortcut = nn.Conv2d(64, 128, 1, stride=2)
    x = torch.zeros(2, 64, 56, 56)
    with torch.no_grad():
        return _shape(main(x) + shortcut(x))


def v_mc_residual_factor():
    torch = _torch()
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    h = x
    for _ in range(30):
        h = h + 0.1 * h  # a block whose F has slope 0.1, plus the identity
    h.backward()
    return x.grad.item()


def v_mc_leaky_grad():
    torch = _torch()
    z = torch.tensor(-3.0, requires_grad=True)
    torch.nn.LeakyReLU(negative_slope=0.01)(z).backward()
    return z.grad.item()


VERIFY.update({
    "pr-pixel-scale": v_pr_pixel_scale,
    "pr-initial-loss": v_pr_initial_loss,
    "pr-clip-value": v_pr_clip_value,
    "pr-warmup-lr": v_pr_warmup_lr,
    "pr-cv-fold-size": v_pr_cv_fold_size,
    "mc-bn2d-params": v_mc_bn2d_params,
    "mc-conv-bn-params": v_mc_conv_bn_params,
    "mc-residual-shape": v_mc_residual_shape,
    "mc-residual-factor": v_mc_residual_factor,
    "mc-leaky-grad": v_mc_leaky_grad,
})


def test_every_number_and_shape_question_is_verified():
    computed = {q["id"] for q in all_questions() if q["kind"] in ("number", "shape")}
    unverified = sorted(computed - set(VERIFY))
    assert not unverified, f"add a computation to VERIFY for: {unverified}"
    stale = sorted(set(VERIFY) - computed)
    assert not stale, f"VERIFY names questions that are not number/shape questions in the bank: {stale}"


def _matches(question: dict, computed) -> bool:
    """The bank's answer against a freshly computed value, with the bank's own tolerance rule."""
    answer = question["answer"]
    if question["kind"] == "shape":
        return [int(v) for v in computed] == answer
    computed = float(computed)
    tol = question.get("tolerance")
    if tol is not None:
        return abs(answer - computed) <= tol
    return math.isclose(answer, computed, rel_tol=1e-6, abs_tol=0.0)


# Verifiers that import scikit-learn (seconds on a small machine) run in the full suite only.
_SLOW_VERIFY = {"pr-cv-fold-size"}


@pytest.mark.parametrize("qid", [pytest.param(q, marks=pytest.mark.slow) if q in _SLOW_VERIFY else q
                                 for q in sorted(VERIFY)])
def test_computed_answer_matches_bank(qid):
    question = by_id().get(qid)
    if question is None:
        pytest.fail(f"{qid} is in VERIFY but not in the bank")
    computed = VERIFY[qid]()
    assert _matches(question, computed), f"{qid}: the bank says {question['answer']!r}, computing gives {computed!r}"


def test_the_quiz_engine_loads_the_bank():
    """The quiz engine's own loader (tutor.quiz.bank) accepts every file, with nothing lost."""
    bank_module = pytest.importorskip("tutor.quiz.bank")
    loaded = bank_module.load_bank(BANK_DIR)
    assert sorted(q.id for q in loaded.questions) == sorted(by_id())


def test_the_answer_check_can_fail():
    """A deliberately wrong answer is caught by the same comparison (guards against a vacuous check)."""
    q = dict(by_id()["cnn-conv-params"])
    assert _matches(q, v_cnn_conv_params())
    assert not _matches(dict(q, answer=18432), v_cnn_conv_params())  # biases forgotten
    s = dict(by_id()["cnn-pool-odd-shape"])
    assert not _matches(dict(s, answer=[4, 64, 6, 6]), v_cnn_pool_odd_shape())
    t = dict(by_id()["dnn-softmax-value"])
    assert not _matches(dict(t, answer=0.67), v_dnn_softmax_value())


# --------------------------------------------------------------------------- answers that teach

PRECISION_RE = re.compile(r"decimal|exact|significant digit|within", re.I)


def _loaded() -> dict:
    from tutor.quiz.bank import load_bank

    return load_bank(BANK_DIR).by_id()


def test_number_questions_state_their_precision():
    """A non-integer answer, or any answer with a tolerance, tells the learner what precision it wants."""
    problems = []
    for q in all_questions():
        if q["kind"] != "number":
            continue
        answer = q["answer"]
        if not float(answer).is_integer() and "tolerance" not in q:
            problems.append(f"{q['id']}: a non-integer answer needs a tolerance (the precision it grades to)")
        if ("tolerance" in q or not float(answer).is_integer()) and not PRECISION_RE.search(q["prompt"]):
            problems.append(f"{q['id']}: the prompt never says what precision it wants")
    assert not problems, "\n".join(problems)


def _typings(value: float, tolerance) -> list[str]:
    out = [repr(float(value)), f"{value:g}"]
    if float(value).is_integer():
        out.append(str(int(value)))
    if tolerance:
        out.append(f"{value:.{max(0, round(-math.log10(tolerance)))}f}")
    return out


def test_every_number_question_lists_the_misconceptions_it_catches_and_rejects_them():
    from tutor.quiz import answers

    problems = []
    for qid, q in _loaded().items():
        if q.kind != "number":
            continue
        if not q.misconceptions:
            problems.append(f"{qid}: list the wrong answers it exists to catch in 'misconceptions'")
            continue
        for wrong in q.misconceptions:
            for typed in _typings(wrong, q.tolerance):
                if answers.is_correct(q, answers.parse(q, typed), typed):
                    problems.append(f"{qid}: the misconception {typed} is accepted (answer {q.answer!r})")
        typed = f"{q.answer:.12g}"
        if not answers.is_correct(q, answers.parse(q, typed), typed):
            problems.append(f"{qid}: its own answer {typed} is rejected")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "qid, wrong",
    [
        ("of-weight-decay-step", "2"),  # the weight unchanged
        ("bp-numeric-gradient", "12"),  # the exact derivative where the approximation is asked
        ("bp-numeric-gradient", "12.0"),
        ("tr-momentum-steps", "-0.2"),  # the steps without momentum
        ("tr-adam-first-step", "1"),  # the weight unchanged
    ],
)
def test_the_misconceptions_named_in_review_are_rejected(qid, wrong):
    from tutor.quiz import answers

    q = _loaded()[qid]
    assert not answers.is_correct(q, answers.parse(q, wrong), wrong)
    right = f"{q.answer:.6g}"
    assert answers.is_correct(q, answers.parse(q, right), right)


# --------------------------------------------------------------------------- options give nothing away

LONGEST_SHARE_LIMIT = 0.34  # at most about a third of the choice questions


def longest_option_share(questions) -> tuple[float, list[str]]:
    """Share of single-choice questions whose right option is (one of) the longest, and their ids."""
    choice = [q for q in questions if q["kind"] == "choice"]
    flagged = [q["id"] for q in choice if len(q["answer"]) >= max(len(c) for c in q["choices"])]
    return len(flagged) / max(len(choice), 1), flagged


def test_the_right_option_is_not_usually_the_longest():
    share, flagged = longest_option_share(all_questions())
    assert share <= LONGEST_SHARE_LIMIT, (
        f"the right option is the longest in {len(flagged)} of the choice questions ({share:.0%}); "
        f"rewrite options so length gives nothing away: {flagged}"
    )


def test_the_right_option_is_not_usually_the_shortest_either():
    """Shortening right answers must not create the opposite tell."""
    choice = [q for q in all_questions() if q["kind"] == "choice"]
    shortest = [q["id"] for q in choice if len(q["answer"]) <= min(len(c) for c in q["choices"])]
    assert len(shortest) / len(choice) <= LONGEST_SHARE_LIMIT, f"the right option is the shortest in {shortest}"


def test_no_length_rank_gives_the_answer_away():
    """Sorted by length, the right option lands in every rank; no rank holds much more than its share."""
    from collections import Counter

    choice = [q for q in all_questions() if q["kind"] == "choice" and len(q["choices"]) == 4]
    ranks = Counter(sorted(q["choices"], key=len).index(q["answer"]) for q in choice)
    assert max(ranks.values()) / len(choice) <= 0.45, f"rank of the right option by length: {dict(ranks)}"


def test_the_longest_option_measure_can_fail():
    long_right = {"kind": "choice", "id": "x", "answer": "a long right answer", "choices": ["no", "a long right answer"]}
    short_right = {"kind": "choice", "id": "y", "answer": "yes", "choices": ["yes", "a longer wrong answer"]}
    assert longest_option_share([long_right, short_right]) == (0.5, ["x"])


def test_multi_select_right_options_are_not_all_the_longest():
    """In multi-select questions too, the right picks are not simply the longer half."""
    flagged = []
    for q in all_questions():
        if q["kind"] != "multi":
            continue
        right = [len(c) for c in q["choices"] if c in q["answer"]]
        wrong = [len(c) for c in q["choices"] if c not in q["answer"]]
        if wrong and min(right) > max(wrong):
            flagged.append(q["id"])
    assert len(flagged) <= 3, f"right picks are all longer than every wrong one in: {flagged}"


def test_sequence_problem_shapes_in_the_quiz_are_the_ones_lesson_6_teaches():
    """Every shape offered in rnn-problem-shapes is named in lesson 6, and speech recognition, which the lesson
    teaches as an unaligned sequence-to-sequence problem (CTC), is never explained as frame-aligned many-to-many."""
    lesson = (LESSONS_DIR / "06-rnn.md").read_text(encoding="utf-8").lower()
    for choice in by_id()["rnn-problem-shapes"]["choices"]:
        shape = re.split(r"[:,]", choice)[0].strip().lower().replace("sequence-to-sequence", "seq-to-seq")
        assert shape in lesson, f"the quiz offers {shape!r}, which lesson 6 never names"
    for q in all_questions():
        text = q["explanation"].lower()
        assert "speech recognition (many-to-many)" not in text, q["id"]
        assert not re.search(r"audio frame in speech recognition", text), q["id"]


JUSTIFIED = re.compile(r"(, since\b|\bbecause\b|, so that\b|, so\b|\bsince\b)", re.I)


def lone_unjustified_answers(questions) -> list[str]:
    """Choice questions where two or more wrong options argue for themselves ("..., since ...") and the right one
    does not: "pick the option that gives no reason" would find the answer without knowing anything."""
    flagged = []
    for q in questions:
        if q["kind"] != "choice":
            continue
        reasons = sum(bool(JUSTIFIED.search(c)) for c in q["choices"] if c != q["answer"])
        if reasons >= 2 and not JUSTIFIED.search(q["answer"]):
            flagged.append(q["id"])
    return flagged


def test_wrong_options_do_not_give_themselves_away_by_arguing():
    flagged = lone_unjustified_answers(all_questions())
    assert len(flagged) <= 4, f"only the right option gives no 'since/because/so' reason in: {flagged}"


def test_the_arguing_options_measure_can_fail():
    q = {"kind": "choice", "id": "x", "answer": "B", "choices": ["A, since a", "B", "C because c", "D, so d"]}
    assert lone_unjustified_answers([q]) == ["x"]
    q["answer"] = q["choices"][1] = "B, since b"
    assert lone_unjustified_answers([q]) == []


# --------------------------------------------------------------------------- wordings a teacher's review corrected


def _section_text(number: int, slug: str) -> str:
    lesson = _lessons_on_disk().get(number)
    if lesson is None:
        pytest.skip(f"no lesson {number} yet")
    section = next(s for s in lesson.sections if s.slug == slug)
    return section.title + "\n" + section.body


def test_the_output_activation_checkpoint_rereads_the_section_that_pairs_outputs_with_losses():
    """It pointed at "Activation functions", which never names the losses its options turn on."""
    q = by_id()["dnn-output-activation"]
    taught = _section_text(1, q["section"])
    assert "nn.CrossEntropyLoss" in taught and "nn.BCEWithLogitsLoss" in taught


@pytest.mark.parametrize("qid, says, never", [
    # 224x224 is the size torchvision's ResNets were trained at, not one they need (adaptive pooling)
    ("tl-input-prep", ["size it was trained at", "adaptive average pooling"], ["Images around 224x224"]),
    ("dnn-regression-output", ["never negative", "no upper limit"], ["unbounded"]),  # a price is >= 0
    ("of-bn-running-mean", ["4.5", "Keras's convention"], []),  # the other momentum convention's answer
])
def test_reviewed_wordings(qid, says, never):
    q = by_id()[qid]
    text = " ".join([q["explanation"], *q.get("choices", [])])
    assert [s for s in says if s not in text] == [] and [n for n in never if n in text] == []


def test_the_wrongly_rounded_vanishing_factor_is_rejected():
    """Two significant digits of 0.25**10 = 9.537e-7 are 9.5e-7: 9.6e-7 is wrong, 9.5e-7 and 9.54e-7 are right."""
    from tutor.quiz import answers

    q = _loaded()["dnn-sigmoid-ten-layers"]
    assert [answers.is_correct(q, answers.parse(q, t), t) for t in ("9.6e-7", "9.5e-7", "9.54e-7", "9.4e-7")] == [
        False, True, True, False]
