"""A live demo view after the terminal is resized: a clean screen, never a stale re-wrapped frame above the new one."""

from __future__ import annotations

import io
import re

import pytest

from terminal_helpers import thirty_epochs

pytest.importorskip("numpy")

CLEAR = "\x1b[2J"


def _run(resize_to: tuple[int, int] | None) -> str:
    import numpy as np
    from rich.console import Console

    from tutor.render.live import LiveReporter
    from tutor.training.protocol import Boundary, FitInfo

    rng = np.random.default_rng(0)
    boundary = Boundary(rng.normal(size=(50, 2)), rng.integers(0, 2, 50), extent=(-1.3, 1.3, -1.3, 1.3))
    out = io.StringIO()
    reporter = LiveReporter()
    reporter.console = Console(file=out, force_terminal=True, width=100, height=30, color_system="truecolor")
    reporter.run_start({"demo": "xor", "title": "XOR with a 2-6-4-1 network", "device_label": "cpu",
                        "device_reason": "no CUDA GPU or Apple MPS backend was found", "config": {"epochs": 30}})
    reporter.note("data: 450 training and 150 test points")
    reporter.fit_start(FitInfo("", ["model"], "binary", 30, 32, 450, 150, True, boundary, {"model": "adam"}))
    if resize_to is not None:
        reporter.console.size = resize_to  # the learner drags the window narrower (SIGWINCH)
    thirty_epochs(reporter, rng)
    reporter.fit_end([])
    reporter.close()
    return out.getvalue()


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def test_a_resize_starts_a_clean_screen_with_the_header_the_notes_and_a_view_of_the_new_width():
    output = _run((60, 30))
    assert output.count(CLEAR) == 1, "one clean screen after the resize"
    after = _plain(output.split(CLEAR, 1)[1])
    assert "XOR with a 2-6-4-1 network" in after and "note: data: 450 training" in after
    assert "decision boundary" in after
    assert max(len(line) for line in after.splitlines()) <= 60, "the view is drawn for the new width"


def test_no_resize_no_clear_screen():
    assert CLEAR not in _run(None)
