"""A decimal comma is never silently read as a thousands separator.

``0,665`` for 0.665 used to be read as 665 and marked wrong ("you answered
0,665"), so a learner with the right number was told they were wrong. Now an
answer that could mean two numbers is asked again with a one-line reason; a
count (a whole-number answer) still reads ``401,920`` as 401920.
"""

from __future__ import annotations

import pytest

from tutor.quiz.answers import InvalidAnswer, is_correct, parse
from tutor.quiz.bank import Question


def number(answer: float, tolerance: float | None) -> Question:
    return Question(
        id="q", lesson=1, topic="t", kind="number", prompt="?", answer=answer, explanation="", tolerance=tolerance
    )


DECIMAL = number(1.386, 0.001)  # -ln(0.25), three decimals
COUNT = number(401920.0, None)  # a parameter count


@pytest.mark.parametrize("typed", ["0,665", "-0,5", "0,6652"])
def test_a_leading_zero_comma_is_a_decimal_comma_and_is_asked_again(typed):
    with pytest.raises(InvalidAnswer) as caught:
        parse(DECIMAL, typed)
    assert "decimal point" in caught.value.reason
    assert typed.replace(",", ".") in caught.value.reason  # says what to type instead


def test_one_comma_group_is_ambiguous_when_the_answer_is_not_whole():
    with pytest.raises(InvalidAnswer) as caught:
        parse(DECIMAL, "1,386")
    assert "1.386 or 1386" in caught.value.reason
    assert len(caught.value.reason) < 58  # the terminal prompt shows it on one line at 60 columns


def test_a_count_still_reads_commas_as_thousands():
    value = parse(COUNT, "401,920")
    assert value == 401920
    assert is_correct(COUNT, value, "401,920")
    assert is_correct(COUNT, parse(COUNT, "401920"), "401920")


@pytest.mark.parametrize("typed", ["12,0001", "1,2,3", "3,14"])
def test_commas_that_cannot_group_thousands_are_refused(typed):
    with pytest.raises(InvalidAnswer) as caught:
        parse(DECIMAL, typed)
    assert "point" in caught.value.reason


def test_the_right_answer_with_a_point_is_still_right_and_a_wrong_one_wrong():
    assert is_correct(DECIMAL, parse(DECIMAL, "1.386"), "1.386")
    assert not is_correct(DECIMAL, parse(DECIMAL, "1386"), "1386")


def test_a_piped_decimal_comma_is_asked_again_not_marked_wrong(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from tutor.cli import app

    monkeypatch.setenv("DNN_TUTOR_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["quiz", "-q", "dnn-crossentropy-value"], input="1,386\n1.386\n")
    assert result.exit_code == 0, result.output
    assert "type 1.386 or 1386" in result.output
    assert "Right" in result.output
    assert "Not quite" not in result.output


def test_a_point_grouping_thousands_in_a_count_is_asked_again_not_marked_wrong():
    """401.920 (a European 401 920) for a count was read as 401.92 and marked wrong without a word."""
    for typed in ("401.920", "1.234.567"):
        with pytest.raises(InvalidAnswer) as caught:
            parse(COUNT, typed)
        whole = typed.replace(".", "")
        assert f"type {whole}" in caught.value.reason and "decimal point" in caught.value.reason
        assert len(caught.value.reason) < 58
    assert parse(COUNT, "401.92") == pytest.approx(401.92)  # not three digits after the point: a decimal
    assert parse(DECIMAL, "401.920") == pytest.approx(401.92)  # not a count: read as typed


def test_a_count_written_with_decimals_is_that_number_unless_grouped_it_is_nearer_the_answer():
    """12.000 is 12 (decimals typed); but for a count of 12000 it is a European 12 000: asked, not marked wrong.

    13.000 for that count used to be read as 13 (only the answer itself was asked again, which told the
    learner 12.000 was right): now every reading nearer the answer grouped is asked again alike."""
    twelve, twelve_thousand = number(12.0, None), number(12000.0, None)
    assert parse(twelve, "12.000") == 12 and is_correct(twelve, 12.0, "12.000")
    for typed in ("12.000", "13.000"):
        with pytest.raises(InvalidAnswer) as caught:
            parse(twelve_thousand, typed)
        assert f"type {typed.replace('.', '')}" in caught.value.reason and len(caught.value.reason) < 58


@pytest.mark.parametrize("typed", ["1 2", "40 1920", "1 2345", "3.14 15", "-1 23"])
def test_digits_split_by_a_space_are_asked_again_not_run_together(typed):
    """"1 2" was read as 12: a learner's two numbers (or a slip) must not become a third."""
    with pytest.raises(InvalidAnswer) as caught:
        parse(COUNT, typed)
    assert f"'{typed}'" in caught.value.reason and "thousands" in caught.value.reason
    assert len(caught.value.reason) < 58


@pytest.mark.parametrize("typed, value", [("401 920", 401920), ("401\u202f920", 401920), ("1 234 567.5", 1234567.5),
                                          ("0.000 001", 1e-6), ("-4 096", -4096), ("9.5 x 10^-7", 9.5e-7)])
def test_spaces_that_group_thousands_are_still_read(typed, value):
    assert parse(number(value, None), typed) == pytest.approx(value)


VANISHING = number(9.5367431640625e-07, 5e-09)  # 0.25 ** 10, two significant digits (the bank's own question)


@pytest.mark.parametrize("typed", ["9.5×10^-7", "9.54 x 10^-7", "9.5 × 10⁻⁷", "9.5*10**-7", "9.5·10^(-7)", "9.5e-7"])
def test_times_ten_to_the_is_read_as_scientific_notation_and_graded_the_same(typed):
    assert is_correct(VANISHING, parse(VANISHING, typed), typed)


@pytest.mark.parametrize("typed, unit", [("401920 params", "params"), ("401920params", "params"), ("3 ms", "ms")])
def test_a_number_with_a_unit_is_asked_again_without_it(typed, unit):
    with pytest.raises(InvalidAnswer) as caught:
        parse(COUNT, typed)
    assert f"without '{unit}'" in caught.value.reason


@pytest.mark.parametrize("typed", ["2x100", "4*1000", "3*105", "9.5x10-7"])
def test_a_product_is_not_read_as_a_power_of_ten(typed):
    """Only a marked power (^, ** or superscripts) is an exponent: 2x100 is not 2e0."""
    with pytest.raises(InvalidAnswer):
        parse(COUNT, typed)


def test_a_bare_power_of_ten_is_read():
    assert parse(number(0.001, 1e-6), "10⁻³") == pytest.approx(0.001)
    assert parse(number(0.001, 1e-6), "10^-3") == pytest.approx(0.001)


def test_a_multi_choice_answer_may_be_one_choice_with_commas_of_its_own_or_labels_as_the_menu_shows_them():
    from tutor.quiz.bank import load_bank

    q = next(q for q in load_bank().questions if q.id == "of-augment-digits")
    flip = next(c for c in q.choices if "," in c)
    assert parse(q, flip) == [flip]
    assert parse(q, "1), 2)") == list(q.choices[:2]) and parse(q, "(1) (3)") == [q.choices[0], q.choices[2]]
    assert is_correct(number(0.6652, None), 0.6652, "0.6652.")  # a full stop ending the sentence is no digit


@pytest.mark.parametrize("typed", ["401.408", "401.920", "400.000", "-401.408"])
def test_a_grouped_count_is_asked_again_right_or_wrong(typed):
    """Only a dotted count equal to the answer grouped was asked again; 401.408 (the count without its biases,
    grouped European-style) was read as 401.408 and marked wrong, so being asked again told the learner
    401.920 was right. Now both are asked the same way: the grouped reading is nearer the answer."""
    whole = typed.replace(".", "")
    with pytest.raises(InvalidAnswer) as caught:
        parse(COUNT, typed)
    assert caught.value.reason == f"a point is a decimal point: type {whole} or {int(whole):,}"


@pytest.mark.parametrize("answer, typed", [(422.0, "421.875"), (12.0, "12.000"), (401.0, "401.408"), (100.0, "99.000")])
def test_a_dotted_count_nearer_the_answer_as_a_decimal_is_that_decimal(answer, typed):
    count = number(answer, None)
    assert parse(count, typed) == pytest.approx(float(typed))
    assert is_correct(count, parse(count, typed), typed) is (float(typed) == answer)


def test_a_dotted_number_is_read_as_typed_where_the_answer_is_not_a_count():
    assert parse(number(401920.0, 0.5), "401.408") == pytest.approx(401.408)  # a tolerance: not a count
    assert parse(number(401.5, None), "401.408") == pytest.approx(401.408)


@pytest.mark.parametrize("typed, whole", [("18 496,000", "18496000"), ("18,496 000", "18496000"),
                                          ("1 234,567", "1234567")])
def test_a_count_with_spaces_and_commas_is_asked_without_mixed_separators(typed, whole):
    """"18 496,000" for a count said "use a decimal point, e.g. 1.386": a count has no decimal point."""
    with pytest.raises(InvalidAnswer) as caught:
        parse(COUNT, typed)
    reason = caught.value.reason
    assert f"type {whole} or {int(whole):,}" in reason and "decimal" not in reason and len(reason) < 58
    with pytest.raises(InvalidAnswer) as caught:
        parse(DECIMAL, typed)  # where decimals are wanted the comma may be one: the decimal-point hint stays
    assert "decimal point" in caught.value.reason


@pytest.mark.parametrize("typed", ["1e308/1e-308", "1e400/2", "2/1e400"])
def test_a_fraction_that_is_not_a_finite_number_is_asked_again(typed):
    with pytest.raises(InvalidAnswer, match="type a finite number"):
        parse(DECIMAL, typed)
