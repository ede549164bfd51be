"""Label text for diagrams: width estimates and line wrapping without a font engine.

The renderer is pure (no font files, no layout engine), so widths are estimated per character:
East Asian wide characters take a full em, everything else a typical sans-serif average. The
estimate errs wide, so wrapped labels fit in every common UI font.
"""

from __future__ import annotations

import unicodedata

#: Average advance of a narrow character, in em (Latin in common sans-serif UI fonts).
_NARROW_EM = 0.6
_WIDE_EM = 1.0
_ELLIPSIS = "…"
#: Characters a line may break after inside a word (`event-based-gateway`, `a/b`, `snake_case`).
_BREAK_AFTER = frozenset("-/_.")


def char_width(char: str, font_size: float) -> float:
    """Estimated advance of one character at `font_size` pixels."""
    wide = unicodedata.east_asian_width(char) in ("W", "F")
    return font_size * (_WIDE_EM if wide else _NARROW_EM)


def text_width(text: str, font_size: float) -> float:
    """Estimated width of a single line of text at `font_size` pixels."""
    return sum(char_width(c, font_size) for c in text)


def _breakable(char: str) -> bool:
    # A line may break after any wide (CJK) character: those scripts do not use spaces.
    return unicodedata.east_asian_width(char) in ("W", "F")


def _tokens(text: str) -> list[str]:
    """Words and spaces, split at every break opportunity.

    Each wide character is a token of its own, and a word breaks after `-` `/` `_` `.`.
    """
    tokens: list[str] = []
    current = ""
    for char in text:
        if char.isspace():
            if current:
                tokens.append(current)
            current = ""
            tokens.append(" ")
        elif _breakable(char):
            if current:
                tokens.append(current)
            current = ""
            tokens.append(char)
        elif char in _BREAK_AFTER:
            tokens.append(current + char)
            current = ""
        else:
            current += char
    if current:
        tokens.append(current)
    return tokens


def _split_long(word: str, max_width: float, font_size: float) -> list[str]:
    pieces: list[str] = []
    current = ""
    for char in word:
        if current and text_width(current + char, font_size) > max_width:
            pieces.append(current)
            current = char
        else:
            current += char
    if current:
        pieces.append(current)
    return pieces


def wrap(text: str, *, max_width: float, font_size: float, max_lines: int) -> list[str]:
    """Lines of `text` no wider than `max_width`; the last kept line ends in `…` if cut.

    Args:
        text: The label (whitespace runs collapse to one space).
        max_width: The widest a line may be, in pixels.
        font_size: The font size in pixels.
        max_lines: The most lines to return (at least one).

    Returns:
        The lines; empty for an empty label.
    """
    lines: list[str] = []
    current = ""
    for token in _tokens(" ".join(text.split())):
        if token == " ":
            if current:
                current += " "
            continue
        candidate = current + token
        if text_width(candidate.rstrip(), font_size) <= max_width:
            current = candidate
            continue
        if current.strip():
            lines.append(current.rstrip())
        pieces = _split_long(token, max_width, font_size)
        lines.extend(pieces[:-1])
        current = pieces[-1]
    if current.strip():
        lines.append(current.rstrip())
    limit = max(1, max_lines)
    if len(lines) <= limit:
        return lines
    kept = lines[:limit]
    last = kept[-1]
    while last and text_width(last + _ELLIPSIS, font_size) > max_width:
        last = last[:-1]
    kept[-1] = last.rstrip() + _ELLIPSIS
    return kept
