"""A command started with its output closed (``>&-``) says so in one line and exits 1.

Python starts such a program with ``sys.stdout`` None, and rich then writes into nothing: ``lessons >&-``
exited 0 having shown nothing, and ``echo 3 | quiz --question ID >&-`` recorded an answer to a question
nobody saw (its choices shuffled, so the recorded verdict was chance). A reader that goes away later
(``| head -1``) is no failure: that still ends quietly, as before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLOSED = "error: standard output is closed, so {} cannot be shown"


def _env(home: Path) -> dict:
    return {**os.environ, "DNN_TUTOR_HOME": str(home), "NO_COLOR": "1", "TERM": "dumb"}


def _close_stdout() -> None:
    os.close(1)


def _closed(home: Path, *args: str, answers: str | None = None) -> subprocess.CompletedProcess:
    """``dnn-tutor ARGS >&-``: the real program, its fd 1 closed before it starts."""
    return subprocess.run([sys.executable, "-m", "tutor", *args], env=_env(home), input=answers,
                          stdin=None if answers is not None else subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=120, preexec_fn=_close_stdout)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _answered(home: Path) -> int:
    done = subprocess.run([sys.executable, "-m", "tutor", "quiz", "--stats", "--json"], env=_env(home),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["answered"]


def test_a_quiz_with_its_output_closed_asks_nothing_and_records_nothing(tmp_path):
    home = tmp_path / "home"
    refused = CLOSED.format("the questions") + "; nothing was asked or recorded"
    # exactly as the tester typed it: the shell closes stdout, an answer waits on stdin
    done = subprocess.run(f'echo 3 | "{sys.executable}" -m tutor quiz --question cnn-spatial-layer >&-', shell=True,
                          env=_env(home), capture_output=True, text=True, timeout=60)
    assert (done.returncode, _lines(done.stderr)) == (1, [refused])
    done = _closed(home, "quiz", "--count", "3", answers="1\n1\n1\n")
    assert (done.returncode, _lines(done.stderr)) == (1, [refused])
    assert _answered(home) == 0


def test_lists_with_their_output_closed_say_so_in_one_line(tmp_path):
    home = tmp_path / "home"
    for args, what in ((["lessons"], "the lesson list"), (["lessons", "--json"], "the lesson list"),
                       (["quiz", "--stats", "--json"], "the statistics")):
        done = _closed(home, *args)
        assert (done.returncode, _lines(done.stderr)) == (1, [CLOSED.format(what)]), args


@pytest.mark.slow
def test_every_command_that_only_prints_refuses_with_its_output_closed(tmp_path):
    home = tmp_path / "home"
    for args, line in (
        ([], CLOSED.format("the home screen")),
        (["progress"], CLOSED.format("the dashboard")),
        (["exercises"], CLOSED.format("the exercise list")),
        (["exercises", "--json"], CLOSED.format("the exercise list")),
        (["demos"], CLOSED.format("the demo list")),
        (["demo"], CLOSED.format("the demo list")),
        (["demo", "--history"], CLOSED.format("the history of runs")),
        (["doctor"], CLOSED.format("the report") + "; nothing was checked or repaired"),
        (["doctor", "--json"], CLOSED.format("the report") + "; nothing was checked or repaired"),
        (["quiz", "--stats"], CLOSED.format("the statistics")),
        (["data"], CLOSED.format("the cache status")),
        (["data", "--json"], CLOSED.format("the cache status")),
    ):
        done = _closed(home, *args)
        assert (done.returncode, _lines(done.stderr)) == (1, [line]), args


def test_a_reader_that_goes_away_is_still_no_failure(tmp_path):
    """Not closed at the start: a pipe whose reader has gone (`| head -1`) ends quietly with 0, no traceback."""
    home = tmp_path / "home"
    env = _env(home)
    for args in (["lessons"], ["quiz", "--stats"]):
        read, write = os.pipe()
        os.close(read)  # the reader is gone before the first line is written: every write fails
        try:
            done = subprocess.run([sys.executable, "-m", "tutor", *args], env=env, stdin=subprocess.DEVNULL, stdout=write,
                                  stderr=subprocess.PIPE, text=True, timeout=60)
        finally:
            os.close(write)
        assert (done.returncode, done.stderr) == (0, ""), args
    # `| head -1` itself: one line read, then the pipe closed
    child = subprocess.Popen([sys.executable, "-m", "tutor", "lessons", "--json"], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    first = child.stdout.readline()
    child.stdout.close()
    stderr = child.stderr.read()
    child.stderr.close()
    assert child.wait(timeout=60) == 0
    assert first.strip() == b"[" and b"Traceback" not in stderr and b"error" not in stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["lessons"], ["lessons", "--json"], ["progress", "--export", "-"]])
def test_a_full_output_is_said_to_be_the_output_not_the_learners_files(tmp_path, args):
    """`> /dev/full` said "operating system error: no space left on the device", which reads like the progress
    or the exercise files could not be saved."""
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "tutor", *args], env=_env(tmp_path / "home"), stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    assert (done.returncode, _lines(done.stderr)) == (1, ["error: could not write to standard output: no space left on the device"])
