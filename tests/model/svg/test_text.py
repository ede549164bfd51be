from __future__ import annotations

from workflow_engine.model.svg.text import text_width, wrap


def test_words_wrap_within_the_width() -> None:
    lines = wrap("Send the verification email now", max_width=90, font_size=12, max_lines=5)
    assert lines == ["Send the", "verification", "email now"]
    assert all(text_width(line, 12) <= 90 for line in lines)


def test_cjk_breaks_between_characters_and_counts_full_width() -> None:
    assert text_width("验证", 12) == 24
    assert wrap("验证用户信息", max_width=50, font_size=12, max_lines=5) == ["验证用户", "信息"]


def test_a_long_word_is_split_and_overflow_ends_in_an_ellipsis() -> None:
    assert wrap("abcdefghij", max_width=30, font_size=10, max_lines=5) == ["abcde", "fghij"]
    cut = wrap("one two three four five six", max_width=40, font_size=10, max_lines=2)
    assert len(cut) == 2 and cut[-1].endswith("…")
    assert text_width(cut[-1], 10) <= 40


def test_empty_and_whitespace_labels_have_no_lines() -> None:
    assert wrap("", max_width=50, font_size=12, max_lines=3) == []
    assert wrap("  \n ", max_width=50, font_size=12, max_lines=3) == []


def test_words_break_after_hyphens_and_underscores() -> None:
    assert wrap("event-based-gateway", max_width=100, font_size=12, max_lines=3) == [
        "event-based-",
        "gateway",
    ]
    assert wrap("send_email_task", max_width=80, font_size=12, max_lines=3) == [
        "send_email_",
        "task",
    ]
