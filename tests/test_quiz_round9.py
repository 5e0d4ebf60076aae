"""Round 9 of the quiz: a refused typed answer in a real terminal, answers shown to the decimals asked,
the classic mistakes the bank must refuse, and bad input in the numbered fallback.

1. In a terminal a refused typed answer ("abc", "0,99") stayed in the answer box, its reason was drawn at
   the bottom of the screen, far from the prompt, and the next keys extended it ("abc0.99", refused
   again). Now the box is emptied, the line right under it says what was refused and why, and up
   brings the refused text back to edit.
2. An answer asked to four decimals was shown without its trailing zeros ("The answer is 0.99" for
   "Give it to four decimals"); a right answer typed with them got "(exact value 0.99)".
3. The classic wrong answers of the bank's number and shape questions (the conv output size without its
   + 1, the count without its biases, the log in the wrong base ...) are all refused, and a shape with a
   fractional size (5.5: the floor forgotten) is graded wrong instead of asked again; and the numbered fallback
   names nan, inf, numbers too large or too small to read and division by zero, instead of "type a
   number such as 0.25" for all of them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tutor.cli import app
from tutor.quiz import answers
from tutor.quiz.bank import Question, load_bank

REPO = Path(__file__).resolve().parents[1]
FIXTURE_COURSE = REPO / "tests" / "fixtures" / "course"

NUMBER_BANK = '''
[[question]]
id = "r9-four"
lesson = 1
topic = "optimizers"
kind = "number"
prompt = "Where is w after the step? (Four decimals.)"
answer = 0.99
tolerance = 5e-5
explanation = "One step of size lr."
misconceptions = [1.0]

[[question]]
id = "r9-multi"
lesson = 1
topic = "optimizers"
kind = "multi"
prompt = "Which of these are optimisers?"
choices = ["SGD", "Adam", "ReLU"]
answer = ["SGD", "Adam"]
explanation = "ReLU is an activation."
'''


def _bank(tmp_path: Path) -> Path:
    folder = tmp_path / "bank"
    folder.mkdir(exist_ok=True)
    (folder / "01-r9.toml").write_text(NUMBER_BANK, encoding="utf-8")
    return folder


def _number(prompt: str, answer: float, tolerance: float | None = None) -> Question:
    return Question("t", 1, "x", "number", prompt, answer, ".", tolerance=tolerance)


# -- 1. a refused typed answer in a real terminal ---------------------------------------------------


def Screen(home: Path, args, cols: int = 80, rows: int = 24):
    """The quiz in a pseudo-terminal with its own home (see terminal_helpers.QuizScreen)."""
    from terminal_helpers import QuizScreen

    env = {k: v for k, v in os.environ.items() if not k.startswith("DNN_TUTOR_")}
    return QuizScreen(args, {**env, "DNN_TUTOR_HOME": str(home)}, str(REPO), cols, rows)


@pytest.mark.slow
def test_a_refused_number_is_emptied_from_the_box_and_said_right_under_it(tmp_path):
    """"abc" then "1": the old box kept "abc", so the learner's "1" made "abc1" (refused again, the reason at
    the bottom of the screen). Now the box is empty after the refusal, the line under it names "abc" and
    why, the next keys make a fresh answer, and the feedback gives the answer to the four decimals asked."""
    term = Screen(tmp_path / "home", ["--question", "tr-adam-first-step"])
    try:
        term.answer("abc")
        term.wait_for(r'"abc" was not taken')
        row = term.prompt_row()
        lines = term.lines()
        assert lines[row] == "? Your answer (q stops)", lines[row]  # emptied
        assert lines[row + 1].strip().startswith('↳ "abc" was not taken: type a number such as 0.25'), lines[row + 1]
        term.send("1")
        assert term.lines()[term.prompt_row()] == "? Your answer (q stops) 1"  # a fresh answer, not "abc1"
        assert '"abc" was not taken' in term.lines()[term.prompt_row() + 1]  # the reason stays in view meanwhile
        term.send("\r")
        term.wait_for(r"Not quite\. The answer is 0\.9900; you answered 1\.")
        assert "? Your answer 1" in term.lines()
        assert not any("was not taken" in line for line in term.lines())  # gone once answered
    finally:
        code = term.finish()
    assert code == 0


@pytest.mark.slow
def test_up_brings_the_refused_answer_back_to_edit(tmp_path):
    """"0,9900" (a decimal comma) is refused with its reason; the box is emptied, and up brings "0,9900" back
    so that only the comma needs mending."""
    term = Screen(tmp_path / "home", ["--question", "tr-adam-first-step"], cols=60)
    try:
        term.answer("0,9900")
        term.wait_for(r"use a decimal point")
        assert term.lines()[term.prompt_row()] == "? Your answer (q stops)"
        said = " ".join(" ".join(term.lines()[term.prompt_row() + 1:]).split())
        assert '"0,9900" was not taken: use a decimal point: 0.9900, not 0,9900 (↑ edits it)' in said
        term.send("\x1b[A")  # up
        assert term.lines()[term.prompt_row()] == "? Your answer (q stops) 0,9900"
        term.send("\x1b[D" * 4 + "\x7f.")  # left four times, backspace the comma, a point
        assert term.lines()[term.prompt_row()] == "? Your answer (q stops) 0.9900"
        term.send("\r")
        term.wait_for(r"✓ Right\.")
        assert not any("exact value" in line for line in term.lines())
    finally:
        code = term.finish()
    assert code == 0


@pytest.mark.slow
def test_ctrl_c_after_a_refusal_exits_130_without_a_traceback(tmp_path):
    term = Screen(tmp_path / "home", ["--question", "tr-adam-first-step"])
    try:
        term.answer("nan")
        term.wait_for(r'"nan" was not taken: nan is not a finite number')
        term.send("0.9")
        term.send("\x03")
    finally:
        code = term.finish()
    assert code == 130
    assert not any("Traceback" in line for line in term.lines())
    assert "? Your answer 0.9" not in term.lines()  # an interrupted line does not read as an answer


# -- 2. answers to the decimals asked ----------------------------------------------------------------


@pytest.mark.parametrize(
    "prompt, answer, shown",
    [
        ("Give 1 decimal.", 0.5, "0.5"),
        ("Give one decimal.", 2.0, "2.0"),
        ("Two decimals, within 0.01.", 0.5, "0.50"),
        ("Give 2 decimal places.", -0.3, "-0.30"),
        ("(Give it to three decimals.)", 0.25, "0.250"),
        ("Give 3 decimals (within 0.001).", 2.0, "2.000"),
        ("(Four decimals.)", -0.3, "-0.3000"),
        ("(Give it to four decimals.)", 0.99, "0.9900"),
        ("What value do you get (four decimals)?", 12.0001, "12.0001"),
        ("Three decimals.", 0.0625, "0.063"),  # half up, as a learner rounds
        ("Three decimals.", -0.0001, "0.000"),  # never -0.000
    ],
)
def test_the_answer_is_shown_with_the_decimals_the_prompt_asks_for(prompt, answer, shown):
    q = _number(prompt, answer, tolerance=1e-6)
    assert q.answer_as_asked() == shown


@pytest.mark.parametrize("tolerance, answer, shown", [(0.05, 0.5, "0.5"), (0.005, 0.5, "0.50"),
                                                     (0.0005, 0.25, "0.250"), (5e-5, 0.99, "0.9900")])
def test_a_tolerance_of_half_a_decimal_asks_for_that_many_decimals(tolerance, answer, shown):
    assert _number("How far does it move?", answer, tolerance).answer_as_asked() == shown


@pytest.mark.parametrize("prompt, tolerance, shown", [
    ("(An exact value.)", 1e-6, "0.25"),  # an exact value: no decimals asked
    ("Give two significant digits.", 5e-9, "9.5e-07"),
    ("Type it with one decimal point.", 1e-6, "0.25"),  # a decimal point is no number of decimals
])
def test_no_decimals_are_added_where_none_are_asked(prompt, tolerance, shown):
    answer = 0.25 ** 10 if "significant" in prompt else 0.25
    assert _number(prompt, answer, tolerance).answer_as_asked() == shown


def test_the_bank_shows_its_four_decimal_answers_with_four_decimals():
    bank = load_bank().by_id()
    assert bank["tr-adam-first-step"].answer_as_asked() == "0.9900"
    assert bank["tr-adam-constant-grad"].answer_as_asked() == "-0.3000"
    assert bank["dnn-softmax-value"].answer_as_asked() == "0.665"
    assert bank["mc-residual-factor"].answer_as_asked() == "17.45"
    for q in bank.values():
        places = q.decimals_asked()
        if q.kind == "number" and places is not None:
            shown = q.answer_as_asked()
            assert len(shown.partition(".")[2]) == places, (q.id, shown)
            assert answers.is_correct(q, answers.parse(q, shown), shown), (q.id, shown)  # what is shown is right


def test_the_numbered_fallback_shows_the_answer_and_the_right_answer_to_four_decimals(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("DNN_TUTOR_QUESTIONS", str(_bank(tmp_path)))
    monkeypatch.setenv("DNN_TUTOR_LESSONS", str(FIXTURE_COURSE))
    result = runner.invoke(app, ["quiz", "--question", "r9-four"], input="1\n")
    assert result.exit_code == 0, result.output
    assert "The answer is 0.9900; you answered 1." in " ".join(result.output.split())


def test_a_right_answer_typed_with_its_trailing_zeros_gets_no_other_exact_value(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("DNN_TUTOR_QUESTIONS", str(_bank(tmp_path)))
    monkeypatch.setenv("DNN_TUTOR_LESSONS", str(FIXTURE_COURSE))
    result = runner.invoke(app, ["quiz", "--question", "r9-four"], input="0.9900\n")
    assert result.exit_code == 0, result.output
    assert "✓ Right." in result.output and "exact value" not in result.output


def test_fixed_decimals_rounds_half_up_and_keeps_zeros():
    from tutor.quiz.bank import fixed_decimals

    assert [fixed_decimals(v, p) for v, p in [(2.675, 2), (0.99, 4), (1.0, 1), (-1.341639, 3)]] == \
        ["2.68", "0.9900", "1.0", "-1.342"]


# -- 3. the classic mistakes are refused ---------------------------------------------------------------

# For every number question of the bank: the wrong answers a teacher expects (beyond, or as well as, those the
# bank lists), each with what it gets wrong.
CLASSIC = {
    "dnn-dense-params": [401408, 402192, 401409],  # no biases; a bias per input; a single bias
    "dnn-mlp-total-params": [566528, 401920],  # no biases; the first layer only
    "dnn-softmax-value": [0.5, 0.953, 0.333, 1.0],  # 3 / (1 + 2 + 3); sigmoid(3); uniform; argmax
    "dnn-crossentropy-value": [0.602, 2.0, -1.386, 0.25],  # log10; log2; the sign; the probability
    "dnn-initial-loss-ten-classes": [1.0, 3.322, 0.1, 0.0],
    "dnn-neuron-relu-value": [2.0, 0.0, 3.0],  # no bias; ReLU'd the wrong way; sum of |w·x|
    "dnn-sigmoid-ten-layers": [2.5, 3.814697265625e-06, 9.6e-07, 1e-06],  # 10 x 0.25; 0.25^9; rounded up
    "bp-scalar-chain": [4, 6, -12, 24],  # dL/dy_hat alone; no factor 2; the sign; x twice
    "bp-bias-grad-value": [1, 0.03125],  # the mean's gradient; 1/32
    "bp-relu-backward": [0, 1, 0.5],  # blocked; ReLU's slope alone; z itself
    "bp-sigmoid-max-slope": [0.5, 1.0],  # the sigmoid's value; ReLU's slope
    "bp-softmax-ce-grad": [0.25, 0.75, -1.0],  # p; y - p; -y
    "bp-sgd-step": [0.7, 0.5, 0.45],  # uphill; unchanged; lr x w
    "bp-numeric-gradient": [12.0, 12.0601, 12.06],  # exact; one-sided
    "bp-centred-difference-error": [0.0, 0.0601, 0.01],  # no error; one-sided; h
    "bp-he-std": [0.00390625, 0.0442, 0.0884],  # the variance; Xavier/LeCun; sqrt(4/512)
    "of-dropout-scale-value": [3.0, 2.25, 12.0, 0.0],  # unscaled; x keep; / p; dropped
    "of-l2-penalty-value": [0.125, 0.07, 0.5, 0.01],  # λ/2 form; L1; the gradient 2λw...; λ
    "of-weight-decay-step": [2.0, 1.98, 1.9, 1.995],  # unchanged; 2λ; w(1 - λ); half the decay
    "of-early-stopping-epoch": [4, 10, 11],  # the first bump; where it stopped; the last epoch
    "of-bn-train-value": [-1.162, -3.0, -0.6, -1.0],  # unbiased variance; unscaled; / variance
    "of-bn-running-mean": [5.0, 4.5, 0.05],  # the batch mean; Keras' momentum; 0.01 x 5
    "of-bn-params": [1024, 256, 768],  # with the buffers; one per feature
    "of-bn-net-params": [567434, 570506],  # without; counting the buffers
    "tr-adam-first-step": [1.0, 0.95, 0.9684, 0.9],  # unchanged; SGD; no bias correction; lr x 10
    "tr-adam-constant-grad": [0.0, -0.6, -0.1, 0.3],  # unchanged; SGD; one step; uphill
    "tr-sgd-step": [2.0, 1.8, 2.4, 1.9],  # unchanged; gradient w; uphill; lr alone
    "tr-momentum-steps": [-0.2, -0.1, 0.0, -0.28, -0.19],  # no momentum; one step; dampening
    "tr-steplr": [0.0001, 0.01, 0.1],  # three decays; one; none
    "tr-iterations-per-epoch": [421, 54000, 421.875],  # floor; images; unrounded
    "tr-adam-uncorrected-step": [0.1, 0.05, 0.0316],  # corrected; lr·m alone
    "cnn-output-size": [15, 32, 17, 15.5, 14],  # no + 1; stride ignored; ceil; no floor; no padding
    "cnn-conv-params": [18432, 640, 18433, 576],  # no biases; one input channel; one bias
    "cnn-first-conv-params": [288, 289, 9],  # no biases; one bias; one filter
    "cnn-rgb-conv-params": [1200, 416, 1201],  # no biases; one input channel; one bias
    "cnn-feature-map-value": [-1.0, 1.5, 0.5],  # no bias; a flipped kernel
    "cnn-stem-output-size": [109, 224, 111, 113],  # no padding; stride ignored; no + 1; ceil
    "cnn-maxpool-value": [9, 1.25, 5],  # the global max; the average; the top-left block
    "cnn-receptive-field-two-convs": [3, 9, 6],
    "cnn-receptive-field-pool": [6, 7, 10],
    "cnn-flatten-features": [2304, 7744, 25, 3136],  # ceil pooling; one pool; channels forgotten
    "cnn-digit-net-params": [224800],  # no biases
    "rnn-rnn-params": [620, 600],  # one bias; none
    "rnn-lstm-params": [2480, 1920, 640, 2400],  # one bias per gate; three blocks; one block; no biases
    "rnn-gru-params": [1860, 2560, 1800],
    "rnn-text-lstm-params": [24832, 18816],
    "rnn-one-step": [0.75, 0.679, 0.848],  # no tanh; sigmoid; h_(t-1) forgotten
    "rnn-cell-update": [1.8, 2.0, -0.2],
    "rnn-lstm-hidden-value": [0.8, 0.922, 0.5],
    "rnn-clip-grad": [1.0, 3.0, 0.4286],  # clip by value; unclipped; the L1 norm
    "rnn-embedding-params": [1280128],  # a bias
    "tl-head-trainable-params": [2560, 11179077, 11689512],  # no biases; frozen base counted
    "tl-resnet18-params": [11176512],
    "tl-vgg16-params": [14714688],
    "tl-vgg-flatten-features": [512, 3584],
    "tl-vgg-dense-head-params": [6422528, 131328],
    "tl-gap-head-params": [131072, 6422784],
    "tl-layer4-trainable": [8393728, 2565, 8396288],
    "tl-normalise-value": [444.4, 0.392, 0.285, -0.064],  # raw; scaled only; the sign; not divided by std
    "pr-pixel-scale": [0.19921875, 0.51, 51.0],  # / 256; / 100; unscaled
    "pr-initial-loss": [0.2, 0.699, 2.322],
    "pr-clip-value": [6.0, 2.0, 0.6],  # unclipped; clip by value; to norm 1
    "pr-warmup-lr": [0.001, 9e-05, 0.0, 0.00011],  # no warm-up; off by one either way
    "pr-cv-fold-size": [100, 500, 5],
    "mc-bn2d-params": [64, 256],
    "mc-conv-bn-params": [960, 864, 896],  # with the conv bias; conv only; conv bias without BN
    "mc-residual-factor": [1e-30, 4.0, 3.0, 20.09, 17.44],  # no shortcut; a sum; the e^3 shortcut; truncated
    "mc-leaky-grad": [0.0, -0.03, 1.0],  # plain ReLU; the output; the positive side
}


def _typings(question, value: float) -> set[str]:
    """Ways a learner types ``value``: as Python writes it, to six digits, whole, and to the decimals asked."""
    out = {repr(float(value)), f"{value:g}", f"{value:.6g}"}
    if float(value).is_integer():
        out.add(str(int(value)))
    places = question.decimals_asked() if hasattr(question, "decimals_asked") else None
    if places is not None:
        out.add(f"{value:.{places}f}")
    return out


def accepted_mistakes(question, mistakes) -> list[str]:
    """The classic mistakes (each typed every usual way) that ``question`` takes as right."""
    taken = []
    for wrong in mistakes:
        for typed in sorted(_typings(question, wrong)):
            try:
                value = answers.parse(question, typed)
            except answers.InvalidAnswer:
                continue  # asked again: not taken either
            if answers.is_correct(question, value, typed):
                taken.append(typed)
    return taken


def test_every_number_question_refuses_its_classic_mistakes():
    bank = load_bank().by_id()
    numbers = {qid for qid, q in bank.items() if q.kind == "number"}
    assert numbers <= set(CLASSIC), f"a number question without its classic mistakes here: {numbers - set(CLASSIC)}"
    problems = []
    for qid in sorted(numbers):
        q = bank[qid]
        taken = accepted_mistakes(q, CLASSIC[qid])
        if taken:
            problems.append(f"{qid} (answer {q.answer}, tolerance {q.tolerance}) takes {taken}")
        right = q.answer_as_asked()
        assert answers.is_correct(q, answers.parse(q, right), right), f"{qid}: its own answer {right} is refused"
    assert not problems, "\n".join(problems)


def test_the_classic_mistake_check_can_fail():
    """A tolerance wide enough for the off-by-one, or a count graded loosely, is caught."""
    wide = _number("What is the output width? (Within 1.)", 16.0, tolerance=1.0)
    assert accepted_mistakes(wide, [15, 32]) == ["15", "15.0"]
    loose = _number("How many parameters? (Within 1%.)", 18496.0, tolerance=185.0)
    assert accepted_mistakes(loose, [18432, 640]) == ["18432", "18432.0"]


# The shape questions' classic wrong shapes; a size with decimals (the floor forgotten) is graded wrong.
CLASSIC_SHAPES = {
    "dnn-batch-output-shape": ["64, 512", "10, 64", "64, 784"],
    "bp-dw-shape": ["50, 100", "32, 50", "32, 100"],  # transposed; dout's; x's
    "bp-dx-shape": ["100, 32", "32, 50", "100, 50"],
    "tr-last-batch-shape": ["64, 64", "13, 64", "53", "16.828125, 64"],  # a full batch; 1077 % 64 misread
    "cnn-conv-output-shape": ["8, 32, 25, 25", "8, 32, 28, 28", "8, 1, 26, 26", "32, 26, 26"],  # no + 1; no batch
    "cnn-same-padding-shape": ["1, 16, 30, 30", "1, 3, 32, 32", "1, 16, 31, 31"],
    "cnn-pool-shape": ["4, 32, 26, 26", "4, 16, 13, 13", "4, 32, 12, 12"],
    "cnn-pool-odd-shape": ["4, 64, 5.5, 5.5", "4, 64, 6, 6", "4, 64, 10, 10"],  # no floor; rounded up
    "rnn-output-shape": ["4, 20", "15, 4, 20", "4, 15, 10"],  # the last step only; time-first
    "rnn-hn-shape": ["4, 2, 20", "2, 4, 15, 20", "1, 4, 20"],  # batch_first applied to h_n
    "rnn-time-first-shape": ["4, 10, 16", "10, 4, 8"],
    "rnn-bidirectional-shape": ["2, 50, 128", "2, 2, 50, 128", "4, 50, 128"],
    "tl-feature-shape": ["2, 1000", "2, 512, 7, 7", "2, 512, 1, 1"],
    "mc-residual-shape": ["2, 128, 56, 56", "2, 64, 28, 28", "2, 128, 28.5, 28.5", "2, 128, 27, 27"],
}


def test_every_shape_question_refuses_its_classic_mistakes_and_grades_a_fractional_size_wrong():
    """"4, 64, 5.5, 5.5" (the floor forgotten, a mistake cnn-pool-odd-shape's explanation names) was asked again
    with the shape hint, so the learner could try again unmarked; it is now graded wrong."""
    bank = load_bank().by_id()
    shapes = {qid for qid, q in bank.items() if q.kind == "shape"}
    assert shapes <= set(CLASSIC_SHAPES), f"a shape question without its classic mistakes here: {shapes - set(CLASSIC_SHAPES)}"
    for qid in sorted(shapes):
        q = bank[qid]
        for wrong in CLASSIC_SHAPES[qid]:
            if "." in wrong:  # a size with decimals: read, and marked wrong
                value = answers.parse(q, wrong)
                assert not answers.is_correct(q, value, wrong), (qid, wrong)
                continue
            try:
                value = answers.parse(q, wrong)
            except answers.InvalidAnswer:
                continue
            assert not answers.is_correct(q, value, wrong), (qid, wrong)
        right = ", ".join(str(size) for size in q.answer)
        assert answers.is_correct(q, answers.parse(q, right), right)
        decimals = ", ".join(f"{size}.0" for size in q.answer)
        assert answers.is_correct(q, answers.parse(q, decimals), decimals)  # 5.0 is 5


def test_a_separator_slip_with_a_point_is_still_asked_again():
    q = Question("s", 1, "x", "shape", "?", [32, 13, 13], ".")
    with pytest.raises(answers.InvalidAnswer, match="type a shape"):
        answers.parse(q, "32.13, 13")  # two sizes for three: a slip, not a fractional size


def test_a_fractional_size_in_the_numbered_fallback_is_marked_wrong_and_saved(runner):
    result = runner.invoke(app, ["quiz", "--question", "cnn-pool-odd-shape"], input="4, 64, 5.5, 5.5\n")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "Not quite. The answer is (4, 64, 5, 5); you answered 4, 64, 5.5, 5.5." in said
    from tutor.store import Store

    with Store() as store:
        assert [(r.question_id, r.answer, r.correct) for r in store.reviews()] == \
            [("cnn-pool-odd-shape", "(4, 64, 5.5, 5.5)", False)]


# -- 3. bad input in the numbered fallback ---------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, said",
    [
        ("nan", "nan is not a finite number: type one such as 0.25 or 1e-3"),
        ("-inf", "-inf is not a finite number: type one such as 0.25 or 1e-3"),
        ("Infinity", "Infinity is not a finite number"),
        ("∞", "∞ is not a finite number"),
        ("1e999", "1e999 is too large to read: type a finite number"),
        ("1" * 400, "111111111111111111111... is too large to read"),
        ("1e-999", "1e-999 is too small to read (type 0 if you mean 0)"),
        ("1/0", "1/0 divides by zero"),
        ("0/0", "0/0 divides by zero"),
    ],
)
def test_non_finite_huge_tiny_and_divided_by_zero_numbers_are_named(typed, said):
    with pytest.raises(answers.InvalidAnswer) as caught:
        answers.parse(_number("Give 3 decimals.", 0.665, 0.0005), typed)
    assert said in caught.value.reason
    assert len(caught.value.reason) <= 70  # one line at 80 columns, under the "  ↳ " mark


@pytest.mark.parametrize("typed", ["a,b", "(32,)"])
def test_text_with_a_comma_that_is_no_number_is_not_told_to_use_a_decimal_point(typed):
    with pytest.raises(answers.InvalidAnswer) as caught:
        answers.parse(_number("Give 3 decimals.", 0.665, 0.0005), typed)
    assert "decimal point" not in caught.value.reason
    assert caught.value.reason.startswith("type a number such as")


def test_a_huge_choice_number_is_not_repeated_in_full():
    q = Question("m", 1, "x", "multi", "?", ["a", "b"], ".", choices=("a", "b", "c"))
    with pytest.raises(answers.InvalidAnswer) as caught:
        answers.parse(q, "1 " + "9" * 400)
    assert len(caught.value.reason) < 80 and "is not a choice" in caught.value.reason


JUNK = "\n".join(["nan", "inf", "1e999", "-1e999", "1/0", "1e-999", "9" * 3000, "\x1b[2J", ""])


def test_junk_lines_in_the_numbered_fallback_are_named_one_by_one_and_never_hang(runner, tmp_path, monkeypatch):
    """Every junk line gets its own one-line reason; three in a row stop the quiz (no answer saved)."""
    monkeypatch.setenv("DNN_TUTOR_QUESTIONS", str(_bank(tmp_path)))
    monkeypatch.setenv("DNN_TUTOR_LESSONS", str(FIXTURE_COURSE))
    result = runner.invoke(app, ["quiz", "--question", "r9-four"], input=JUNK)
    out = result.output
    assert result.exit_code == 0, out
    assert "Traceback" not in out
    assert "nan is not a finite number" in out and "inf is not a finite number" in out
    assert "1e999 is too large to read" in out
    assert "Stopped early (3 answers in a row could not be read): 0 of 1 answered; nothing was recorded." in \
        " ".join(out.split())


@pytest.mark.parametrize("lines", range(0, 5))
def test_end_of_input_at_every_prompt_keeps_what_was_answered(tmp_path, lines):
    """The answers ``1``, a junk line, ``1,2``: input cut after 0 to 4 lines ends at the next prompt
    (an answer or the end of the multi question), with exit 0, no traceback and the answers given saved."""
    import subprocess

    script = ["0.9900", "nan", "1,2", "", ""][:lines]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DNN_TUTOR_")}
    env.update(DNN_TUTOR_HOME=str(tmp_path / "home"), DNN_TUTOR_QUESTIONS=str(_bank(tmp_path)),
               DNN_TUTOR_LESSONS=str(FIXTURE_COURSE), COLUMNS="60", TERM="dumb")
    done = subprocess.run([sys.executable, "-m", "tutor", "quiz", "-q", "r9-four", "-q", "r9-multi"],
                          input="\n".join(script), capture_output=True, text=True, env=env, cwd=str(REPO),
                          timeout=60)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Traceback" not in out
    answered = (lines >= 1) + (lines >= 3)
    if answered < 2:
        assert f"Stopped early (end of input): {answered} of 2 answered" in " ".join(out.split())
    from tutor.store import Store

    with Store(tmp_path / "home" / "progress.db") as store:
        assert [r.question_id for r in store.reviews()] == ["r9-four", "r9-multi"][:answered]


@pytest.mark.slow
def test_term_dumb_at_60_columns_names_each_bad_number_and_ctrl_d_keeps_the_answer(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    from terminal_helpers import exit_code

    env = {k: v for k, v in os.environ.items() if not k.startswith("DNN_TUTOR_") and k not in ("COLUMNS", "LINES")}
    env.update(TERM="dumb", DNN_TUTOR_HOME=str(tmp_path / "home"), DNN_TUTOR_QUESTIONS=str(_bank(tmp_path)),
               DNN_TUTOR_LESSONS=str(FIXTURE_COURSE))
    child = pexpect.spawn(sys.executable, ["-m", "tutor", "quiz", "-q", "r9-four", "-q", "r9-multi"], env=env,
                          cwd=str(REPO), dimensions=(40, 60), encoding="utf-8", timeout=30)
    try:
        for typed, said in [("nan", r"nan is not a finite number"), ("1e999", r"1e999 is too large to read"),
                            ("1/0", r"1/0 divides by zero"), ("a,b", r"type a number such as 0\.25")]:
            child.expect("answer> ")
            child.send(typed + "\r")
            child.expect(said)
        child.expect("answer> ")
        child.send("1\r")
        child.expect(r"The answer is 0\.9900; you answered 1\.")
        child.expect("answer> ")
        child.sendeof()
        child.expect(pexpect.EOF)
        output = child.before
    finally:
        code = exit_code(child)
    assert code == 0
    assert "Traceback" not in output
    assert "Stopped early (end of input): 1 of 2 answered; those answers are saved." in " ".join(output.split())
