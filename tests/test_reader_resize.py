"""The reader after the terminal is resized: the text that was at the top of the screen stays there."""

from __future__ import annotations

import pytest


def _words(line: str) -> list[str]:
    return [w for w in "".join(ch if ch.isalnum() else " " for ch in line).split() if len(w) > 2]


@pytest.mark.parametrize("old, new", [(100, 60), (60, 100), (80, 45)])
def test_a_resize_keeps_the_text_at_the_top_of_the_screen(old, new):
    """Only the line number was kept: at 60 columns after 100 the screen opened far earlier in the section
    (the same line number holds less text when lines wrap), and wider it skipped text never shown."""
    from tutor.lessons import load_course
    from tutor.pager import Pager

    lesson = load_course().lessons[1]  # backpropagation: long sections with code and tables
    index = max(range(1, len(lesson.sections) + 1), key=lambda i: len(lesson.sections[i - 1].body))
    pager = Pager(lesson, index, lambda i: False, rows=24, cols=old)
    pager.cover = False
    plain = pager._plain_of(index, False)
    pager.top = next(i for i in range(len(plain) // 2, len(plain))  # a line of text that is there at every width
                     if len(_words(plain[i])) >= 3 and not plain[i].lstrip().startswith("(this block is"))
    first = _words(plain[pager.top])[0]
    pager.resize(24, new)
    after = pager._plain_of(index, False)
    assert pager.top < pager.last_top, "the test needs a place in the middle of the section"
    assert first in _words(after[pager.top]), (first, after[pager.top - 1 : pager.top + 2])


@pytest.mark.parametrize("name", ["04-training.md", "05-cnn.md"])
def test_the_side_by_side_diagrams_of_lessons_4_and_5_fit_a_60_column_terminal(name):
    """At 60 columns the padding and stride pictures of lesson 5 (side by side, 68 columns) wrapped onto
    alternating lines and could not be read; they are stacked now, as are lesson 4's two valleys."""
    from pathlib import Path

    lines = (Path(__file__).resolve().parents[1] / "lessons" / name).read_text(encoding="utf-8").splitlines()
    block, wide = False, []
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            block = line.strip() == "```text"
            continue
        if block and len(line) > 56:  # 60 columns less the reader's indent and margin
            wide.append((number, line))
    assert not wide, wide


def _plain(line: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", line).rstrip()


def test_inline_code_that_fits_moves_to_the_next_line_whole_and_prints_plain_spaces():
    """`dnn-tutor lesson practice --section adamw-...` broke at its spaces across two lines: a learner who copied
    it got half a command. Code that fits the width is kept whole; longer code still breaks at a space, never
    inside a word; what is printed has plain spaces."""
    from rich.console import Group

    from tutor.console import KEPT_SPACE
    from tutor.pager import render_lines
    from tutor.render.lessons import _markdown_parts

    command = "dnn-tutor lesson practice --section adamw-warm-up-and-per-batch-schedules"  # 72 characters
    text = f"The schedule and its warm-up are in a section of their own, read it with `{command}`, and `p = 0.5` too."
    for width in (80, 100):
        lines = [_plain(line) for line in render_lines(Group(*_markdown_parts(text)), width)]
        assert any(command in line for line in lines), lines  # whole, on one line
        assert not any(KEPT_SPACE in line for line in lines)
    narrow = [_plain(line) for line in render_lines(Group(*_markdown_parts(text)), 50)]
    assert any("adamw-warm-up-and-per-batch-schedules" in line for line in narrow), narrow  # too long: at a space
    assert any("p = 0.5" in line for line in narrow), narrow  # the short one stays whole
    from tutor import console

    printed = console.stdout_console()
    with printed.capture() as captured:
        printed.print(Group(*_markdown_parts(text)))
    assert KEPT_SPACE not in captured.get() and "p = 0.5" in captured.get()


@pytest.mark.parametrize("old, new", [(80, 60), (100, 60), (60, 100)])
def test_a_search_hit_on_the_screen_stays_on_it_after_a_resize(old, new):
    """Lesson 3, `/lesson practice` at 80 columns, then 60: the reflowed text pushed the highlighted line below
    the bottom of the screen while the footer still said where it was found."""
    from tutor.lessons import load_course
    from tutor.pager import Pager

    lesson = load_course().lessons[2]  # overfitting: the command to the practice lesson's section is in it
    pager = Pager(lesson, 1, lambda i: False, rows=24, cols=old)
    pager.cover = False
    assert pager.search("lesson practice")
    index, line, _ = pager.hit
    assert pager._shown(line)
    pager.resize(24, new)
    index2, line2, cols = pager.hit
    assert (index2, cols) == (index, new)
    assert pager._shown(line2), (pager.top, line2, pager.body_rows)
    assert "lesson practice" in pager._plain_of(index, False)[line2]
