"""Generated questions: the plain-Python answers against the real PyTorch layers and optimizers.

Each template is drawn DRAWS times with different seeds; every draw's answer must
match what torch computes for the same numbers.
"""

from __future__ import annotations

import math
import random

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]

from tutor.quiz import answers  # noqa: E402
from tutor.quiz.generators import TEMPLATES, generate, templates  # noqa: E402

DRAWS = 200
EXPECTED_IDS = {
    "gen-dense-params", "gen-conv-params", "gen-lstm-params", "gen-gru-params", "gen-conv-shape",
    "gen-softmax", "gen-sigmoid", "gen-dropout-expectation", "gen-sgd-momentum-step", "gen-adam-step",
}


def draws(template_id: str):
    for seed in range(DRAWS):
        yield generate(template_id, random.Random(seed))


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_every_template_has_a_stable_id_lesson_and_topic():
    assert set(templates()) == EXPECTED_IDS
    for t in TEMPLATES:
        assert t.id.startswith("gen-") and t.topic and t.lesson >= 1
        assert t.lesson_id and t.section and t.key_terms, f"{t.id} must declare its lesson, section and key terms"
        q = t.make(random.Random(0))
        assert q.id == t.id and q.generated and q.kind in ("number", "shape")
        assert q.prompt and q.explanation
        assert q.section == t.section


def _section_text(section) -> str:
    return " ".join((section.title + " " + section.body).lower().split())


def test_declared_lessons_and_sections_exist_and_teach_the_template():
    """Declared, not guessed: the lesson id and section slug resolve in the shipped course, and the
    section teaches the template (its key terms appear there)."""
    from tutor.lessons import load_course
    from tutor.quiz.generators import resolve
    from tutor.quiz.refs import reread_for

    course = load_course(REPO / "lessons")
    lessons = course.by_id()
    placed = resolve([], course)
    for t in TEMPLATES:
        assert t.lesson_id in lessons, f"{t.id}: no lesson {t.lesson_id!r}"
        lesson = lessons[t.lesson_id]
        assert lesson.number == t.lesson, f"{t.id}: lesson {t.lesson_id} is number {lesson.number}, not {t.lesson}"
        assert placed[t.id][0] == lesson.number
        section = lesson.section(t.section)  # raises when the slug is missing
        text = _section_text(section)
        missing = [term for term in t.key_terms if term.lower() not in text]
        assert not missing, f"{t.id}: section {t.section!r} never mentions {missing}"
        ref = reread_for(t.make(random.Random(0), lesson.number), course)
        assert ref.command == f"dnn-tutor lesson {lesson.id} --section {section.index}"


def test_placement_ignores_what_the_bank_happens_to_ask():
    """A bank question on the same topic in another lesson does not move a template of the shipped course."""
    from tutor.lessons import load_course
    from tutor.quiz.bank import Question
    from tutor.quiz.generators import resolve

    course = load_course(REPO / "lessons")
    stray = [Question(f"x{i}", 2, "optimizers", "true-false", "?", True, ".") for i in range(5)]
    assert resolve(stray, course)["gen-adam-step"][0] == course.by_id()["training"].number


def _typings(value: float, tolerance: float | None) -> list[str]:
    """Ways a learner might type ``value``: in full, shortest form, and to the precision the question asks."""
    out = [repr(float(value)), f"{value:g}"]
    if float(value).is_integer():
        out.append(str(int(value)))
    if tolerance is not None:
        out.append(f"{value:.{max(0, round(-math.log10(tolerance)))}f}")
    return out


NUMBER_TEMPLATES = sorted(t.id for t in TEMPLATES if t.make(random.Random(0)).kind == "number")


@pytest.mark.parametrize("template_id", NUMBER_TEMPLATES)
def test_every_misconception_is_rejected_and_the_answer_accepted(template_id):
    """Each draw lists the wrong answers it exists to catch; none is accepted however it is typed
    (in full or rounded), while the true answer typed to the stated precision is."""
    for q in draws(template_id):
        assert q.misconceptions, f"{template_id} lists no misconceptions: {q.prompt}"
        assert q.tolerance is not None or float(q.answer).is_integer(), q.prompt
        for wrong in q.misconceptions:
            for typed in _typings(wrong, q.tolerance):
                value = answers.parse(q, typed)
                assert not answers.is_correct(q, value, typed), (
                    f"{template_id}: the misconception {typed} is accepted for {q.answer!r}\n{q.prompt}"
                )
        if q.tolerance is not None:
            places = max(0, round(-math.log10(q.tolerance)))
            assert f"{places} decimals" in q.prompt, f"{template_id}: the prompt must state its precision"
            typed = f"{q.answer:.{places}f}"
            assert answers.is_correct(q, answers.parse(q, typed), typed), (template_id, typed, q.answer)
        else:
            typed = str(int(q.answer))
            assert answers.is_correct(q, answers.parse(q, typed), typed)


def test_the_misconceptions_the_issue_names_are_listed():
    """Momentum: unchanged weight and the step without momentum; Adam: unchanged weight and no bias correction."""
    for q in draws("gen-sgd-momentum-step"):
        p = q.params
        listed = set(q.misconceptions)
        assert p["w"] in listed and (p["w"] - p["lr"] * p["g"]) in listed
    for q in draws("gen-adam-step"):
        p = q.params
        listed = q.misconceptions
        assert p["w"] in listed
        uncorrected = p["w"] - p["lr"] * 0.1 / math.sqrt(0.001) * math.copysign(1, p["g"])
        assert any(abs(m - uncorrected) < 1e-12 for m in listed)


def test_a_misconception_check_can_fail():
    """Guard against a vacuous check: the answer itself is not 'rejected', and a near miss inside
    the tolerance is accepted."""
    q = generate("gen-sgd-momentum-step", random.Random(0))
    assert not answers.rejected(q, q.answer)
    assert not answers.rejected(q, q.answer + q.tolerance / 2)
    assert answers.rejected(q, q.answer + q.tolerance * 3)


def test_same_seed_same_question_and_fresh_numbers_otherwise():
    for t in TEMPLATES:
        a, b = t.make(random.Random(5)), t.make(random.Random(5))
        assert (a.prompt, a.answer) == (b.prompt, b.answer)
        prompts = {t.make(random.Random(seed)).prompt for seed in range(20)}
        assert len(prompts) > 3, t.id


def test_dense_params():
    for q in draws("gen-dense-params"):
        p = q.params
        layer = torch.nn.Linear(p["n_in"], p["n_out"], bias=p["bias"])
        assert n_params(layer) == q.answer, q.prompt


def test_conv_params():
    for q in draws("gen-conv-params"):
        p = q.params
        layer = torch.nn.Conv2d(p["c_in"], p["c_out"], p["k"], bias=p["bias"])
        assert n_params(layer) == q.answer, q.prompt


@pytest.mark.parametrize("template_id, cls", [("gen-lstm-params", "LSTM"), ("gen-gru-params", "GRU")])
def test_recurrent_params(template_id, cls):
    for q in draws(template_id):
        p = q.params
        assert p["cell"] == cls
        layer = getattr(torch.nn, cls)(input_size=p["n_in"], hidden_size=p["hidden"])
        assert n_params(layer) == q.answer, q.prompt


def test_conv_stack_shape_on_real_tensors():
    """A few draws on real tensors, to be sure the meta-device check below means the same."""
    for seed in range(5):
        q = generate("gen-conv-shape", random.Random(seed))
        c, h, w = q.params["input"]
        x = torch.zeros(1, c, h, w)
        with torch.no_grad():
            for layer in q.params["layers"]:
                if layer["type"] == "conv":
                    x = torch.nn.Conv2d(x.shape[1], layer["c_out"], layer["k"], layer["stride"], layer["padding"])(x)
                else:
                    x = torch.nn.MaxPool2d(layer["k"], layer["stride"])(x)
        assert list(x.shape[1:]) == q.answer


def test_conv_stack_shape():
    for q in draws("gen-conv-shape"):
        c, h, w = q.params["input"]
        modules, channels = [], c
        for layer in q.params["layers"]:
            if layer["type"] == "conv":
                modules.append(
                    torch.nn.Conv2d(channels, layer["c_out"], layer["k"], layer["stride"], layer["padding"], device="meta")
                )
                channels = layer["c_out"]
            else:
                modules.append(torch.nn.MaxPool2d(layer["k"], layer["stride"]))
        # The meta device runs torch's own shape logic without computing anything.
        with torch.no_grad():
            out = torch.nn.Sequential(*modules)(torch.zeros(1, c, h, w, device="meta"))
        assert list(out.shape[1:]) == q.answer, q.prompt
        # The learner's way of writing it is accepted.
        typed = "x".join(str(v) for v in q.answer)
        assert answers.is_correct(q, answers.parse(q, typed), typed)


def test_softmax():
    for q in draws("gen-softmax"):
        values = torch.tensor(q.params["values"], dtype=torch.float64)
        expected = torch.softmax(values, dim=0)[q.params["index"]].item()
        assert q.answer == pytest.approx(expected, abs=1e-12), q.prompt
        typed = f"{expected:.3f}"
        assert answers.is_correct(q, answers.parse(q, typed), typed)


def test_sigmoid():
    for q in draws("gen-sigmoid"):
        values = torch.tensor(q.params["values"], dtype=torch.float64)
        expected = torch.sigmoid(values)[q.params["index"]].item()
        assert q.answer == pytest.approx(expected, abs=1e-12), q.prompt
        typed = f"{expected:.3f}"
        assert answers.is_correct(q, answers.parse(q, typed), typed)


def test_dropout_expectation():
    torch.manual_seed(0)
    n = 20_000
    seen = set()
    for q in draws("gen-dropout-expectation"):
        p, a, variant = q.params["p"], q.params["a"], q.params["variant"]
        seen.add(variant)
        layer = torch.nn.Dropout(p)
        x = torch.full((n,), a, dtype=torch.float64)
        layer.train()
        y = layer(x)
        kept = y[y != 0]
        assert kept.numel() > 0
        if variant == "kept":
            assert torch.allclose(kept, torch.full_like(kept, q.answer), rtol=1e-12), q.prompt
        elif variant == "expected":
            # Analytically the mean of the scaled output equals the input: kept value x keep rate.
            assert (kept[0].item() * (1 - p)) == pytest.approx(q.answer, rel=1e-12)
            std_of_mean = a * math.sqrt(p / (1 - p) / n)
            assert abs(y.mean().item() - q.answer) < 6 * std_of_mean + 1e-12, q.prompt
        else:
            layer.eval()
            assert torch.equal(layer(x), torch.full_like(x, q.answer)), q.prompt
    assert seen == {"kept", "expected", "eval"}


def test_sgd_momentum_step():
    for q in draws("gen-sgd-momentum-step"):
        p = q.params
        w = torch.tensor([p["w"]], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([w], lr=p["lr"], momentum=p["momentum"])
        opt.state[w]["momentum_buffer"] = torch.tensor([p["v"]], dtype=torch.float64)
        w.grad = torch.tensor([p["g"]], dtype=torch.float64)
        opt.step()
        assert q.answer == pytest.approx(w.item(), abs=1e-12), q.prompt


def test_sgd_momentum_from_a_real_first_step():
    """The velocity in the prompt is what PyTorch keeps after a step with gradient v."""
    q = generate("gen-sgd-momentum-step", random.Random(3))
    p = q.params
    w = torch.tensor([p["w"] + p["lr"] * p["v"]], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=p["lr"], momentum=p["momentum"])
    w.grad = torch.tensor([p["v"]], dtype=torch.float64)
    opt.step()  # the first step stores the gradient as the velocity
    assert w.item() == pytest.approx(p["w"], abs=1e-12)
    w.grad = torch.tensor([p["g"]], dtype=torch.float64)
    opt.step()
    assert q.answer == pytest.approx(w.item(), abs=1e-12)


def test_adam_step():
    for q in draws("gen-adam-step"):
        p = q.params
        w = torch.tensor([p["w"]], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([w], lr=p["lr"], betas=tuple(p["betas"]), eps=p["eps"])
        w.grad = torch.tensor([p["g"]], dtype=torch.float64)
        opt.step()
        assert q.answer == pytest.approx(w.item(), abs=1e-12), q.prompt
        # The shortcut the explanation teaches (a step of size lr) is accepted; plain SGD, the
        # unchanged weight and the uncorrected step are not.
        shortcut = p["w"] - p["lr"] * math.copysign(1, p["g"])
        assert answers.number_matches(shortcut, q.answer, q.tolerance)
        assert not answers.number_matches(p["w"] - p["lr"] * p["g"], q.answer, q.tolerance)
        assert not answers.number_matches(p["w"], q.answer, q.tolerance, f"{p['w']:.0f}")


def test_conv_shapes_never_put_the_channel_count_where_a_side_could_be():
    """(32, 32, 32) cannot tell (C, H, W) from the channels-last order it exists to catch."""
    for seed in range(400):
        c, h, w = generate("gen-conv-shape", random.Random(seed)).answer[-3:]
        assert c not in (h, w), (seed, c, h, w)


def test_a_dense_layer_with_one_output_says_output_and_bias_in_the_singular():
    """"produces 1 outputs" and "+ 1 biases" were generated for a layer with a single output."""
    from tutor.quiz.builders import _build_dense

    built = next(b for b in map(_build_dense, map(random.Random, range(500)))
                 if b["params"]["n_out"] == 1 and b["params"]["bias"])
    assert "produces 1 output, with a bias." in built["prompt"]
    assert " + 1 bias = " in built["explanation"] and "outputs" not in built["prompt"]
