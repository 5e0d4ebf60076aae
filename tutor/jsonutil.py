"""JSON that other tools can read: never ``NaN`` or ``Infinity``.

Python's ``json`` writes ``NaN``/``Infinity`` for non-finite floats, which no
JSON parser outside Python accepts. :func:`dumps` turns them into ``null`` and
numpy scalars and arrays into plain numbers and lists.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any


def clean(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (recursively)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {(k if isinstance(k, (str, int, bool)) else str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [clean(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return clean(dataclasses.asdict(value))
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars, torch tensors
        try:
            return clean(value.tolist())
        except Exception:  # noqa: BLE001 - anything odd falls back to text
            return str(value)
    if hasattr(value, "item") and callable(value.item):
        try:
            return clean(value.item())
        except Exception:  # noqa: BLE001
            return str(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def dumps(data: Any, indent: int | None = 2, sort_keys: bool = False) -> str:
    """Strict JSON text for ``data`` (non-finite floats become ``null``)."""
    return json.dumps(clean(data), indent=indent, sort_keys=sort_keys, allow_nan=False)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key[:60]!r} appears twice in one object")
        result[key] = value
    return result


MAX_INT_DIGITS = 4_000  # below Python's own 4,300; a long number short of it reaches the schema, which names its row


def loads_strict(text: str | bytes) -> Any:
    """Parse JSON, refusing the ``NaN``/``Infinity`` extensions Python would accept, objects
    that repeat a key (which value was meant is anyone's guess) and whole numbers of more than
    :data:`MAX_INT_DIGITS` digits (Python's own refusal past 4,300 digits advises a Python setting)."""
    return json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_refuse_duplicates,
                      parse_int=_bounded_int)


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise ValueError(f"a whole number of {digits:,} digits (at most {MAX_INT_DIGITS:,} are accepted)")
    return int(text)
