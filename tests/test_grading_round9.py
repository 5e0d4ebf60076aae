"""The grader, round 9: recursion told from loops, overflow found however numpy's warnings are set, the
batch-norm running statistics in a narrow float, `check` with a home it cannot write, and learner files
that misbehave (signals, sleeps, replaced numpy or builtins, deep tracebacks)."""

from __future__ import annotations

import functools
import json
import time

import pytest

from test_grading_helpers import SOLUTIONS, grade, planted
from tutor.cli import app

RELU = "def relu_forward(x):\n"


def _checks(report) -> dict:
    return {c.id: c for c in report.checks}


def _line_of(path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.strip() == text)


# ---------------------------------------------------------------- 1. recursion is not a loop


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["itself", "each-other", "limit-raised", "at-import"])
def test_a_recursion_error_names_the_recursion_its_function_line_and_cause(tmp_path, kind):
    """RecursionError was "relu_forward raised RecursionError: maximum recursion depth exceeded" (code exception,
    whose hint says to print shapes); with sys.setrecursionlimit(10**6) the same recursion ran out the time and
    was called an infinite loop."""
    if kind == "itself":
        path = planted(tmp_path, "backprop", (RELU, RELU + "    return relu_forward(x)\n\n\ndef _unused(x):\n"))
    elif kind == "each-other":
        path = planted(tmp_path, "backprop", (RELU, RELU + "    return _other(x)\n\n\ndef _other(x):\n    return relu_forward(x)\n\n\n"
                                                     "def _unused(x):\n"))
    elif kind == "limit-raised":
        path = planted(tmp_path, "backprop", ("import numpy as np\n", "import sys\n\nimport numpy as np\n\nsys.setrecursionlimit(10**7)\n"),
                       (RELU, RELU + "    return relu_forward(x)\n\n\ndef _unused(x):\n"))
    else:
        path = planted(tmp_path, "backprop", ("import numpy as np\n", "import numpy as np\n\n\ndef helper(n):\n    return helper(n - 1)\n\n\nhelper(3)\n"))
    started = time.monotonic()
    report = grade("backprop", path, seed=1, timeout=20)
    assert time.monotonic() - started < 15  # a RecursionError at once, not a run to the time limit
    if kind == "at-import":
        line = _line_of(path, "return helper(n - 1)")
        assert report.fatal is not None and report.fatal.kind == "import"
        message = report.fatal.message
        assert "helper() calls itself without end" in message and f"line {line} (return helper(n - 1))" in message, message
        assert report.codes[0] == "recursion", report.codes
    else:
        check = _checks(report)["relu_forward.values"]
        message = check.message
        assert check.code == "recursion", (check.code, message)
        called = "relu_forward() and _other() call each other" if kind == "each-other" else "relu_forward() calls itself"
        assert f"{called} without end" in message, message
        code = "return _other(x)" if kind == "each-other" else "return relu_forward(x)"
        assert f"line {_line_of(path, code)} ({code})" in message, message
        if kind == "limit-raised":
            assert "3,000 nested calls" in message, message  # the grader's cap on sys.setrecursionlimit
        assert check.trace, "the traceback panel shows where"
    assert "base case" in message and "infinite loop" not in message, message


@pytest.mark.slow
def test_a_recursion_that_runs_out_the_time_is_a_recursion_and_a_while_loop_is_still_a_loop(tmp_path):
    slow = planted(tmp_path, "backprop", (RELU, RELU + "    started = time.perf_counter()\n    while time.perf_counter() - started < 0.005:\n"
                                                "        pass\n    return relu_forward(x)\n\n\ndef _unused(x):\n"),
                   ("import numpy as np\n", "import time\n\nimport numpy as np\n"), name="slow.py")
    report = grade("backprop", slow, seed=1, timeout=1)  # 5 ms a call: about 200 calls deep by then
    assert report.fatal is not None and report.fatal.kind == "timeout"
    message = report.fatal.message
    line = _line_of(slow, "return relu_forward(x)")
    assert "relu_forward() calls itself without end" in message and f"line {line} (return relu_forward(x))" in message, message
    assert "calls deep when the time ran out" in message and "base case" in message and "infinite loop" not in message, message
    assert report.codes[:2] == ["recursion", "timeout"], report.codes

    loop = planted(tmp_path, "backprop", (RELU, RELU + "    n = 0\n    while True:\n        n += 1\n\n\ndef _unused(x):\n"), name="loop.py")
    report = grade("backprop", loop, seed=1, timeout=0.5)
    assert report.fatal is not None and report.fatal.kind == "timeout"
    assert "is there an infinite loop?" in report.fatal.message and "recursion" not in report.fatal.message, report.fatal.message
    assert report.codes[0] == "timeout"


@pytest.mark.slow
def test_a_deep_traceback_keeps_the_line_that_failed(tmp_path):
    """Only the 50 outermost frames came back: the message of an error raised 80 calls deep named a recursive call."""
    path = planted(tmp_path, "backprop", (RELU, RELU + "    return _deep(x, 80)\n\n\ndef _deep(x, n):\n    if n == 0:\n"
                                                "        raise ValueError('bottom')\n    return _deep(x, n - 1)\n\n\ndef _unused(x):\n"))
    check = _checks(grade("backprop", path, seed=1))["relu_forward.values"]
    assert check.code == "exception" and f"at line {_line_of(path, 'raise ValueError(' + repr('bottom') + ')')}" in check.message, check.message
    assert check.trace[-1].code == "raise ValueError('bottom')"
    assert "calls itself" not in check.message  # 80 calls that end: not a recursion without end


# ---------------------------------------------------------------- 2. overflow, whatever numpy's warnings are set to

NAIVE = "def sigmoid_forward(x):\n    out = 1.0 / (1.0 + np.exp(-x))\n    return out, out\n\n\ndef _stable(x):\n"
SIGMOID = "def sigmoid_forward(x):\n"


@pytest.mark.slow
@pytest.mark.parametrize("how", ["errstate", "seterr-inside", "where-errstate", "errstate-replaced"])
def test_an_overflow_with_numpy_warnings_switched_off_is_still_found(tmp_path, how):
    if how == "errstate":
        body = "def sigmoid_forward(x):\n    with np.errstate(all='ignore'):\n        out = 1.0 / (1.0 + np.exp(-x))\n    return out, out\n\n\ndef _stable(x):\n"
    elif how == "seterr-inside":
        body = "def sigmoid_forward(x):\n    np.seterr(all='ignore')\n    out = 1.0 / (1.0 + np.exp(-x))\n    return out, out\n\n\ndef _stable(x):\n"
    elif how == "where-errstate":
        body = ("def sigmoid_forward(x):\n    with np.errstate(over='ignore', invalid='ignore'):\n"
                "        out = np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))\n    return out, out\n\n\ndef _stable(x):\n")
    else:  # the warnings cannot be switched off: np.errstate and np.seterr themselves are replaced by no-ops
        body = NAIVE
    replacements = [(SIGMOID, body)]
    if how == "errstate-replaced":
        replacements.append(("import numpy as np\n", "import numpy as np\n\n\nclass _Quiet:\n    def __init__(self, **kw):\n        pass\n\n"
                                                      "    def __enter__(self):\n        pass\n\n    def __exit__(self, *exc):\n        pass\n\n\n"
                                                      "np.errstate = _Quiet\nnp.seterr = lambda **kw: {}\n"))
    path = planted(tmp_path, "backprop", *replacements)
    report = grade("backprop", path, seed=1)
    check = _checks(report)["sigmoid_forward.values"]
    assert not check.passed and check.code == "overflow", (check.code, check.message)
    assert "overflowed: exp gave inf" in check.message, check.message
    if how in ("errstate", "seterr-inside", "where-errstate"):
        assert "switching numpy's warnings off" in check.message and "without preventing it" in check.message, check.message
    assert report.passed == report.total - 1  # the rest of the file is the reference's


@pytest.mark.slow
def test_a_correct_file_that_asks_numpy_to_raise_on_everything_still_passes(tmp_path):
    """np.seterr(all='raise') at the top of a correct file: the stable sigmoid's harmless exp(-800) = 0 raised
    "underflow" in the stability cases and was reported as an overflow that numpy only warns about."""
    path = planted(tmp_path, "backprop", ("import numpy as np\n", "import numpy as np\n\nnp.seterr(all='raise')\n"))
    report = grade("backprop", path, seed=1)
    assert report.ok, [(c.id, c.message) for c in report.checks if not c.passed]


@pytest.mark.slow
def test_an_underflow_the_file_asked_numpy_to_raise_on_says_so(tmp_path):
    path = planted(tmp_path, "backprop", ("    z = np.exp(x[~positive])\n",
                                          "    with np.errstate(under='raise'):\n        z = np.exp(x[~positive])\n"))
    check = _checks(grade("backprop", path, seed=1))["sigmoid_forward.values"]
    assert check.code == "exception" and "underflow in exp" in check.message, check.message
    assert "because your code asked it to" in check.message and "overflow" in check.message.split("Fix:")[1], check.message
    assert "finite once numpy only warns" not in check.message


# ---------------------------------------------------------------- 3. batch norm: running statistics in a narrow float


def _running_through(dtype: str, back_to_float64: bool = False):
    after = f".astype(np.{dtype})" + (".astype(np.float64)" if back_to_float64 else "")
    return [
        ("state[\"running_mean\"] = momentum * running_mean + (1.0 - momentum) * mean",
         f"state[\"running_mean\"] = (momentum * running_mean + (1.0 - momentum) * mean){after}"),
        ("state[\"running_var\"] = momentum * running_var + (1.0 - momentum) * var",
         f"state[\"running_var\"] = (momentum * running_var + (1.0 - momentum) * var){after}"),
    ]


@pytest.mark.slow
@pytest.mark.parametrize("back_to_float64", [False, True])
def test_float16_running_statistics_are_named_in_the_test_mode_check_too(tmp_path, back_to_float64):
    """Test mode normalised with float16 running statistics: "out (train=False): relative error 2.6e-04", code values,
    whose hint says to recompute an entry by hand."""
    path = planted(tmp_path, "batchnorm", *_running_through("float16", back_to_float64))
    check = _checks(grade("batchnorm", path, seed=1))["batchnorm_forward.eval"]
    assert not check.passed and check.code == "float16", (check.code, check.message)
    assert "state['running_mean']" in check.message and "went through float16" in check.message, check.message
    assert "test mode normalises with the running statistics" in check.message and "keeps an array's dtype" in check.message


@pytest.mark.slow
def test_float32_running_statistics_say_where_to_look_and_the_hint_fits(tmp_path):
    from tutor.grading import catalogue, hints

    path = planted(tmp_path, "batchnorm", *_running_through("float32"))
    check = _checks(grade("batchnorm", path, seed=1))["batchnorm_forward.running"]
    assert check.code == "dtype" and "got float32" in check.message, check.message
    assert "stays float32 through in-place updates (+=, *=)" in check.message, check.message
    # batchnorm has no tailored hint for dtype: the general one is shown, and it must fit float16 too
    said = hints.advice(catalogue.find("batchnorm"), "dtype")
    assert "float16" in said and "float32" in said and "+=" in said, said


# ---------------------------------------------------------------- 4. a home that cannot be written


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exercises").mkdir()
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("solved", [True, False])
def test_check_with_a_home_under_a_file_grades_then_says_it_was_not_saved(runner, workdir, tmp_path, monkeypatch, solved):
    """DNN_TUTOR_HOME under a regular file: `check` printed one error line and exited 2 without a report."""
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    monkeypatch.setenv("DNN_TUTOR_HOME", str(blocker / "home"))
    path = workdir / "exercises" / "backprop.py"
    source = (SOLUTIONS / "backprop.py").read_text()
    path.write_text(source if solved else source.replace("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"))
    result = runner.invoke(app, ["check", str(path), "--seed", "3"])
    assert result.exit_code == (0 if solved else 1), result.output
    assert "15/15 checks" in result.output if solved else "/15 checks  — stuck?" in result.output, result.output
    said = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(said) == 1 and "could not save your check of backprop" in said[0] and "part of that path is a file" in said[0], said
    assert "NOT saved" in said[0] and "hint position" not in result.output and "Traceback" not in result.output
    as_json = runner.invoke(app, ["check", str(path), "--seed", "3", "--json"])
    assert as_json.exit_code == (0 if solved else 1)
    assert json.loads(as_json.stdout)["saved"] is False


@pytest.mark.slow
def test_check_of_an_untouched_starter_with_a_read_only_store_does_not_speak_of_a_hint_position(runner, workdir, monkeypatch):
    """Nothing is recorded for an untouched starter but the hint ladder: when that could not be saved, `check` said
    "could not save the hint position for backprop", which nobody asked to save."""
    import tutor.store

    monkeypatch.setattr(tutor.store, "Store", functools.partial(tutor.store.Store, read_only=True))
    path = workdir / "exercises" / "backprop.py"
    path.write_text((SOLUTIONS.parent.parent / "exercises" / "backprop.py").read_text())
    result = runner.invoke(app, ["check", str(path), "--seed", "3"])
    assert result.exit_code == 1 and "0/15 checks" in result.output, result.output
    assert "hint position" not in result.output, result.output
    said = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(said) == 1 and "your check of backprop (not started)" in said[0] and "dnn-tutor hint backprop" in said[0], said


# ---------------------------------------------------------------- 5. files that misbehave


@pytest.mark.slow
def test_a_file_that_replaces_numpy_types_gets_one_clear_line(tmp_path):
    """np.ndarray = None: every check said "<function> raised TypeError: isinstance() arg 2 must be a type" (the grader's
    own isinstance), then the worker died on pickling and the run was an early exit "(does it call sys.exit()?)"."""
    path = planted(tmp_path, "backprop", ("import numpy as np\n", "import numpy as np\n\nnp.ndarray = None\n"))
    report = grade("backprop", path, seed=1)
    assert report.fatal is not None and report.fatal.kind == "protocol", report.fatal
    assert "the grader's own code failed" in report.fatal.message and "np.ndarray" in report.fatal.message, report.fatal.message
    assert "sys.exit" not in report.fatal.message and "isinstance() arg 2" not in " ".join(c.message for c in report.checks)


@pytest.mark.slow
def test_a_replaced_deepcopy_does_not_hand_the_learner_the_graders_inputs(tmp_path):
    """copy.deepcopy replaced by the identity, and a correct forward that clears its input after use (its cache keeps a
    copy): the grader's own inputs were cleared, so the finite differences ran at x = 0 and a right backward failed."""
    path = planted(tmp_path, "backprop", ("import numpy as np\n", "import copy\n\nimport numpy as np\n\ncopy.deepcopy = lambda value, memo=None: value\n"),
                   ("    cache = (x, W)\n", "    cache = (x.copy(), W)\n    x[...] = 0.0\n"))
    report = grade("backprop", path, seed=1)
    checks = _checks(report)
    for check_id in ("dense_forward.values", "dense_backward.reference", "dense_backward.numeric"):
        assert checks[check_id].passed, checks[check_id].message


@pytest.mark.slow
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGALRM"])
def test_a_signal_the_code_sends_itself_is_not_called_a_crash(tmp_path, signal_name):
    call = "os.kill(os.getpid(), signal.SIGTERM)" if signal_name == "SIGTERM" else "signal.alarm(1)\n    time.sleep(5)"
    path = planted(tmp_path, "backprop", ("import numpy as np\n", "import os\nimport signal\nimport time\n\nimport numpy as np\n"),
                   (RELU, RELU + f"    {call}\n\n\ndef _unused(x):\n"))
    report = grade("backprop", path, seed=1)
    message = report.fatal.message
    assert report.fatal.kind == "crash" and f"ended by {signal_name} while running relu_forward()" in message, message
    assert "segfault" not in message and "os.abort" not in message and "signal.alarm" in message


@pytest.mark.slow
def test_a_sleep_at_the_deadline_is_waiting_not_an_infinite_loop(tmp_path):
    path = planted(tmp_path, "backprop", ("import numpy as np\n", "import time\n\nimport numpy as np\n"),
                   (RELU, RELU + "    time.sleep(60)\n\n\ndef _unused(x):\n"))
    report = grade("backprop", path, seed=1, timeout=1)
    message = report.fatal.message
    assert report.fatal.kind == "timeout" and "stuck at line" in message and "(time.sleep(60))" in message, message
    assert "waiting, not computing" in message and "infinite loop" not in message, message


def test_an_exception_without_a_message_reads_as_its_name():
    from tutor.grading import failures
    from tutor.grading.model import Frame, LearnerError

    error = LearnerError("exception", "KeyboardInterrupt", "", (Frame("f.py", 21, "relu_forward", "raise KeyboardInterrupt"),))
    said = failures.explain(error, function="relu_forward", case="a")
    assert said.message == "relu_forward raised KeyboardInterrupt at line 21: raise KeyboardInterrupt [a]", said.message


def test_returned_values_that_are_not_float_arrays_are_named_for_what_they_are():
    import numpy as np

    from tutor.grading.compare import Mismatch, as_array

    expected = np.zeros((1, 5))
    with pytest.raises(Mismatch) as caught:  # wire.sanitize's stand-in for an array too large to send back
        as_array("out", {"$object": "numpy.ndarray", "repr": "an array of shape (2000, 2000): far larger than expected"}, expected, "a")
    assert caught.value.outcome.code == "shape" and "an array of shape (2000, 2000)" in caught.value.outcome.message
    with pytest.raises(Mismatch) as caught:
        as_array("out", np.ones((1, 5)) > 0, expected, "a")
    assert caught.value.outcome.code == "dtype" and "True/False (bool)" in caught.value.outcome.message
    assert "integers" not in caught.value.outcome.message
    with pytest.raises(Mismatch) as caught:
        as_array("out", {"$object": "ndarray[object]", "repr": "array([[0.0]], dtype=object)"}, expected, "a")
    assert "an array of dtype object" in caught.value.outcome.message, caught.value.outcome.message


def test_a_recursions_traceback_shows_each_call_once_and_says_it_repeats():
    """The panel under a RecursionError showed the same two lines six times over."""
    import io

    from rich.console import Console

    from tutor.grading import catalogue
    from tutor.grading.model import CheckResult, Frame, Report
    from tutor.render.grading import render_report

    entry = Frame("backprop.py", 68, "mlp_forward_backward", "h, relu_cache = relu_forward(h)")
    recursing = (Frame("backprop.py", 21, "relu_forward", "return _other(x)"), Frame("backprop.py", 24, "_other", "return relu_forward(x)"))
    check = CheckResult("relu_forward.values", "relu_forward", "out vs PyTorch", False, None, 1e-7, "relu_forward raised RecursionError",
                        code="recursion", trace=(entry, *recursing * 30))
    report = Report("backprop", "backprop.py", "0", 1, (check,), None, "", False, 0.0)
    sink = Console(file=io.StringIO(), width=100, color_system=None)
    sink.print(render_report(report, catalogue.find("backprop")))
    text = sink.file.getvalue()
    assert text.count("return _other(x)") == 1 and text.count("return relu_forward(x)") == 1, text
    assert "h, relu_cache = relu_forward(h)" in text and "[the calls above repeat: a recursion]" in text, text


def test_a_refused_signal_to_the_grader_is_not_called_a_read_outside_the_folder():
    """`os.kill(os.getppid(), 9)` in a class submission was explained as "a submission may read only its own folder":
    EPERM refuses an act on another process, and no file was read."""
    from tutor.grading import failures
    from tutor.grading.model import LearnerError

    killed = LearnerError(kind="exception", type="PermissionError", message="[Errno 1] Operation not permitted")
    for limited in (True, False):
        message = failures.at_import(killed, "backprop.py", reads_limited=limited, own=["/class/zara"]).message
        assert "may read only" not in message and "may not act on other processes" in message, message
    read = LearnerError(kind="exception", type="PermissionError", message="[Errno 13] Permission denied: '/class/amy/x.py'")
    assert "may read only its own folder" in failures.at_import(read, "backprop.py", reads_limited=True, own=["/class/zara"]).message


@pytest.mark.slow
def test_a_nul_byte_in_the_file_is_a_syntax_error_with_its_line_and_the_likely_cause(tmp_path):
    """A .py holding a NUL byte was graded `import` ("importing raised SyntaxError: source code string cannot contain
    null bytes"), with no line: it is a file Python cannot read as source, so a syntax error, at the byte's line."""
    source = (SOLUTIONS / "backprop.py").read_text()
    path = tmp_path / "backprop.py"
    path.write_bytes(source.encode() + b"\nx = 1\x00\n")
    report = grade("backprop", path)
    assert report.fatal is not None and report.fatal.kind == "syntax", report.fatal
    assert f"line {source.count(chr(10)) + 2}" in report.fatal.message and "NUL byte" in report.fatal.message
    assert "UTF-8" in report.fatal.message


def test_multiprocessing_refused_by_the_grader_says_why_at_import_and_in_a_function():
    """`multiprocessing.Pool(2)` in learner code ended in a bare "PermissionError: [Errno 13] Permission denied"
    (its semaphores live in /dev/shm, which the grader refuses): now the report says what was refused and why."""
    from tutor.grading import failures
    from tutor.grading.model import Frame, LearnerError

    pool = LearnerError("exception", "PermissionError", "[Errno 13] Permission denied",
                        (Frame("backprop.py", 78, "<module>", "_POOL = multiprocessing.Pool(2)"),))
    said = failures.at_import(pool, "backprop.py").message
    assert said.startswith("importing backprop.py raised PermissionError: [Errno 13] Permission denied (line 78)"), said
    assert "may not start process pools or share memory between processes (multiprocessing)" in said, said
    inside = failures.explain(pool, function="relu_forward").message
    assert "(multiprocessing)" in inside and "line 78" in inside, inside
    # a refused file is still a refused file, and other errors get no reason of this kind
    opened = LearnerError("exception", "PermissionError", "[Errno 13] Permission denied: '/etc/shadow'",
                          (Frame("backprop.py", 3, "<module>", "open('/etc/shadow')  # a Pool( in a comment"),))
    assert failures.denied_why(opened) == ""  # a path was refused: no word about processes
    other = LearnerError("exception", "ValueError", "bad", (Frame("backprop.py", 3, "<module>", "multiprocessing.Pool(2)"),))
    assert failures.denied_why(other) == ""
