"""The line under a quiz menu names exactly the keys that pick an option."""

from __future__ import annotations

from tutor.terminal_menu import label_keys, menu_help


def test_true_false_names_both_keys_not_a_range():
    # "press t-f" read as a range of letters; the two keys are t and f.
    assert menu_help(["t", "f"]) == "(↑/↓ and Enter, or press t or f; q stops)"


def test_numbered_options_name_the_range():
    assert menu_help(["1", "2", "3", "4"]) == "(↑/↓ and Enter, or press 1-4; q stops)"
    assert menu_help(["a", "b", "c"], multi=True) == "(↑/↓ move, space or a-c ticks, Enter when done; q stops)"


def test_labels_longer_than_one_key_are_not_offered():
    # Options 10 and beyond have no key of their own: the range stops at 9.
    labels = [str(i) for i in range(1, 12)]
    assert label_keys(labels) == "1-9"
    assert "1-11" not in menu_help(labels)


def test_ascii_output_gets_words_for_the_arrows():
    line = menu_help(["1", "2"], ascii_only=True)
    assert line == "(up/down and Enter, or press 1 or 2; q stops)"
    assert line.isascii()


def test_q_is_named_where_it_stops_and_not_where_it_is_a_label():
    """q left the menu unchanged, although it stopped the quiz at a typed prompt and at the Enter pause."""
    assert menu_help(["1", "2"]).endswith("; q stops)")
    letters = [chr(ord("a") + i) for i in range(20)]  # q is the 17th label
    assert "q stops" not in menu_help(letters)
