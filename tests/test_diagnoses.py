"""The diagnosis registry, and planted bugs in every exercise graded to their own diagnosis.

Planted bugs are graded in this process (tests/bugs/harness.py): the same plan,
job runner and checks as ``dnn-tutor check``, without a child per file. The
test_exercise_*.py files grade some of them end to end through the child.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bugs.harness import REPO, grade_source, plant
from bugs.planted import BUGS

EXERCISES = ["backprop", "batchnorm", "conv", "dropout", "lstm", "optimizers", "rnn", "transfer"]
GRADING = REPO / "tutor" / "grading"
ALTERNATIVES = Path(__file__).resolve().parent / "bugs"


def _catalogue():
    from tutor.grading import catalogue

    return catalogue.load(REPO / "exercises" / "info.toml")


# ---------------------------------------------------------------- the registry


def test_every_registered_code_has_a_meaning_and_a_hint():
    from tutor.grading import diagnoses

    values = diagnoses.codes()
    assert len(values) == len(set(values))
    for code in values:
        assert diagnoses.is_known(code)
        assert diagnoses.meaning(code).strip() and "\n" not in diagnoses.meaning(code)
        assert diagnoses.hint(code).strip() and "\n" not in diagnoses.hint(code)
    assert not diagnoses.is_known("no-such-code")
    with pytest.raises(ValueError):
        diagnoses.meaning("no-such-code")


def test_existing_codes_keep_their_strings():
    from tutor.grading.diagnoses import Diagnosis

    for code in ("values", "transposed", "batch-mean", "bias-averaged", "softmax-overflow", "nan", "relu-kink", "backward-vs-forward",
                 "dtype", "not-started", "step-count", "eps-placement", "bptt-carry", "gate-order", "not-frozen", "exception", "not-run"):
        assert Diagnosis(code).value == code


def test_codes_in_info_toml_are_registered_and_concepts_are_questions():
    from tutor.grading import diagnoses

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    questions: set[str] = set()
    for path in (REPO / "data" / "questions").glob("*.toml"):
        questions |= {entry.get("id") for entry in tomllib.loads(path.read_text()).get("question", [])}
    assert questions, "no quiz questions found under data/questions"
    for info in _catalogue().values():
        for code in list(info.tailored) + list(info.concepts):
            assert diagnoses.is_known(code), f"{info.id}: info.toml uses unregistered code {code!r}"
        for code, question in info.concepts.items():
            assert question in questions, f"{info.id}: concept {code!r} -> unknown question {question!r}"


def _code_uses(tree: ast.AST) -> list[tuple[int, str]]:
    """Codes written in the grader: code= keywords and Diagnosis members (D.X / Diagnosis.X)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "code" and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            found.append((node.value.lineno, node.value.value))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("D", "Diagnosis") and node.attr.isupper():
            found.append((node.lineno, f"<member {node.attr}>"))
        # Fatal("kind", ...) and Explanation(message, "code") carry codes positionally
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("Fatal", "Explanation"):
            position = 0 if node.func.id == "Fatal" else 1
            if len(node.args) > position and isinstance(node.args[position], ast.Constant) and isinstance(node.args[position].value, str):
                found.append((node.lineno, node.args[position].value))
    return found


def test_every_code_the_grader_uses_is_registered():
    from tutor.grading import diagnoses
    from tutor.grading.diagnoses import Diagnosis

    members = set(Diagnosis.__members__)
    paths = [GRADING / name for name in ("compare.py", "engine.py", "failures.py", "runner.py") if (GRADING / name).exists()]
    for path in [*paths, *sorted((GRADING / "specs").glob("*.py"))]:
        for line, code in _code_uses(ast.parse(path.read_text())):
            if code.startswith("<member "):
                assert code[8:-1] in members, f"{path.name}:{line}: Diagnosis has no member {code}"
            else:
                assert diagnoses.is_known(code), f"{path.name}:{line}: unregistered code {code!r}"


def test_fail_refuses_unregistered_codes():
    from tutor.grading.compare import fail

    with pytest.raises(ValueError):
        fail("x", code="made-up")
    assert fail("x", code="values").outcome.code == "values"


# ---------------------------------------------------------------- evidence rules (no child)


def test_constant_factor_needs_a_clean_ratio_and_agreeing_cases():
    import numpy as np

    from tutor.grading.compare import Mismatch, compare, judge_cases

    expected = np.array([1.0, -2.0, 3.0])
    with pytest.raises(Mismatch) as clean:
        compare("dx", expected, expected * 2, case="a")
    assert clean.value.outcome.code == "factor" and "×2" in clean.value.outcome.message
    with pytest.raises(Mismatch) as odd:
        compare("dx", expected, expected * 0.999998, case="a")
    assert odd.value.outcome.code == "values"
    # a single number "off by ×3/2" in one case only is no evidence of a factor
    with pytest.raises(Mismatch) as lone:
        judge_cases([lambda: compare("loss", 2.0, 3.0, case="a", scalar=True), lambda: compare("loss", 1.0, 1.0, case="b", scalar=True)])
    assert lone.value.outcome.code == "values"
    with pytest.raises(Mismatch) as both:
        judge_cases([lambda: compare("loss", 2.0, 3.0, case="a", scalar=True), lambda: compare("loss", 4.0, 6.0, case="b", scalar=True)])
    assert both.value.outcome.code == "factor"


def test_variant_needs_a_match_tighter_than_the_threshold():
    import numpy as np

    from tutor.grading.compare import Mismatch, compare

    expected = np.linspace(1, 2, 6)
    got = expected * (1 + 3e-7)
    near = expected * (1 + 2.9e-7)  # within the old loose tolerance, not a match
    with pytest.raises(Mismatch) as caught:
        compare("w", expected, got, case="a", variants=[("step-count", near, "t frozen")])
    assert caught.value.outcome.code == "values"
    with pytest.raises(Mismatch) as matched:
        compare("w", expected, got, case="a", variants=[("step-count", got.copy(), "t frozen")])
    assert matched.value.outcome.code == "step-count"


def test_values_rounded_to_float16_or_float32_name_the_type():
    import numpy as np

    from tutor.grading.compare import Mismatch, compare

    expected = np.random.default_rng(0).normal(size=(4, 5))
    for narrow in (np.float16, np.float32):
        with pytest.raises(Mismatch) as caught:
            compare("out", expected, expected.astype(narrow).astype(np.float64), case="a")
        name = np.dtype(narrow).name
        assert caught.value.outcome.code == name, caught.value.outcome.message
        assert f"carry {name} rounding" in caught.value.outcome.message


@pytest.mark.parametrize("check_id", ["dense_backward.numeric", "mlp_forward_backward.numeric"])
def test_a_float16_forward_is_not_called_a_placeholder(tmp_path, check_id):
    source = plant("backprop", ("out = x @ W + b  # (N, M)", "out = (x @ W + b).astype(np.float16)"))
    verdict = grade_source("backprop", source, tmp_path).by_id()[check_id]
    assert (verdict.passed, verdict.code) == (False, "float16"), verdict.message
    assert "went through float16" in verdict.message and "placeholder" not in verdict.message


def test_a_float16_cache_names_float16():
    import numpy as np

    from tutor.grading.compare import Mismatch
    from tutor.grading.specs._common import narrow_in_cache

    narrow_in_cache((np.ones(3, np.float16), np.arange(3.0, dtype=np.float32)), "dense_forward", "a")  # exact: no slip
    with pytest.raises(Mismatch) as caught:
        narrow_in_cache((np.ones(3), np.full(3, 0.1, np.float16)), "dense_forward", "a")
    assert caught.value.outcome.code == "float16"
    assert "cache[1] is a float16 array" in caught.value.outcome.message and "float32" not in caught.value.outcome.message


def _stopped(**facts):
    from tutor.grading import failures

    ending = dict(timed_out=False, started=True, imported=True, running="dense_forward", where=None, returncode=0, timeout=20.0,
                  startup_allowance=10.0, output_truncated=False, memory_error_printed=False, limit_mb=1024)
    return failures.stopped(failures.Ending(**{**ending, **facts}))


def test_a_run_stuck_on_an_import_line_is_a_slow_import_not_a_loop():
    slow = _stopped(timed_out=True, imported=False, running=None, where=("<module>", 1, "import torch"), timeout=0.5)
    assert slow.kind == "timeout" and "stuck at line 1 (import torch)" in slow.message
    assert "still importing" in slow.message and "longer --timeout" in slow.message and "infinite loop" not in slow.message
    again = _stopped(timed_out=True, imported=False, running=None, where=("<module>", 3, "from scipy import special"))
    assert "still importing" in again.message
    loop = _stopped(timed_out=True, where=("dense_forward", 7, "while True:"))
    assert "infinite loop" in loop.message and "importing" not in loop.message
    stopped = _stopped(timed_out=True, suspended=True, where=("<module>", 9, "os.kill(os.getpid(), signal.SIGSTOP)"))
    assert "stopped by a signal" in stopped.message and "infinite loop" not in stopped.message


def test_a_broken_channel_is_among_the_causes_only_where_the_facts_allow_it():
    killed = _stopped(returncode=-9)  # the worker's watchdog ends the run with SIGKILL when its pipe from the grader breaks
    assert killed.kind == "crash" and "SIGKILL while running dense_forward()" in killed.message
    assert "file descriptors it does not own" in killed.message and "memory" in killed.message
    assert "os.abort" not in killed.message and "segfault" not in killed.message
    quiet = _stopped(returncode=0, imported=False, running=None)  # the worker exits 0 when it cannot write its results
    assert quiet.kind == "exit" and "status 0 while importing your file" in quiet.message
    assert "file descriptors it does not own" in quiet.message and "result channel" in quiet.message
    assert "file descriptors" not in _stopped(returncode=3).message  # os._exit(3): not the worker's way out
    aborted = _stopped(returncode=-6)
    assert "SIGABRT" in aborted.message and "os.abort" in aborted.message and "file descriptors" not in aborted.message


def test_non_finite_values_get_no_softmax_advice():
    import numpy as np

    from tutor.grading.compare import Mismatch, compare

    with pytest.raises(Mismatch) as caught:
        compare("out", np.array([0.5, 1.0]), np.array([np.nan, 1.0]), case="a")
    assert caught.value.outcome.code == "nan" and "maximum" not in caught.value.outcome.message


# ---------------------------------------------------------------- planted bugs, graded in process

PLANTED = [(exercise, *bug) for exercise in EXERCISES for bug in BUGS[exercise]]


def _marks(exercise):
    return [pytest.mark.slow] if exercise == "transfer" else []


@pytest.mark.parametrize(
    "exercise, name, replacements, check_id, code",
    [pytest.param(*p, id=f"{p[0]}: {p[1]}", marks=_marks(p[0])) for p in PLANTED],
)
def test_planted_bug_gets_its_diagnosis(tmp_path, exercise, name, replacements, check_id, code):
    report = grade_source(exercise, plant(exercise, *replacements), tmp_path)
    verdict = report.by_id()[check_id]
    assert not verdict.passed, f"{check_id} passed, but the planted bug should fail it"
    assert verdict.code == code, f"{check_id}: got {verdict.code!r}, expected {code!r}: {verdict.message}"
    assert "[" in verdict.message and "]" in verdict.message  # the case is named
    # the hint that follows this code is the exercise's own tailored advice
    assert code in _catalogue()[exercise].tailored, f"{exercise}: no tailored hint in info.toml for {code!r}"


def test_at_least_eight_planted_bugs_per_exercise():
    assert set(BUGS) == set(EXERCISES)
    for exercise in EXERCISES:
        assert len(BUGS[exercise]) >= 8, exercise


# ---------------------------------------------------------------- no false failure on correct code


def _alternatives():
    found = []
    for exercise in EXERCISES:
        found.append((exercise, REPO / "tests" / "solutions" / f"{exercise}.py"))
        found += [(exercise, path) for path in sorted(ALTERNATIVES.glob(f"alt_{exercise}_*.py"))]
    return found


@pytest.mark.parametrize(
    "exercise, path",
    [pytest.param(e, p, id=f"{e}: {p.name}", marks=_marks(e)) for e, p in _alternatives()],
)
def test_correct_and_unusual_solutions_pass(tmp_path, exercise, path):
    for seed in (0, 1, 2):
        report = grade_source(exercise, path.read_text(), tmp_path, seed=seed)
        assert report.ok, (seed, report.failing())


@pytest.mark.parametrize("name", ["Adam eps inside the root", "TensorFlow-form Adam", "step count frozen", "RMSprop eps inside the root",
                                  "v corrected with beta1", "step count read before its increment", "v corrected with the old step count",
                                  "correction skipped on the first call, then one behind"])
def test_optimizer_slips_get_the_same_name_whatever_the_seed(tmp_path, name):
    (_, replacements, check_id, code), = [b for b in BUGS["optimizers"] if b[0] == name]
    source = plant("optimizers", *replacements)
    for seed in (0, 1, 2, 3, 4):
        verdict = grade_source("optimizers", source, tmp_path, seed=seed).by_id()[check_id]
        assert (verdict.passed, verdict.code) == (False, code), (seed, verdict.message)


# ---------------------------------------------------------------- wording of the numbers


def test_a_scalar_is_named_without_an_empty_index_and_huge_values_have_a_finite_error():
    import numpy as np

    from tutor.grading.compare import Mismatch, compare, rel_error

    assert rel_error(np.array([1e300, 2e300]), np.array([1.0, 2.0])) == pytest.approx(1.0)
    with pytest.raises(Mismatch) as nan:
        compare("loss", np.array(1.6169299148), np.array(np.nan), case="c", scalar=True)
    assert "loss: got nan where 1.61693 was expected" in nan.value.outcome.message
    assert "[]" not in nan.value.outcome.message
    with pytest.raises(Mismatch) as close:
        compare("loss", np.array(2.000001), np.array(2.000003), case="c", scalar=True)
    message = close.value.outcome.message
    assert "worst at loss: expected 2.000001, got 2.000003" in message
    with pytest.raises(Mismatch) as huge:
        compare("out", np.array([[1.0, 2.0]]), np.array([[1e300, 2.0]]), case="c")
    assert "relative error 1.00e+00" in huge.value.outcome.message and "nan" not in huge.value.outcome.message


def test_the_sigmoid_derivative_on_the_lstm_tanh_gate_is_named(tmp_path):
    source = plant("lstm", ("    dg = dc_total * i * (1.0 - g * g)", "    dg = dc_total * i * g * (1.0 - g)"))
    verdict = grade_source("lstm", source, tmp_path).by_id()["lstm_step_backward.reference"]
    assert not verdict.passed and verdict.code == "tanh-derivative", verdict.message
    assert "g·(1 − g)" in verdict.message


def test_an_np_where_sigmoid_is_told_that_both_branches_run(tmp_path):
    source = (REPO / "tests" / "solutions" / "backprop.py").read_text()
    start, end = source.index("def sigmoid_forward"), source.index("def sigmoid_backward")
    where = "def sigmoid_forward(x):\n    out = np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))\n    return out, out\n\n\n"
    verdict = grade_source("backprop", source[:start] + where + source[end:], tmp_path).by_id()["sigmoid_forward.values"]
    assert not verdict.passed and verdict.code == "overflow", verdict.message
    assert "np.where computes both branches" in verdict.message


# ---------------------------------------------------------------- one slip, one name

ONE_NAME = [
    ("lstm", "forget-gate gradient dropped"),
    ("lstm", "forget-gate gradient without c_prev"),
    ("optimizers", "v corrected with beta1"),
    ("optimizers", "step count read before its increment"),
    ("optimizers", "v corrected with the old step count"),
    ("batchnorm", "unbiased variance"),
    ("batchnorm", "backward recomputes inv_std with ddof=1"),
    ("batchnorm", "backward recomputes x_hat and inv_std with ddof=1"),
    ("conv", "dx cropped one row and column late"),
    ("conv", "backward pads with pad + 1"),
    ("rnn", "bias averaged"),
]
KNOCK_ON = {"backward-vs-forward", "shape"}  # the finite-difference check cannot name a cause, only where it fails


@pytest.mark.parametrize("exercise, name", ONE_NAME, ids=[f"{e}: {n}" for e, n in ONE_NAME])
def test_a_known_slip_is_named_by_one_code_and_never_as_values(tmp_path, exercise, name):
    (replacements, check_id, code), = [b[1:] for b in BUGS[exercise] if b[0] == name]
    for seed in (0, 7):
        report = grade_source(exercise, plant(exercise, *replacements), tmp_path, seed=seed)
        assert report.codes[0] == code, (seed, report.failing())
        assert set(report.codes[1:]) <= KNOCK_ON, (seed, report.failing())


def test_the_new_codes_say_where_and_what(tmp_path):
    def message(exercise, name):
        (replacements, check_id, code), = [b[1:] for b in BUGS[exercise] if b[0] == name]
        return grade_source(exercise, plant(exercise, *replacements), tmp_path).by_id()[check_id].message

    assert "df = (total dc)·c_prev·f·(1 − f)" in message("lstm", "forget-gate gradient dropped")
    said = message("optimizers", "step count read before its increment")
    assert "got nan at w after step 1[" in said and "t − 1" in said and "first call uses t = 1" in said
    assert "v is bias-corrected with beta1" in message("optimizers", "v corrected with beta1")
    said = message("batchnorm", "backward recomputes inv_std with ddof=1")
    assert said.startswith("dx: ") and "unbiased variance (N − 1)" in said and "expected" in said
    said = message("conv", "dx cropped one row and column late")
    assert "expected shape" in said and "[pad + 1:pad + 1 + H]" in said
    assert message("conv", "backward pads with pad + 1").startswith("dw: matches a backward that pads x with pad + 1")


def test_an_adam_that_is_nan_throughout_gets_a_cause_only_with_evidence(tmp_path):
    """sqrt(-v_hat) is nan from the first step like a correction with t = 0, but zero gradients do not make it divide by zero."""
    source = plant("optimizers", ("    return w - lr * m_hat / (np.sqrt(v_hat) + eps)", "    return w - lr * m_hat / (np.sqrt(-v_hat) + eps)"))
    verdict = grade_source("optimizers", source, tmp_path).by_id()["adam.first"]
    assert (verdict.passed, verdict.code) == (False, "nan"), verdict.message


def test_an_adam_that_never_moves_is_not_called_one_step_off(tmp_path):
    """v corrected with t − 1 leaves w where it was on step 1, as a w never updated does; only the whole trajectory tells them apart."""
    source = plant("optimizers", ("    return w - lr * m_hat / (np.sqrt(v_hat) + eps)", "    return w.copy()"))
    report = grade_source("optimizers", source, tmp_path)
    assert report.by_id()["adam.first"].code == "values", report.failing()
