"""The shipped course: nine lessons that load, follow the outline and teach their topics.

These tests read ``lessons/*.md`` through :func:`tutor.lessons.load_course`.
They pin what other content depends on (lesson ids and numbers, section
titles, whose slugs the quiz bank cites, and checkpoint ids), check each
lesson's size and shape, that it covers its topics, that its cross
references resolve, and that no sentence was copied from the seed pages.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tutor.lessons import Lesson, load_course

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"

IDS = [
    "deep-networks", "backprop", "overfitting", "training", "cnn", "rnn", "transfer",
    "practice", "modern-cnns",  # added later: lessons 1-7 keep their numbers and ids
]
DEMOS = ["xor", "spiral", "mnist-mlp", "overfitting", "optimizers", "cnn", "rnn", "transfer"]
EXERCISES = ["backprop", "dropout", "batchnorm", "optimizers", "conv", "rnn", "lstm", "transfer"]
CHECKPOINT_PREFIX = {
    "deep-networks": "dnn-",
    "backprop": "bp-",
    "overfitting": "of-",
    "training": "tr-",
    "cnn": "cnn-",
    "rnn": "rnn-",
    "transfer": "tl-",
    "practice": "pr-",
    "modern-cnns": "mc-",
}

# Section titles are part of the course's interface: the quiz bank and
# `dnn-tutor lesson <id> --section <slug>` refer to their slugs.
# Change a title only together with everything that cites its slug.
SECTIONS = {
    "deep-networks": [
        "Neurons, layers and the forward pass",
        "Activation functions",
        "Matching outputs and losses",
        "Counting parameters",
        "Why depth helps",
        "What makes deep networks hard",
        "Common mistakes",
        "Summary",
    ],
    "backprop": [
        "Computational graphs and the chain rule",
        "The algorithm step by step",
        "Local gradients of common layers",
        "Caches and batched backward",
        "Gradient checking",
        "Initialisation and a network from scratch",
        "Common mistakes",
        "Summary",
    ],
    "overfitting": [
        "Train, validation and test splits",
        "Bias, variance and learning curves",
        "Dropout",
        "Weight penalties: L1 and L2",
        "Early stopping and data augmentation",
        "Batch normalisation",
        "Common mistakes",
        "Summary",
    ],
    "training": [
        "Gradient descent and momentum",
        "RMSprop and Adam",
        "Learning rate, schedules and batch size",
        "Tuning hyperparameters",
        "The whole workflow",
        "Saving, reloading and GPUs",
        "Common mistakes",
        "Summary",
    ],
    "cnn": [
        "Convolution as a sliding filter",
        "Stride, padding and output size",
        "Parameters: convolution versus dense",
        "Pooling and translation invariance",
        "Receptive fields and flattening",
        "A digit classifier, shape by shape",
        "Common mistakes",
        "Summary",
    ],
    "rnn": [
        "Sequences and hidden state",
        "Unrolling and backpropagation through time",
        "Vanishing gradients over long sequences",
        "LSTM gates and the cell state",
        "GRU: a lighter gated cell",
        "Applications",
        "Common mistakes",
        "Summary",
    ],
    "transfer": [
        "Why reuse a trained network",
        "Feature extraction: freeze the base",
        "Fine-tuning",
        "Learning rates for fine-tuning",
        "Pretrained models in torchvision",
        "A plan for 500 labelled images",
        "Common mistakes",
        "Summary",
    ],
    "practice": [
        "Inputs on a common scale",
        "Sanity checks before a long run",
        "Gradient clipping",
        "AdamW, warm-up and per-batch schedules",
        "Cross-validation",
        "Plotting the training history",
        "Common mistakes",
        "Summary",
    ],
    "modern-cnns": [
        "BatchNorm2d in convolutional networks",
        "Residual connections",
        "Dead and leaky ReLUs",
        "An augmentation pipeline for training and validation",
        "Common mistakes",
        "Summary",
    ],
}

# Which demos and exercises each lesson introduces (with a block and in its front matter).
DEMOS_BY_LESSON = {
    "deep-networks": {"xor", "mnist-mlp"},
    "backprop": {"spiral"},
    "overfitting": {"overfitting"},
    "training": {"optimizers"},
    "cnn": {"cnn"},
    "rnn": {"rnn"},
    "transfer": {"transfer"},
    "practice": set(),
    "modern-cnns": set(),
}
EXERCISES_BY_LESSON = {
    "deep-networks": set(),
    "backprop": {"backprop"},
    "overfitting": {"dropout", "batchnorm"},
    "training": {"optimizers"},
    "cnn": {"conv"},
    "rnn": {"rnn", "lstm"},
    "transfer": {"transfer"},
    "practice": set(),
    "modern-cnns": set(),
}

# Topics each lesson must cover, matched case-insensitively as substrings.
# A tuple means "any one of these spellings".
KEYWORDS = {
    "deep-networks": [
        "neuron", "hidden layer", "forward pass", "ReLU", "sigmoid", "tanh",
        "softmax", "multi-label", "cross-entropy", "binary cross-entropy",
        "MSE", "401,920", "XOR", "straight", ("hierarch",), "vanishing",
        "exploding", "overfitting", "nn.Linear", "Dense(",
        "dnn-tutor playground",
    ],
    "backprop": [
        "chain rule", "computational graph", "random", "output error",
        "layer by layer", "ReLU", "sigmoid", "softmax", ("p − y", "p - y"),
        "cache", "batch", ("centred difference", "centered difference"),
        "relative error", "Xavier", "Kaiming", ("2 / fan_in", "2/fan_in"),
        "spiral", "numpy", "clip_grad_norm_", ("caching the output is fine",),
    ],
    "overfitting": [
        "training set", "validation", "test set", "bias", "variance",
        "dropout", "inverted", ("1/(1 − p)", "1/(1 - p)"),
        ("20–50%", "20-50%"), "Srivastava", "2014", "L1", "L2",
        "weight decay", "early stopping", "batch norm", "running",
        "model.eval()", "augment", "proximal", "rescaled per parameter",
        ("(λ/2)·Σ w²",), "biased", "unbiased", "momentum=0.9",
    ],
    "training": [
        "SGD", "momentum", "RMSprop", "Adam", "bias correction",
        "learning rate", "schedule", "batch size", "grid search",
        "random search", "hyperparameter", "compile", "evaluate",
        "state_dict", "checkpoint", "load_state_dict", "GPU",
        "sd[sd == 0] = 1.0", "one small batch", "torch.no_grad()",
    ],
    "cnn": [
        "stride", "padding", "pooling", "receptive field", "flatten",
        "translation", "Conv2d", "MaxPool2d", "kernel", "filter",
        "feature map", "edge", "modern-cnns",
    ],
    "rnn": [
        "hidden state", "backpropagation through time", "vanishing",
        "forget gate", "input gate", "output gate", "cell state", "GRU",
        "LSTM", "translation", "speech", "forecast", "sentiment",
        "CTC", "n_t = tanh", "reset gate", "update gate", "vocab × dim",
    ],
    "transfer": [
        "feature extract", "freeze", "fine-tun", "500", "VGG16", "ResNet",
        "ImageNet", "normal", ("pretrained", "pre-trained"),
        "learning rate", "requires_grad", "14,714,688", "at least 32×32",
        "dataset size", "similar", "sum the pretrained",
    ],
    "practice": [
        "255", "[0, 1]", "ln K", "one small batch", "gradient norm",
        "clip_grad_norm_", "loss.backward()", "opt.step()", "AdamW",
        "parameter groups", "weight_decay", "warm-up", "once per batch",
        "cross-validation", "fold", "history", "matplotlib", "dnn-tutor playground",
    ],
    "modern-cnns": [
        "BatchNorm2d", "(N, H, W)", "bias=False", "residual", "dy/dx = 1 + dF/dx",
        "shortcut", "dead", "LeakyReLU", "augment", "CenterCrop", "RandomResizedCrop",
    ],
}

REF_RE = re.compile(r"`dnn-tutor lesson ([^\s`]+)(?: --section ([^\s`]+))?`")
DEMO_REF_RE = re.compile(r"`dnn-tutor demo ([^\s`]+)")
CHECK_REF_RE = re.compile(r"`dnn-tutor check exercises/([^\s`]+)\.py`")
FENCE_RE = re.compile(r"^(```+|~~~+)\s*(\S*)")


@pytest.fixture(scope="module")
def course():
    return load_course(REPO / "lessons")


@pytest.fixture(scope="module")
def lessons(course) -> dict[str, Lesson]:
    return course.by_id()


def lesson_named(lessons: dict[str, Lesson], lesson_id: str) -> Lesson:
    if lesson_id not in lessons:
        pytest.fail(f"lesson {lesson_id!r} is missing from lessons/")
    return lessons[lesson_id]


def test_the_course_has_its_lessons_in_order(course):
    assert [(l.number, l.id) for l in course.lessons] == list(enumerate(IDS, start=1))


def test_the_catalogue_lists_the_new_lessons(runner, monkeypatch):
    """`dnn-tutor lessons` (the real loader and catalogue) shows lessons 8 and 9."""
    from tutor.cli import app

    monkeypatch.setenv("DNN_TUTOR_LESSONS", str(REPO / "lessons"))
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(app, ["lessons"])
    assert result.exit_code == 0, result.output
    for title in ("Training in practice", "Building blocks of modern CNNs"):
        assert title in result.output
    shown = runner.invoke(app, ["lesson", "practice", "--section", "gradient-clipping"], input="q\n")
    assert shown.exit_code == 0, shown.output
    assert "Gradient clipping" in shown.output


@pytest.mark.parametrize("lesson_id", IDS)
def test_sections_follow_the_outline(lessons, lesson_id):
    lesson = lesson_named(lessons, lesson_id)
    titles = [s.title for s in lesson.sections]
    assert 4 <= len(titles) <= 8, f"{lesson.path.name}: {len(titles)} sections"
    assert "Common mistakes" in titles, f"{lesson.path.name} has no 'Common mistakes' section"
    assert "Summary" in titles, f"{lesson.path.name} has no 'Summary' section"
    assert titles == SECTIONS[lesson_id], f"{lesson.path.name}: section titles changed"


@pytest.mark.parametrize("lesson_id", IDS)
def test_lesson_length_is_in_range(lessons, lesson_id):
    lesson = lesson_named(lessons, lesson_id)
    assert 1200 <= lesson.word_count <= 3000, (
        f"{lesson.path.name} has {lesson.word_count} words; keep it within 1,200-3,000 "
        "(split a long lesson into a new numbered lesson)"
    )
    total = len(lesson.path.read_text(encoding="utf-8").split())  # what `wc -w` counts
    assert total <= 3000, f"{lesson.path.name}: {total} words with its front matter"


def blocks_of(lesson: Lesson, kind: str) -> list:
    return [b for s in lesson.sections for b in s.blocks if b.kind == kind]


@pytest.mark.parametrize("lesson_id", IDS)
def test_checkpoints_match_front_matter(lessons, lesson_id):
    lesson = lesson_named(lessons, lesson_id)
    blocks = blocks_of(lesson, "checkpoint")
    assert len(blocks) >= 3, f"{lesson.path.name}: {len(blocks)} checkpoint blocks, need 3"
    used = [b.ref for b in blocks]
    assert len(used) == len(set(used)), f"{lesson.path.name}: a checkpoint block repeats"
    assert set(used) == set(lesson.checkpoints), (
        f"{lesson.path.name}: checkpoint blocks {sorted(used)} differ from the front "
        f"matter's {sorted(lesson.checkpoints)}"
    )
    prefix = CHECKPOINT_PREFIX[lesson_id]
    for qid, question in lesson.checkpoints.items():
        assert qid.startswith(prefix), f"{lesson.path.name}: checkpoint {qid!r} needs prefix {prefix!r}"
        assert question.strip(), f"{lesson.path.name}: checkpoint {qid!r} has no intended question"
    for block in blocks:
        assert block.text.strip(), f"{lesson.path.name}: checkpoint {block.ref} has no question"


@pytest.mark.parametrize("lesson_id", IDS)
def test_demo_and_exercise_blocks(lessons, lesson_id):
    lesson = lesson_named(lessons, lesson_id)
    demos = {b.ref for b in blocks_of(lesson, "demo")}
    exercises = {b.ref for b in blocks_of(lesson, "exercise")}
    assert demos <= set(DEMOS), f"{lesson.path.name}: unknown demo ids {sorted(demos - set(DEMOS))}"
    assert exercises <= set(EXERCISES), (
        f"{lesson.path.name}: unknown exercise ids {sorted(exercises - set(EXERCISES))}"
    )
    assert demos == set(lesson.demos), f"{lesson.path.name}: demo blocks differ from front matter"
    assert exercises == set(lesson.exercises), (
        f"{lesson.path.name}: exercise blocks differ from front matter"
    )
    assert demos == DEMOS_BY_LESSON[lesson_id], f"{lesson.path.name}: demos {sorted(demos)}"
    assert exercises == EXERCISES_BY_LESSON[lesson_id], f"{lesson.path.name}: exercises {sorted(exercises)}"
    for block in blocks_of(lesson, "demo") + blocks_of(lesson, "exercise"):
        assert block.text.strip(), f"{lesson.path.name}: {block.kind} {block.ref} says nothing"


# What each exercise file asks for (exercises/<id>.py, its functions in exercises/info.toml), as its box in the
# lesson must name it: lesson 2's box named dense, ReLU and softmax cross-entropy but not the sigmoid or the MLP,
# lesson 7's promised per-group learning rates that transfer.py never asks for.
EXERCISE_BOX_NAMES = {
    "backprop": (["dense", "relu", "sigmoid", "softmax cross-entropy", "mlp_forward_backward"], []),
    "dropout": (["dropout", "forward", "backward", "l2"], []),
    "batchnorm": (["batch normalisation", "forward", "backward", "running"], []),
    "optimizers": (["momentum", "rmsprop", "adam"], []),
    "conv": (["convolution", "max-pooling", "forward", "backward"], []),
    "rnn": (["step", "sequence", "through time"], []),
    "lstm": (["lstm step", "forward", "backward"], []),
    "transfer": (["freeze", "head", "parameters"], ["learning rate"]),
}


def test_each_exercise_box_names_what_its_file_asks_for(course):
    from tutor.grading import catalogue

    assert sorted(EXERCISE_BOX_NAMES) == sorted(catalogue.load()), "every exercise needs its entry here"
    for lesson in course.lessons:
        for block in blocks_of(lesson, "exercise"):
            text = block.text.lower()
            named, absent = EXERCISE_BOX_NAMES[block.ref]
            assert [word for word in named if word not in text] == [], f"{lesson.path.name}: {block.ref}: {block.text}"
            assert [word for word in absent if word in text] == [], f"{lesson.path.name}: {block.ref}: {block.text}"


def test_every_demo_and_exercise_is_introduced_somewhere(course):
    demos = {b.ref for l in course.lessons for b in blocks_of(l, "demo")}
    exercises = {b.ref for l in course.lessons for b in blocks_of(l, "exercise")}
    assert sorted(set(DEMOS) - demos) == [], "demos no lesson introduces"
    assert sorted(set(EXERCISES) - exercises) == [], "exercises no lesson introduces"


def lesson_text(lesson: Lesson) -> str:
    return "\n".join(s.title + "\n" + s.body for s in lesson.sections)


@pytest.mark.parametrize("lesson_id", IDS)
def test_lesson_covers_its_topics(lessons, lesson_id):
    lesson = lesson_named(lessons, lesson_id)
    text = " ".join(lesson_text(lesson).lower().split())  # line breaks count as spaces
    missing = []
    for keyword in KEYWORDS[lesson_id]:
        options = keyword if isinstance(keyword, tuple) else (keyword,)
        if not any(option.lower() in text for option in options):
            missing.append(" / ".join(options))
    assert not missing, f"{lesson.path.name} never mentions: {missing}"


@pytest.mark.parametrize("lesson_id", IDS)
def test_cross_references_resolve(course, lessons, lesson_id):
    lesson = lesson_named(lessons, lesson_id)
    text = lesson.path.read_text(encoding="utf-8")
    for key, section in REF_RE.findall(text):
        target = course.find(key)  # raises when there is no such lesson
        if section:
            target.section(section)  # raises when there is no such section
    for demo in DEMO_REF_RE.findall(text):
        assert demo in DEMOS, f"{lesson.path.name} points to unknown demo {demo!r}"
    for exercise in CHECK_REF_RE.findall(text):
        assert exercise in EXERCISES, f"{lesson.path.name} points to unknown exercise {exercise!r}"


def test_reference_checker_catches_bad_references(course):
    from tutor.errors import TutorError  # Course.find / Lesson.section raise these

    with pytest.raises(TutorError):
        course.find("no-such-lesson")
    first = course.lessons[0]
    with pytest.raises(TutorError):
        first.section(len(first.sections) + 1)
    assert REF_RE.findall("see `dnn-tutor lesson backprop --section 4`") == [("backprop", "4")]
    assert REF_RE.findall("see `dnn-tutor lesson 3`") == [("3", "")]


def fenced_blocks(text: str) -> list[tuple[int, str, list[str]]]:
    """(first line number, info word, lines) of every fenced block."""
    found = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = FENCE_RE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, info = match.group(1), match.group(2)
        j = i + 1
        while j < len(lines) and not (
            lines[j].startswith(fence) and not lines[j].strip(fence[0]).strip()
        ):
            j += 1
        found.append((i + 2, info, lines[i + 1 : j]))
        i = j + 1
    return found


@pytest.mark.parametrize("lesson_id", IDS)
def test_code_fits_the_terminal_and_runs_here(lessons, lesson_id):
    """Code lines fit 80 columns (76 plus the panel's margins); no Keras code in python blocks."""
    lesson = lesson_named(lessons, lesson_id)
    for line_no, info, lines in fenced_blocks(lesson.path.read_text(encoding="utf-8")):
        if info in ("demo", "exercise", "checkpoint"):
            continue
        for offset, line in enumerate(lines):
            assert len(line) <= 76, (
                f"{lesson.path.name}:{line_no + offset}: code line of {len(line)} characters (max 76)"
            )
        if info == "python":
            code = "\n".join(lines)
            assert not re.search(r"^\s*(import|from)\s+(tensorflow|keras)\b", code, re.M), (
                f"{lesson.path.name}:{line_no}: Keras/TensorFlow code cannot run here; "
                "show the PyTorch equivalent and name the Keras call in prose"
            )


@pytest.mark.parametrize("lesson_id", IDS)
def test_prose_uses_no_latex(lessons, lesson_id):
    lesson = lesson_named(lessons, lesson_id)
    prose = "\n".join(b.text for s in lesson.sections for b in s.blocks if b.kind == "markdown")
    prose = re.sub(r"`[^`]*`", "", prose)  # code spans may contain anything
    for marker in ("$$", "\\frac", "\\sum", "\\(", "\\["):
        assert marker not in prose, f"{lesson.path.name}: LaTeX {marker!r} does not render in a terminal"


@pytest.mark.parametrize("lesson_id", IDS)
def test_no_paragraph_opens_with_a_number_that_reads_as_a_section_number(lessons, lesson_id):
    # The reader numbers sections ("6. Saving, reloading and GPUs"); a paragraph right under it that opens
    # with a bold "7. Save" read as a second, clashing section number. Steps are written "(1)" or "Step 7".
    lesson = lesson_named(lessons, lesson_id)
    for section in lesson.sections:
        for block in section.blocks:
            if block.kind != "markdown":
                continue
            for line in block.text.splitlines():
                assert not re.match(r"^\*\*\d+\.\s", line), (
                    f"{lesson.path.name}, section {section.index}: {line[:40]!r} looks like a section number"
                )


def test_residual_gradient_is_not_claimed_to_be_at_least_undiminished(lessons):
    # 1 + dF/dx is below 1 when dF/dx is negative: the identity path keeps the factor near 1, not above it.
    text = lesson_named(lessons, "modern-cnns").path.read_text(encoding="utf-8")
    assert "at least undiminished" not in text


def words(text: str) -> list[str]:
    """Lower-case words with surrounding punctuation removed."""
    out = []
    for token in text.lower().split():
        token = token.strip(".,;:!?\"'()[]{}*`“”‘’")
        if token:
            out.append(token)
    return out


def shingles(tokens: list[str], n: int = 12) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def test_shingle_check_finds_a_copied_run():
    seed = "one two three four five six seven eight nine ten eleven twelve thirteen"
    lesson = "Intro. ONE two three four five six seven eight nine ten eleven, twelve! end"
    assert shingles(words(seed)) & shingles(words(lesson))
    assert not shingles(words(seed)) & shingles(words("one two three four five six"))


@pytest.fixture(scope="module")
def seed_shingles():
    if not SEEDS.is_dir():
        pytest.skip("needs the source tutorial pages in ../shared/seeds/ beside the repository")
    found: set[tuple[str, ...]] = set()
    for path in sorted(SEEDS.glob("*.txt")):
        found |= shingles(words(path.read_text(encoding="utf-8", errors="replace")))
    return found


@pytest.mark.parametrize("lesson_id", IDS)
def test_no_sentences_copied_from_the_seeds(lessons, seed_shingles, lesson_id):
    lesson = lesson_named(lessons, lesson_id)
    copied = shingles(words(lesson.path.read_text(encoding="utf-8"))) & seed_shingles
    assert not copied, (
        f"{lesson.path.name} repeats 12+ words of a seed page, e.g. "
        f"{' '.join(sorted(copied)[0])!r}; say it in your own words"
    )
