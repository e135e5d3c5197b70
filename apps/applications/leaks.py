"""The leak scanner run before a retail projection is released.

It looks, in every retail-visible text field, for the customer's own name,
name in kana, phone number and e-mail address however they were typed
(full-width, half-width katakana, hiragana, other hyphens, spaces inside the
name) or disguised (invisible characters, look-alike letters from other
scripts, kanji for katakana, letters for digits, other characters between the
digit groups), and for anything that looks like some phone number or e-mail
address. A text holding invisible or text-direction characters is a leak on
its own: what retail would see is not what the scanner reads.

It errs on the side of reporting: a false alarm costs a clerk one rewording,
a miss is a breach of the conduct rules. Results name the field and the kind
of leak, never the matched text, so they can be logged and shown to anyone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import regex
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.vocabulary.normalize import collapse_spaces, to_halfwidth, unify_hyphens

from .textfold import (
    Folded,
    confusables_table,
    drop_invisible,
    fold,
    fold_with_positions,
    has_hidden,
    letters_as_digits,
    upper_case_confusables_table,
    visual_order,
)

# Shorter needles (a one-kanji given name, "林") would match everywhere.
MIN_NAME_NEEDLE_LENGTH = 2
MIN_PHONE_NEEDLE_DIGITS = 6
MIN_EMAIL_LOCAL_NEEDLE_LENGTH = 5
PHONE_PATTERN_LENGTHS = (10, 11)
# Between two digit groups, up to this many characters other than spaces and
# punctuation still join them ("098の765の4321", "090 内線 12345678").
MAX_DIGIT_GAP = 3


class LeakKind(models.TextChoices):
    NAME = "name", _("the customer's name")
    NAME_KANA = "name_kana", _("the customer's name in kana")
    PHONE = "phone", _("the customer's phone number")
    EMAIL = "email", _("the customer's e-mail address")
    PHONE_PATTERN = "phone_pattern", _("a phone number")
    EMAIL_PATTERN = "email_pattern", _("an e-mail address")
    HIDDEN = "hidden", _("invisible or text-direction control characters")


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


# --- matching -----------------------------------------------------------------


def _is_ascii_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _at_word_boundary(haystack: Folded, start: int, end: int) -> bool:
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


def _contains(haystack: Folded, needle: str) -> bool:
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
    text = drop_invisible(text).translate(_KANJI_NUMERALS)
    text = letters_as_digits(unify_hyphens(text, numeric=True), reach=MAX_DIGIT_GAP)
    return _INTERNATIONAL_RE.sub(_replace_country_code, text)


_DIGITS_SPLIT_RE = re.compile(r"([0-9]+)")


@dataclass(frozen=True)
class _DigitGroups:
    """The digit groups of a text and the text around them: ``gaps[i]`` comes before
    ``groups[i]``, the last gap after the last group; ``short[i]`` says whether
    ``gaps[i]`` is short enough to join the groups on either side."""

    groups: list[str]
    gaps: list[str]
    short: list[bool]

    @classmethod
    def of(cls, text: str) -> _DigitGroups:
        parts = _DIGITS_SPLIT_RE.split(text)
        gaps = parts[0::2]
        return cls(groups=parts[1::2], gaps=gaps, short=[_is_short_gap(gap) for gap in gaps])


_SIGNIFICANT_RE = regex.compile(r"[^\s\p{P}]")


def _is_short_gap(gap: str) -> bool:
    return len(gap) <= MAX_DIGIT_GAP or len(_SIGNIFICANT_RE.findall(gap)) <= MAX_DIGIT_GAP


def _loose_digit_runs(digits: _DigitGroups) -> Iterator[str]:
    """Digit groups joined across every short gap: "090 内線 1234x5678" is one run."""
    run: list[str] = []
    for index, group in enumerate(digits.groups):
        if run and not digits.short[index]:
            yield "".join(run)
            run = []
        run.append(group)
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


def _gap_key(gap: str) -> str:
    return "".join(gap.split())


def _is_phone_shape(groups: list[str]) -> bool:
    """Area code, local exchange and subscriber number as Japan writes them: the area code
    starts with a single 0, the exchange never with 0 (a date or a time often does)."""
    first, second = groups[0], groups[1]
    if not (first.startswith("0") and first[1:2] not in ("", "0") and len(first) <= 5):
        return False
    if second.startswith("0") or sum(map(len, groups)) not in PHONE_PATTERN_LENGTHS:
        return False
    if len(groups) == 2:
        return len(second) >= 6
    return len(second) <= 4 and 3 <= len(groups[2]) <= 4


def _continues(digits: _DigitGroups, index: int, separators: set[str]) -> bool:
    """Whether the gap at ``index``, next to a candidate, joins it to more digits of the
    same number (the first and the last gap have digits on one side only)."""
    if not 0 < index < len(digits.groups) or not digits.short[index]:
        return False
    key = _gap_key(digits.gaps[index])
    return key in separators or (bool(key) and set(key) <= _PHONE_JOINERS)


def _has_disguised_phone(digits: _DigitGroups) -> bool:
    """Two or three digit groups in the shape of a phone number, separated by anything
    short ("098の765の4321", "090x1234x5678"), and not part of a longer number written
    with the same separators (a supply point id)."""
    groups = digits.groups
    for first, group in enumerate(groups):
        if not group.startswith("0"):
            continue
        for size in (3, 2):
            last = first + size - 1
            if last >= len(groups) or not all(digits.short[first + 1 : last + 1]):
                continue
            if not _is_phone_shape(groups[first : last + 1]):
                continue
            separators = {_gap_key(gap) for gap in digits.gaps[first + 1 : last + 1]}
            if _continues(digits, first, separators) or _continues(digits, last + 1, separators):
                continue
            return True
    return False


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
    """Folded so that look-alikes from other scripts read as the ASCII they imitate."""
    text = drop_invisible(text).translate(upper_case_confusables_table()).casefold()
    return _AT_RE.sub("@", text.translate(confusables_table()))


# --- the scan ---------------------------------------------------------------


@dataclass(frozen=True)
class _Needles:
    names: frozenset[str]
    kana: frozenset[str]
    phone: str
    emails: frozenset[str]


def _name_needles(value: str) -> frozenset[str]:
    """The whole name and each part of it, folded (parts split on spaces and ・)."""
    text = collapse_spaces(to_halfwidth(value))
    parts = re.split(r"[\s・=゠]+", text)
    needles = {fold(text), *(fold(part) for part in parts)}
    return frozenset(needle for needle in needles if len(needle) >= MIN_NAME_NEEDLE_LENGTH)


def _phone_needle(value: str) -> str:
    digits = "".join(char for char in _prepare_digits(value) if char in _ASCII_DIGITS)
    return digits if len(digits) >= MIN_PHONE_NEEDLE_DIGITS else ""


def _email_needles(value: str) -> frozenset[str]:
    """The address, and its local part if long enough to be telling on its own: with
    the @ written some other way ("hanako.y at example dot com") it is still there."""
    needle = fold(_prepare_email(value).strip())
    if "@" not in needle:
        return frozenset()
    local = needle.rpartition("@")[0]
    return frozenset({needle, local} if len(local) >= MIN_EMAIL_LOCAL_NEEDLE_LENGTH else {needle})


def _needles(customer: CustomerIdentity | None) -> _Needles:
    if customer is None:
        return _Needles(names=frozenset(), kana=frozenset(), phone="", emails=frozenset())
    return _Needles(
        names=_name_needles(customer.name or ""),
        kana=_name_needles(customer.name_kana or ""),
        phone=_phone_needle(customer.phone or ""),
        emails=_email_needles(customer.email or ""),
    )


def _kinds_in(text: str, needles: _Needles) -> set[LeakKind]:
    kinds = {LeakKind.HIDDEN} if has_hidden(text) else set()
    # What a right-to-left override displays is scanned as well as what it stores.
    for variant in {text, visual_order(text)}:
        kinds |= _content_kinds(variant, needles)
    return kinds


def _content_kinds(text: str, needles: _Needles) -> set[LeakKind]:
    kinds: set[LeakKind] = set()
    folded = fold_with_positions(text)
    if any(_contains(folded, needle) for needle in needles.names):
        kinds.add(LeakKind.NAME)
    if any(_contains(folded, needle) for needle in needles.kana):
        kinds.add(LeakKind.NAME_KANA)

    digits_text = _prepare_digits(text)
    digits = _DigitGroups.of(digits_text)
    if needles.phone and any(needles.phone in run for run in _loose_digit_runs(digits)):
        kinds.add(LeakKind.PHONE)
    if _has_phone_pattern(digits_text) or _has_disguised_phone(digits):
        kinds.add(LeakKind.PHONE_PATTERN)

    email_text = _prepare_email(text)
    if needles.emails:
        folded_email_text = fold_with_positions(email_text)
        if any(_contains(folded_email_text, needle) for needle in needles.emails):
            kinds.add(LeakKind.EMAIL)
    if _EMAIL_RE.search(email_text):
        kinds.add(LeakKind.EMAIL_PATTERN)
    return kinds


def scan(*, fields: Mapping[str, str], customer: CustomerIdentity | None) -> list[Leak]:
    """Every (field, kind) of personal data found in the retail-visible ``fields``.

    Sorted by the order of ``fields``, then by the order of ``LeakKind``.
    Without a customer only the generic phone and e-mail patterns and the invisible
    characters are checked.
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
