"""What the learner has done, summarised for the home screen, ``lessons`` and ``progress``.

Pure logic over the course and the store: returns dataclasses, never prints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # importing this module stays cheap: the grader uses exercise_label
    from tutor.export_schema import KnownIds
    from tutor.grading.catalogue import ExerciseInfo
    from tutor.lessons import Course
    from tutor.store import Store


def exercise_label(passed: int, total: int, started: bool = True) -> str:
    """The one exercise-status rule, for ``exercises``, ``progress`` and ``check``:
    "not started" (no graded attempt, or an untouched starter), "done" (every check
    passed) or "n of m checks"."""
    if not started or total <= 0:
        return "not started"
    return "done" if passed >= total else f"{passed} of {total} checks"


@dataclass(frozen=True)
class LessonStatus:
    number: int
    id: str
    title: str
    minutes: int
    sections_total: int
    sections_read: tuple[int, ...]
    completed_at: str | None

    @property
    def done(self) -> bool:
        return self.completed_at is not None

    @property
    def started(self) -> bool:
        return bool(self.sections_read)

    @property
    def next_section(self) -> int:
        """First unread section (1 when everything is read, for a re-read)."""
        for index in range(1, self.sections_total + 1):
            if index not in self.sections_read:
                return index
        return 1

    @property
    def label(self) -> str:
        if self.done:
            return "done"
        if self.started:
            return f"{len(self.sections_read)}/{self.sections_total} sections"
        return "not started"

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(done=self.done, status=self.label, sections_read=list(self.sections_read))
        return data


@dataclass(frozen=True)
class NextStep:
    command: str
    reason: str


@dataclass(frozen=True)
class ExerciseStatus:
    id: str
    lesson: int
    passed: int
    total: int  # 0 until the first graded attempt
    at: str  # "" until the first graded attempt
    last_passed: int | None = None  # the latest attempt, where it scored below the best (a later edit broke it)
    last_total: int | None = None
    file_reset: bool = False  # attempted, but the learner's file holds the starter again (`reset`): the record stays

    @property
    def done(self) -> bool:
        return self.label == "done"

    @property
    def label(self) -> str:
        return exercise_label(self.passed, self.total)


@dataclass(frozen=True)
class Dashboard:
    lessons: tuple[LessonStatus, ...]
    exercises: tuple[ExerciseStatus, ...]
    quiz_cards: int
    quiz_reviews: int
    quiz_correct: int
    due_now: int
    due_today: int
    due_week: int
    next_due: str | None
    demo_runs: int
    last_demo: dict | None
    next_steps: tuple[NextStep, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return {
            "lessons": [l.to_dict() for l in self.lessons],
            "lessons_done": sum(l.done for l in self.lessons),
            "exercises": [asdict(e) | {"done": e.done, "status": e.label} for e in self.exercises],
            "quiz": {
                "cards": self.quiz_cards,
                "reviews": self.quiz_reviews,
                "correct": self.quiz_correct,
                "due_now": self.due_now,
                "due_today": self.due_today,
                "due_week": self.due_week,
                "next_due": self.next_due,
            },
            "demos": {"runs": self.demo_runs, "last": self.last_demo},
            "next_steps": [asdict(s) for s in self.next_steps],
        }


def lesson_statuses(course: Course, store: Store) -> tuple[LessonStatus, ...]:
    read = store.sections_read()
    completed = store.lessons_completed()
    return tuple(
        LessonStatus(
            number=lesson.number,
            id=lesson.id,
            title=lesson.title,
            minutes=lesson.minutes,
            sections_total=len(lesson.sections),
            sections_read=tuple(sorted(s for s in read.get(lesson.id, set()) if s <= len(lesson.sections))),
            completed_at=completed.get(lesson.id),
        )
        for lesson in course.lessons
    )


def next_steps(statuses: tuple[LessonStatus, ...], due_now: int, exercises: tuple[ExerciseStatus, ...] = (),
               files: dict[str, str] | None = None) -> tuple[NextStep, ...]:
    """What to do next. ``due_now`` counts the cards due at this moment: exactly what
    ``quiz --review`` asks (one meaning of "due" everywhere). An exercise with checks still
    failing comes next after the lessons; with every lesson read, one not yet tried does."""
    from tutor.quiz.bank import plural

    steps: list[NextStep] = []
    if due_now:
        are = "is" if due_now == 1 else "are"
        steps.append(NextStep("dnn-tutor quiz --review", f"{plural(due_now, 'quiz card')} {are} due for review now"))
    current = next((s for s in statuses if s.started and not s.done), None)
    upcoming = next((s for s in statuses if not s.done), None)
    target = current or upcoming
    if target is not None:
        if target.started:
            steps.append(
                NextStep(
                    f"dnn-tutor lesson {target.number} --section {target.next_section}",
                    f"carry on with lesson {target.number}, {target.title} (section {target.next_section} of {target.sections_total})",
                )
            )
        else:
            steps.append(NextStep(f"dnn-tutor lesson {target.number}", f"start lesson {target.number}, {target.title}"))
    files = files or {}
    unfinished = next((e for e in sorted(exercises, key=lambda e: e.lesson) if e.total and not e.done), None)
    untried = [e for e in exercises if not e.total]
    if unfinished is not None:
        file = files.get(unfinished.id, f"{unfinished.id}.py")
        from tutor.grading.workspace import check_path

        steps.append(NextStep(f"dnn-tutor check {check_path(file)}", f"finish the {unfinished.id} exercise ({unfinished.label})"))
    elif target is None and statuses and untried:
        steps.append(NextStep("dnn-tutor exercises", f"every lesson is done; {plural(len(untried), 'exercise')} not tried yet"))
    if target is None and statuses and unfinished is None and not untried:
        steps.append(NextStep("dnn-tutor quiz", "every lesson and exercise is done: keep it fresh with a quiz"))
    return tuple(steps)


def after_pass(exercise_id: str, exercises: tuple[ExerciseStatus, ...], lessons: Callable[[], tuple[LessonStatus, ...]],
               files: dict[str, str] | None = None) -> NextStep:
    """What to do after every check of ``exercise_id`` passed: the next exercise not done yet (in course order,
    after this one first), with its check command; when every exercise is done, the lesson to read next or a
    quiz. ``lessons`` is called only then (reading the course costs a little)."""
    from tutor.quiz.bank import plural

    ordered = sorted(exercises, key=lambda e: e.lesson)
    at = next((i for i, e in enumerate(ordered) if e.id == exercise_id), -1)
    todo = next((e for e in ordered[at + 1:] + ordered[:at + 1] if e.id != exercise_id and not e.done), None)
    if todo is not None:
        from tutor.grading.workspace import check_path

        file = (files or {}).get(todo.id, f"{todo.id}.py")
        state = f"{todo.passed} of {todo.total} checks so far" if todo.total else "not started yet"
        return NextStep(f"dnn-tutor check {check_path(file)}", f"the {todo.id} exercise (lesson {todo.lesson}), {state}")
    statuses = lessons()
    for step in next_steps(statuses, 0, exercises, files):
        if step.command.startswith("dnn-tutor lesson "):
            return NextStep(step.command, f"every exercise is done; {step.reason}")
        return step
    return NextStep("dnn-tutor quiz", f"every exercise is done ({plural(len(exercises), 'exercise')}): keep it fresh with a quiz")


def next_after_pass(store: Store, exercise_id: str) -> NextStep:
    """:func:`after_pass` for the learner's own progress (after their check was recorded)."""

    def lessons() -> tuple[LessonStatus, ...]:
        from tutor.lessons import LessonError, load_course

        try:
            return lesson_statuses(load_course(), store)
        except LessonError:  # a broken DNN_TUTOR_LESSONS: the quiz is still a next step
            return ()

    return after_pass(exercise_id, exercise_statuses(store), lessons, _exercise_files())


def first_not_done(exercises: tuple[ExerciseStatus, ...]) -> ExerciseStatus | None:
    """The first exercise in course order that is not done yet (None when every one is): what ``init`` suggests."""
    return next((e for e in sorted(exercises, key=lambda e: e.lesson) if not e.done), None)


def _exercise_files() -> dict[str, str]:
    from tutor.grading import catalogue

    return {info.id: info.file for info in catalogue.load().values()}


def _file_reset(info: ExerciseInfo) -> bool:
    """Whether the learner's file for ``info`` (the one ``check`` would be pointed at from here) holds the
    untouched starter: after ``reset`` (or a fresh ``init``) its next check starts from "not started"."""
    from tutor.grading import workspace

    try:
        copy = workspace.learner_copy(info)
        return copy is not None and workspace.holds_starter(info, copy)
    except (OSError, ValueError):
        return False


def exercise_statuses(store: Store) -> tuple[ExerciseStatus, ...]:
    """Every exercise of the catalogue with its best graded attempt (total 0 when none). The record is never
    changed by a file: an attempted exercise whose file holds the starter again has ``file_reset`` set."""
    from tutor.grading import catalogue

    best = store.best_attempts()
    latest = {a.exercise_id: a for a in store.attempts()}  # in time order: the last one stays
    statuses = []
    for info in catalogue.load().values():
        attempt = best.get(info.id)
        if attempt is None:
            statuses.append(ExerciseStatus(info.id, info.lesson, 0, 0, ""))
            continue
        last = latest.get(info.id)
        worse = last is not None and last.total > 0 and last.passed * attempt.total < attempt.passed * last.total
        statuses.append(ExerciseStatus(info.id, info.lesson, attempt.passed, attempt.total, attempt.at,
                                       last.passed if worse and last else None, last.total if worse and last else None,
                                       file_reset=_file_reset(info)))
    return tuple(statuses)


def dashboard(course: Course, store: Store) -> Dashboard:
    from tutor.quiz import due_counts

    statuses = lesson_statuses(course, store)
    exercises = exercise_statuses(store)
    reviews = store.reviews()
    due = due_counts(store)
    now, today, week = due["now"], due["today"], due["week"]
    runs = store.demo_runs(limit=None)  # most recent first
    last = None
    if runs:
        run = runs[0]
        last = {"demo_id": run.demo_id, "at": run.at, "device": run.device, "seconds": run.seconds, "metrics": run.metrics}
    return Dashboard(
        lessons=statuses,
        exercises=exercises,
        quiz_cards=len(store.cards()),
        quiz_reviews=len(reviews),
        quiz_correct=sum(r.correct for r in reviews),
        due_now=now,
        due_today=today,
        due_week=week,
        next_due=due["next"],
        demo_runs=len(runs),
        last_demo=last,
        next_steps=next_steps(statuses, now, exercises, _exercise_files()),
    )



def known_ids(course: "Course | None" = None) -> "KnownIds":
    """The content ids this dnn-tutor has, for checking an imported export."""
    from tutor.demos import registry
    from tutor.export_schema import KnownIds
    from tutor.grading import catalogue
    from tutor.quiz.schedule import known_question_ids

    if course is None:
        from tutor.lessons import load_course

        course = load_course()
    questions = known_question_ids()
    return KnownIds(
        lessons={lesson.id: len(lesson.sections) for lesson in course.lessons},
        exercises=frozenset(catalogue.load()),
        demos=frozenset(registry.ids()),
        questions=frozenset(questions) if questions is not None else None,
    )
