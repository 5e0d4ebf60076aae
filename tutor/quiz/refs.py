"""Where to reread: a question's lesson section as a ``dnn-tutor lesson`` command.

Bank questions and generated-question templates declare a section slug; a
course without that slug (a custom one) falls back to the template's hints. When the lessons cannot be loaded, or the
lesson or section is missing, the reference falls back to what is known.
"""

from __future__ import annotations

from dataclasses import dataclass

from tutor.quiz import generators


@dataclass(frozen=True)
class Reread:
    lesson: int
    lesson_id: str = ""
    section: int | None = None
    section_title: str = ""

    @property
    def command(self) -> str:
        if not self.lesson_id:
            return ""
        text = f"dnn-tutor lesson {self.lesson_id}"
        return text + (f" --section {self.section}" if self.section else "")

    def text(self, fallback_slug: str = "") -> str:
        if self.command:
            title = f"  ({self.section_title})" if self.section_title else ""
            return f"{self.command}{title}"
        extra = f", section '{fallback_slug}'" if fallback_slug else ""
        return f"lesson {self.lesson}{extra}"


def load_course_or_none():
    """The course, or None when the lessons are missing or broken (the quiz still works)."""
    from tutor.errors import TutorError
    from tutor.lessons import load_course

    try:
        return load_course()
    except (TutorError, OSError):
        return None


def reread_for(question, course) -> Reread:
    """The section that teaches ``question``: its declared slug (bank or template), by stable id."""
    if course is None:
        return Reread(question.lesson)
    lesson = next((l for l in course.lessons if l.number == question.lesson), None)
    if lesson is None:
        return Reread(question.lesson)
    template = generators.templates().get(question.id) if question.generated else None
    slug = question.section or (template.section if template is not None else "")
    if slug:
        for section in lesson.sections:
            if section.slug == slug:
                return Reread(lesson.number, lesson.id, section.index, section.title)
    if template is not None:  # another course that lacks the declared slug: the nearest section by name
        for hint in template.section_hints:
            for section in lesson.sections:
                if generators.slug_has(section.slug, hint):
                    return Reread(lesson.number, lesson.id, section.index, section.title)
    return Reread(lesson.number, lesson.id)


def lessons_read(store, course) -> set[int]:
    """Lesson numbers with at least one section read."""
    if course is None:
        return set()
    numbers = {l.id: l.number for l in course.lessons}
    return {numbers[lid] for lid in store.sections_read() if lid in numbers}
