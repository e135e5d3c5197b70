"""The leak scanner run before a retail projection is released.

It looks, in every retail-visible text field, for the customer's own name,
name in kana, phone number and e-mail address however they were typed
(full-width, half-width katakana, hiragana, other hyphens, spaces inside the
name), and for anything that looks like some phone number or e-mail address.

It errs on the side of reporting: a false alarm costs a clerk one rewording,
a miss is a breach of the conduct rules. Results name the field and the kind
of leak, never the matched text, so they can be logged and shown to anyone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from django.db import models
from django.utils.translation import gettext_lazy as _

from .normalize import (
    HYPHENS,
    ZERO_WIDTH,
    collapse_spaces,
    hiragana_to_katakana,
    to_halfwidth,
    unify_hyphens,
)

# Shorter needles (a one-kanji given name, "林") would match everywhere.
MIN_NAME_NEEDLE_LENGTH = 2
MIN_PHONE_NEEDLE_DIGITS = 6
PHONE_PATTERN_LENGTHS = (10, 11)


class LeakKind(models.TextChoices):
    NAME = "name", _("the customer's name")
    NAME_KANA = "name_kana", _("the customer's name in kana")
    PHONE = "phone", _("the customer's phone number")
    EMAIL = "email", _("the customer's e-mail address")
    PHONE_PATTERN = "phone_pattern", _("a phone number")
    EMAIL_PATTERN = "email_pattern", _("an e-mail address")


_KIND_ORDER = {kind: index for index, kind in enumerate(LeakKind)}


@dataclass(frozen=True)
class Leak:
    """Which field leaks what kind of data; deliberately without the data."""

    field: str
    kind: LeakKind


class CustomerIdentity(Protocol):
    """The customer's own identifiers the scanner looks for (read-only)."""

    @property
    def name(self) -> str: ...

    @property
    def name_kana(self) -> str: ...

    @property
    def phone(self) -> str: ...

    @property
    def email(self) -> str: ...


# --- folding --------------------------------------------------------------

# Old and variant forms of kanji common in surnames (異体字): a clerk may type
# the everyday form of a name the customer writes with the old one, or back.
_KANJI_VARIANTS = str.maketrans(
    {
        "髙": "高",
        "﨑": "崎",
        "嵜": "崎",
        "邊": "辺",
        "邉": "辺",
        "濵": "浜",
        "濱": "浜",
        "澤": "沢",
        "櫻": "桜",
        "國": "国",
        "眞": "真",
        "廣": "広",
        "德": "徳",
        "嶋": "島",
        "嶌": "島",
        "冨": "富",
        "齋": "斎",
        "齊": "斉",
        "槇": "槙",
        "惠": "恵",
        "萬": "万",
        "藏": "蔵",
        "增": "増",
        "淺": "浅",
        "實": "実",
        "團": "団",
        "彌": "弥",
        "榮": "栄",
        "壽": "寿",
        "與": "与",
        "遙": "遥",
        "瀨": "瀬",
        "龍": "竜",
    }
)
_FOLD_IGNORED: frozenset[str] = HYPHENS | ZERO_WIDTH | {"・", "=", "゠"}
_ITERATION_MARK = "々"


def _is_ignored_in_fold(char: str) -> bool:
    code = ord(char)
    return (
        char.isspace()
        or char in _FOLD_IGNORED
        # Variation selectors (an IVS picks a glyph of the same kanji).
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
    )


@dataclass(frozen=True)
class _Folded:
    """A folded text and, per folded character, its index in ``source``.

    ``source`` is the text before ignorable characters were dropped; the
    positions let a match be checked against its real neighbours.
    """

    source: str
    text: str
    positions: tuple[int, ...]


def _prefold(text: str) -> str:
    text = hiragana_to_katakana(to_halfwidth(text)).casefold().translate(_KANJI_VARIANTS)
    chars: list[str] = []
    for char in text:
        # 佐々木 and 佐佐木 are the same name.
        chars.append(chars[-1] if char == _ITERATION_MARK and chars else char)
    return "".join(chars)


def _fold_with_positions(text: str) -> _Folded:
    source = _prefold(text)
    kept = [(index, char) for index, char in enumerate(source) if not _is_ignored_in_fold(char)]
    return _Folded(
        source=source,
        text="".join(char for _index, char in kept),
        positions=tuple(index for index, _char in kept),
    )


def fold(text: str) -> str:
    """The comparison form of a text: apply it to both the needle and the haystack.

    Full-width → half-width (NFKC), hiragana → katakana, case folded, common
    kanji variants unified, and every space, hyphen variant, ー and ・ removed.
    """
    return _fold_with_positions(text).text


def _is_ascii_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _at_word_boundary(haystack: _Folded, start: int, end: int) -> bool:
    # Latin names need word boundaries: "li" must not match inside "online".
    # Japanese text has no spaces, so kana and kanji need none.
    if _is_ascii_letter(haystack.text[start]):
        before = haystack.positions[start] - 1
        if before >= 0 and _is_ascii_letter(haystack.source[before]):
            return False
    if _is_ascii_letter(haystack.text[end - 1]):
        after = haystack.positions[end - 1] + 1
        if after < len(haystack.source) and _is_ascii_letter(haystack.source[after]):
            return False
    return True


def _contains(haystack: _Folded, needle: str) -> bool:
    start = haystack.text.find(needle)
    while start != -1:
        if _at_word_boundary(haystack, start, start + len(needle)):
            return True
        start = haystack.text.find(needle, start + 1)
    return False


# --- phone numbers ----------------------------------------------------------

_KANJI_NUMERALS = str.maketrans("〇一二三四五六七八九", "0123456789")
_ASCII_DIGITS = frozenset("0123456789")
# Written between the digit groups of a phone number; whitespace joins more loosely.
_PHONE_JOINERS = frozenset({"-", ".", "(", ")", "・"})
_INTERNATIONAL_RE = re.compile(r"\+\s*81[\s\-]*(?:\(\s*0\s*\)[\s\-]*)?")


def _replace_country_code(match: re.Match[str]) -> str:
    # "+81 90..." → "090...", but "+81 090..." already carries the trunk prefix.
    return "" if match.string.startswith("0", match.end()) else "0"


def _prepare_digits(text: str) -> str:
    text = to_halfwidth(text).translate(_KANJI_NUMERALS)
    text = unify_hyphens(text, numeric=True)
    return _INTERNATIONAL_RE.sub(_replace_country_code, text)


def _loose_digit_runs(text: str) -> Iterator[str]:
    """Digit runs where anything but a letter between digits is ignored."""
    run: list[str] = []
    for char in text:
        if char in _ASCII_DIGITS:
            run.append(char)
        elif unicodedata.category(char).startswith("L") and run:
            yield "".join(run)
            run = []
    if run:
        yield "".join(run)


def _digit_chains(text: str) -> Iterator[list[str]]:
    """Runs of digit groups joined by whitespace, as lists of tight groups.

    A tight group is digits joined directly or by a hyphen, dot, parenthesis
    or ・ (spaces around them allowed): "03-1234-5678" or a hyphenated supply
    point id is one tight group. Whitespace alone joins tight groups loosely,
    so "03-1234-5678 090-1234-5678" is two groups. Anything else ends the run.
    """
    chain: list[str] = []
    group: list[str] = []
    joiner: str | None = None  # None, "space" or "tight": what followed the last digit
    for char in text:
        if char in _ASCII_DIGITS:
            if joiner == "space":
                chain.append("".join(group))
                group = []
            group.append(char)
            joiner = None
        elif group and char.isspace():
            joiner = joiner or "space"
        elif group and char in _PHONE_JOINERS:
            joiner = "tight"
        elif group:
            chain.append("".join(group))
            yield chain
            chain, group, joiner = [], [], None
    if group:
        chain.append("".join(group))
        yield chain


def _has_phone_pattern(text: str) -> bool:
    for chain in _digit_chains(text):
        for first in range(len(chain)):
            digits = ""
            for group in chain[first:]:
                digits += group
                if len(digits) > max(PHONE_PATTERN_LENGTHS):
                    break
                if len(digits) in PHONE_PATTERN_LENGTHS and digits.startswith("0"):
                    return True
    return False


# --- e-mail addresses ---------------------------------------------------------

_AT_RE = re.compile(r"\s*(?:\[at\]|\(at\)|@)\s*", re.IGNORECASE)
_EMAIL_RE = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)


def _prepare_email(text: str) -> str:
    return _AT_RE.sub("@", to_halfwidth(text))


# --- the scan ---------------------------------------------------------------


@dataclass(frozen=True)
class _Needles:
    names: frozenset[str]
    kana: frozenset[str]
    phone: str
    email: str


def _name_needles(value: str) -> frozenset[str]:
    """The whole name and each part of it, folded (parts split on spaces and ・)."""
    text = collapse_spaces(to_halfwidth(value))
    parts = re.split(r"[\s・=゠]+", text)
    needles = {fold(text), *(fold(part) for part in parts)}
    return frozenset(needle for needle in needles if len(needle) >= MIN_NAME_NEEDLE_LENGTH)


def _phone_needle(value: str) -> str:
    digits = "".join(char for char in _prepare_digits(value) if char in _ASCII_DIGITS)
    return digits if len(digits) >= MIN_PHONE_NEEDLE_DIGITS else ""


def _email_needle(value: str) -> str:
    needle = fold(_prepare_email(value).strip())
    return needle if "@" in needle else ""


def _needles(customer: CustomerIdentity | None) -> _Needles:
    if customer is None:
        return _Needles(names=frozenset(), kana=frozenset(), phone="", email="")
    return _Needles(
        names=_name_needles(customer.name or ""),
        kana=_name_needles(customer.name_kana or ""),
        phone=_phone_needle(customer.phone or ""),
        email=_email_needle(customer.email or ""),
    )


def _kinds_in(text: str, needles: _Needles) -> set[LeakKind]:
    kinds: set[LeakKind] = set()
    folded = _fold_with_positions(text)
    if any(_contains(folded, needle) for needle in needles.names):
        kinds.add(LeakKind.NAME)
    if any(_contains(folded, needle) for needle in needles.kana):
        kinds.add(LeakKind.NAME_KANA)

    digits_text = _prepare_digits(text)
    if needles.phone and any(needles.phone in run for run in _loose_digit_runs(digits_text)):
        kinds.add(LeakKind.PHONE)
    if _has_phone_pattern(digits_text):
        kinds.add(LeakKind.PHONE_PATTERN)

    email_text = _prepare_email(text)
    if needles.email and _contains(_fold_with_positions(email_text), needles.email):
        kinds.add(LeakKind.EMAIL)
    if _EMAIL_RE.search(email_text):
        kinds.add(LeakKind.EMAIL_PATTERN)
    return kinds


def scan(*, fields: Mapping[str, str], customer: CustomerIdentity | None) -> list[Leak]:
    """Every (field, kind) of personal data found in the retail-visible ``fields``.

    Sorted by the order of ``fields``, then by the order of ``LeakKind``.
    Without a customer only the generic phone and e-mail patterns are checked.
    """
    needles = _needles(customer)
    leaks: list[Leak] = []
    for field, text in fields.items():
        if not text:
            continue
        kinds = _kinds_in(text, needles)
        leaks.extend(
            Leak(field=field, kind=kind) for kind in sorted(kinds, key=_KIND_ORDER.__getitem__)
        )
    return leaks


def scan_text(*, text: str, customer: CustomerIdentity | None) -> list[LeakKind]:
    """The kinds of personal data in one free text (a reason, a comment)."""
    return [leak.kind for leak in scan(fields={"text": text}, customer=customer)]
