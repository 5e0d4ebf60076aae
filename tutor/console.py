"""The one module that owns the consoles.

Renderers return rich objects; commands hand them to :func:`out` or, for
errors and warnings, to :func:`err` (stderr). ``NO_COLOR`` turns colour off;
``TERM=dumb`` gets no colour and no cursor codes; an output that cannot encode
Unicode (``PYTHONIOENCODING=ascii``, a Latin-1 terminal) gets ASCII stand-ins
for the glyphs (``✓`` -> ``v``, ``█`` -> ``#``, ``σ`` -> ``sigma``), never a
traceback. :func:`is_interactive` decides between prompts and the plain
fallback.
"""

from __future__ import annotations

import codecs
import os
import sys
import unicodedata

from rich.console import Console

# Glyphs the renderers and the lessons use, with ASCII stand-ins (anything else
# that cannot be encoded becomes its closest ASCII letter, or '?').
ASCII_GLYPHS = {
    "✓": "v", "✔": "v", "✗": "x", "✘": "x", "█": "#", "▓": "#", "▒": "+", "░": "-", "•": "*", "·": "*",
    "…": "...", "→": "->", "←": "<-", "↑": "^", "↓": "v", "↳": "->", "⇒": "=>", "▶": ">", "►": ">",
    "✎": "*", "›": ">", "‹": "<", "—": "--", "–": "-", "−": "-", "‘": "'", "’": "'", "“": '"', "”": '"',
    "×": "x", "÷": "/", "≈": "~", "≤": "<=", "≥": ">=", "≠": "!=", "±": "+-", "∞": "inf", "√": "sqrt",
    "∑": "sum", "Σ": "Sum", "∏": "prod", "∂": "d", "∇": "grad", "∈": "in", "⊙": "(.)", "⋅": "*", "∘": "o",
    "²": "^2", "³": "^3", "¹": "^1", "⁻": "^-", "ᵀ": "^T", "₀": "0", "₁": "1", "₂": "2", "₃": "3", "ₜ": "t",
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "eps", "η": "eta", "θ": "theta",
    "λ": "lambda", "μ": "mu", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "φ": "phi", "ω": "omega",
    "Δ": "Delta", "Θ": "Theta", "Ω": "Omega", "°": " deg", "│": "|", "─": "-", "━": "-", "┃": "|",
    "╭": "+", "╮": "+", "╰": "+", "╯": "+", "┌": "+", "┐": "+", "└": "+", "┘": "+", "├": "+", "┤": "+",
    "┬": "+", "┴": "+", "┼": "+", "═": "=", "║": "|", "▸": ">", "◆": "*", "○": "o", "●": "*", "↵": "<-'",
    "↩": "\\", "↪": ">",
}
_TABLE = str.maketrans(ASCII_GLYPHS)
# Glyphs whose stand-in is a word ("lambda", "Sum"): kept apart from a neighbouring letter or digit,
# so that "2λw" reads "2 lambda w", not "2lambdaw".
_WORDY = frozenset(k for k, v in ASCII_GLYPHS.items() if len(v) > 1 and v.isalpha())


def _spell_out(text: str) -> str:
    """Replace glyphs with ASCII stand-ins, keeping maths readable: a middle dot between spaces is a
    separator (" - "), elsewhere it is multiplication ("*"); word stand-ins get spaces around them."""
    if not any(ch in _WORDY or ch == "·" for ch in text):
        return text.translate(_TABLE)
    out: list[str] = []
    last = len(text) - 1
    for i, ch in enumerate(text):
        if ch == "·":
            spaced = 0 < i < last and text[i - 1] == " " and text[i + 1] == " "
            out.append("-" if spaced else "*")
        elif ch in _WORDY:
            word = ASCII_GLYPHS[ch]
            if out and out[-1][-1:].isalnum():
                word = " " + word
            if i < last and text[i + 1].isalnum():
                word += " "
            out.append(word)
        else:
            out.append(ch.translate(_TABLE))
    return "".join(out)


def _no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


def is_dumb() -> bool:
    return os.environ.get("TERM", "").strip().lower() in ("dumb", "unknown")


def encodes_unicode(stream=None) -> bool:
    """True when ``stream`` (default stdout) can take any Unicode text."""
    stream = stream if stream is not None else sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        return codecs.lookup(encoding).name in ("utf-8", "utf-16", "utf-32", "utf-8-sig")
    except LookupError:
        return False


def to_ascii(text: str, encoding: str = "ascii") -> str:
    """``text`` with glyphs replaced by ASCII stand-ins and whatever ``encoding`` lacks made safe."""
    text = _spell_out(text)
    try:
        text.encode(encoding)
        return text
    except (UnicodeEncodeError, LookupError):
        pass
    out = []
    for ch in text:
        try:
            ch.encode(encoding)
            out.append(ch)
        except (UnicodeEncodeError, LookupError):
            plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
            out.append(plain or "?")
    return "".join(out)


def for_stream(text: str, stream) -> str:
    """``text`` as ``stream`` can take it: unchanged on UTF-8, ASCII stand-ins elsewhere."""
    if encodes_unicode(stream):
        return text
    return to_ascii(text, getattr(stream, "encoding", None) or "ascii")


class SafeStream:
    """A text stream that never raises UnicodeEncodeError: unencodable glyphs become ASCII."""

    def __init__(self, stream):
        self._stream = stream
        self._encoding = getattr(stream, "encoding", None) or "ascii"

    def write(self, text: str) -> int:
        self._stream.write(to_ascii(text, self._encoding))
        return len(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _safe(stream):
    return stream if stream is None or encodes_unicode(stream) else SafeStream(stream)


MAX_COLUMNS = 500  # COLUMNS=99999999 made rich lay every line out (and pad it) at that width: minutes, megabytes


MIN_COLUMNS = 20  # COLUMNS=0 made rich print nothing at all, errors included, while progress was still saved
MIN_LINES = 5


def _size(stream) -> dict:
    """The real size of a dumb terminal (rich assumes 80x25 there); a COLUMNS past MAX_COLUMNS capped,
    and a COLUMNS or LINES too small to lay anything out ignored (the terminal's own size, else 80x25)."""
    columns, lines = _env_number("COLUMNS"), _env_number("LINES")
    if columns is not None and columns > MAX_COLUMNS:
        return {"width": MAX_COLUMNS}
    narrow = columns is not None and columns < MIN_COLUMNS
    short = lines is not None and lines < MIN_LINES
    if narrow or short:
        real = _terminal_size(stream)
        size: dict = {}
        if narrow:
            size["width"] = max(MIN_COLUMNS, min(real[0], MAX_COLUMNS)) if real else 80
        elif columns is None and real and is_dumb():  # rich would take 80 in a dumb terminal
            size["width"] = min(real[0], MAX_COLUMNS)
        if short:
            size["height"] = max(MIN_LINES, min(real[1], 1000)) if real else 25
        elif lines is None and real and is_dumb():
            size["height"] = min(real[1], 1000)
        return size
    if not (is_dumb() and _isatty(stream)):
        return {}
    import shutil

    dumb = shutil.get_terminal_size((80, 24))
    return {"width": min(dumb.columns, MAX_COLUMNS), "height": min(dumb.lines, 1000)}


def _env_number(name: str) -> int | None:
    """A variable such as COLUMNS as a whole number (None when unset or not plain digits)."""
    text = os.environ.get(name, "").strip()
    if not (text.isascii() and text.isdecimal()):
        return None
    return int(text) if len(text) < 10 else 10**9  # COLUMNS=999…9 (thousands of digits): simply huge


def _terminal_size(stream) -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, ValueError, OSError):
        return None
    return (size.columns, size.lines) if size.columns > 0 and size.lines > 0 else None


KEPT_SPACE = "\ue000"  # a space that rich does not break at (not whitespace, one cell), written as a plain space


class _Console(Console):
    """rich's console, except that a reader who has gone away (``| head``) is no failure, and that
    output off a terminal has no trailing spaces.

    rich answers a closed pipe with ``SystemExit(1)``, so ``dnn-tutor lessons | head -1`` exited 1
    where ``lesson 1 | head -1`` exits 0. Here the main thread gets a ``BrokenPipeError`` instead,
    which the command line turns into a quiet exit 0 (stdout pointed at /dev/null); a live view's
    refresh thread still ends the way rich ends it.
    """

    def _render_buffer(self, buffer) -> str:
        """Off a terminal (a pipe, a file), lines lose the spaces that pad them to the width: copied
        code and text then carry no trailing blanks. A terminal gets the text as rich lays it out."""
        text = super()._render_buffer(buffer).replace(KEPT_SPACE, " ")
        if self.is_terminal or " \n" not in text:
            return text
        return "\n".join(line.rstrip(" ") for line in text.split("\n"))

    def on_broken_pipe(self) -> None:
        import errno
        import threading

        if threading.current_thread() is not threading.main_thread():
            super().on_broken_pipe()
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "the reader of this output has gone away")


def stdout_console() -> Console:
    # A fresh console per call binds to the current sys.stdout (the test runner
    # swaps it) and picks up NO_COLOR and the terminal width as they are now.
    return _Console(file=_safe(sys.stdout), no_color=_no_color(), highlight=False, emoji=False, **_size(sys.stdout))


def stderr_console() -> Console:
    """Messages on stderr: one line each in a file or a pipe; in a terminal, wrapped between words at its
    width (the terminal's own wrap would cut a word in two)."""
    return _Console(
        file=_stderr_file(), no_color=_no_color(), highlight=False, emoji=False,
        soft_wrap=not _isatty(sys.stderr), **_size(sys.stderr)
    )


def _stderr_file():
    """stderr, or where it is closed (``2>&-``) a sink: rich would write to stdout instead, into the JSON
    of ``progress --export -`` or a learner's redirected output."""
    import io

    return _safe(sys.stderr) if sys.stderr is not None else io.StringIO()


def stderr_screen() -> Console:
    """A console on stderr that lays out like stdout's (wrapping, panels): for showing a session
    on the terminal while stdout goes to a file."""
    return _Console(file=_stderr_file(), no_color=_no_color(), highlight=False, emoji=False, **_size(sys.stderr))


def out(*renderables, **kwargs) -> None:
    stdout_console().print(*renderables, **kwargs)


def err(message, **kwargs) -> None:
    stderr_console().print(message, **kwargs)


LONG_WORD = 120  # a run of characters without a space longer than this is shown shortened


def _escape(ch: str) -> str:
    """A character that is not printable, as an escape: a byte of a file name that is not UTF-8 (held as a
    lone surrogate) as the byte, ``\\xff``, the way every other place shows such a name; others as Python writes them."""
    code = ord(ch)
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else repr(ch)[1:-1]


def one_line(message: str) -> str:
    """``message`` as one printable line: control characters (a newline, an escape sequence from a file
    name) shown as escapes, and a very long word (a 10,000-character argument echoed back) shortened."""
    import re

    text = "".join(ch if ch.isprintable() or ch == " " else _escape(ch) for ch in str(message))
    return re.sub(r"\S{%d,}" % (LONG_WORD + 1), lambda m: m.group(0)[:70] + "…" + m.group(0)[-40:], text)


def error_line(message: str) -> None:
    """One line on stderr, prefixed with ``error:``; never markup-interpreted."""
    from rich.text import Text

    line = Text("error: ", style="bold red")
    line.append(one_line(message))
    stderr_console().print(line)


def warning_line(message: str) -> None:
    from rich.text import Text

    line = Text("warning: ", style="bold yellow")
    line.append(one_line(message))
    stderr_console().print(line)


def _isatty(stream) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def is_interactive() -> bool:
    """True when stdin and stdout are both terminals and ``TERM`` is not ``dumb``: prompts are allowed.

    Otherwise commands use their plain fallback (numbered answers read one per line).
    """
    return _isatty(sys.stdin) and _isatty(sys.stdout) and not is_dumb()


def stdin_is_terminal() -> bool:
    return _isatty(sys.stdin)


def stdout_is_terminal() -> bool:
    return _isatty(sys.stdout)


def stderr_is_terminal() -> bool:
    return _isatty(sys.stderr)


def stdout_is_pipe() -> bool:
    """Whether stdout is a pipe (``| less``, ``| grep``), as opposed to a file, a terminal or closed."""
    import stat

    try:
        return sys.stdout is not None and stat.S_ISFIFO(os.fstat(sys.stdout.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def stdout_closed() -> bool:
    """Whether the program was started with stdout closed (``>&-``): Python then has no ``sys.stdout``,
    and rich quietly writes into nothing."""
    return sys.stdout is None


def require_stdout(what: str, consequence: str = "") -> None:
    """For a command whose result is what it prints (a list, a report, a quiz): refuse at once, as one
    line and exit 1, where stdout is closed (``>&-``), before anything is read, asked or recorded.

    ``what`` names what cannot be shown ("the lesson list"); ``consequence`` (optional) says what was
    therefore left alone ("nothing was recorded"). Output to /dev/null, a file or a pipe is not closed;
    a pipe whose reader goes away later (``| head -1``) still ends quietly, as before."""
    if not stdout_closed():
        return
    from tutor.errors import TutorError

    message = f"standard output is closed, so {what} cannot be shown"
    raise TutorError(message + (f"; {consequence}" if consequence else ""), 1)


def write_out(text: str, *, flush: bool = False) -> None:
    """Machine-readable text (JSON) on stdout as it is; nothing where the program was started with
    stdout closed (``>&-``): there is nowhere to write, and that is no internal error."""
    stream = sys.stdout
    if stream is None:
        return
    stream.write(text)
    if flush:
        stream.flush()


LIBRARIES = {"torch": "PyTorch", "torchvision": "PyTorch"}


class StatusLine:
    """One line of status on a terminal's stderr that redraws in place (a carriage return and spaces, as
    ``loading PyTorch…``: no colour, no cursor codes) and is erased before the output that follows. A dumb
    terminal (``TERM=dumb``, where a carriage return may show as ``^M``) gets its first text as one plain line,
    left in place. A line never wraps: it is cut with ``…``, leaving room for a ``^C`` the terminal echoes."""

    def __init__(self, stream, dumb: bool) -> None:
        self._stream = stream
        self._dumb = dumb
        self._text = ""  # what the line shows now
        self._used = 0  # the most columns it has filled (what erase() blanks)
        self._done = False  # a dumb terminal's line is written, or the terminal went away

    def show(self, text: str) -> None:
        if self._done:
            return
        text = for_stream(text, self._stream)
        if self._dumb:
            self._done = True
            self._write(text + "\n")
            return
        room = self._columns() - 3
        if len(text) > room:
            text = text[:max(room - 1, 0)] + for_stream("…", self._stream)
        if text == self._text:
            return
        # the state first: a Ctrl-C just after the write (when a learner sees the line) must still find it to erase
        shown, self._text, self._used = self._text, text, max(self._used, len(text))
        self._write("\r" + text.ljust(len(shown)))

    def erase(self) -> None:
        if self._used:
            self._write("\r" + " " * min(self._used + 4, self._columns() - 1) + "\r")  # and a ^C or two echoed
            self._text, self._used = "", 0

    def _columns(self) -> int:
        try:
            return max(os.get_terminal_size(self._stream.fileno()).columns, 20)
        except (AttributeError, ValueError, OSError):
            return 80

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # a terminal that went away: what it showed goes on without its status
            self._done = True


def loading_notice(name: str):
    """For :mod:`tutor.import_guard`: ``loading PyTorch…`` on stderr while torch first imports (seconds
    of a blank screen otherwise), erased when the import ends. Only where stderr is a terminal: a pipe or
    a file gets nothing. A :class:`StatusLine`: no colour and no cursor codes (TERM=dumb too)."""
    stream = sys.stderr
    if not _isatty(stream):
        return None
    line = StatusLine(stream, dumb=False)
    line.show(f"loading {LIBRARIES.get(name, name)}…")
    return line.erase
