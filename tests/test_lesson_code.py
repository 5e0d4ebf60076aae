"""Every ```python block in lessons/*.md runs, and prints what it promises.

The blocks of one lesson run in order in one shared namespace, like the
cells of a notebook, after seeding ``random``, ``numpy`` and ``torch`` with 0.
Where a block has comment lines beginning ``# -> ``, the lines it prints
(right-stripped, blank lines dropped) must equal those comments in order.
Failures name the lesson file and the line the block starts on; tracebacks
point at the right line of the Markdown file. Torch runs on one thread (tiny
models are fastest that way) and files made with ``tempfile`` go to the
test's temporary folder.
"""

from __future__ import annotations

import contextlib
import io
import random
import re
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted(REPO.glob("lessons/[0-9][0-9]-*.md"))
FENCE_RE = re.compile(r"^(```+|~~~+)\s*(.*)$")
EXPECT_PREFIX = "# -> "


@dataclass(frozen=True)
class CodeBlock:
    line: int  # 1-based line of the first code line in the file
    code: str

    @property
    def expected(self) -> list[str]:
        """The texts of the ``# -> `` comment lines, in order, right-stripped."""
        lines = (raw.strip() for raw in self.code.splitlines())
        return [
            ln[len(EXPECT_PREFIX):].rstrip()
            for ln in lines
            if ln.startswith(EXPECT_PREFIX) and ln[len(EXPECT_PREFIX):].strip()
        ]


def python_blocks(text: str) -> list[CodeBlock]:
    """The fenced blocks whose info string starts with ``python``."""
    blocks: list[CodeBlock] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = FENCE_RE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, info = match.group(1), match.group(2).strip()
        j = i + 1
        while j < len(lines) and not (
            lines[j].startswith(fence) and not lines[j].strip(fence[0]).strip()
        ):
            j += 1
        words = info.split()
        if words and words[0] == "python":
            blocks.append(CodeBlock(i + 2, "\n".join(lines[i + 1 : j])))
        i = j + 1
    return blocks


def test_block_parser_finds_lines_and_expectations():
    text = "intro\n```python\nprint(1)\n# -> 1\n```\n```text\nx\n```\n"
    (block,) = python_blocks(text)
    assert block.line == 3
    assert block.expected == ["1"]


def run_block(block: CodeBlock, namespace: dict, path: Path) -> list[str]:
    """Run one block in ``namespace``; the non-blank printed lines."""
    # Pad with newlines so tracebacks show the line numbers of the .md file.
    source = "\n" * (block.line - 1) + block.code
    code = compile(source, str(path), "exec")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(code, namespace)  # noqa: S102 - running our own lesson code
    return [ln.rstrip() for ln in buffer.getvalue().splitlines() if ln.strip()]


# Lessons whose code trains small networks for a few seconds run in the full suite only.
_SLOW_LESSONS = {"01-deep-networks", "04-training", "08-practice", "03-overfitting", "07-transfer"}
_RUNNABLE = [pytest.param(p, id=p.stem, marks=pytest.mark.slow) if p.stem in _SLOW_LESSONS else pytest.param(p, id=p.stem)
             for p in LESSONS]


@pytest.mark.parametrize("path", _RUNNABLE)
def test_lesson_code_runs_and_prints_what_it_says(path: Path, tmp_path, monkeypatch):
    import torch

    # Files a lesson writes with `tempfile` land in this test's own folder.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    # Small models run fastest (and most reproducibly) on one thread.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_lesson(path, blocks)
    finally:
        torch.set_num_threads(threads)


def run_lesson(path: Path, blocks: list[CodeBlock]) -> None:
    import numpy as np
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    namespace: dict = {"__name__": "__lesson__"}
    for block in blocks:
        try:
            printed = run_block(block, namespace, path)
        except Exception as exc:  # noqa: BLE001 - report where it broke
            frames = [
                f for f in traceback.extract_tb(exc.__traceback__)
                if f.filename == str(path)
            ]
            where = f" (line {frames[-1].lineno})" if frames else ""
            pytest.fail(
                f"{path.name}: the python block at line {block.line} raised "
                f"{type(exc).__name__}{where}: {exc}"
            )
        expected = block.expected
        if expected:
            assert printed == expected, (
                f"{path.name}: the python block at line {block.line} printed "
                f"something else.\nexpected: {expected}\nactual:   {printed}"
            )


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_parser_agrees_with_the_lesson_loader(path: Path):
    from tutor.lessons import load_lesson

    lesson = load_lesson(path)
    loaded = [
        b.text.strip("\n")
        for s in lesson.sections
        for b in s.blocks
        if b.kind == "code" and b.ref == "python"
    ]
    ours = [b.code.strip("\n") for b in python_blocks(path.read_text(encoding="utf-8"))]
    assert ours == loaded


def test_there_are_lessons_with_code():
    assert LESSONS, "no lessons/NN-slug.md files found"
    assert any(python_blocks(p.read_text(encoding="utf-8")) for p in LESSONS)


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_lesson_checks_some_printed_output(path: Path):
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    assert any(b.expected for b in blocks), (
        f"{path.name}: no python block has '# -> ' lines, so no number in it is checked"
    )
