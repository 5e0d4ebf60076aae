"""Generated questions: templates that draw fresh numbers each time they are asked.

Each :class:`Template` has a stable id (``gen-...``), a topic, the lesson it
belongs to and a ``make(rng)`` that returns a :class:`~tutor.quiz.bank.Question`
whose answer is computed here, in plain Python, from the drawn numbers. The
numbers are also kept in ``Question.params`` so that tests/test_quiz_generators.py
can build the real PyTorch layer or optimizer and compare.

No torch here: the quiz must start fast and must not import it.
The scheduler treats a template as one card, whatever numbers it draws.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from tutor.quiz.bank import Question, format_number
from tutor.quiz.builders import (
    _build_adam,
    _build_conv,
    _build_conv_shape,
    _build_dense,
    _build_dropout,
    _build_recurrent,
    _build_sgd,
    _build_sigmoid,
    _build_softmax,
)


@dataclass(frozen=True)
class Template:
    """A generated-question template: where it belongs is declared here, never guessed.

    ``lesson_id`` and ``section`` name the lesson and the section slug that
    teach it (``lesson`` is that lesson's number, used when no course is
    loaded). ``build(rng)`` returns the Question's fields, including
    ``misconceptions``: the wrong numbers the question exists to catch, which
    the grader must reject (tests/test_quiz_generators.py checks every draw).
    """

    id: str
    topic: str
    lesson: int
    title: str
    section_hints: tuple[str, ...]  # fallback only: words to look for in section slugs of another course
    build: Callable[[random.Random], dict]  # -> fields of the Question (kind, prompt, answer, ...)
    topic_aliases: tuple[str, ...] = ()  # other spellings a bank may use for its topic (adopted)
    lesson_topics: tuple[str, ...] = ()  # broader bank topics (only for a custom course without lesson_id)
    lesson_id: str = ""  # the declared lesson, by its stable id
    section: str = ""  # the declared section slug of that lesson
    key_terms: tuple[str, ...] = ()  # words the declared section must contain (checked by tests)

    def make(self, rng: random.Random, lesson: int | None = None, topic: str | None = None) -> Question:
        fields = self.build(rng)
        return Question(
            id=self.id,
            lesson=lesson or self.lesson,
            topic=topic or self.topic,
            kind=fields["kind"],
            prompt=fields["prompt"],
            answer=fields["answer"],
            explanation=fields["explanation"],
            tolerance=fields.get("tolerance"),
            section=self.section,
            source="generated",
            generated=True,
            params=fields["params"],
            misconceptions=tuple(float(m) for m in fields.get("misconceptions", ())),
        )


OPTIMIZER_TOPICS = ("optimizers", "optimisers", "optimization", "optimisation", "optimizer", "optimiser")

TEMPLATES: tuple[Template, ...] = (
    Template("gen-sigmoid", "activations", 1, "sigmoid of a small vector", ("activation", "sigmoid"),
             _build_sigmoid, lesson_id="deep-networks", section="activation-functions",
             key_terms=("sigmoid",)),
    Template("gen-softmax", "activations", 1, "softmax of a few scores", ("activation", "softmax", "output"),
             _build_softmax, lesson_id="deep-networks", section="activation-functions",
             key_terms=("softmax",)),
    Template("gen-dense-params", "parameters", 1, "parameters of a dense layer", ("counting-parameters", "parameter"),
             _build_dense, lesson_id="deep-networks", section="counting-parameters",
             key_terms=("parameters", "bias")),
    Template("gen-sgd-momentum-step", "optimizers", 4, "one SGD-with-momentum step", ("momentum", "sgd", "optimi"),
             _build_sgd, topic_aliases=OPTIMIZER_TOPICS, lesson_id="training",
             section="gradient-descent-and-momentum", key_terms=("momentum", "velocity")),
    Template("gen-adam-step", "optimizers", 4, "one Adam step", ("adam", "optimi"),
             _build_adam, topic_aliases=OPTIMIZER_TOPICS, lesson_id="training", section="rmsprop-and-adam",
             key_terms=("Adam", "bias correction")),
    Template("gen-dropout-expectation", "dropout", 3, "inverted dropout", ("dropout", "regulari"),
             _build_dropout, lesson_topics=("regularisation", "regularization", "overfitting"), lesson_id="overfitting", section="dropout",
             key_terms=("inverted", "1/(1 − p)", "expected")),
    Template("gen-conv-params", "cnn", 5, "parameters of a Conv2D layer", ("parameter", "filter", "convolution"),
             _build_conv, lesson_id="cnn", section="parameters-convolution-versus-dense",
             key_terms=("in_channels", "bias")),
    Template("gen-conv-shape", "conv-shapes", 5, "output shape of a conv/pool stack",
             ("output-size", "stride", "padding", "shape"), _build_conv_shape,
             topic_aliases=("conv-shape", "shapes"), lesson_topics=("cnn",), lesson_id="cnn", section="stride-padding-and-output-size",
             key_terms=("stride", "padding", "floor")),
    Template("gen-lstm-params", "lstm", 6, "parameters of an LSTM", ("lstm", "gate", "recurrent"),
             lambda rng: _build_recurrent(rng, "LSTM"), lesson_topics=("rnn",), lesson_id="rnn", section="lstm-gates-and-the-cell-state",
             key_terms=("four blocks", "two bias")),
    Template("gen-gru-params", "gru", 6, "parameters of a GRU", ("gru", "gate", "recurrent"),
             lambda rng: _build_recurrent(rng, "GRU"), lesson_topics=("rnn",), lesson_id="rnn", section="gru-a-lighter-gated-cell",
             key_terms=("three blocks", "two bias")),
)


def templates() -> dict[str, Template]:
    return {t.id: t for t in TEMPLATES}


def slug_has(slug: str, key: str) -> bool:
    """``key`` starts a word of ``slug`` (or, for a hyphenated key, appears in it)."""
    if "-" in key:
        return key in slug
    return any(word.startswith(key) for word in slug.split("-"))


def lesson_number(template: Template, course=None) -> int | None:
    """The declared lesson's number in ``course`` (looked up by its stable id); None without it."""
    if course is None:
        return None
    for lesson in course.lessons:
        if lesson.id == template.lesson_id:
            return lesson.number
    return None


def resolve(bank_questions, course=None) -> dict[str, tuple[int, str]]:
    """Each template's (lesson, topic), as declared.

    The lesson is the number of the declared lesson id in ``course``; the
    topic is the declared one, spelled the way the bank spells it when the
    bank uses only one of the declared ``topic_aliases``. Without a course, or
    with a custom course that lacks the declared lesson, the template goes
    where the bank asks most about its topic (or its ``lesson_topics``), else
    under the declared number.
    """
    by_topic: dict[str, dict[int, int]] = {}
    for q in bank_questions:
        counts = by_topic.setdefault(q.topic, {})
        counts[q.lesson] = counts.get(q.lesson, 0) + 1
    result = {}
    for t in TEMPLATES:
        topic = t.topic if t.topic in by_topic else next((a for a in t.topic_aliases if a in by_topic), t.topic)
        lesson = lesson_number(t, course)
        if lesson is None:
            source = next((name for name in (topic, *t.lesson_topics) if name in by_topic), None)
            if source is not None:
                counts = by_topic[source]
                lesson = min(counts, key=lambda number: (-counts[number], number))
            else:
                lesson = t.lesson
        result[t.id] = (lesson, topic)
    return result


def generate(template_id: str, rng: random.Random, lesson: int | None = None) -> Question:
    return templates()[template_id].make(rng, lesson)


__all__ = ["TEMPLATES", "Template", "generate", "templates", "resolve", "lesson_number", "format_number"]
