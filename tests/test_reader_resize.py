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
    pager.top = next(i for i in range(len(plain) // 2, len(plain)) if len(_words(plain[i])) >= 3)
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
