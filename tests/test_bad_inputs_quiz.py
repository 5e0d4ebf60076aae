"""Bad values for ``quiz``, ``lesson`` and ``lessons``: one line on stderr, exit 2, never a traceback.

Also: piped answers that cannot end a quiz never hang it, and these commands never import torch.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tutor.cli import app

REPO = Path(__file__).resolve().parents[1]
FIXTURE_BANK = REPO / "tests" / "fixtures" / "questions"

MARKUP = "[/red]"

BAD = [
    # lesson
    (["lesson", "0"], "no lesson"),
    (["lesson", "-1"], "-1"),
    (["lesson", "99"], "no lesson"),
    (["lesson", "x"], "no lesson"),
    (["lesson", ""], "no lesson"),
    (["lesson", "1.5"], "no lesson"),
    (["lesson", "nan"], "no lesson"),
    (["lesson", "9" * 40], "no lesson"),
    (["lesson", "ünïcode"], "no lesson"),
    (["lesson", MARKUP], MARKUP),
    (["lesson", "1", "--section", "0"], "no section"),
    (["lesson", "1", "--section", "-1"], "section"),
    (["lesson", "1", "--section", "99"], "no section"),
    (["lesson", "1", "--section", MARKUP], MARKUP),
    (["lesson"], "LESSON"),
    # lessons
    (["lessons", "--bogus"], "--bogus"),
    (["lessons", "extra"], "extra"),
    # quiz --count
    (["quiz", "--count", "-1"], "--count"),
    (["quiz", "--count", "0"], "--count"),
    (["quiz", "--count", "nan"], "--count"),
    (["quiz", "--count", "inf"], "--count"),
    (["quiz", "--count", "1.5"], "--count"),
    (["quiz", "--count", "1e9"], "--count"),
    (["quiz", "--count", "99999999999999999999999999"], "--count"),
    (["quiz", "--count", "201"], "--count"),
    (["quiz", "--count", ""], "--count"),
    (["quiz", "--count", MARKUP], MARKUP),
    (["quiz", "--count"], "--count"),
    # quiz scope
    (["quiz", "--topic", "no-such-topic"], "no topic"),
    (["quiz", "--topic", ""], "no topic"),
    (["quiz", "--topic", MARKUP], MARKUP),
    (["quiz", "--lesson", "0"], "no lesson"),
    (["quiz", "--lesson", "-1"], "no lesson"),
    (["quiz", "--lesson", "99"], "no lesson"),
    (["quiz", "--lesson", "x"], "no lesson"),
    (["quiz", "--lesson", MARKUP], MARKUP),
    (["quiz", "--question", "no-such-question"], "no question"),
    (["quiz", "--question", MARKUP], MARKUP),
    (["quiz", "--question", "fx-choice", "--review"], "--question"),
    (["quiz", "--seed", "x"], "--seed"),
    (["quiz", "--seed", "nan"], "--seed"),
    (["quiz", "--bogus"], "--bogus"),
]


def _stderr(result) -> str:
    try:
        return result.stderr
    except (ValueError, AttributeError):  # pragma: no cover - older click
        return result.output


@pytest.mark.parametrize("args, words", BAD, ids=[" ".join(a) or "<empty>" for a, _ in BAD])
def test_bad_value_is_one_line_on_stderr_and_exit_2(runner, fixture_course, monkeypatch, args, words):
    monkeypatch.setenv("DNN_TUTOR_QUESTIONS", str(FIXTURE_BANK))
    result = runner.invoke(app, args, input="")
    err = _stderr(result)
    assert result.exit_code == 2, (result.output, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err + result.output and result.exception is None or isinstance(
        result.exception, SystemExit
    )
    assert words in lines[0]
    assert "Question" not in result.stdout  # nothing was asked


def _env(home: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DNN_TUTOR_")}
    env.update(DNN_TUTOR_HOME=str(home), DNN_TUTOR_QUESTIONS=str(FIXTURE_BANK),
               DNN_TUTOR_LESSONS=str(REPO / "tests" / "fixtures" / "course"), COLUMNS="80")
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


def _reviews(home: Path):
    from tutor.store import Store

    with Store(home / "progress.db") as store:
        return store.reviews()


@pytest.mark.slow
def test_yes_2_piped_into_the_quiz_ends_quickly_with_answers_saved(tmp_path):
    home = tmp_path / "home"
    yes = subprocess.Popen(["yes", "2"], stdout=subprocess.PIPE)
    try:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "tutor", "quiz", "-q", "fx-choice", "-q", "fx-true-false", "-q", "fx-number"],
            stdin=yes.stdout, capture_output=True, text=True, env=_env(home), timeout=60,
        )
    finally:
        yes.kill()
        yes.wait()
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30
    assert "Traceback" not in done.stderr
    assert len(done.stdout) < 100_000  # no flood of re-asks
    # "2" answers the choice question, cannot answer true/false: three tries, then the quiz stops.
    assert "Stopped early (3 answers in a row could not be read): 1 of 3 answered" in done.stdout
    assert [r.question_id for r in _reviews(home)] == ["fx-choice"]


@pytest.mark.slow
def test_three_unreadable_answers_in_a_row_stop_the_quiz_keeping_earlier_answers(tmp_path):
    home = tmp_path / "home"
    feed = "A weighted sum of its inputs plus a bias\nmaybe\nperhaps\nno idea\nt\n"
    done = subprocess.run([sys.executable, "-m", "tutor", "quiz", "-q", "fx-choice", "-q", "fx-number"],
                          input=feed, capture_output=True, text=True, env=_env(home), timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Stopped early (3 answers in a row could not be read): 1 of 2 answered" in done.stdout
    assert [(r.question_id, r.correct) for r in _reviews(home)] == [("fx-choice", True)]


@pytest.mark.slow
def test_the_tail_of_an_over_long_answer_line_is_never_taken_as_the_next_answer(tmp_path):
    # A 2,001-character line used to be read as 2,000 characters (unreadable) and then "2", which answered
    # the question with the learner's garbage.
    from tutor.commands.quiz import MAX_LINE

    home = tmp_path / "home"
    feed = "x" * MAX_LINE + "2\n"
    done = subprocess.run([sys.executable, "-m", "tutor", "quiz", "-q", "fx-choice"],
                          input=feed, capture_output=True, text=True, env=_env(home), timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"an answer is at most {MAX_LINE} characters" in done.stdout
    assert "Stopped early (end of input): 0 of 1 answered" in done.stdout
    assert _reviews(home) == []


@pytest.mark.slow
def test_endless_input_without_newlines_does_not_hang(tmp_path):
    home = tmp_path / "home"
    with open("/dev/zero", "rb") as zero:
        done = subprocess.run([sys.executable, "-m", "tutor", "quiz", "-q", "fx-number"], stdin=zero,
                              capture_output=True, text=True, env=_env(home), timeout=60)
    assert done.returncode == 0, done.stderr
    assert "could not be read" in done.stdout
    assert _reviews(home) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [["quiz", "-q", "fx-choice"], ["quiz", "--stats"], ["lessons"], ["lesson", "1", "--plain"], ["lesson", "1"]],
)
def test_quiz_and_lesson_commands_do_not_import_torch(tmp_path, args):
    code = (
        "import sys\n"
        "from tutor.cli import main\n"
        f"sys.argv = ['dnn-tutor', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('TORCH=%s\\n' % ('torch' in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], input="1\n", capture_output=True, text=True,
                          env=_env(tmp_path / "home"), timeout=60)
    assert "TORCH=False" in done.stderr, done.stderr


@pytest.mark.slow
def test_closed_stdout_is_one_line_and_marks_nothing_read(tmp_path):
    home = tmp_path / "home"
    done = subprocess.run(f'"{sys.executable}" -m tutor lesson 1 >&-', shell=True, capture_output=True, text=True,
                          env=_env(home), timeout=60)
    assert done.returncode == 1
    assert [l for l in done.stderr.splitlines() if l.strip()] == [
        "error: standard output is closed, so the lesson cannot be shown; nothing was marked read"
    ]
    from tutor.store import Store

    with Store(home / "progress.db") as store:
        assert store.sections_read() == {}


def test_piped_answers_are_echoed_with_escape_sequences_made_visible(tmp_path):
    """The transcript echoes each piped answer; an escape sequence in it would clear the screen or
    retitle the terminal of whoever reads the transcript."""
    import subprocess
    import sys

    env = dict(os.environ, DNN_TUTOR_HOME=str(tmp_path / "home"))
    done = subprocess.run([sys.executable, "-m", "tutor", "quiz", "--count", "1"], input=b"\x1b[2J\x1b]0;pwn\x07\n",
                          capture_output=True, env=env, timeout=60)
    assert b"\x1b" not in done.stdout and b"\x07" not in done.stdout
    assert b"\\x1b[2J" in done.stdout
