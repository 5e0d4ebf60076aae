"""Learner text made safe to show: control characters become visible escapes.

A learner's prints, exception messages, function names and file names can
hold terminal escape sequences (``\\x1b[2J``), carriage returns, backspaces or
bidi overrides that would redraw or reorder the screen. :func:`visible` turns
each into its escape (``\\x1b``), so it is shown, never interpreted. No rich.
"""

from __future__ import annotations

import unicodedata

_KEEP = {"\n", "\t"}


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: object, *, multiline: bool = False) -> str:
    """``text`` with every control or format character shown as an escape, never interpreted.

    Escape sequences (``\\x1b[2J``), carriage returns, backspaces, bidi
    overrides and the like become visible text. ``multiline`` keeps newlines
    and tabs (for the learner's prints); otherwise they are escaped too.
    """
    text = str(text)
    out = []
    for ch in text:
        if multiline and ch in _KEEP:
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append(_escape(ch))
        else:
            out.append(ch)
    return "".join(out)
