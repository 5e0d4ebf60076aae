"""The question bank: ``data/questions/NN-slug.toml`` files, one per lesson.

Each file holds a ``[[question]]`` array. A question has a stable ``id``, the
``lesson`` number it belongs to, a ``topic`` slug, a ``kind`` (``choice``,
``multi``, ``true-false``, ``number`` or ``shape``), a ``prompt``, the
``answer`` (and ``choices`` for choice/multi, an optional absolute
``tolerance`` for numbers), an ``explanation`` and the ``section`` slug of the
lesson to reread. ``DNN_TUTOR_QUESTIONS`` points the loader at another folder
(the tests use a small fixture bank).

This module never prints; problems are raised as :class:`BankError` naming the
file and the question.
"""

from __future__ import annotations

from typing import Any

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from tutor.errors import TutorError

KINDS = ("choice", "multi", "true-false", "number", "shape")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
REQUIRED = ("id", "lesson", "topic", "kind", "prompt", "answer", "explanation")
KNOWN_KEYS = set(REQUIRED) | {"choices", "tolerance", "section", "misconceptions"}


class BankError(TutorError):
    """A question file that does not follow the schema."""


@dataclass(frozen=True)
class Question:
    """One question, from the bank or made by a generator (``generated=True``)."""

    id: str
    lesson: int
    topic: str
    kind: str
    prompt: str
    answer: object  # str | list[str] | bool | float | list[int], by kind
    explanation: str
    choices: tuple[str, ...] = ()
    tolerance: float | None = None
    section: str = ""
    source: str = ""  # the file it came from ("generated" for generated questions)
    generated: bool = False
    params: dict = field(default_factory=dict, compare=False)  # generator parameters
    # Number questions: the wrong answers the question exists to catch (each must be graded wrong).
    misconceptions: tuple[float, ...] = field(default=(), compare=False)

    def answer_text(self) -> str:
        """The right answer as a learner would write it."""
        return format_answer(self, self.answer)

    def answer_as_asked(self) -> str:
        """The right answer to the precision the question asks for: fixed decimals, trailing zeros kept, where it
        asks for decimals (:meth:`decimals_asked`: ``0.9900`` for four, ``2.000`` for three, correctly rounded
        half up); else to its tolerance (``9.5e-07`` where two significant digits are wanted); other kinds
        (and counts) as :meth:`answer_text`."""
        if self.kind != "number" or not _is_number(self.answer) or not math.isfinite(float(self.answer)):  # type: ignore[arg-type]
            return self.answer_text()
        value = float(self.answer)  # type: ignore[arg-type]
        places = self.decimals_asked()
        if places is not None:
            return fixed_decimals(value, places)
        if not self.tolerance or value == int(value) and abs(value) < 1e15:
            return self.answer_text()
        decimals = math.ceil(-math.log10(2 * float(self.tolerance)) - 1e-9)  # the last decimal the tolerance resolves
        digits = max(1, decimals + math.floor(math.log10(abs(value))) + 1) if value else 1
        return f"{value:.{min(digits, 15)}g}"

    def decimals_asked(self) -> int | None:
        """How many decimals a number question asks for: as its prompt says it ("three decimals", "Give 4
        decimals", "to two decimal places"), else as a tolerance of half a decimal says it (0.0005: three,
        5e-5: four; up to four); None when it asks for none (an exact value, a count, significant digits)."""
        if self.kind != "number":
            return None
        said = _DECIMALS_RE.search(self.prompt)
        if said:
            word = said.group(1).lower()
            places = int(word) if word.isdigit() else _NUMBER_WORDS.index(word) + 1
            return places if 1 <= places <= 12 else None
        if self.tolerance:
            for places in range(1, 5):
                if math.isclose(float(self.tolerance), 5 * 10.0 ** -(places + 1), rel_tol=1e-9):
                    return places
        return None


_NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
# "three decimals", "Give 4 decimals", "to two decimal places", "1 decimal" (never "one decimal point")
_DECIMALS_RE = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r"|\d{1,2})[ -]decimal(?:s|[ -]places?)?\b(?![ -]point)",
                          re.IGNORECASE)


def fixed_decimals(value: float, places: int) -> str:
    """``value`` with exactly ``places`` decimals, rounded half up from its shortest repr (0.0625 -> 0.063;
    2.675 -> 2.68), trailing zeros kept (0.99 -> 0.9900); never ``-0.000``."""
    from decimal import ROUND_HALF_UP, Decimal

    text = format(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def format_answer(question: Question, value: Any) -> str:
    kind = question.kind
    if kind == "choice":
        return str(value)
    if kind == "multi":
        return "; ".join(str(v) for v in value) if value else "(none of them)"
    if kind == "true-false":
        return "true" if value else "false"
    if kind == "number":
        return format_number(float(value))
    if kind == "shape":
        return "(" + ", ".join(format_number(float(v)) for v in value) + ")"  # (4, 64, 5.5, 5) as typed
    return str(value)


def format_number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def plural(n: int, noun: str, nouns: str = "") -> str:
    """``1 card``, ``2 cards``; ``nouns`` where the plural is not ``noun + "s"`` (``1 bias``, ``2 biases``)."""
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"


def questions_dir() -> Path:
    from tutor import paths

    override = os.environ.get("DNN_TUTOR_QUESTIONS")
    if override:
        folder = paths.expand_user(override)
        if not folder.is_dir():  # an empty bank (generated questions only) said nothing about why
            from tutor.errors import TutorError

            raise TutorError(f"DNN_TUTOR_QUESTIONS points to {folder}, which is not a folder; unset it to use the course's own questions")
        return folder
    return paths.data_dir() / "questions"


@dataclass(frozen=True)
class Bank:
    questions: tuple[Question, ...]
    root: Path

    def by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    def topics(self) -> list[str]:
        return sorted({q.topic for q in self.questions})

    def lessons(self) -> list[int]:
        return sorted({q.lesson for q in self.questions})


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check(raw: dict, where: str) -> Question:
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise BankError(f"{where}: missing {', '.join(repr(k) for k in missing)}")
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise BankError(f"{where}: unknown keys {', '.join(unknown)}")
    qid = raw["id"]
    if not isinstance(qid, str) or not SLUG_RE.match(qid):
        raise BankError(f"{where}: 'id' must be a lowercase slug such as 'cnn-stride-effect'")
    if qid.startswith("gen-"):
        raise BankError(f"{where}: ids starting with 'gen-' are reserved for generated questions")
    lesson = raw["lesson"]
    if not isinstance(lesson, int) or isinstance(lesson, bool) or lesson < 1:
        raise BankError(f"{where}: 'lesson' must be a lesson number (1, 2, ...)")
    topic = raw["topic"]
    if not isinstance(topic, str) or not SLUG_RE.match(topic):
        raise BankError(f"{where}: 'topic' must be a slug such as 'dropout'")
    kind = raw["kind"]
    if kind not in KINDS:
        raise BankError(f"{where}: 'kind' must be one of {', '.join(KINDS)}; got {kind!r}")
    for key in ("prompt", "explanation"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise BankError(f"{where}: {key!r} must be non-empty text")
    section = raw.get("section", "")
    if not isinstance(section, str) or (section and not SLUG_RE.match(section)):
        raise BankError(f"{where}: 'section' must be the slug of a section of lesson {lesson}")

    answer = raw["answer"]
    choices: tuple[str, ...] = ()
    tolerance = raw.get("tolerance")
    if kind in ("choice", "multi"):
        raw_choices = raw.get("choices")
        if not isinstance(raw_choices, list) or len(raw_choices) < 2 or not all(
            isinstance(c, str) and c.strip() for c in raw_choices
        ):
            raise BankError(f"{where}: a {kind} question needs 'choices', a list of at least two texts")
        if len({c.strip().lower() for c in raw_choices}) != len(raw_choices):
            raise BankError(f"{where}: 'choices' repeat themselves")
        choices = tuple(raw_choices)
        if kind == "choice":
            if answer not in choices:
                raise BankError(f"{where}: 'answer' must be one of the choices, exactly; got {answer!r}")
        else:
            if not isinstance(answer, list) or not all(a in choices for a in answer):
                raise BankError(f"{where}: a multi 'answer' must be a list of choices, exactly as written")
            if len(set(answer)) != len(answer):
                raise BankError(f"{where}: a multi 'answer' lists a choice twice")
            answer = list(answer)
    elif "choices" in raw:
        raise BankError(f"{where}: 'choices' only belong to choice and multi questions")
    if kind == "true-false" and not isinstance(answer, bool):
        raise BankError(f"{where}: a true-false 'answer' must be true or false (TOML booleans)")
    if kind == "number":
        if not _is_number(answer):
            raise BankError(f"{where}: a number 'answer' must be a number")
        answer = float(answer)
        if tolerance is not None and (not _is_number(tolerance) or tolerance < 0):
            raise BankError(f"{where}: 'tolerance' must be a number >= 0")
    elif tolerance is not None:
        raise BankError(f"{where}: 'tolerance' only belongs to number questions")
    misconceptions = raw.get("misconceptions", [])
    if kind != "number" and "misconceptions" in raw:
        raise BankError(f"{where}: 'misconceptions' only belong to number questions")
    if not isinstance(misconceptions, list) or not all(_is_number(m) for m in misconceptions):
        raise BankError(f"{where}: 'misconceptions' must be a list of numbers (wrong answers to reject)")
    if kind == "shape":
        if not isinstance(answer, list) or not answer or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in answer
        ):
            raise BankError(f"{where}: a shape 'answer' must be a list of whole numbers, e.g. [32, 13, 13]")
        answer = [int(v) for v in answer]
    return Question(
        id=qid,
        lesson=lesson,
        topic=topic,
        kind=kind,
        prompt=raw["prompt"].strip(),
        answer=answer,
        explanation=raw["explanation"].strip(),
        choices=choices,
        tolerance=float(tolerance) if tolerance is not None else None,
        section=section,
        source="",
        misconceptions=tuple(float(m) for m in misconceptions),
    )


def load_file(path: Path) -> list[Question]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BankError(f"{path.name}: cannot read question file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BankError(f"{path.name}: not valid TOML: {exc}") from None
    extra = sorted(set(data) - {"question"})
    if extra:
        raise BankError(f"{path.name}: only [[question]] tables belong here; found {', '.join(extra)}")
    items = data.get("question", [])
    if not isinstance(items, list):
        raise BankError(f"{path.name}: 'question' must be an array of tables ([[question]])")
    questions = []
    for number, raw in enumerate(items, start=1):
        label = raw.get("id") if isinstance(raw, dict) else None
        where = f"{path.name}, question {number}" + (f" ({label})" if isinstance(label, str) else "")
        if not isinstance(raw, dict):
            raise BankError(f"{where}: must be a table")
        q = _check(raw, where)
        questions.append(_with_source(q, path.name))
    return questions


def _with_source(question: Question, source: str) -> Question:
    from dataclasses import replace

    return replace(question, source=source)


def load_bank(root: Path | None = None) -> Bank:
    """Every question in ``root`` (default: the shipped bank), in file order.

    A missing folder gives an empty bank (generated questions still work);
    a malformed file raises :class:`BankError`.
    """
    root = Path(root) if root is not None else questions_dir()
    if not root.is_dir():
        return Bank((), root)
    questions: list[Question] = []
    seen: dict[str, str] = {}
    for path in sorted(root.glob("*.toml")):
        for q in load_file(path):
            if q.id in seen:
                raise BankError(f"question id {q.id!r} appears twice ({seen[q.id]} and {path.name})")
            seen[q.id] = path.name
            questions.append(q)
    return Bank(tuple(questions), root)
