"""Signals and closed pipes, on the real program: SIGTERM and SIGHUP end like Ctrl-C (exit 143 / 129,
clean-ups run, no traceback); Ctrl-C exits 130; a reader that goes away ends the program quietly."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow


def _start(args, home, **kwargs):
    env = dict(os.environ, DNN_TUTOR_HOME=str(home), PYTHONUNBUFFERED="1", COLUMNS="80")
    return subprocess.Popen([sys.executable, "-m", "tutor", *args], env=env, stderr=subprocess.PIPE, **kwargs)


def _wait_for(stream, text: bytes, timeout: float = 60) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while text not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"never saw {text!r}; got {seen[-300:]!r}"
        ready, _, _ = select.select([stream], [], [], left)
        if ready:
            chunk = os.read(stream.fileno(), 65536)
            assert chunk, f"the program ended before {text!r}; got {seen[-300:]!r}"
            seen += chunk
    return seen


@pytest.mark.parametrize("signum, code, said", [
    (signal.SIGTERM, 143, b"stopped by SIGTERM"),
    (signal.SIGHUP, 129, b"stopped by SIGHUP"),
    (signal.SIGINT, 130, b"interrupted"),
])
def test_a_signal_while_the_quiz_waits_ends_like_ctrl_c(tmp_path, signum, code, said):
    proc = _start(["quiz", "--count", "2"], tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        _wait_for(proc.stdout, b"answer")  # the quiz is now waiting for input that never comes
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert said in err
    assert b"Traceback" not in err


def test_a_closed_pipe_ends_quietly(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (`| head`) is already gone
    proc = _start(["lesson", "1", "--plain"], tmp_path, stdout=write_end)
    os.close(write_end)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err and b"Exception ignored" not in err
    assert err.strip() == b""


def test_a_closed_pipe_after_some_output(tmp_path):
    proc = _start(["lesson", "1", "--plain"], tmp_path, stdout=subprocess.PIPE)
    first = proc.stdout.read(200)
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert first
    assert proc.returncode == 0, err
    assert b"Traceback" not in err and b"Exception ignored" not in err
