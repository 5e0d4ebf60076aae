"""Lessons as content: load ``lessons/NN-slug.md`` files into dataclasses.

A lesson file starts with TOML front matter between two ``+++`` lines, then
Markdown. Each ``## `` heading (outside fenced code) starts a section. Fenced
blocks whose info string is ``demo <id>``, ``exercise <id>`` or
``checkpoint <question-id>`` become :class:`Block` objects of that kind, so a
renderer can show them as panels and the reader can offer to run them.

This module never prints; problems are raised as :class:`LessonError`.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from tutor.errors import TutorError

FILE_RE = re.compile(r"^(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)\.md$")
SPECIAL_KINDS = ("demo", "exercise", "checkpoint")
FENCE_RE = re.compile(r"^(```+|~~~+)\s*(.*)$")
REQUIRED = {"id": str, "number": int, "title": str, "summary": str, "minutes": int, "objectives": list}
OPTIONAL_LISTS = ("demos", "exercises")


class LessonError(TutorError):
    """A lesson file that does not follow the format (names the file and the problem)."""


@dataclass(frozen=True)
class Block:
    """A piece of a section: ``markdown`` text, ``code`` (with ``lang``), or a special block."""

    kind: str  # "markdown", "code", "demo", "exercise" or "checkpoint"
    text: str
    ref: str = ""  # demo / exercise / question id for special blocks; language for code

    @property
    def command(self) -> list[str]:
        """The dnn-tutor arguments a special block points to (empty for others)."""
        if self.kind == "demo":
            return ["demo", self.ref]
        if self.kind == "exercise":
            return ["check", f"exercises/{self.ref}.py"]
        if self.kind == "checkpoint":
            return ["quiz", "--question", self.ref]
        return []


@dataclass(frozen=True)
class Section:
    index: int  # 1-based
    title: str
    slug: str
    body: str  # the Markdown of the section, heading excluded

    @functools.cached_property
    def blocks(self) -> tuple[Block, ...]:
        """Prose, code and special blocks in order (parsed on first use: a listing needs none)."""
        return _parse_blocks(self.body)

    @property
    def word_count(self) -> int:
        return len(self.body.split())


@dataclass(frozen=True)
class Lesson:
    id: str
    number: int
    title: str
    summary: str
    minutes: int
    objectives: tuple[str, ...]
    sections: tuple[Section, ...]
    path: Path
    demos: tuple[str, ...] = ()
    exercises: tuple[str, ...] = ()
    checkpoints: dict[str, str] = field(default_factory=dict)  # id -> intended question

    def section(self, key: int | str) -> Section:
        """A section by 1-based number or by slug; :class:`LessonError` when there is none."""
        if isinstance(key, int) or (isinstance(key, str) and re.fullmatch(r"\s*[+-]?\d+\s*", key) and len(key) < 30):
            index = int(key)  # -1 and +2 as numbers too: one wording for every number out of range
            if 1 <= index <= len(self.sections):
                return self.sections[index - 1]
            raise LessonError(
                f"lesson {self.number} ({self.id}) has sections 1-{len(self.sections)}; there is no section {index}"
            )
        for section in self.sections:
            if section.slug == key:
                return section
        slugs = [s.slug for s in self.sections]
        close = difflib.get_close_matches(str(key), slugs, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise LessonError(f"lesson {self.id} has no section {key!r}{hint}")

    @property
    def word_count(self) -> int:
        return sum(s.word_count for s in self.sections)


@dataclass(frozen=True)
class Course:
    lessons: tuple[Lesson, ...]
    root: Path

    def find(self, key: str | int) -> Lesson:
        """A lesson by number ("3") or slug ("backprop")."""
        text = str(key).strip()
        for lesson in self.lessons:
            if text.isdecimal() and int(text) == lesson.number:
                return lesson
            if text.lower() == lesson.id:
                return lesson
        valid = ", ".join(f"{l.number} {l.id}" for l in self.lessons)
        candidates = [l.id for l in self.lessons] + [l.title.lower() for l in self.lessons]
        close = difflib.get_close_matches(text.lower(), candidates, n=1, cutoff=0.5)
        hint = ""
        if close:
            match = next(l for l in self.lessons if close[0] in (l.id, l.title.lower()))
            hint = f" Did you mean {match.id!r}?"
        raise TutorError(f"no lesson {text!r}; the lessons are: {valid}.{hint}")

    def by_id(self) -> dict[str, Lesson]:
        return {l.id: l for l in self.lessons}


def section_ranges(numbers) -> str:
    """``[2, 3, 4, 6]`` -> ``"2-4, 6"``: section numbers as a learner reads them."""
    runs: list[list[int]] = []
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


@dataclass(frozen=True)
class ReadingState:
    """Where a learner stands in one lesson, as the reader says it on closing: the same facts the home
    screen and ``dnn-tutor lessons`` show (sections read, done or not, what to run next)."""

    number: int
    total: int  # sections in the lesson
    read: tuple[int, ...]  # the sections read, sorted
    complete: bool  # the lesson counts as done (every section read at some time)
    next_command: str  # e.g. "dnn-tutor lesson 2 --section 3"; "dnn-tutor" when every lesson is done

    @property
    def unread(self) -> tuple[int, ...]:
        return tuple(i for i in range(1, self.total + 1) if i not in self.read)


def slugify(title: str) -> str:
    """``"Stride, padding and output size"`` -> ``"stride-padding-and-output-size"``."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _split_front_matter(text: str, path: Path) -> tuple[dict, str]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "+++":
        raise LessonError(f"{path.name}: must start with TOML front matter between '+++' lines")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "+++")
    except StopIteration:
        raise LessonError(f"{path.name}: front matter is not closed by a second '+++' line") from None
    try:
        meta = tomllib.loads("\n".join(lines[1:end]))
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"{path.name}: front matter is not valid TOML: {exc}") from None
    return meta, "\n".join(lines[end + 1 :])


def _check_meta(meta: dict, path: Path) -> None:
    for key, kind in REQUIRED.items():
        if key not in meta:
            raise LessonError(f"{path.name}: front matter lacks {key!r}")
        if not isinstance(meta[key], kind) or (kind is int and isinstance(meta[key], bool)):
            raise LessonError(f"{path.name}: front matter {key!r} must be a {kind.__name__}")
    if not meta["objectives"] or not all(isinstance(o, str) and o.strip() for o in meta["objectives"]):
        raise LessonError(f"{path.name}: 'objectives' must be a non-empty list of non-empty strings")
    for key in OPTIONAL_LISTS:
        value = meta.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise LessonError(f"{path.name}: {key!r} must be a list of ids")
    checkpoints = meta.get("checkpoints", {})
    if not isinstance(checkpoints, (list, dict)):
        raise LessonError(f"{path.name}: 'checkpoints' must be a list of ids or a table of id = intended question")
    if meta["minutes"] <= 0:
        raise LessonError(f"{path.name}: 'minutes' must be positive")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", meta["id"]):
        raise LessonError(f"{path.name}: 'id' must be a lowercase slug such as 'backprop'")
    unknown = set(meta) - set(REQUIRED) - set(OPTIONAL_LISTS) - {"checkpoints"}
    if unknown:
        raise LessonError(f"{path.name}: unknown front matter keys: {', '.join(sorted(unknown))}")


def _parse_blocks(body: str) -> tuple[Block, ...]:
    """Split Markdown into prose, code and special blocks, in order."""
    blocks: list[Block] = []
    prose: list[str] = []
    lines = body.splitlines()
    i = 0

    def flush() -> None:
        text = "\n".join(prose).strip("\n")
        if text.strip():
            blocks.append(Block("markdown", text))
        prose.clear()

    while i < len(lines):
        match = FENCE_RE.match(lines[i])
        if not match:
            prose.append(lines[i])
            i += 1
            continue
        fence, info = match.group(1), match.group(2).strip()
        j = i + 1
        while j < len(lines) and not lines[j].startswith(fence[0] * len(fence)):
            j += 1
        content = "\n".join(lines[i + 1 : j])
        words = info.split()
        if words and words[0] in SPECIAL_KINDS:
            flush()
            blocks.append(Block(words[0], content.strip(), words[1] if len(words) > 1 else ""))
        else:
            flush()
            blocks.append(Block("code", content, words[0] if words else ""))
        i = j + 1
    flush()
    return tuple(blocks)


def _split_sections(markdown: str, path: Path) -> tuple[Section, ...]:
    chunks: list[tuple[str, list[str]]] = []
    preamble: list[str] = []
    in_fence = ""
    for line in markdown.splitlines():
        match = FENCE_RE.match(line)
        if match:
            marker = match.group(1)
            if not in_fence:
                in_fence = marker
            elif line.strip().startswith(in_fence[0] * len(in_fence)) and not match.group(2).strip():
                in_fence = ""
        if not in_fence and line.startswith("## "):
            chunks.append((line[3:].strip(), []))
        elif chunks:
            chunks[-1][1].append(line)
        else:
            preamble.append(line)
    if "\n".join(preamble).strip():
        raise LessonError(f"{path.name}: text before the first '## ' heading; put it in a section")
    if not chunks:
        raise LessonError(f"{path.name}: no sections ('## ' headings)")
    sections = []
    seen: set[str] = set()
    for index, (title, body_lines) in enumerate(chunks, start=1):
        body = "\n".join(body_lines).strip("\n")
        if not body.strip():
            raise LessonError(f"{path.name}: section {index} ({title!r}) is empty")
        slug = slugify(title)
        if not slug or slug in seen:
            raise LessonError(f"{path.name}: section titles must be unique (repeat: {title!r})")
        seen.add(slug)
        sections.append(Section(index, title, slug, body))
    return tuple(sections)


def load_lesson(path: Path) -> Lesson:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LessonError(f"{path}: cannot read lesson file: {exc}") from None
    meta, markdown = _split_front_matter(text, path)
    _check_meta(meta, path)
    match = FILE_RE.match(path.name)
    if not match:
        raise LessonError(f"{path.name}: lesson files are named NN-slug.md")
    if int(match.group(1)) != meta["number"] or match.group(2) != meta["id"]:
        raise LessonError(
            f"{path.name}: file name must be {meta['number']:02d}-{meta['id']}.md to match its front matter"
        )
    checkpoints = meta.get("checkpoints", {})
    if isinstance(checkpoints, list):
        checkpoints = {str(c): "" for c in checkpoints}
    sections = _split_sections(markdown, path)
    return Lesson(
        id=meta["id"],
        number=meta["number"],
        title=meta["title"],
        summary=meta["summary"],
        minutes=meta["minutes"],
        objectives=tuple(meta["objectives"]),
        sections=sections,
        path=path,
        demos=tuple(meta.get("demos", [])),
        exercises=tuple(meta.get("exercises", [])),
        checkpoints={str(k): str(v) for k, v in checkpoints.items()},
    )


def load_course(root: Path | None = None) -> Course:
    """Every lesson in ``root`` (default: the shipped lessons), sorted by number, validated."""
    from tutor import paths

    import os

    overridden = root is None and bool(os.environ.get("DNN_TUTOR_LESSONS"))
    root = Path(root) if root is not None else paths.lessons_dir()
    if not root.is_dir():
        if overridden:
            raise LessonError(f"DNN_TUTOR_LESSONS points to {root}, which is not a folder; unset it to read the course's own lessons")
        raise LessonError(f"lessons folder {root} is missing; reinstall dnn-tutor")
    files = sorted(p for p in root.glob("*.md") if p.name.lower() != "readme.md")
    lessons = [load_lesson(p) for p in files]
    lessons.sort(key=lambda l: l.number)
    if not lessons:
        raise LessonError(f"no lessons found in {root}")
    ids = [l.id for l in lessons]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise LessonError(f"lesson ids are not unique: {', '.join(duplicates)}")
    numbers = [l.number for l in lessons]
    if numbers != list(range(1, len(lessons) + 1)):
        raise LessonError(f"lesson numbers must run 1..{len(lessons)} without gaps; found {numbers}")
    checkpoint_ids = [c for l in lessons for c in l.checkpoints]
    repeated = sorted({c for c in checkpoint_ids if checkpoint_ids.count(c) > 1})
    if repeated:
        raise LessonError(f"checkpoint ids are not unique across lessons: {', '.join(repeated)}")
    return Course(tuple(lessons), root)
