"""IPython-only lines in a learner's file: what a notebook's cells or its export hold that is not Python.

A notebook cell may hold ``%matplotlib inline`` or ``!pip list``; a notebook exported as a ``.py`` file
(File > Save and Export As > Python) holds the same lines as ``get_ipython().run_line_magic(...)`` and
``get_ipython().system(...)``, which fail outside IPython (``NameError: get_ipython``). For grading, each
such statement becomes ``pass`` at its indentation (a statement over several lines: ``pass`` and blank
lines), so every line number stays the file's own; some forms keep what later lines need: ``%time CODE``
(``run_line_magic('time', 'CODE')``) becomes CODE, which IPython runs in the notebook's namespace; a cell
run under ``%%time``, ``%%capture`` or ``%%timeit`` (``run_cell_magic('time', '', 'CODE')``) becomes
``exec('CODE')``, so its functions are defined; ``x = !cmd`` (``x = get_ipython().getoutput('cmd')``)
becomes ``x = []`` (no output: no shell is run). Only the exact forms an export writes are changed: a
``get_ipython()`` statement that does anything else (``get_ipython().x(); f = g``, an argument that is
not a constant) is left as it is, and fails as it would in Python. A line inside a string is left alone (the tokenizer says
where statements start). Nothing here prints.
"""

from __future__ import annotations

import io
import tokenize

NOTE = "IPython only"
RUNS_CELL = ("time", "capture", "timeit")  # cell magics that run their cell in the notebook's namespace


def without_ipython(source: str) -> tuple[str, tuple[int, ...]]:
    """(``source`` with its IPython-only statements replaced, the line numbers where they start)."""
    if "\r" in source:  # Python reads a lone CR as a line end; the tokenizer would not
        source = source.replace("\r\n", "\n").replace("\r", "\n")
    spans = _statements(source)
    if spans is None:  # does not tokenize: only the bare %/! lines, so Python names the real error
        spans = [(n, n) for n, line in enumerate(source.split("\n"), 1) if _bare(line.lstrip())]
    lines = source.split("\n")
    changed = []
    for first, last in spans:
        line = lines[first - 1]
        statement = _stand_in("\n".join(lines[first - 1:last]).strip())
        if statement is None:
            continue
        indent = line[: len(line) - len(line.lstrip())]
        lines[first - 1] = f"{indent}{statement}  # {line.strip()[:60]} ({NOTE})"
        for number in range(first + 1, last + 1):
            lines[number - 1] = ""
        changed.append(first)
    return ("\n".join(lines), tuple(changed)) if changed else (source, ())


def _statements(source: str) -> list[tuple[int, int]] | None:
    """(first line, last line) of each statement that may be IPython's; None when ``source`` does not tokenize.
    A line inside a string is never one (the tokenizer says where statements start)."""
    spans: list[tuple[int, int]] = []
    at_start, start = True, None
    tokens: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT, tokenize.NL) and start is None:
                at_start = at_start or token.type == tokenize.NL
                continue
            if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                if start is not None and _maybe_ipython(tokens):
                    spans.append((start, token.start[0] if token.type == tokenize.NEWLINE else tokens[-1].end[0]))
                at_start, start, tokens = True, None, []
                continue
            if at_start:
                start, at_start = token.start[0], False
            tokens.append(token)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    return spans


def _bare(text: str) -> bool:
    """A line IPython reads as a magic or a shell command: ``%…``, ``%%…``, ``!…`` (``!=`` is Python's)."""
    return text.startswith("%") or (text.startswith("!") and not text.startswith("!="))


def _maybe_ipython(tokens: list[tokenize.TokenInfo]) -> bool:
    first = tokens[0]
    if first.string in ("%", "!", "%%") and first.start[1] == len(first.line) - len(first.line.lstrip()):
        return True
    words = [t.string for t in tokens]
    return any(word == "get_ipython" and words[i + 1:i + 4] == ["(", ")", "."] for i, word in enumerate(words))


def _stand_in(statement: str) -> str | None:
    """The one line of Python that does what later lines need of an IPython-only statement ("pass" where
    nothing), or None for a statement that is not one of the forms IPython or an export writes."""
    import ast

    if _bare(statement):
        code = statement[len("%time "):].strip() if statement.startswith("%time ") and "\n" not in statement else ""
        return code if code and _parses(code) else "pass"
    try:
        body = ast.parse(statement).body
    except (SyntaxError, ValueError, RecursionError):
        return None
    node = body[0] if len(body) == 1 else None  # `get_ipython().x(); f = g`: not an export's
    call = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and _is_get_ipython(call.func.value)
            and all(isinstance(a, ast.Constant) for a in call.args) and all(isinstance(k.value, ast.Constant) for k in call.keywords)):
        return None
    args = [a.value for a in call.args]  # type: ignore[attr-defined]
    if isinstance(node, ast.Assign):
        return " = ".join(ast.unparse(t) for t in node.targets) + (" = []" if call.func.attr == "getoutput" else " = None")
    if call.func.attr == "run_line_magic" and len(args) == 2 and args[0] == "time" and isinstance(args[1], str) \
            and "\n" not in args[1] and _parses(args[1]):
        return args[1]
    if call.func.attr == "run_cell_magic" and len(args) == 3 and args[0] in RUNS_CELL and isinstance(args[2], str) \
            and _parses(args[2]):
        return f"exec({args[2]!r})"
    return "pass"


def _is_get_ipython(node: object) -> bool:
    import ast

    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "get_ipython"
            and not node.args and not node.keywords)


def _parses(code: str) -> bool:
    import ast

    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return False
    return True
