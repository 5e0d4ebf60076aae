"""Number options typed as text (``--seed``, ``--timeout``, ``--jobs``, ``--count``), read one way everywhere.

ASCII digits only: ``int`` and ``float`` would also take ``1_0``, ``+5``, ``٥`` or ``５``. A refusal names the
flag, what it takes and what came, in the demos' words. Nothing here prints.
"""

from __future__ import annotations

import math
import re

from tutor.errors import TutorError

SEED_MAX = 2**63 - 1  # check, grade, the quiz and %%dnn_check (the demos' seeds stop at 2**32 - 1, what their libraries take)
_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def shown(text: str) -> str:
    """A refused value as a message quotes it: long ones shortened."""
    return text if len(text) <= 40 else text[:37] + "..."


def whole_number(text: str | None, flag: str, low: int, high: int) -> int | None:
    """``text`` as a whole number from ``low`` to ``high`` (None stays None); a number thousands of digits
    long is refused, not converted."""
    if text is None:
        return None
    digits = text.strip()
    if digits.isascii() and digits.isdecimal() and len(digits.lstrip("0")) <= len(str(high)):
        value = int(digits)
        if low <= value <= high:
            return value
    raise TutorError(f"{flag}: expected a whole number from {low:,} to {high:,}, got {shown(text)!r}")


def seconds(text: object, flag: str, low: float, high: float) -> float:
    """``text`` (or a number) as a number of seconds from ``low`` to ``high``."""
    value = math.nan
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    elif isinstance(text, str) and len(text) <= 100 and _DECIMAL.fullmatch(text.strip()):
        value = float(text.strip())
    if not (math.isfinite(value) and low <= value <= high):
        quoted = shown(text) if isinstance(text, str) else text
        raise TutorError(f"{flag}: expected a number of seconds from {low:g} to {high:,g}, got {quoted!r}")
    return value
