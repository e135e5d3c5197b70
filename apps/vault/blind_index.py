"""Normalisation for the blind index: equal inputs as a clerk would type them hash equally."""

from __future__ import annotations

import re
import unicodedata

from .types import PII_FIELDS

INDEX_KINDS = PII_FIELDS

_NON_ASCII_DIGIT = re.compile(r"[^0-9]")
# ぁ (U+3041) … ゖ (U+3096) and the iteration marks ゝゞ map onto katakana 0x60 higher.
_HIRAGANA_TO_KATAKANA = {cp: cp + 0x60 for cp in (*range(0x3041, 0x3097), 0x309D, 0x309E)}


def _remove_whitespace(value: str) -> str:
    return "".join(value.split())


def normalize(kind: str, value: str) -> str:
    """The form a value takes before it is hashed; "" means "not indexed"."""
    text = unicodedata.normalize("NFKC", value)
    if kind == "phone":
        # Full-width digits became ASCII under NFKC; every hyphen, dash, bracket
        # and space is dropped.
        return _NON_ASCII_DIGIT.sub("", text)
    if kind == "name":
        return _remove_whitespace(text)
    if kind == "name_kana":
        # NFKC already turned half-width katakana into full-width.
        return _remove_whitespace(text.translate(_HIRAGANA_TO_KATAKANA))
    if kind == "email":
        return text.strip().lower()
    raise ValueError(f"unknown blind index kind {kind!r}")
