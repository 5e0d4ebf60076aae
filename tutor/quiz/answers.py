"""Reading and checking answers, forgiving about how the learner writes them.

:func:`parse` turns typed text into a value of the question's kind or raises
:class:`InvalidAnswer` with a one-line reason (the caller asks again).
:func:`is_correct` compares a parsed value with the right answer.

Numbers: a question with a ``tolerance`` states the precision it wants
("three decimals" is a tolerance of 0.0005, half the last decimal) and is graded to exactly that
precision: an answer further off is wrong, however it was rounded, so the
misconception a question exists to catch (the unchanged weight 2 for 1.99,
the exact derivative 12 for the centred difference's 12.0001) is never
accepted. Without a tolerance a whole-number answer (a parameter count) must
be exact, and any other answer must match to a relative 1e-6 or be the true
value rounded to the decimals the learner typed, at least three significant
digits of it (``0.665`` for ``0.6652``; never ``0.67``). Every non-integer
question of the shipped bank states a tolerance. The quiz reads through
:func:`parse_as_asked`: a number typed with fewer decimals than the question
asks for (``1.39`` for "three decimals") is asked again, not graded, right or
wrong (``0.5`` for 0.500 too), so being asked again never tells whether it was right.

True/false: t, true, y, yes or 1; f, false, n, no or 0 (the numbered
fallback's panel says ``t or 1``, ``f or 0``); any other number is refused.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

TRUE_WORDS = {"t", "true", "y", "yes", "1"}
FALSE_WORDS = {"f", "false", "n", "no", "0"}
# How a true/false question is answered, as the numbered fallback's panel says it (tutor.render.quiz): the
# digits it takes are on screen, and a number that is neither (2, the "second option") is refused saying so.
TRUE_FALSE_HINT = "type t or 1 (true), f or 0 (false)"
MIN_SIGNIFICANT = 3  # a rounded answer (no tolerance) keeps at least this many significant digits


class InvalidAnswer(ValueError):
    """Input that is not an answer of the right kind; ``reason`` is one line."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TooFewDecimals(InvalidAnswer):
    """A number read but typed with fewer decimals than the question asks for (asked again, not graded)."""


def uses_letters(choices) -> bool:
    """Choices that are themselves whole numbers are labelled a, b, c... so "2" is never ambiguous."""
    return any(re.fullmatch(r"[+-]?\d+", c.strip()) for c in choices)


def labels(choices) -> list[str]:
    if uses_letters(choices):
        return [chr(ord("a") + i) for i in range(len(choices))]
    return [str(i) for i in range(1, len(choices) + 1)]


def _choice_index(token: str, choices) -> int | None:
    token = token.strip().lower()
    if re.fullmatch(r"\(?[a-z0-9]+[).]?", token):  # "2", "2)", "(2)", "2." as the menu shows them
        token = token.strip("().")
    if token in labels(choices):
        return labels(choices).index(token)
    return None


def _label_range(choices) -> str:
    marks = labels(choices)
    kind = "letter" if uses_letters(choices) else "number"
    return f"{kind} from {marks[0]} to {marks[-1]}"


def _match_text(text: str, choices) -> int | None:
    """The choice whose text this is (case, spacing and a closing full stop aside)."""
    wanted = " ".join(text.lower().split()).rstrip(".")
    for i, choice in enumerate(choices):
        if " ".join(choice.lower().split()).rstrip(".") == wanted:
            return i
    return _match_number(text, choices)


def _match_number(text: str, choices) -> int | None:
    """A choice that is a number, typed in another form (0.001 for the choice 1e-3)."""
    try:
        value = float(text.strip().rstrip("."))
    except ValueError:
        return None
    found = []
    for i, choice in enumerate(choices):
        try:
            if math.isclose(float(choice.strip()), value, rel_tol=1e-12, abs_tol=0.0):
                found.append(i)
        except ValueError:
            continue
    return found[0] if len(found) == 1 else None


def parse(question, text: str):
    """The learner's text as a value of ``question.kind`` (raises :class:`InvalidAnswer`)."""
    text = (text or "").strip()
    kind = question.kind
    if not text:
        wanted = "an answer"
        if kind == "multi":
            marks = labels(question.choices)
            wanted = (f"the {'letters' if uses_letters(question.choices) else 'numbers'} of every right choice "
                      f"({marks[0]}-{marks[-1]}), separated by commas or spaces; 'none' if no choice is right")
        raise InvalidAnswer(f"type {wanted} ({_stops(question)})")
    if kind == "choice":
        return _parse_choice(question.choices, text)
    if kind == "multi":
        return _parse_multi(question.choices, text)
    if kind == "true-false":
        word = text.lower().rstrip(".!")
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        if re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", word):  # 2 (a second option?), 1.0, -1: no answer
            raise InvalidAnswer(f"{shown(text)}: {TRUE_FALSE_HINT} (q stops)")
        raise InvalidAnswer("answer true or false: t or f, yes or no (q stops)")
    if kind == "number":
        _refuse_mixed_groups(question, text)
        _refuse_ambiguous_comma(question, text)
        _refuse_thousands_points(question, text)
        return parse_number(text)
    if kind == "shape":
        hint = shape_hint(question.answer)
        sizes = parse_shape(text, hint)
        if any(not float(size).is_integer() for size in sizes) and len(sizes) != len(question.answer):
            raise InvalidAnswer(hint)  # "32.13, 13" for three sizes: a slip of the separator, not a fractional size
        return sizes
    raise InvalidAnswer(f"unknown question kind {kind!r}")  # pragma: no cover


def parse_as_asked(question, text: str):
    """:func:`parse`, as the quiz asks: a number with fewer decimals than the question asks for is refused
    (:class:`TooFewDecimals`, asked again, right or wrong: :func:`refuse_too_few_decimals`)."""
    value = parse(question, text)
    if question.kind == "number":
        refuse_too_few_decimals(question, text, value)
    return value


def takes(question, text: str) -> bool:
    """Whether ``text`` reads as an answer to ``question`` (``q`` does where a choice's text or label is q)."""
    try:
        parse(question, text)
    except InvalidAnswer:
        return False
    return True


def _stops(question) -> str:
    """How to stop the quiz at this prompt: q stops it (tutor.commands.quiz) unless q is an answer here."""
    return "Ctrl-D stops the quiz" if takes(question, "q") else "q or Ctrl-D stops the quiz"


def _q_stops(choices) -> str:
    """`` (q stops)`` where q stops the quiz (tutor.commands.quiz): where it is no choice's label or text."""
    return "" if _choice_index("q", choices) is not None or _match_text("q", choices) is not None else " (q stops)"


def _parse_choice(choices, text: str) -> str:
    index = _choice_index(text.rstrip("."), choices)
    if index is None:
        index = _match_text(text, choices)
    if index is None:
        raise InvalidAnswer(f"type a {_label_range(choices)} or a choice's text{_q_stops(choices)}")
    return choices[index]


def _parse_multi(choices, text: str) -> list[str]:
    marks = labels(choices)
    if text.lower() in {"none", "-"}:
        return []
    whole = _match_text(text, choices)
    if whole is not None:  # one choice, commas of its own and all
        return [choices[whole]]
    tokens = [t.strip("().") if re.fullmatch(r"\(?[a-z0-9]+[).]?", t) else t for t in re.split(r"[,\s;]+", text.lower()) if t]
    if all(t in marks or t.isdecimal() or (len(t) == 1 and t.isalpha()) for t in tokens):
        picked = []
        for t in tokens:
            index = _choice_index(t, choices)
            if index is None and uses_letters(choices):
                index = _match_text(t, choices)  # "0, 2" for the choices reading 0 and 2
            if index is None:
                raise InvalidAnswer(f"{shown(t)} is not a choice; the choices are {marks[0]} to {marks[-1]}{_q_stops(choices)}")
            if choices[index] not in picked:
                picked.append(choices[index])
        return picked
    # Whole choice texts separated by ';' or ',' (only when every part matches); a choice with a comma
    # of its own is matched when the parts are separated by ';'.
    picked = []
    parts = text.split(";") if ";" in text and all(_match_text(p, choices) is not None for p in text.split(";") if p.strip()) \
        else re.split(r"[;,]", text)
    for part in parts:
        if not part.strip():
            continue
        index = _match_text(part, choices)
        if index is None:
            raise InvalidAnswer(
                f"type the labels of every right choice ({marks[0]}-{marks[-1]}), separated by commas or spaces"
            )
        if choices[index] not in picked:
            picked.append(choices[index])
    return picked


_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_THOUSANDS_RE = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
COMMA_HINT = "use a decimal point, e.g. 1.386 (a comma only groups thousands)"


_SPACES = "[ \u00a0\u2009\u202f]"  # a space, a no-break space, a thin space, a narrow no-break space


def _clean(text: str) -> str:
    return re.sub(_SPACES, "", text.strip().replace("_", "")).replace("\u2212", "-")


def _answer_value(question) -> float | None:
    """The question's answer as a finite number, or None (not a number question)."""
    try:
        answer = float(question.answer)
    except (TypeError, ValueError):
        return None
    return answer if math.isfinite(answer) else None


def _is_count(question) -> bool:
    """A whole-number answer without a tolerance (a parameter count): it has no decimals to type."""
    answer = _answer_value(question)
    return answer is not None and answer.is_integer() and getattr(question, "tolerance", None) is None


def _refuse_mixed_groups(question, text: str) -> None:
    """``18 496,000`` for a count: thousands grouped by spaces and commas at once. "Use a decimal point"
    would mislead (a count has none): say how to type it with one kind of separator, or none."""
    spaced = re.sub(_SPACES, " ", text.strip())
    if not (" " in spaced and "," in spaced and re.fullmatch(r"[+-]?[1-9]\d{0,2}(?:(?: +|,)\d{3})+", spaced)):
        return
    if _is_count(question):
        whole = re.sub(r"[ ,]", "", spaced)
        raise InvalidAnswer(f"mixed separators: type {whole} or {int(whole):,}")


def _refuse_ambiguous_comma(question, text: str) -> None:
    """``1,386`` is 1386 to some learners and 1.386 to others: ask again where the question's answer is not whole.

    For a count (a whole-number answer) a comma can only group thousands, so ``401,920`` is read as 401920.
    """
    cleaned = _clean(text)
    if not re.fullmatch(r"[+-]?[1-9]\d{0,2},\d{3}", cleaned):  # (0,665 is refused by parse_number)
        return
    answer = _answer_value(question)
    if answer is not None and not answer.is_integer():
        raise InvalidAnswer(f"{cleaned}: type {cleaned.replace(',', '.')} or {cleaned.replace(',', '')} (no commas)")


_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SUPERSCRIPT_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+")
# 9.5×10^-7, 9.5*10**-7, 9.5·10^(-7) (and 10⁻⁷, written 10^-7 first): the power must be marked, so that
# 2x100 or 4*1000 (products) are never read as 2e0 or 4e0
_TIMES_TEN_RE = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))[x×*·]10(?:\^|\*\*)(\(([+-]?\d+)\)|[+-]?\d+)")
_UNIT_RE = re.compile(r"([+-]?(?:\d+(?:[.,]\d*)*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z][a-zA-Z ]*)")


def _refuse_thousands_points(question, text: str) -> None:
    """``401.920`` for a count: a point groups thousands in some countries but is a decimal point here,
    and a count has no decimals, so ask rather than mark 401.92 wrong.

    With one point the text is also a decimal (12.000 is 12): it is asked again whenever the grouped
    reading is nearer the answer's order of magnitude than the decimal one, right or wrong, so that
    being asked again never tells the learner their number was right (401.408, the count without its
    biases, is asked like 401.920). Nearer as a decimal (421.875 for a count of 422), it is that decimal."""
    cleaned = _clean(text)
    if not re.fullmatch(r"[+-]?[1-9]\d{0,2}(\.\d{3})+", cleaned) or not _is_count(question):
        return
    whole = cleaned.replace(".", "")
    if cleaned.count(".") == 1 and not _nearer_grouped(float(whole), float(cleaned), float(question.answer)):
        return
    raise InvalidAnswer(f"a point is a decimal point: type {whole} or {int(whole):,}")


def refuse_too_few_decimals(question, text: str, value: float) -> None:
    """``1.39`` for a question asking for three decimals (answer 1.386): asked again, not graded, and so is
    every answer with fewer decimals than asked, right or wrong (0.5 for 0.500 too): taking the short answers
    that were right made being asked again say "wrong", so a learner could try values for free until one was
    taken. A whole number (the unchanged weight 1, the exact 12) has no decimals to be short of: it is graded,
    right or wrong, as is a fraction (1/3)."""
    asked = question.decimals_asked() if hasattr(question, "decimals_asked") else None
    if asked is None:
        return
    typed = _without_full_stop(text.strip())  # a sentence's full stop is no decimal typed
    places = decimals_typed(typed)
    pointed = places == 0 and typed.endswith(".")  # "2." for 2.303: a decimal begun, none typed
    if places is None or places >= asked or (places < 1 and not pointed):
        return
    raise TooFewDecimals(f"{shown(typed)} has {places} decimal{'' if places == 1 else 's'}; this question asks for {asked}")


def _nearer_grouped(grouped: float, decimal: float, answer: float) -> bool:
    """Whether ``grouped`` is nearer ``answer`` than ``decimal`` in order of magnitude (|log10 of the ratio|)."""
    if answer == 0:
        return False  # no order of magnitude to compare with: the number as typed
    return abs(math.log10(abs(grouped / answer))) < abs(math.log10(abs(decimal / answer)))


def _scientific(text: str) -> str:
    """``_clean`` text with 9.5×10^-7 (or 9.5 x 10**-7, 9.5·10⁻⁷) written as 9.5e-7."""
    cleaned = _SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group(0).translate(_SUPERSCRIPTS), _clean(text))
    times_ten = _TIMES_TEN_RE.fullmatch(cleaned.lower()) or _TIMES_TEN_RE.fullmatch("1x" + cleaned.lower())  # 10^-3
    if not times_ten:
        return cleaned
    power = times_ten.group(3) if times_ten.group(3) is not None else times_ten.group(2)
    return f"{times_ten.group(1)}e{power}"


# digits split by spaces: "12 000" and "0.000 001" group thousands; "1 2" is not a number
_SPACED_DIGITS = re.compile(r"\d(?:" + _SPACES + r"+\d+)+")


def _refuse_spaced_digits(text: str) -> None:
    for run in _SPACED_DIGITS.finditer(text):
        start = run.start()
        while start > 0 and text[start - 1].isdigit():
            start -= 1
        digits = re.sub(r"\s+", " ", text[start:run.end()])
        after_point = start > 0 and text[start - 1] in ".,"
        pattern = r"\d{3}( \d{3})*( \d{1,2})?" if after_point else r"\d{1,3}( \d{3})+"
        if not re.fullmatch(pattern, digits):
            while start > 0 and (text[start - 1].isdigit() or text[start - 1] in ".,+-"):
                start -= 1
            number = re.sub(r"\s+", " ", text[start:run.end()])
            raise InvalidAnswer(f"'{shown(number)}': a space only groups thousands, as in 12 000")


SHOWN = 24  # characters of the learner's text quoted in a reason (a 2000-character line is not repeated)


def shown(text: str) -> str:
    """The learner's text as a reason quotes it: one line, printable, at most :data:`SHOWN` characters."""
    text = "".join(ch if ch.isprintable() else "?" for ch in " ".join(text.split()))
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


_NON_FINITE_RE = re.compile(r"[+-]?(?:nan|inf|infinity|∞)", re.IGNORECASE)
_COMMA_NUMBER_RE = re.compile(r"[+-]?[\d.,]*\d[\d.,]*(?:[eE][+-]?\d+)?")  # digits with commas: a slip of the separator


def _finite(value: float, number: str, typed: str) -> float:
    """``value`` (read from ``number``, typed as ``typed``), refused with the reason where it overflowed to
    infinity or underflowed to 0 (1e-999 is no 0)."""
    if not math.isfinite(value):
        raise InvalidAnswer(f"{shown(typed)} is too large to read: type a finite number")
    if value == 0 and re.search(r"[1-9]", re.split(r"[eE]", number, maxsplit=1)[0]):
        raise InvalidAnswer(f"{shown(typed)} is too small to read (type 0 if you mean 0)")
    return value


def _without_full_stop(text: str) -> str:
    """``0.001.`` or ``9.5e-7.`` (a number that already has its point, or an exponent, then a sentence's full
    stop): stripped, without that stop; any other text as it is."""
    if re.fullmatch(r".*\d\.\d*\.|.*[eE][+-]?\d+\.", text.strip()):
        return text.strip()[:-1]
    return text


def parse_number(text: str) -> float:
    if _NON_FINITE_RE.fullmatch(_clean(text)):  # nan, inf, -infinity, ∞: float() reads them, no answer is one
        raise InvalidAnswer(f"{shown(text)} is not a finite number: type one such as 0.25 or 1e-3")
    _refuse_spaced_digits(text)
    text = _without_full_stop(text)
    cleaned = _scientific(text)
    unit = _UNIT_RE.fullmatch(text.strip().replace("_", ""))
    if unit and unit.group(2).strip().lower() not in ("e", "inf", "nan"):
        raise InvalidAnswer(f"type just the number, without '{shown(unit.group(2).strip())}' (e.g. {shown(unit.group(1))})")
    if re.fullmatch(r"[+-]?0\d*,\d+", cleaned):  # 0,665: a decimal comma, never thousands
        raise InvalidAnswer(f"use a decimal point: {cleaned.replace(',', '.')}, not {cleaned}")
    if _THOUSANDS_RE.fullmatch(cleaned):  # 1,234,567
        cleaned = cleaned.replace(",", "")
    elif "," in cleaned and _COMMA_NUMBER_RE.fullmatch(cleaned):
        raise InvalidAnswer(COMMA_HINT)  # (a,b or (32,) is no number with a comma: the general hint below)
    if "/" in cleaned:  # a simple fraction such as 1/3
        top, _, bottom = cleaned.partition("/")
        if _NUMBER_RE.match(top) and _NUMBER_RE.match(bottom) and float(bottom) == 0:
            raise InvalidAnswer(f"{shown(text)} divides by zero: type a number such as 0.25 or 1/3")
        if _NUMBER_RE.match(top) and _NUMBER_RE.match(bottom):
            try:
                quotient = float(top) / float(bottom)
            except OverflowError:
                quotient = math.inf
            if not (math.isfinite(quotient) and math.isfinite(float(top)) and math.isfinite(float(bottom))):
                raise InvalidAnswer(f"{shown(text)} is too large to read: type a finite number")  # 1e308/1e-308
            _finite(float(top), top, text)
            return quotient
        raise InvalidAnswer("type a number such as 0.25, 1e-3, 1/3 or 1234")
    if cleaned.endswith("%") and _NUMBER_RE.match(cleaned[:-1]):
        raise InvalidAnswer("type the number without '%' (e.g. 0.25 rather than 25%)")
    if not _NUMBER_RE.match(cleaned):
        raise InvalidAnswer("type a number such as 0.25, 1e-3, 1/3 or 1234")
    return _finite(float(cleaned), cleaned, text)


def decimals_typed(text: str) -> int | None:
    """The decimal place of the last digit the learner typed (``"0.665"`` -> 3, ``"1.2e3"`` -> -2)."""
    cleaned = _scientific(text).replace(",", "")
    if "/" in cleaned:
        return None
    try:
        exponent = Decimal(cleaned).as_tuple().exponent
    except (InvalidOperation, ValueError):
        return None
    return -int(exponent) if isinstance(exponent, int) else None


SHAPE_HINT = "type a shape: (32, 13, 13), 32x13x13 or 32 13 13"  # the one wording, prompts and hints alike
# example sizes for an answer of so many dimensions; a size the answer has is swapped for a spare one
_SHAPE_EXAMPLES = {1: (7,), 2: (32, 13), 3: (32, 13, 13), 4: (8, 32, 13, 13)}
_SPARE_SIZES = (5, 7, 9, 11, 3, 6, 17, 24, 48, 96, 2, 4, 10, 12, 14, 15, 20, 21)


def shape_hint(answer=None) -> str:
    """:data:`SHAPE_HINT` with an example of as many dimensions as ``answer`` (a 2-D answer gets a 2-D example),
    none of whose sizes is one of the answer's, so the example never gives the answer (or part of it) away."""
    try:
        sizes = [int(size) for size in answer] if answer is not None else []
    except (TypeError, ValueError):
        sizes = []
    if not sizes:
        return SHAPE_HINT
    example = _SHAPE_EXAMPLES.get(len(sizes)) or (8,) * (len(sizes) - 3) + (32, 13, 13)
    spare = (n for n in _SPARE_SIZES + tuple(range(22, 10_000)) if n not in sizes and n not in example)
    swapped: dict[int, int] = {}
    shown = [swapped.setdefault(n, next(spare)) if n in sizes else n for n in example]
    if len(shown) == 1:
        return f"type a shape: {shown[0]} or ({shown[0]},)"
    forms = [f"({', '.join(map(str, shown))})", "x".join(map(str, shown)), " ".join(map(str, shown))]
    for hint in (f"type a shape: {forms[0]}, {forms[1]} or {forms[2]}", f"type a shape: {forms[0]} or {forms[1]}",
                 f"type a shape: {forms[1]}"):
        if len(hint) <= MAX_HINT:
            return hint
    return hint

# one kind of separator throughout: "32, 13, 13", "32x13x13" (x, × or *) or "32 13 13"
# ("32, 1 3, 13" is a slip, not four sizes; "8x32,26x26" is two ways of writing at once). A size may have
# decimals: 5.5 (floor forgotten) is a wrong size, graded as one, not a shape that could not be read.
_SIZE = r"\d+(?:\.\d+)?"
_SHAPE_RE = re.compile(rf"{_SIZE}(?:\s*,\s*{_SIZE})*|{_SIZE}(?:\s*[x×*]\s*{_SIZE})*|{_SIZE}(?:\s+{_SIZE})*")
_MIXED_SHAPE_RE = re.compile(rf"{_SIZE}(?:\s*[,x×*]\s*{_SIZE}|\s+{_SIZE})+")
MAX_HINT = 57  # characters of a reason: one line of the 60-column prompt


def _size(text: str) -> int | float:
    """One size as typed: a whole number (``13``, ``13.0``), or the fraction a forgotten floor gives (``13.5``)."""
    value = float(text)
    return int(value) if value.is_integer() else value


def parse_shape(text: str, hint: str = SHAPE_HINT) -> list:
    """The sizes in ``text`` (whole numbers, or fractions such as 5.5, which no shape has and so are graded
    wrong); :class:`InvalidAnswer` with ``hint`` (how to type a shape) when it has none."""
    cleaned = text.strip().lower()
    cleaned = re.sub(r"^(torch\.size\(|shape\s*[:=]?\s*)", "", cleaned)
    cleaned = cleaned.rstrip(")").strip("()[] ")
    if cleaned.endswith(","):  # (32,) as Python writes a 1-tuple, or a sentence's comma
        cleaned = cleaned[:-1].rstrip()
    if _SHAPE_RE.fullmatch(cleaned):
        return [_size(p) for p in re.findall(_SIZE, cleaned)]
    if _MIXED_SHAPE_RE.fullmatch(cleaned):  # sizes, but separated in more than one way: say how they read
        sizes = re.findall(_SIZE, cleaned)
        for reason in (f"use one separator: {', '.join(sizes)} or {'x'.join(sizes)}",
                       f"use one separator: {'x'.join(sizes)}", "use one separator: commas, x or spaces"):
            if len(reason) <= MAX_HINT:
                raise InvalidAnswer(reason)
    raise InvalidAnswer(hint)


def is_correct(question, value, typed: str | None = None) -> bool:
    kind = question.kind
    answer = question.answer
    if kind == "choice":
        return value == answer
    if kind == "multi":
        return set(value) == set(answer)
    if kind == "true-false":
        return bool(value) is bool(answer)
    if kind == "shape":
        return [float(v) for v in value] == [float(v) for v in answer]  # 5.5 is not 5
    if kind == "number":
        if typed is not None:
            typed = _without_full_stop(typed)  # the sentence's full stop is no digit typed
        return number_matches(float(value), float(answer), question.tolerance, typed)
    return False  # pragma: no cover


def number_matches(value: float, answer: float, tolerance: float | None, typed: str | None = None) -> bool:
    """``value`` is right for ``answer``: within ``tolerance`` when there is one (nothing else counts)."""
    if not (math.isfinite(value) and math.isfinite(answer)):
        return False
    if tolerance is not None:
        return abs(value - answer) <= tolerance * (1 + 1e-9) + 1e-12
    if answer == int(answer) and abs(answer) < 1e15:
        return value == answer  # whole-number answers (counts) must be exact: 8396288 is not 8396293
    if math.isclose(value, answer, rel_tol=1e-6, abs_tol=1e-12):
        return True
    places = decimals_typed(typed) if typed is not None else None
    if places is None or answer == 0:
        return False
    # The last typed digit must be at least MIN_SIGNIFICANT digits into the answer.
    leading = math.floor(math.log10(abs(answer)))
    if leading - (-places) + 1 < MIN_SIGNIFICANT:
        return False
    rounded = float(round(Decimal(repr(answer)), places))
    return math.isclose(rounded, value, rel_tol=1e-9, abs_tol=1e-12)


def rejected(question, value: float) -> bool:
    """True when the number ``value`` is marked wrong for ``question``, whatever way it is typed."""
    for typed in (repr(float(value)), format(float(value), ".6g"), format(float(value), "g")):
        if number_matches(float(value), float(question.answer), question.tolerance, typed):
            return False
    return True


def describe(question, value) -> str:
    """The learner's parsed answer as text for the review log."""
    from tutor.quiz.bank import format_answer

    if question.kind == "number":
        return repr(float(value))
    return format_answer(question, value)
