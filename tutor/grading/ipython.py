"""IPython-only lines in a learner's file: what a notebook's cells or its export hold that is not Python.

A notebook cell may hold ``%matplotlib inline`` or ``!pip list``; a notebook exported as a ``.py`` file
(File > Save and Export As > Python) holds the same lines as ``get_ipython().run_line_magic(...)`` and
``get_ipython().system(...)``, which fail outside IPython (``NameError: get_ipython``). For grading, each
such statement becomes ``pass`` at its indentation (a statement over several lines: ``pass`` and blank
lines), so every line number stays the file's own; two forms keep what later lines need: ``%time CODE``
(``run_line_magic('time', 'CODE')``) becomes CODE, which IPython runs in the notebook's namespace, and
``x = !cmd`` (``x = get_ipython().getoutput('cmd')``) becomes ``x = []`` (no output: no shell is run). A line inside a string is left alone (the tokenizer says
where statements start). Nothing here prints.
"""

from __future__ import annotations

import io
import tokenize

NOTE = "IPython only"


def without_ipython(source: str) -> tuple[str, tuple[int, ...]]:
    """(``source`` with its IPython-only statements made ``pass``, the line numbers where they start)."""
    spans: list[tuple[int, int]] = []  # (first line, last line) of each IPython-only statement
    at_start, start = True, None
    tokens: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT, tokenize.NL) and start is None:
                at_start = at_start or token.type == tokenize.NL
                continue
            if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                if start is not None and (_ipython_only(tokens) or _assigned(tokens)):
                    spans.append((start, token.start[0] if token.type == tokenize.NEWLINE else tokens[-1].end[0]))
                at_start, start, tokens = True, None, []
                continue
            if at_start:
                start, at_start = token.start[0], False
            tokens.append(token)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source, ()
    if not spans:
        return source, ()
    lines = source.split("\n")
    for first, last in spans:
        line = lines[first - 1]
        indent = line[: len(line) - len(line.lstrip())]
        statement = _stand_in("\n".join(lines[first - 1:last]).strip()) or "pass"
        lines[first - 1] = f"{indent}{statement}  # {line.strip()[:60]} ({NOTE})"
        for number in range(first + 1, last + 1):
            lines[number - 1] = ""
    return "\n".join(lines), tuple(first for first, _ in spans)


def _ipython_only(tokens: list[tokenize.TokenInfo]) -> bool:
    """A statement IPython runs and Python cannot: ``%magic``, ``%%cell magic``, ``!shell``, or a call on
    ``get_ipython()`` (what an export writes for them)."""
    first = tokens[0]
    if first.string in ("%", "!", "%%") and first.start[1] == len(first.line) - len(first.line.lstrip()):
        return True
    return [t.string for t in tokens[:4]] == ["get_ipython", "(", ")", "."]


def _assigned(tokens: list[tokenize.TokenInfo]) -> bool:
    """``x = get_ipython().…`` (what ``x = !cmd`` exports as)."""
    words = [t.string for t in tokens]
    return any(word == "=" and words[i + 1:i + 5] == ["get_ipython", "(", ")", "."] for i, word in enumerate(words))


def _stand_in(statement: str) -> str:
    """The one line of Python that does what later lines need of an IPython-only statement, or "" (``pass``)."""
    import ast

    if statement.startswith("%time ") and "\n" not in statement:
        code = statement[len("%time "):].strip()
        return code if _parses(code) else ""
    try:
        node = ast.parse(statement).body[0]
    except (SyntaxError, ValueError, IndexError, RecursionError):
        return ""
    call = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
        return ""
    args = [a.value for a in call.args if isinstance(a, ast.Constant)]
    if isinstance(node, ast.Assign):
        return " = ".join(ast.unparse(t) for t in node.targets) + (" = []" if call.func.attr == "getoutput" else " = None")
    if call.func.attr == "run_line_magic" and len(args) == 2 and args[0] == "time" and isinstance(args[1], str) \
            and "\n" not in args[1] and _parses(args[1]):
        return args[1]
    return ""


def _parses(code: str) -> bool:
    import ast

    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return False
    return True
