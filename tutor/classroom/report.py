"""The class's mistakes, ranked: which diagnosis most students share, what it means, what to teach again.

:func:`build` turns gradebook rows into one :class:`ExerciseReport` per
exercise: the diagnosis codes ranked by how many students have them as their first
mistake (the one to fix first; a first mistake often trips later checks too,
so the count of all students showing a code comes second) (each with
its one-line meaning, the hint to give, the lesson section to teach again and
the quiz concept it maps to, and the students who have it: those whose first mistake it is, then those
who have it after another first mistake, counted there), how the runs ended (done / partial / timeout /
syntax ...) and the score distribution. The mean, median and distribution are
kept over every row (``mean``, ``median``, ``distribution``: a row without a
grade counts as 0) and over the rows that hold a grade (``graded_mean`` ...:
``missing``, ``unreadable``, ``ambiguous`` and grader ``error`` rows left out,
and counted beside it). Rows whose file imports torch in a numpy exercise
(code ``uses-torch``: their checks cannot tell) are listed by student. An
exercise id the catalogue does not know keeps its rows, titled
:data:`UNKNOWN_EXERCISE`. Ids, codes and statuses are kept as the file has
them (the renderers make control characters visible). Nothing here prints.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field

from tutor.classroom import gradebook
from tutor.classroom.adapter import FATAL_KINDS
from tutor.classroom.gradebook import Row

# Codes that say how a run ended rather than which misconception it shows.
NOT_MISCONCEPTIONS = set(FATAL_KINDS) | {
    "not-run",
    "not-started",
    gradebook.MISSING,
    gradebook.UNREADABLE,
    gradebook.AMBIGUOUS,
    "empty",
    "uses-torch",
    "grader-error",
    "grader-crash",
}
BINS = ((0.0, 0.0, "0%"), (0.0, 0.25, "1-24%"), (0.25, 0.5, "25-49%"), (0.5, 0.75, "50-74%"), (0.75, 1.0, "75-99%"), (1.0, 1.0, "100%"))
STATUS_ORDER = ("done", "partial", "failed", "not started", "missing")
USES_TORCH = "uses-torch"
UNKNOWN_EXERCISE = "(an exercise this version of dnn-tutor does not know)"  # the title of an id not in the catalogue


@dataclass
class Mistake:
    code: str
    first: int  # students for whom this is the first diagnosis (the mistake to fix first)
    students: int  # students whose run shows it at all (a first mistake often trips later checks too)
    share: float  # first / the students in the gradebook for this exercise
    meaning: str
    hint: str
    lesson: int | None
    section: int | None
    section_title: str
    concept: str | None  # quiz question id
    student_ids: list[str] = field(default_factory=list)  # every student whose run shows it, sorted
    first_student_ids: list[str] = field(default_factory=list)  # those for whom it is the first mistake (``first``)
    later_student_ids: list[str] = field(default_factory=list)  # the others: each is counted under their own first mistake

    @property
    def teach(self) -> str:
        """Where to teach it again, as a command a teacher can run."""
        if self.lesson is None:
            return ""
        if self.section is None:
            return f"dnn-tutor lesson {self.lesson}"
        return f"dnn-tutor lesson {self.lesson} --section {self.section}"


@dataclass
class ExerciseReport:
    exercise: str
    title: str
    students: int
    mean: float
    median: float
    distribution: list[tuple[str, int]]
    statuses: list[tuple[str, int]]
    mistakes: list[Mistake]
    seed: int | None
    # added keys (the ones above keep their meaning: over every row, a row without a grade counting as 0)
    graded: int = 0  # rows that hold a grade (not missing, unreadable, ambiguous or a grader error)
    missing: int = 0  # rows of students without the file
    ungraded: int = 0  # the other rows without a grade: unreadable, ambiguous, grader error
    graded_mean: float | None = None  # over the graded rows only; None when there is none
    graded_median: float | None = None
    graded_distribution: list[tuple[str, int]] = field(default_factory=list)
    uses_torch: list[str] = field(default_factory=list)  # students whose file imports torch: the checks cannot tell

    def to_dict(self) -> dict:
        data = asdict(self)
        data["distribution"] = [{"range": label, "students": n} for label, n in self.distribution]
        data["graded_distribution"] = [{"range": label, "students": n} for label, n in self.graded_distribution]
        data["statuses"] = [{"status": s, "students": n} for s, n in self.statuses]
        for mistake, entry in zip(self.mistakes, data["mistakes"]):
            entry["teach"] = mistake.teach
        return data


def _meaning(code: str) -> str:
    try:
        from tutor.grading import diagnoses

        if diagnoses.is_known(code):
            return diagnoses.meaning(code)
    except ImportError:
        pass
    return "(a code this version of dnn-tutor does not know)"


def _general_hint(code: str) -> str:
    try:
        from tutor.grading import diagnoses

        if diagnoses.is_known(code) and hasattr(diagnoses, "hint"):
            return diagnoses.hint(code)
    except ImportError:
        pass
    return ""


def _sections() -> tuple[dict, dict]:
    """(question id -> Question, lesson number -> Lesson), each empty when the content cannot be read."""
    questions: dict = {}
    lessons: dict = {}
    try:
        from tutor.quiz.bank import load_bank

        questions = load_bank().by_id()
    except Exception:  # noqa: BLE001 - the report still works without the quiz bank
        pass
    try:
        from tutor.lessons import load_course

        lessons = {lesson.number: lesson for lesson in load_course().lessons}
    except Exception:  # noqa: BLE001 - or without the lessons
        pass
    return questions, lessons


def _bin(score: float) -> str:
    if score <= 0:
        return "0%"
    if score >= 1:
        return "100%"
    for low, high, label in BINS[1:-1]:
        if low <= score < high:
            return label
    return "75-99%"


def build(rows: list[Row]) -> list[ExerciseReport]:
    from tutor.grading import catalogue

    infos = catalogue.load()
    questions, lessons = _sections()
    reports = []
    for exercise in sorted({r.exercise for r in rows}):
        mine = [r for r in rows if r.exercise == exercise]
        info = infos.get(exercise)
        students = len(mine)
        scores = [r.score for r in mine]
        counts: dict[str, list[str]] = {}
        first_of: dict[str, list[str]] = {}  # code -> the students whose first mistake it is
        for row in mine:
            codes = [c for c in dict.fromkeys(row.codes) if c not in NOT_MISCONCEPTIONS]
            for code in codes:
                counts.setdefault(code, []).append(row.student)
            if codes:
                first_of.setdefault(codes[0], []).append(row.student)
        firsts = {code: len(who) for code, who in first_of.items()}
        mistakes = []
        ranked = sorted(counts.items(), key=lambda item: (-firsts.get(item[0], 0), -len(item[1]), item[0]))
        for code, who in ranked:
            concept = info.concepts.get(code) if info else None
            hint = (info.tailored.get(code) if info else None) or _general_hint(code)
            lesson_no: int | None = info.lesson if info else None
            section_no: int | None = None
            section_title = ""
            question = questions.get(concept) if concept else None
            if question is not None:
                lesson_no = question.lesson
                lesson = lessons.get(question.lesson)
                if lesson is not None and question.section:
                    for section in lesson.sections:
                        if section.slug == question.section:
                            section_no, section_title = section.index, section.title
            if section_no is None and lesson_no is not None and lesson_no in lessons:
                section_title = f"lesson {lesson_no}: {lessons[lesson_no].title}"
            elif section_no is not None:
                section_title = f"lesson {lesson_no} §{section_no}: {section_title}"
            mistakes.append(
                Mistake(
                    code=code,
                    first=firsts.get(code, 0),
                    students=len(who),
                    share=round(firsts.get(code, 0) / students, 4) if students else 0.0,
                    meaning=_meaning(code),
                    hint=hint,
                    lesson=lesson_no,
                    section=section_no,
                    section_title=section_title,
                    concept=concept,
                    student_ids=sorted(who),
                    first_student_ids=sorted(first_of.get(code, [])),
                    later_student_ids=sorted((Counter(who) - Counter(first_of.get(code, []))).elements()),
                )
            )
        status_counts: dict[str, int] = {}
        for row in mine:
            status_counts[row.status] = status_counts.get(row.status, 0) + 1
        ordered = [(s, status_counts.pop(s)) for s in STATUS_ORDER if s in status_counts]
        ordered += sorted(status_counts.items(), key=lambda item: (-item[1], item[0]))
        distribution = {label: 0 for _, _, label in BINS}
        for score in scores:
            distribution[_bin(score)] += 1
        graded = [r.score for r in mine if r.status not in gradebook.NO_GRADE]
        graded_distribution = {label: 0 for _, _, label in BINS}
        for score in graded:
            graded_distribution[_bin(score)] += 1
        missing = sum(1 for r in mine if r.status == gradebook.MISSING)
        seeds = {r.seed for r in mine}
        reports.append(
            ExerciseReport(
                exercise=exercise,
                title=info.title if info else UNKNOWN_EXERCISE,
                students=students,
                mean=round(statistics.fmean(scores), 4) if scores else 0.0,
                median=round(statistics.median(scores), 4) if scores else 0.0,
                distribution=list(distribution.items()),
                statuses=ordered,
                mistakes=mistakes,
                seed=seeds.pop() if len(seeds) == 1 else None,
                graded=len(graded),
                missing=missing,
                ungraded=students - len(graded) - missing,
                graded_mean=round(statistics.fmean(graded), 4) if graded else None,
                graded_median=round(statistics.median(graded), 4) if graded else None,
                graded_distribution=list(graded_distribution.items()),
                uses_torch=sorted({r.student for r in mine if USES_TORCH in r.codes}),
            )
        )
    return reports
