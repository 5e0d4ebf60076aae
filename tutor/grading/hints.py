"""The hint ladder: which hint comes next, remembered per exercise in the learner-state store.

Per exercise the store keeps the ladder position and the diagnostic codes of
the last failing ``check`` (``Store.hint_state``). After a failing check the
first ``hint`` is the advice tailored to its first known code; later ones climb
the general ladder. When a check fails for a different reason than the one
before (its first code changes), the ladder starts again from the first step:
the old hints were about a mistake that is gone.

Each function takes an optional open ``store`` (the command's); without one it
opens the learner's store for the call. Never prints.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, TypeVar

from tutor.grading.catalogue import ExerciseInfo

if TYPE_CHECKING:
    from tutor.store import Store

T = TypeVar("T")


@dataclass
class Hint:
    exercise_id: str
    text: str
    kind: str  # "tailored" or "ladder"
    step: int  # ladder position shown (1-based); for tailored, the next ladder step
    steps: int
    code: str | None = None
    last: bool = False
    unsaved: str | None = None  # why the ladder's new position could not be saved (the hint is shown anyway)
    all_passed: bool = False  # the latest check passed every check: the hint is for going over it again


def _using(store: "Store | None", work: Callable[["Store"], T]) -> T:
    if store is not None:
        return work(store)
    from tutor.store import Store

    with Store() as own:
        return work(own)


def _position(entry: dict) -> int:
    value = entry.get("position", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _codes(entry: dict, key: str) -> list[str]:
    value = entry.get(key)
    return [c for c in value if isinstance(c, str)] if isinstance(value, list) else []


def record_check(exercise_id: str, codes: list[str], store: "Store | None" = None, ok: bool = False,
                 what: str | None = None) -> None:
    """Remember the failing codes of the latest check (empty when it passed) and whether it passed every check.
    ``what``: how a failure to save it is worded (see :meth:`tutor.store.Store.set_hint_state`).

    A different first code than last time means a different mistake: the
    ladder starts again at its first step.
    """

    def work(s: "Store") -> None:
        entry = s.hint_state(exercise_id)
        before = _codes(entry, "codes")
        now = [str(c) for c in codes]
        if before[:1] != now[:1]:
            entry["position"] = 0
        entry["codes"] = now
        entry["ok"] = bool(ok)
        entry["tailored_shown"] = []
        s.set_hint_state(exercise_id, entry, what=what)

    _using(store, work)


def advice(info: ExerciseInfo, code: str) -> str | None:
    """The hint about one diagnosis: the exercise's own (info.toml), else the registry's general one.

    None for codes that say nothing about the learner's mistake ("not-run": another failure came first).
    """
    if code in info.tailored:
        return info.tailored[code]
    from tutor.grading import diagnoses

    if code == diagnoses.Diagnosis.NOT_RUN.value or not diagnoses.is_known(code):
        return None
    return diagnoses.hint(code)


def next_hint(info: ExerciseInfo, store: "Store | None" = None, show: Callable[[Hint], object] | None = None) -> Hint:
    """The next hint for ``info`` (and move the ladder on).

    ``show``: called with the hint before the ladder moves on; when it fails (the output is a closed
    pipe or a full disk) the hint was not seen, and the ladder stays where it was.
    """

    def save(s: "Store", entry: dict, hint: Hint) -> str | None:
        from tutor.errors import StoreError

        if show is not None:
            show(hint)
        try:
            s.set_hint_state(info.id, entry)
        except StoreError as exc:  # a full disk or a read-only home: the hint is still the learner's
            return exc.message
        return None

    def work(s: "Store") -> Hint:
        entry = s.hint_state(info.id)
        position = _position(entry)
        steps = len(info.hints)
        passed = entry.get("ok") is True
        shown = _codes(entry, "tailored_shown")
        known = [(code, text) for code in _codes(entry, "codes") if (text := advice(info, code))]
        for code, text in known[:1]:  # the first diagnosis is the one to fix first
            if code not in shown:
                entry["tailored_shown"] = shown + [code]
                hint = Hint(info.id, text, "tailored", min(position + 1, steps), steps, code=code, all_passed=passed)
                return dataclasses.replace(hint, unsaved=save(s, entry, hint))
        index = min(position, steps - 1)
        entry["position"] = min(position + 1, steps)
        hint = Hint(info.id, info.hints[index], "ladder", index + 1, steps, last=index == steps - 1, all_passed=passed)
        return dataclasses.replace(hint, unsaved=save(s, entry, hint))

    return _using(store, work)


def reset_ladder(exercise_id: str, store: "Store | None" = None) -> None:
    """Forget the ladder of one exercise: the next hint is the first one again."""
    _using(store, lambda s: s.set_hint_state(exercise_id, {}))
