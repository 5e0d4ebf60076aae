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
