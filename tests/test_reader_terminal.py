"""The lesson reader in a real terminal: page through with single keys."""

from __future__ import annotations

import os
import sys

import pytest

from conftest import FIXTURE_COURSE
from terminal_helpers import exit_code

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.slow  # the reader runs in a terminal or a subprocess (3-40 s each)


def _spawn(tmp_path, *args):
    env = dict(
        os.environ,
        DNN_TUTOR_HOME=str(tmp_path / "home"),
        DNN_TUTOR_LESSONS=str(FIXTURE_COURSE),
        PROMPT_TOOLKIT_NO_CPR="1",
        TERM="xterm-256color",
        NO_COLOR="1",
    )
    return pexpect.spawn(
        sys.executable, ["-m", "tutor", "lesson", *args], env=env, dimensions=(40, 100), encoding="utf-8", timeout=30
    )


def _read_sections(tmp_path):
    from tutor.store import Store

    return Store(tmp_path / "home" / "progress.db")


def test_page_forward_back_jump_and_quit(tmp_path):
    child = _spawn(tmp_path, "1")
    child.expect("First steps")
    child.expect(r"section 1/3")
    child.send("n")
    child.expect("Try it")
    child.expect(r"section 2/3")
    child.send("b")
    child.expect("First steps")
    child.send("j")
    child.expect("Jump to section")
    child.send("3")
    child.expect("Check yourself")
    child.expect(r"section 3/3")
    child.expect("lesson 1 is complete")
    child.send("q")
    child.expect(pexpect.EOF)
    code = exit_code(child)
    assert code == 0
    store = _read_sections(tmp_path)
    assert store.sections_read()["basics"] == {1, 2, 3}
    assert "basics" in store.lessons_completed()
    store.close()


def test_arrow_keys_and_enter_work_too(tmp_path):
    child = _spawn(tmp_path, "2")
    child.expect("Only section")
    child.expect("n finish")
    child.send("\r")  # Enter at the end of the last section finishes
    child.expect(pexpect.EOF)
    code = exit_code(child)
    assert code == 0


def test_ctrl_c_exits_130_and_keeps_what_was_read(tmp_path):
    child = _spawn(tmp_path, "1", "--section", "2")
    child.expect("Try it")
    child.expect("section 2/3")
    child.expect("q quit")
    child.sendintr()
    child.expect(pexpect.EOF)
    output = child.before or ""
    code = exit_code(child)
    assert code == 130
    assert "Traceback" not in output
    said = " ".join(output.split())
    assert "1 of 3 sections read; not read yet: 1, 3" in said and "next:" in said  # as closing with q says it
    assert said.index("not read yet") < said.index("interrupted")
    store = _read_sections(tmp_path)
    assert store.sections_read()["basics"] == {2}
    store.close()


def test_plain_flag_never_prompts_in_a_terminal(tmp_path):
    child = _spawn(tmp_path, "1", "--plain")
    child.expect("Check yourself")
    child.expect(pexpect.EOF)
    code = exit_code(child)
    assert code == 0


def test_r_runs_the_sections_demo_inline_and_returns_to_the_lesson(tmp_path):
    child = _spawn(tmp_path, "1", "--section", "2")
    child.expect("Try it")
    child.expect("r run")
    child.send("r")
    child.expect(r"\$ dnn-tutor demo xor")
    child.expect("recorded in your demo journal", timeout=120)
    child.expect("Press Enter to go back to the lesson")
    child.send("\r")
    child.expect("section 2/3")  # back at the same page
    child.send("q")
    child.expect(pexpect.EOF)
    code = exit_code(child)
    assert code == 0
    store = _read_sections(tmp_path)
    assert [run.demo_id for run in store.demo_runs()] == ["xor"]
    store.close()


@pytest.mark.parametrize("signum, code", [(1, 129), (15, 143)])
def test_a_signal_while_a_section_runs_ends_the_run_then_the_reader_with_a_sane_terminal(tmp_path, signum, code):
    """SIGHUP or SIGTERM sent to the reader while `r` ran the checkpoint quiz: the quiz was killed outright
    (the terminal left raw, the cursor hidden) and the reader went on waiting for an Enter that the raw
    terminal no longer delivered. The run now gets the signal, restores the terminal, and both end by it."""
    import termios

    env = dict(os.environ, DNN_TUTOR_HOME=str(tmp_path / "home"), PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm-256color",
               NO_COLOR="1")
    env.pop("DNN_TUTOR_LESSONS", None)  # the real course: lesson 2's section 3 ends in a checkpoint question
    child = pexpect.spawn(sys.executable, ["-m", "tutor", "lesson", "2", "--section", "3"], env=env,
                          dimensions=(40, 100), encoding="utf-8", timeout=30)
    child.expect("r run")
    child.send("r")
    child.expect(r"\$ dnn-tutor quiz")
    child.expect("pick one")  # the checkpoint question is waiting in its menu (raw mode)
    child.kill(signum)
    child.expect(pexpect.EOF, timeout=30)
    attrs = termios.tcgetattr(child.child_fd)  # the terminal's settings as the program left them
    said = child.before
    assert exit_code(child) == code
    assert "Traceback" not in said
    assert "Press Enter to go back" not in said
    assert attrs[3] & termios.ICANON and attrs[3] & termios.ECHO  # put back as it was, not raw


# -- plain and piped output, narrow and unusual terminals -------------------------------------

import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _plain_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DNN_TUTOR_")}
    env.update(DNN_TUTOR_HOME=str(tmp_path / "home"), COLUMNS="80")
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


def _sections(tmp_path, lesson_id):
    store = _read_sections(tmp_path)
    try:
        return store.sections_read().get(lesson_id, set())
    finally:
        store.close()


@pytest.mark.slow
def test_lesson_piped_into_head_marks_nothing_read(tmp_path):
    from tutor.lessons import load_course

    target = load_course().lessons[4]
    done = subprocess.run(
        f'"{sys.executable}" -m tutor lesson {target.number} | head -3', shell=True, capture_output=True,
        text=True, env=_plain_env(tmp_path), timeout=60,
    )
    assert len(done.stdout.splitlines()) == 3
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert _sections(tmp_path, target.id) == set()


@pytest.mark.slow
def test_lesson_written_in_full_to_a_file_or_a_pipe_marks_nothing_read(tmp_path):
    # (it marked every section read: nobody is seen reading a file or a pipe; see test_reader_fixes.py)
    from tutor.lessons import load_course

    course = load_course()
    target = course.lessons[1]
    out = tmp_path / "lesson.txt"
    done = subprocess.run(
        [sys.executable, "-m", "tutor", "lesson", str(target.number)], stdout=out.open("w"),
        stderr=subprocess.PIPE, text=True, env=_plain_env(tmp_path), timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert target.sections[-1].title in out.read_text(encoding="utf-8")
    assert _sections(tmp_path, target.id) == set()
    other = course.lessons[2]
    done = subprocess.run(
        f'"{sys.executable}" -m tutor lesson {other.number} | cat', shell=True, capture_output=True, text=True,
        env=_plain_env(tmp_path), timeout=60,
    )
    assert other.sections[-1].title in done.stdout
    assert _sections(tmp_path, other.id) == set()


@pytest.mark.slow
@pytest.mark.parametrize("args", [["lessons"], ["lesson", "4", "--plain"], ["quiz", "--stats"], []])
def test_ascii_output_gets_ascii_glyphs_never_a_traceback(tmp_path, args):
    from tutor.lessons import load_course

    first = load_course().lessons[0]
    with _read_sections(tmp_path) as store:  # a "done" mark to show (a piped lesson records nothing)
        for section in first.sections:
            store.mark_section_read(first.id, section.index, len(first.sections))
    done = subprocess.run(
        [sys.executable, "-m", "tutor", *args], capture_output=True, env=_plain_env(tmp_path, PYTHONIOENCODING="ascii"),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode("ascii", "replace")
    assert b"Traceback" not in done.stderr
    done.stdout.decode("ascii")  # pure ASCII
    if args == ["lessons"]:
        assert b"v done" in done.stdout


@pytest.mark.slow
def test_no_color_means_no_colour_codes_in_the_reader(tmp_path):
    child = _spawn(tmp_path, "1")  # NO_COLOR=1 in _spawn
    child.expect("section 1/3")
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    colours = [c for c in __import__("re").findall(r"\x1b\[([0-9;]*)m", child.before or "") if c not in ("", "0")]
    # bold, italic, reverse (1, 3, 7) are fine; a colour (30-38, 40-48, 90-97, 100-107) is not
    colour_codes = set(range(30, 39)) | set(range(40, 49)) | set(range(90, 98)) | set(range(100, 108))
    assert not [c for c in colours if any(p.isdigit() and int(p) in colour_codes for p in c.split(";"))], colours
    assert "section 1/3" in (child.before or "")


@pytest.mark.slow
def test_code_at_60_columns_wraps_with_visible_marks_and_loses_nothing():
    from rich.console import Console

    from tutor.lessons import load_course
    from tutor.render.lessons import CONTINUATION, CONTINUED, render_lesson

    for lesson in load_course().lessons:
        console = Console(width=60, record=True, force_terminal=False, color_system=None)
        with console.capture() as captured:
            console.print(render_lesson(lesson, list(lesson.sections)))
        text = captured.get()
        from rich.cells import cell_len

        assert all(cell_len(line) <= 60 for line in text.splitlines()), lesson.id
        joined = []
        for line in text.splitlines():
            body = line.rstrip()
            if body.lstrip().startswith(CONTINUATION.strip()) and joined and joined[-1].endswith(CONTINUED):
                joined[-1] = joined[-1][: -len(CONTINUED)] + body.lstrip()[len(CONTINUATION):]
            else:
                joined.append(body)
        flat = "\n".join(joined)
        for section in lesson.sections:
            for block in section.blocks:
                if block.kind != "code":
                    continue
                for code_line in block.text.splitlines():
                    if code_line.strip():
                        assert code_line.rstrip() in flat, (lesson.id, code_line)
        written = sum(s.body.count("…") for s in lesson.sections)
        assert text.count("…") == written, (lesson.id, "something was cropped with an ellipsis")


def test_the_reader_sits_in_the_command_layer():
    """reader.py imports neither the commands nor the app, and only the commands import it."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys, tutor.reader; print(sorted(m for m in sys.modules "
         "if m.startswith('tutor.commands') or m in ('tutor.app', 'tutor.cli')))"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
    importers = [
        path.relative_to(REPO).as_posix()
        for path in (REPO / "tutor").rglob("*.py")
        if "commands" not in path.parts and path.name != "reader.py"
        and __import__("re").search(r"^\s*(from tutor\.reader|from tutor import reader|import tutor\.reader)",
                                    path.read_text(encoding="utf-8"), __import__("re").M)
    ]
    assert importers == []


def test_ascii_footer_names_the_arrow_keys_in_words(monkeypatch):
    # On an ASCII output the footer used to read "^v g G" (the arrows mapped to ^ and v): cryptic.
    from tutor import console
    from tutor.lessons import load_course
    from tutor.pager import Pager

    lesson = load_course(FIXTURE_COURSE).lessons[0]
    pager = Pager(lesson, 1, lambda index: False, rows=8, cols=80)  # short screen: the section pages

    def footer_text() -> str:
        return "".join(text for _, text in pager._footer())

    monkeypatch.setattr(console, "encodes_unicode", lambda stream=None: False)
    assert "up/down g G" in footer_text()
    assert "^v" not in footer_text()
    pager.mode = "jump"
    assert "up/down and Enter" in "".join(text for _, text in pager.view())
    pager.mode = "read"
    monkeypatch.setattr(console, "encodes_unicode", lambda stream=None: True)
    assert "↑↓ g G" in footer_text()


@pytest.mark.parametrize("cols, unicode_ok", [(80, True), (60, True), (60, False)])
def test_the_footer_and_help_say_what_b_does_where_it_is_pressed(runner, monkeypatch, cols, unicode_ok):
    """The README and --help called `b` "back", but mid-section it pages up; only at a section's top does it go back a
    section. The footer names each, fitting 60 columns (ASCII arrows included) without cutting a key off."""
    from tutor import console
    from tutor.cli import app
    from tutor.lessons import load_course
    from tutor.pager import Pager

    lesson = load_course(FIXTURE_COURSE).lessons[0]
    pager = Pager(lesson, 3, lambda index: False, rows=8, cols=cols)  # the last section, long enough to page
    monkeypatch.setattr(console, "encodes_unicode", lambda stream=None: unicode_ok)

    def keys() -> str:
        return pager._footer()[1][1]

    assert not pager.at_end and keys().endswith("q quit")
    assert ("b prev section" if cols == 80 else "b prev") in keys() and "page up" not in keys()
    pager.page_down()
    assert "b page up" in keys() and "prev" not in keys()
    pager.scroll(-pager.top)
    pager.back()  # at the section's top: the previous section, at its heading
    assert (pager.index, pager.top) == (2, 0)
    said = " ".join(runner.invoke(app, ["lesson", "--help"]).output.split())
    assert "b a page up or, at a section's top, the previous section" in said


def test_the_lesson_header_says_the_code_blocks_run_in_order():
    # A block in section 3 uses `nn` imported in section 2: pasted alone it fails with a NameError, and nothing
    # told the learner the blocks are meant to run one after another.
    from rich.console import Console

    from tutor.lessons import load_course
    from tutor.render.lessons import CODE_NOTE, has_python, render_lesson_header

    course = load_course()
    assert all(has_python(lesson) for lesson in course.lessons)
    console = Console(width=80, record=True, color_system=None)
    with console.capture() as captured:
        console.print(render_lesson_header(course.lessons[7]))
    assert CODE_NOTE in " ".join(captured.get().replace("┃", " ").split())
    assert len(CODE_NOTE) <= 76  # one line in the header panel at 80 columns


def test_ascii_stand_ins_keep_the_maths_readable():
    """On an output that cannot take Unicode, a middle dot is multiplication inside a formula and a
    separator between spaces, and Greek names do not run into their neighbours."""
    from tutor.console import to_ascii

    assert to_ascii("-1·0 + 0·0 + 1·9 = 9") == "-1*0 + 0*0 + 1*9 = 9"
    assert to_ascii("2λw") == "2 lambda w"
    assert to_ascii("λ·Σ w²") == "lambda*Sum w^2"
    assert to_ascii("lesson 2 · backprop") == "lesson 2 - backprop"
    assert to_ascii("σ(x) ✓") == "sigma(x) v"


def test_ctrl_z_suspends_the_reader_and_the_quiz_menu_and_fg_brings_them_back(tmp_path):
    """Job control as in any full-screen program: Ctrl-Z stops the job with the terminal restored
    (the shell's prompt works), `fg` redraws the screen where it was and the keys work again."""
    env = dict(os.environ, DNN_TUTOR_HOME=str(tmp_path / "home"), DNN_TUTOR_LESSONS=str(FIXTURE_COURSE),
               PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm-256color", NO_COLOR="1", PS1="shell$ ")
    shell = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env=env, dimensions=(40, 100), encoding="utf-8", timeout=30)
    try:
        shell.expect_exact("shell$ ")
        shell.sendline(f"{sys.executable} -m tutor lesson 1")
        shell.expect("section 1/3")
        shell.expect("q quit")
        shell.send("\x1a")
        shell.expect("Stopped")
        shell.expect_exact("shell$ ")
        shell.sendline("echo typed-at-the-prompt")
        shell.expect_exact("typed-at-the-prompt\r\n")  # the terminal is the shell's again (echo on, lines cooked)
        shell.sendline("fg")
        shell.expect("section 1/3")
        shell.send("n")
        shell.expect("section 2/3")
        shell.send("q")
        shell.expect_exact("shell$ ")
        shell.sendline(f"env -u DNN_TUTOR_LESSONS {sys.executable} -m tutor quiz --question dnn-output-activation")
        shell.expect("Enter, or press")
        shell.send("\x1a")
        shell.expect("Stopped")
        shell.expect_exact("shell$ ")
        shell.sendline("fg")
        shell.expect("Enter, or press")
        shell.sendintr()
        shell.expect("interrupted")
        shell.expect_exact("shell$ ")
        shell.sendline("echo quiz-ended-$?")  # fg gives the job's exit status
        shell.expect("quiz-ended-130")
    finally:
        shell.sendline("exit")
        shell.close(force=True)


def test_a_dumb_terminal_reads_section_by_section_and_records_only_what_was_shown(tmp_path):
    """TERM=dumb printed the whole lesson at once and counted it all as read, though the learner saw its end."""
    env = dict(os.environ, DNN_TUTOR_HOME=str(tmp_path / "home"), DNN_TUTOR_LESSONS=str(FIXTURE_COURSE), TERM="dumb")
    child = pexpect.spawn(sys.executable, ["-m", "tutor", "lesson", "1"], env=env, dimensions=(40, 100), encoding="utf-8", timeout=30)
    child.expect("First steps")
    child.expect_exact("-- section 1/3: Enter for the next, q+Enter stops --")
    assert "Try it" not in child.before
    child.send("\r")
    child.expect("Try it")
    child.expect_exact("-- section 2/3")
    child.send("q\r")
    child.expect(pexpect.EOF)
    assert exit_code(child) == 0
    again = pexpect.spawn(sys.executable, ["-m", "tutor", "lesson", "1", "--section", "1"], env=env, dimensions=(40, 100),
                          encoding="utf-8", timeout=30)
    again.expect_exact("-- section 1/3: Enter for the next, q+Enter stops --")
    again.sendeof()  # Ctrl-D: stops, with the shell's prompt on a line of its own
    again.expect(pexpect.EOF)
    assert again.before.endswith("\n") and exit_code(again) == 0
    assert "\x1b[" not in (child.before or "")
    store = _read_sections(tmp_path)
    assert store.sections_read()["basics"] == {1, 2}
    assert "basics" not in store.lessons_completed()
    store.close()


def test_a_section_printed_alone_opens_with_a_one_line_title_not_the_lesson_panel(tmp_path):
    """`lesson cnn --section 2 | head` showed the 16-line title panel and none of section 2."""
    env = _plain_env(tmp_path, DNN_TUTOR_LESSONS=str(FIXTURE_COURSE), PYTHONIOENCODING="utf-8")

    def printed(*args: str) -> list[str]:
        done = subprocess.run([sys.executable, "-m", "tutor", "lesson", "1", *args], capture_output=True, text=True,
                              encoding="utf-8", env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    lines = printed("--section", "2")
    assert lines[0] == "Lesson 1 · Fixture basics"
    assert lines[2].startswith("2. Try it") and "section 2/3" in lines[2]
    assert not any("You will be able to" in line for line in lines)
    assert any("You will be able to" in line for line in printed("--section", "1"))  # the lesson's start: the panel


def test_a_dumb_terminal_pages_within_a_section_only_when_someone_can_press_enter(tmp_path, monkeypatch, capsys):
    import io

    from tutor import console
    from tutor.lessons import load_course
    from tutor.reader import read_plainly
    from tutor.store import Store

    lesson = load_course(FIXTURE_COURSE).lessons[0]
    monkeypatch.setenv("LINES", "6")  # 5 lines a screen and the prompt
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("TERM", "dumb")
    store = lambda: Store(tmp_path / "progress.db")  # noqa: E731

    monkeypatch.setattr(console, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(sys, "stdin", io.StringIO("q\n"))
    assert read_plainly(lesson, 1, store_factory=store) is False
    shown = capsys.readouterr().out
    assert shown.count("\n") == 5 and shown.endswith("-- section 1/3 continues: Enter for more, q+Enter stops -- ")
    with Store(tmp_path / "progress.db") as db:
        assert db.sections_read().get("basics", set()) == set()  # stopped before the end: not read

    monkeypatch.setattr(console, "stdin_is_terminal", lambda: False)  # nobody to answer "more": never waits there
    monkeypatch.setattr(console, "stdout_is_terminal", lambda: True)  # (shown on a screen: recorded)
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n\n"))
    assert read_plainly(lesson, 1, store_factory=store) is True
    shown = capsys.readouterr().out
    assert "continues" not in shown and "Check yourself" in shown


def test_r_on_an_exercise_grades_the_copy_in_the_workspace_init_made(tmp_path, tutor_home, monkeypatch, capsys):
    """After `init /tmp/x`, `r` on lesson 2's exercise from another folder said "run 'dnn-tutor init'", though
    `check` knew the workspace. `r` grades that copy and says which file; the advice stays where there is none."""
    from tutor import reader
    from tutor.grading import workspace
    from tutor.lessons import Block

    class Finished:
        def wait(self, timeout=None):
            return 0

    ran: list[list[str]] = []
    monkeypatch.setattr(reader.subprocess, "Popen", lambda argv: ran.append(argv) or Finished())
    block = Block("exercise", "Write it.", "backprop")
    workspace.init(tmp_path / "x")
    mine = str(tmp_path / "x" / "exercises" / "backprop.py")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for folder in (elsewhere, REPO):  # a folder without exercises/, and one with dnn-tutor's own starters
        monkeypatch.chdir(folder)
        reader._run_block(block)
        assert ran.pop()[-2:] == ["check", mine]
        said = capsys.readouterr()
        assert "your exercises/backprop.py is not in this folder: grading" in said.out and "$ dnn-tutor check" in said.out
        assert "init" not in said.err
    monkeypatch.chdir(tmp_path / "x" / "exercises")  # inside the workspace: the file as this folder names it
    reader._run_block(block)
    assert ran.pop()[-2:] == ["check", "backprop.py"]
    capsys.readouterr()
    (tutor_home / "workspace.txt").unlink()  # no workspace known: the advice to run init, and nothing run
    monkeypatch.chdir(elsewhere)
    reader._run_block(block)
    assert ran == [] and "run 'dnn-tutor init'" in capsys.readouterr().err


def test_the_press_enter_prompt_is_not_left_behind_when_the_reader_closes(tmp_path):
    """After `r` and Enter, quitting the reader left "Press Enter to go back to the lesson." above the `next:`
    line in the terminal (the reader's own screen is the alternate one): the answered prompt is erased.
    tmux keeps the real screen, alternate buffer and all, as a learner's terminal does."""
    import shlex
    import shutil
    import tempfile
    import time

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DNN_TUTOR_", "TMUX"))}
    env.update(DNN_TUTOR_HOME=str(tmp_path / "home"), DNN_TUTOR_LESSONS=str(FIXTURE_COURSE), PROMPT_TOOLKIT_NO_CPR="1",
               NO_COLOR="1")
    sockets = tempfile.TemporaryDirectory(prefix="dnn-tutor-tmux-")  # a short path: a socket's is limited
    tmux = ["tmux", "-S", os.path.join(sockets.name, "s"), "-f", os.devnull]

    def run(*args: str) -> str:
        return subprocess.run([*tmux, *args], env=env, capture_output=True, text=True, timeout=30, check=True).stdout

    def wait_for(text: str) -> str:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            screen = run("capture-pane", "-p", "-S", "-", "-t", "reader")  # with the lines scrolled off the top
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen:\n{screen}")

    command = " ".join(shlex.quote(word) for word in (sys.executable, "-m", "tutor", "lesson", "2"))
    run("new-session", "-d", "-s", "reader", "-x", "100", "-y", "30", "-c", str(tmp_path), command,
        ";", "set-option", "-t", "reader", "remain-on-exit", "on")
    try:
        wait_for("r run")
        run("send-keys", "-t", "reader", "r")  # no exercises anywhere: the run says so and waits for Enter
        wait_for("Press Enter to go back to the lesson")
        run("send-keys", "-t", "reader", "Enter")
        wait_for("r run")
        run("send-keys", "-t", "reader", "q")
        screen = wait_for("next: dnn-tutor")
        assert "exercises/backprop.py is not here" in screen  # what the run said stays
        assert "Press Enter" not in screen, screen
    finally:
        subprocess.run([*tmux, "kill-server"], env=env, capture_output=True, timeout=30)
        sockets.cleanup()


def test_ctrl_c_at_a_dumb_terminals_page_prompt_starts_the_state_on_a_line_of_its_own(tmp_path):
    env = dict(os.environ, DNN_TUTOR_HOME=str(tmp_path / "home"), DNN_TUTOR_LESSONS=str(FIXTURE_COURSE), TERM="dumb")
    child = pexpect.spawn(sys.executable, ["-m", "tutor", "lesson", "1"], env=env, dimensions=(4, 60), encoding="utf-8", timeout=30)
    child.expect_exact("q+Enter stops --")
    child.sendintr()
    child.expect(pexpect.EOF)
    lines = (child.before or "").replace("\r", "").split("\n")
    assert exit_code(child) == 130
    assert any(line.startswith("Lesson 1: ") and "read" in line for line in lines), lines  # not glued to the echoed ^C
