"""The lesson reader in a real terminal: page through with single keys."""

from __future__ import annotations

import os
import sys

import pytest

from conftest import FIXTURE_COURSE

pexpect = pytest.importorskip("pexpect")


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
    child.close()
    assert child.exitstatus == 0
    store = _read_sections(tmp_path)
    assert store.sections_read()["basics"] == {1, 2, 3}
    assert "basics" in store.lessons_completed()
    store.close()


def test_arrow_keys_and_enter_work_too(tmp_path):
    child = _spawn(tmp_path, "2")
    child.expect("Only section")
    child.expect("finish this lesson")
    child.send("\r")  # the first choice is selected by default
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ctrl_c_exits_130_and_keeps_what_was_read(tmp_path):
    child = _spawn(tmp_path, "1", "--section", "2")
    child.expect("Try it")
    child.expect("section 2/3")
    child.expect("q quit")
    child.sendintr()
    child.expect(pexpect.EOF)
    output = child.before or ""
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in output
    store = _read_sections(tmp_path)
    assert store.sections_read()["basics"] == {2}
    store.close()


def test_plain_flag_never_prompts_in_a_terminal(tmp_path):
    child = _spawn(tmp_path, "1", "--plain")
    child.expect("Check yourself")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_r_runs_the_sections_demo_inline_and_returns_to_the_lesson(tmp_path):
    child = _spawn(tmp_path, "1", "--section", "2")
    child.expect("Try it")
    child.expect("r run")
    child.send("r")
    child.expect(r"\$ dnn-tutor demo xor")
    child.expect("recorded in your demo journal", timeout=120)
    child.expect("section 2/3")  # back at the same page's prompt
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    store = _read_sections(tmp_path)
    assert [run.demo_id for run in store.demo_runs()] == ["xor"]
    store.close()
