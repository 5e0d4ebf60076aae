"""Signals and closed pipes, on the real program: SIGTERM and SIGHUP end like Ctrl-C (exit 143 / 129,
clean-ups run, no traceback); Ctrl-C exits 130; a reader that goes away ends the program quietly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from terminal_helpers import read_until

pytestmark = pytest.mark.slow


def _start(args, home, **kwargs):
    env = dict(os.environ, DNN_TUTOR_HOME=str(home), PYTHONUNBUFFERED="1", COLUMNS="80")
    return subprocess.Popen([sys.executable, "-m", "tutor", *args], env=env, stderr=subprocess.PIPE, **kwargs)


@pytest.mark.parametrize("signum, code, said", [
    (signal.SIGTERM, 143, b"stopped by SIGTERM"),
    (signal.SIGHUP, 129, b"stopped by SIGHUP"),
    (signal.SIGINT, 130, b"interrupted"),
])
def test_a_signal_while_the_quiz_waits_ends_like_ctrl_c(tmp_path, signum, code, said):
    proc = _start(["quiz", "--count", "2"], tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        read_until(proc.stdout, b"answer")  # the quiz is now waiting for input that never comes
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert said in err
    assert b"Traceback" not in err


@pytest.mark.parametrize("args", [["lesson", "1", "--plain"], ["lessons"], ["progress"], ["exercises"], ["--help"], ["--version"]])
def test_a_closed_pipe_ends_quietly(tmp_path, args):
    """The reader has gone (`| head`): exit 0, nothing on stderr, whichever command wrote (rich's own
    answer for the table commands was a silent exit 1)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (`| head`) is already gone
    proc = _start(args, tmp_path, stdout=write_end)
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


def _failing_command(raises: str) -> str:
    """A program that adds a command raising ``raises`` (Python source) and runs it through cli.main."""
    return (
        "import sys\n"
        "import tutor.cli as cli\n"
        "@cli.app.command('fail', help='Fails on purpose.')\n"
        "def fail():\n"
        f"    raise {raises}\n"
        "sys.argv = ['dnn-tutor', 'fail']\n"
        "cli.main()\n"
    )


def test_a_bug_is_one_line_unless_debugging(tmp_path):
    probe = _failing_command("RuntimeError('something\\nbroke')")
    env = dict(os.environ, DNN_TUTOR_HOME=str(tmp_path))
    env.pop("DNN_TUTOR_DEBUG", None)
    quiet = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert quiet.returncode == 1
    assert quiet.stderr.strip().splitlines() == [
        "error: internal error (RuntimeError: something broke); this is a bug in dnn-tutor: run again with "
        "DNN_TUTOR_DEBUG=1 to see where it happened"]
    loud = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=dict(env, DNN_TUTOR_DEBUG="1"), timeout=120)
    assert loud.returncode == 1 and "Traceback" in loud.stderr


@pytest.mark.parametrize("error", ["MemoryError()", "RuntimeError('DefaultCPUAllocator: can\\'t allocate memory: you tried 9 GB')"])
def test_settings_too_big_for_the_machine_are_one_line_not_a_bug(tmp_path, error):
    """`demo xor --set hidden=4096,4096,... --set n_points=1000000` ran out of memory and was reported as
    "internal error ... this is a bug"."""
    env = dict(os.environ, DNN_TUTOR_HOME=str(tmp_path))
    env.pop("DNN_TUTOR_DEBUG", None)
    done = subprocess.run([sys.executable, "-c", _failing_command(error)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: out of memory") and "bug" not in lines[0]


def test_sigterm_while_waiting_for_a_lock_ends_at_once(tmp_path):
    import sqlite3

    from tutor.store import Store

    Store(tmp_path / "progress.db").close()
    holder = sqlite3.connect(tmp_path / "progress.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program writes for a long time
    try:
        import pty

        screen, side = pty.openpty()  # a terminal: what is printed there is recorded (a pipe records nothing)
        proc = _start(["lesson", "1", "--plain"], tmp_path, stdout=side)
        os.close(side)
        shown = os.fdopen(screen, "rb", buffering=0)
        try:
            import threading

            read_until(shown, b"Lesson 1")

            def read_all():  # as a learner's terminal does; it ends when the program's side closes
                try:
                    while shown.read(65536):
                        pass
                except OSError:
                    pass

            # Read everything: the sections are then recorded, which waits for the lock.
            threading.Thread(target=read_all, daemon=True).start()
            time.sleep(2)
            assert proc.poll() is None, "the lesson did not wait for the lock"
            sent = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
            took = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 143, err
    assert took < 5, f"SIGTERM took {took:.1f} s to end the lock wait"
    assert b"Traceback" not in err


def test_ctrl_c_while_the_program_starts_exits_130_without_a_traceback(tmp_path):
    """Ctrl-C before any command runs (while the modules load) is no traceback either."""
    probe = (
        "import sys\n"
        "class Stop:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'tutor.commands.quiz':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Stop())\n"
        "from tutor.cli import main\n"
        "print('should not get here')\n"
    )
    env = {**os.environ, "DNN_TUTOR_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 130
    assert "Traceback" not in done.stderr and "interrupted" in done.stderr
    assert "should not get here" not in done.stdout


def test_ctrl_c_while_torch_imports_waits_for_the_import_then_ends_cleanly(tmp_path):
    """Ctrl-C inside torch's C++ start-up used to abort the process (pybind11::error_already_set, exit 134).

    The signal is sent from inside ``import torch`` (as torch.distributed starts, the place it was
    seen to abort); the import runs to its end first, then the command ends as Ctrl-C always does.
    SIGTERM and SIGHUP are held the same way (tests/test_import_guard.py).
    """
    signum = signal.SIGINT
    learner = tmp_path / "exercises" / "backprop.py"
    learner.parent.mkdir()
    learner.write_text("import time\n\nwhile True:  # waits rather than spins: the check is under way, the cores stay free\n    time.sleep(0.05)\n")
    probe = (
        "import atexit, os, signal, sys\n"
        "class Poke:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch.distributed':\n"
        f"            os.kill(os.getpid(), {int(signum)})\n"
        "sys.meta_path.insert(0, Poke())\n"
        "def report():\n"
        "    dist = sys.modules.get('torch.distributed')\n"
        "    print('torch.distributed whole:', hasattr(dist, 'DistError'), file=sys.stderr)\n"
        "atexit.register(report)\n"
        f"sys.argv = ['dnn-tutor', 'check', {str(learner)!r}, '--timeout', '60']\n"
        "from tutor.cli import main\n"
        "main()\n"
    )
    env = {**os.environ, "DNN_TUTOR_HOME": str(tmp_path / "home"), "COLUMNS": "80"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 130, done.stderr
    assert "torch.distributed whole: True" in done.stderr
    assert "Traceback" not in done.stderr and "terminate called" not in done.stderr
    assert "interrupted" in done.stderr


def test_an_interrupted_command_shows_the_cursor_again(runner, monkeypatch):
    """A second Ctrl-C can cut short the clean-up that shows the cursor; the exit path shows it anyway."""
    import tutor.lessons
    import tutor.terminal_menu
    from tutor.cli import app

    shown = []
    monkeypatch.setattr(tutor.terminal_menu, "show_cursor", lambda: shown.append(True))

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(tutor.lessons, "load_course", interrupted)
    result = runner.invoke(app, ["lessons"])
    assert result.exit_code == 130 and "interrupted" in result.output
    assert shown == [True]


def test_the_exit_freezes_the_collector_unless_triton_is_loaded(monkeypatch):
    """Freezing skips shutdown collections that free nothing (~0.5 s after torch); with triton loaded it
    would make its nanobind bindings print dozens of leak warnings, so then the exit stays as it was."""
    import gc

    from tutor import cli

    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    monkeypatch.setattr(gc, "unfreeze", lambda: None)  # this worker's own frozen objects stay as they are
    monkeypatch.delitem(sys.modules, "triton", raising=False)
    with pytest.raises(SystemExit):
        cli._quiet_exit(0)
    assert frozen == [True]
    monkeypatch.setitem(sys.modules, "triton", object())
    with pytest.raises(SystemExit):
        cli._quiet_exit(0)
    assert frozen == [True]


def test_an_interrupt_re_raised_plain_after_a_signal_still_says_the_signal(monkeypatch):
    """SIGTERM during `grade` or `check --watch` printed "interrupted:" (a clean-up re-raised a plain
    KeyboardInterrupt); the exit code was right (143), the words were Ctrl-C's."""
    from types import SimpleNamespace

    from tutor import errors
    from tutor.render.classroom import render_interrupted

    monkeypatch.setattr(errors, "RECEIVED", [])
    assert errors.interrupt_exit_code(KeyboardInterrupt()) == 130
    monkeypatch.setattr(errors, "RECEIVED", [signal.SIGTERM])
    assert errors.interrupt_exit_code(KeyboardInterrupt()) == 143
    assert errors.interrupt_exit_code(errors.Interrupted(signal.SIGHUP)) == 129
    assert errors.interrupt_name(143) == "SIGTERM"
    run = SimpleNamespace(to_grade=3, graded=1, out="g.csv", exit_code=143)
    assert str(render_interrupted(run)).startswith("stopped by SIGTERM: 1 graded row(s)")
    run.exit_code = 130
    assert str(render_interrupted(run)).startswith("interrupted: ")


def test_an_interruption_off_a_terminal_is_one_line(monkeypatch):
    """The leading newline (past the ^C a terminal echoes) only where stderr is a terminal: a log gets one line."""
    from typer.testing import CliRunner

    import tutor.lessons
    from tutor.cli import app

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tutor.lessons, "load_course", interrupted)
    result = CliRunner().invoke(app, ["lessons"])
    assert result.exit_code == 130
    assert result.stderr == "interrupted: anything already saved is kept.\n"
