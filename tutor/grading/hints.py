"""The hint ladder: which hint comes next, remembered per exercise in a small JSON file.

The file (``exercise-hints.json`` in the learner's home) holds, per exercise,
the ladder position and the diagnostic codes of the last failing ``check``.
After a failing check the first ``hint`` is the advice tailored to its first
known code; later ones climb the general ladder. Never prints.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from tutor import paths
from tutor.grading.catalogue import ExerciseInfo

STATE_FILE = "exercise-hints.json"


@dataclass
class Hint:
    exercise_id: str
    text: str
    kind: str  # "tailored" or "ladder"
    step: int  # ladder position shown (1-based); for tailored, the next ladder step
    steps: int
    code: str | None = None
    last: bool = False


def state_path() -> Path:
    return paths.home_dir() / STATE_FILE


def load_state() -> dict:
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_state(state: dict) -> None:
    path = state_path()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # two checks at once never share a temp file
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def record_check(exercise_id: str, codes: list[str]) -> None:
    """Remember the failing codes of the latest check (empty when it passed)."""
    state = load_state()
    entry = state.get(exercise_id) if isinstance(state.get(exercise_id), dict) else {}
    entry["codes"] = list(codes)
    entry["tailored_shown"] = []
    state[exercise_id] = entry
    save_state(state)


def next_hint(info: ExerciseInfo) -> Hint:
    state = load_state()
    entry = state.get(info.id) if isinstance(state.get(info.id), dict) else {}
    position = int(entry.get("position", 0)) if str(entry.get("position", 0)).isdigit() else 0
    steps = len(info.hints)
    shown = list(entry.get("tailored_shown", []))
    known = [code for code in entry.get("codes", []) if code in info.tailored]
    for code in known[:1]:  # the first diagnosis is the one to fix first
        if code not in shown:
            shown.append(code)
            entry["tailored_shown"] = shown
            state[info.id] = entry
            save_state(state)
            return Hint(info.id, info.tailored[code], "tailored", min(position + 1, steps), steps, code=code)
    index = min(position, steps - 1)
    entry["position"] = min(position + 1, steps)
    state[info.id] = entry
    save_state(state)
    return Hint(info.id, info.hints[index], "ladder", index + 1, steps, last=index == steps - 1)


def reset_ladder(exercise_id: str) -> None:
    state = load_state()
    if exercise_id in state:
        state.pop(exercise_id)
        save_state(state)
