"""Round 10 of the learner's review of `check` and `hint`.

1. A check of code that loops showed a blank terminal until the timeout: now a status line on stderr says
   which function runs and for how long (a terminal only), erased before the report; nothing of it in a pipe.
2. A bug in one function was reported again, as if new, in each function that calls it: the caller's failure
   now says that it calls a function that failed above (read from the learner's own code).
3. `hint` without an id lists the ids (exit 0); `check` without a file says which file to give.
"""

from __future__ import annotations

import io
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from terminal_helpers import exit_code
from test_grading_helpers import SOLUTIONS, grade, planted
from tutor.cli import app

IDS = ["backprop", "dropout", "batchnorm", "optimizers", "conv", "rnn", "lstm", "transfer"]

# dense_forward never returns (it waits rather than spins, to leave the cores to the other tests)
LOOPING = "import time\n\n\ndef dense_forward(x, W, b):\n    while True:\n        time.sleep(0.05)\n"


# ---------------------------------------------------------------- 1. the status line while the code runs


def _spawn(args, home, cwd):
    pexpect = pytest.importorskip("pexpect")
    env = dict(os.environ, DNN_TUTOR_HOME=str(home), TERM="xterm", NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1")
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    log = io.StringIO()
    child = pexpect.spawn(sys.executable, ["-m", "tutor", *args], cwd=str(cwd), env=env, encoding="utf-8",
                          timeout=60, dimensions=(24, 80))
    child.logfile_read = log
    return child, log


def _check_looping(tmp_path, home, timeout: str, *more: str):
    """`check` of a dense_forward that never returns, in a terminal, with this timeout."""
    path = tmp_path / "backprop.py"
    path.write_text(LOOPING)
    return _spawn(["check", str(path), "--timeout", timeout, "--no-record", *more], home, tmp_path)


def _screen(text: str) -> list[str]:
    """The terminal's screen after ``text``, as its 24 lines (right-trimmed)."""
    pyte = pytest.importorskip("pyte")
    screen = pyte.Screen(80, 24)
    pyte.Stream(screen).feed(text)
    return [line.rstrip() for line in screen.display]


@pytest.mark.slow
def test_a_terminal_sees_which_function_runs_and_for_how_long_then_the_report(tmp_path, tutor_home):
    pexpect = pytest.importorskip("pexpect")
    child, log = _check_looping(tmp_path, tutor_home, "6")
    # the first second shown is 1 on a quiet machine, later where the parent's own PyTorch import kept it busy
    child.expect(r"running dense_forward\(\) … (\d) s \(stops at 6 s\)")
    first = int(child.match.group(1))
    child.expect(r"running dense_forward\(\) … (\d) s \(stops at 6 s\)")
    assert int(child.match.group(1)) > first  # it counts
    child.expect(pexpect.EOF)
    assert exit_code(child) == 1
    said = log.getvalue()
    assert 2 <= said.count("running dense_forward()") <= 8, said  # about once a second (6 s, and the report), not at every poll
    screen = _screen(said)
    assert not any("running" in line and "no answer" not in line for line in screen), screen  # erased
    assert screen[0].startswith("backprop — "), screen  # the report starts where the status line was
    assert "no answer within 6 s while running dense_forward()" in " ".join(screen).replace("  ", " ")


@pytest.mark.slow
def test_ctrl_c_while_the_status_line_shows_exits_130_on_a_clean_line(tmp_path, tutor_home):
    pexpect = pytest.importorskip("pexpect")
    child, log = _check_looping(tmp_path, tutor_home, "60")
    child.expect(r"running dense_forward\(\) … \d+ s \(stops at 60 s\)")
    child.sendintr()
    child.expect(pexpect.EOF, timeout=20)
    assert exit_code(child) == 130
    said = log.getvalue()
    assert "Traceback" not in said
    screen = [line for line in _screen(said) if line]
    assert screen == ["interrupted: anything already saved is kept."], screen  # the status and its ^C are erased


@pytest.mark.slow
def test_a_pipe_and_json_get_nothing_of_the_status_line(tmp_path, tutor_home, runner, monkeypatch):
    pexpect = pytest.importorskip("pexpect")
    path = tmp_path / "backprop.py"
    path.write_text(LOOPING)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.chdir(tmp_path)
    piped = runner.invoke(app, ["check", str(path), "--timeout", "2", "--no-record"])  # neither stream a terminal
    assert piped.exit_code == 1
    assert "no answer within 2 s" in piped.stdout.replace("\n", " ")
    assert "(stops at 2 s)" not in piped.stderr + piped.stdout and "\r" not in piped.stderr, piped.stderr
    child, log = _check_looping(tmp_path, tutor_home, "2", "--json")
    child.expect(pexpect.EOF)
    assert exit_code(child) == 1
    assert "(stops at 2 s)" not in log.getvalue() and "dense_forward() …" not in log.getvalue(), log.getvalue()
    assert json.loads(log.getvalue()[log.getvalue().index("{"):])["fatal"]["kind"] == "timeout"


class _Now:
    def __init__(self, function, elapsed, importing=False, timeout=20.0):
        self.function, self.elapsed, self.importing, self.timeout = function, elapsed, importing, timeout


def test_the_status_line_waits_a_second_redraws_once_a_second_and_erases_itself():
    from tutor.commands.exercises import _RunStatus

    stream = io.StringIO()
    status = _RunStatus(stream, "backprop.py", dumb=False)
    status(_Now("dense_forward", 0.4))
    assert stream.getvalue() == ""  # a quick check never flashes a line
    status(_Now("dense_forward", 1.1))
    status(_Now("dense_forward", 1.6))  # the same second: nothing new
    assert stream.getvalue() == "\rrunning dense_forward() … 1 s (stops at 20 s)"
    status(_Now("mlp_forward_backward", 2.0))
    assert stream.getvalue().endswith("\rrunning mlp_forward_backward() … 2 s (stops at 20 s)")
    status(_Now("dense_forward", 3.0))  # shorter: what is left of the longer one is blanked
    assert stream.getvalue().endswith("\rrunning dense_forward() … 3 s (stops at 20 s)       ")
    stream.truncate(0)
    stream.seek(0)
    status.erase()
    erased = stream.getvalue()
    assert erased.startswith("\r") and erased.endswith("\r") and not erased.strip()
    assert len(erased) - 2 >= len("running mlp_forward_backward() … 2 s (stops at 20 s)") + 2  # and the ^C after it


def test_a_ctrl_c_that_lands_just_after_the_line_is_written_still_finds_it_to_erase():
    from tutor.commands.exercises import _RunStatus

    class Interrupted(io.StringIO):  # Ctrl-C as the learner sees the line: right after it is written
        armed = True

        def flush(self):
            if self.armed:
                self.armed = False
                raise KeyboardInterrupt

    stream = Interrupted()
    status = _RunStatus(stream, "backprop.py", dumb=False)
    with pytest.raises(KeyboardInterrupt):
        status(_Now("dense_forward", 1.2))
    assert stream.getvalue() == "\rrunning dense_forward() … 1 s (stops at 20 s)"
    status.erase()  # what the command's finally does
    erased = stream.getvalue().rsplit("running dense_forward() … 1 s (stops at 20 s)", 1)[1]
    assert erased.startswith("\r") and erased.endswith("\r") and not erased.strip()


def test_the_status_line_names_the_top_level_and_fits_a_narrow_terminal(monkeypatch):
    from tutor.commands.exercises import _RunStatus

    stream = io.StringIO()
    status = _RunStatus(stream, "backprop.py", dumb=False)
    status(_Now(None, 1.0, importing=True, timeout=0.5))
    assert stream.getvalue() == "\rrunning the top level of backprop.py … 1 s (stops at 0.5 s)"
    monkeypatch.setattr(_RunStatus, "_columns", lambda self: 30)
    status(_Now("a_very_long_function_name_indeed", 2.0))
    line = stream.getvalue().rsplit("\r", 1)[1]
    assert len(line.rstrip()) <= 27 and line.rstrip().endswith("…")  # never wrapped: a \r could not erase it


def test_a_dumb_terminal_gets_one_plain_line():
    from tutor.commands.exercises import _RunStatus

    stream = io.StringIO()
    status = _RunStatus(stream, "backprop.py", dumb=True)
    for second in (1.0, 2.0, 3.2, 4.0, 5.0):
        status(_Now("dense_forward", second))
    status.erase()
    assert stream.getvalue() == "running dense_forward() … (it stops at 20 s; Ctrl-C stops it now)\n"


def test_the_status_line_is_only_for_a_terminal_and_never_with_json(monkeypatch):
    from tutor import console
    from tutor.commands.exercises import _RunStatus

    for out, err, as_json, wanted in [(True, True, False, True), (True, True, True, False), (False, True, False, False),
                                      (True, False, False, False)]:
        monkeypatch.setattr(console, "stdout_is_terminal", lambda out=out: out)
        monkeypatch.setattr(console, "stderr_is_terminal", lambda err=err: err)
        assert (_RunStatus.where_wanted(Path("backprop.py"), as_json) is not None) is wanted, (out, err, as_json)


@pytest.mark.slow
def test_the_parent_is_told_which_learner_function_runs(tmp_path):
    import torch  # noqa: F401  (the references' first import of torch takes seconds, while the learner's code may run)

    from tutor.grading.engine import grade_file

    seen = []
    path = tmp_path / "backprop.py"
    path.write_text(LOOPING)
    report = grade_file("backprop", path, seed=1, timeout=2.0, progress=seen.append)
    assert report.fatal is not None and report.fatal.kind == "timeout"
    assert seen and seen[-1].function == "dense_forward" and not seen[-1].importing and seen[-1].timeout == 2.0
    assert 1.5 < seen[-1].elapsed <= 2.2 and seen[0].elapsed <= seen[-1].elapsed
    seen.clear()
    path.write_text("import time\n\nwhile True:\n    time.sleep(0.05)\n")  # a loop at the top of the file
    grade_file("backprop", path, seed=1, timeout=2.0, progress=seen.append)
    assert seen and seen[-1].importing and seen[-1].function is None


# ---------------------------------------------------------------- 2. a bug reported again in its callers


DW_TWICE = ("dW = x.T @ dout", "dW = 2 * x.T @ dout")


@pytest.mark.slow
def test_a_caller_of_a_failed_function_says_so_and_only_where_its_code_calls_it(tmp_path):
    report = grade("backprop", planted(tmp_path, "backprop", DW_TWICE))
    by_id = {c.id: c for c in report.checks}
    note = "(mlp_forward_backward calls dense_backward, which failed above: fix that first)"
    caller = by_id["mlp_forward_backward.grads"]
    assert not caller.passed and note in caller.message, caller.message
    assert caller.calls_failed == ("dense_backward",)
    own = by_id["dense_backward.reference"]
    assert "calls" not in own.message and own.calls_failed == ()
    assert "a stray 2" in own.message and "adding a gradient twice" in own.message  # the factor 2's likely causes
    data = report.to_dict()
    assert {c["id"]: c["calls_failed"] for c in data["checks"]}["mlp_forward_backward.grads"] == ["dense_backward"]
    # An MLP that does its own dense backward (the same stray 2, but not by calling dense_backward): no such note.
    inline = planted(tmp_path, "backprop", DW_TWICE,
                     ('        dh, grads[f"W{i}"], grads[f"b{i}"] = dense_backward(dh, dense_cache)',
                      '        x_in, W_in = dense_cache\n'
                      '        dh, grads[f"W{i}"], grads[f"b{i}"] = dh @ W_in.T, 2 * x_in.T @ dh, dh.sum(axis=0)'),
                     name="inline.py")
    alone = {c.id: c for c in grade("backprop", inline).checks}["mlp_forward_backward.grads"]
    assert not alone.passed and "calls" not in alone.message and alone.calls_failed == (), alone.message


def test_calls_are_read_from_the_learners_own_code():
    from tutor.grading.engine import calls

    source = textwrap.dedent("""\
        import numpy as np

        def a(x):
            return b(x) + 1

        def b(x):
            return x

        def c(b):
            return b(1)  # its parameter, not the function b

        def d():
            f = a  # passed on as a value: it still runs a
            return f(1)

        def e():
            def b():
                return 0
            return b()

        def g():
            from helpers import a
            return a()

        def h():
            return np.maximum(a(1), undefined(2))
        """).encode()
    assert calls(source) == {"a": {"b"}, "b": set(), "c": set(), "d": {"a"}, "e": set(), "g": set(), "h": {"a"}}
    assert calls(b"def broken(:\n") == {}


def _check(function, passed, message="wrong", **extra):
    from tutor.grading.model import CheckResult

    return CheckResult(f"{function}.x", function, "t", passed, None if passed else 1.0, 1e-7,
                       "ok" if passed else message, code=None if passed else "values", **extra)


def test_the_note_names_the_chain_and_leaves_alone_what_is_not_a_failure_of_its_own():
    from tutor.grading.engine import after_failed_callees

    source = b"def low(x):\n    return x\n\ndef mid(x):\n    return low(x)\n\ndef top(x):\n    return mid(x) + side(x)\n\n" \
             b"def side(x):\n    return x\n\ndef alone(x):\n    return x\n"
    checks = (_check("low", False, "low is off"), _check("mid", True), _check("side", False, "side is off"),
              _check("top", False, "top is off"), _check("alone", False, "alone is off"))
    low, mid, side, top, alone = after_failed_callees(checks, source)
    assert low.message == "low is off" and side.message == "side is off" and alone.message == "alone is off"
    assert top.message == ("top is off (top calls mid, which calls low and side, which failed above: fix those first)")
    assert top.calls_failed == ("low", "side") and mid.passed
    # a callee that is only not started (the caller then waits for it) or never ran is no failure of its own
    waiting = (_check("low", False, not_started=True), _check("mid", False, "mid is off"))
    assert after_failed_callees(waiting, source)[1].message == "mid is off"
    # a callee listed below its caller
    below = after_failed_callees((_check("mid", False, "mid is off"), _check("low", False, "low is off")), source)
    assert below[0].message == "mid is off (mid calls low, which failed its own checks: fix that first)"


def test_the_factor_half_names_its_likely_causes_too():
    import numpy as np

    from tutor.grading.compare import _factor

    expected = np.arange(1.0, 7.0).reshape(2, 3)
    assert "a stray 2" in _factor(2 * expected, expected, None)[1]
    assert "a stray 1/2 or a missing 2" in _factor(expected / 2, expected, None)[1]
    assert "stray" not in _factor(3 * expected, expected, None)[1]


# ---------------------------------------------------------------- 3. hint and check without an argument


def test_hint_without_an_id_lists_the_ids_with_their_titles(runner, tutor_home):
    from tutor.grading import catalogue

    result = runner.invoke(app, ["hint"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    for info in catalogue.load().values():
        assert info.id in text and " ".join(info.title.split()) in text
    assert "dnn-tutor hint <id>" in text and "dnn-tutor hint backprop" in text
    assert result.stderr == ""
    assert runner.invoke(app, ["hint", "--restart"]).exit_code == 2  # restarting needs to know which ladder


def test_check_without_a_file_says_which_file_to_give(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "Missing argument" not in lines[0] and "dnn-tutor check exercises/backprop.py" in lines[0]
    assert all(exercise in lines[0] for exercise in IDS) and "dnn-tutor init" in lines[0]  # no exercises here yet
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "backprop.py").write_text((SOLUTIONS / "backprop.py").read_text())
    again = runner.invoke(app, ["check", "--json"])
    assert again.exit_code == 2 and again.stdout == ""
    assert "dnn-tutor check exercises/backprop.py" in again.stderr and "dnn-tutor init" not in again.stderr


def test_the_seed_line_is_never_cut_mid_phrase_at_80_columns(runner, tmp_path):
    """The footer read "0/15 checks — stuck? dnn-tutor hint backprop   seed 418459862 (--seed repeats" and, on the
    next line, "these inputs)": the seed has a line of its own."""
    path = tmp_path / "backprop.py"
    path.write_text((SOLUTIONS / "backprop.py").read_text().replace("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"))
    result = runner.invoke(app, ["check", str(path), "--seed", "418459862", "--no-record"], env={"COLUMNS": "80"})
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert "seed 418459862 (--seed repeats these inputs)" in lines, lines[-4:]
