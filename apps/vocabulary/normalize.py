"""Text normalisation building blocks for what people type in Japan.

Pure functions, no Django. The validators and the leak scanner are built on
these so that both fold full-width digits, hyphen look-alikes and spaces the
same way: a value the validator accepts is a value the scanner can find.
"""

from __future__ import annotations

import unicodedata

# Every character people type (or an IME produces) where a hyphen is meant.
# The two prolonged sound marks are hyphens only between digits ("090ー1234"):
# inside a kana name they are part of the name ("ハーバート").
PROLONGED_SOUND_MARKS: frozenset[str] = frozenset({"\u30fc", "\uff70"})  # ー ｰ
HYPHENS: frozenset[str] = frozenset(
    {
        "-",  # ASCII hyphen-minus
        "\u00ad",  # soft hyphen
        "\u02d7",  # modifier letter minus sign
        "\u2010",  # ‐ hyphen
        "\u2011",  # ‑ non-breaking hyphen
        "\u2012",  # ‒ figure dash
        "\u2013",  # – en dash
        "\u2014",  # — em dash
        "\u2015",  # ― horizontal bar (the IME's "dash")
        "\u2043",  # ⁃ hyphen bullet
        "\u2212",  # − minus sign
        "\u2500",  # ─ box drawing light horizontal (IME "keisen")
        "\u2501",  # ━ box drawing heavy horizontal
        "\u2796",  # ➖ heavy minus sign
        "\ufe58",  # ﹘ small em dash
        "\ufe63",  # ﹣ small hyphen-minus
        "\uff0d",  # － full-width hyphen-minus
        *PROLONGED_SOUND_MARKS,
    }
)

# Invisible characters that only ever get in the way of a comparison.
ZERO_WIDTH: frozenset[str] = frozenset({"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"})

_HALFWIDTH_DIGITS = frozenset("0123456789")
_FULLWIDTH_DIGITS = frozenset("０１２３４５６７８９")
_DIGITS = _HALFWIDTH_DIGITS | _FULLWIDTH_DIGITS

_HIRAGANA_TO_KATAKANA = {code: code + 0x60 for code in range(0x3041, 0x3097)} | {
    0x309D: 0x30FD,  # ゝ → ヽ
    0x309E: 0x30FE,  # ゞ → ヾ
}


def to_halfwidth(text: str) -> str:
    """Fold full-width digits, Latin letters and punctuation to ASCII (NFKC).

    NFKC also turns half-width katakana into full-width katakana, composing
    the separate half-width voiced marks ("ｶﾞ" → "ガ"), and the ideographic
    space into an ASCII space.
    """
    return unicodedata.normalize("NFKC", text)


def hiragana_to_katakana(text: str) -> str:
    """Replace every hiragana character with its katakana counterpart."""
    return text.translate(_HIRAGANA_TO_KATAKANA)


def unify_hyphens(text: str, *, numeric: bool = False) -> str:
    """Replace every hyphen variant with an ASCII "-".

    A prolonged sound mark (ー, ｰ) counts as a hyphen only between two digits,
    unless ``numeric`` says the whole text is a number (a phone number or a
    postal code), where it can only ever mean a hyphen.
    """
    chars = list(text)
    for index, char in enumerate(chars):
        if char not in HYPHENS:
            continue
        if char in PROLONGED_SOUND_MARKS and not numeric:
            before = text[index - 1] if index > 0 else ""
            after = text[index + 1] if index + 1 < len(text) else ""
            if before not in _DIGITS or after not in _DIGITS:
                continue
        chars[index] = "-"
    return "".join(chars)


def collapse_spaces(text: str) -> str:
    """Turn every run of whitespace (full-width too) into one ASCII space, trimmed.

    Zero-width characters are dropped: they are invisible, so a person cannot
    know they typed them.
    """
    visible = "".join(char for char in text if char not in ZERO_WIDTH)
    return " ".join(visible.split())


def is_digit(char: str) -> bool:
    """True for the ASCII and the full-width digits (and nothing exotic)."""
    return char in _DIGITS
