"""Undoing the disguises people can put on text: invisible characters, look-alikes.

The leak scanner compares folded texts, and the input validators refuse what nobody
types by accident. Three pieces, built from maintained Unicode data rather than lists
typed here (the only lists typed here are the kanji variants of surnames and one pair
added to the look-alikes):

- characters nobody can see: default-ignorable code points (zero-width characters,
  joiners, fillers such as U+3164, the combining grapheme joiner, variation
  selectors), bidirectional controls and every other format character (Cf), with
  the regex module's Unicode properties;
- look-alikes: the Unicode consortium's confusables.txt (UTS #39), as shipped by
  confusable-homoglyphs. It already pairs the kanji and katakana that pass for
  each other (力/カ, 口/ロ, 工/エ, 二/ニ, 卜/ト, 夕/タ, 八/ハ) and Latin with
  Cyrillic and Greek;
- letters that pass for digits (O, o, l, I and their look-alikes), taken from the
  same table: every character confusable with an ASCII digit or with "o".
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import regex

from apps.vocabulary.normalize import HYPHENS, hiragana_to_katakana

# Invisible characters and those that reorder what is displayed. U+2800 (braille blank)
# is not default-ignorable but shows as a blank, like a filler.
_INVISIBLE_CLASS = r"\p{Default_Ignorable_Code_Point}\p{Bidi_Control}\p{Cf}\u2800"
_INVISIBLE_RE = regex.compile(f"[{_INVISIBLE_CLASS}]")
# Variation selectors pick the glyph of a kanji in a person's name (異体字).
_INVISIBLE_BUT_VARIATION_SELECTORS_RE = regex.compile(
    rf"(?!\p{{Variation_Selector}})[{_INVISIBLE_CLASS}]"
)
# Control characters other than tab and line breaks (a remark has several lines).
_CONTROL_RE = regex.compile(r"(?![\t\n\r])\p{Cc}")
# What folding drops: the invisible characters and every combining mark but the kana voiced
# marks (ガ is not カ), so that accents go too: "é", "ё" and "ό" fold to e, е and ο,
# which the confusables then fold to e and o.
_DROPPED_RE = regex.compile(f"(?:[{_INVISIBLE_CLASS}\\p{{Me}}]|(?![\\u3099\\u309a])\\p{{Mn}})+")

BIDI_RIGHT_TO_LEFT_OVERRIDE = "\u202e"
BIDI_POP = "\u202c"
# The spacing voiced marks an IME may produce; as combining marks NFKC joins them to the kana.
_SPACING_VOICED_MARKS = str.maketrans({"\u309b": "\u3099", "\u309c": "\u309a"})
# The kanji 一 passes for the prolonged sound mark ー, but it is also a digit and part of
# names (一郎): it is folded only between two katakana (see _kept_in_fold).
KANJI_ONE = "\u4e00"
_NEVER_FOLDED = frozenset("0123456789" + KANJI_ONE)


def has_invisible(text: str, *, allow_variation_selectors: bool = False) -> bool:
    """True if ``text`` holds an invisible, format or text-direction character or a
    control character other than tab and line breaks."""
    invisible = (
        _INVISIBLE_BUT_VARIATION_SELECTORS_RE if allow_variation_selectors else _INVISIBLE_RE
    )
    return bool(invisible.search(text) or _CONTROL_RE.search(text))


def has_hidden(text: str) -> bool:
    """True if ``text`` holds an invisible, format or text-direction character."""
    return bool(_INVISIBLE_RE.search(text))


def visual_order(text: str) -> str:
    """``text`` with each right-to-left override span reversed, as it is displayed:
    "\u202e1234-567-890\u202c" reads 098-765-4321 on screen."""
    if BIDI_RIGHT_TO_LEFT_OVERRIDE not in text:
        return text
    parts: list[str] = []
    position = 0
    while (start := text.find(BIDI_RIGHT_TO_LEFT_OVERRIDE, position)) != -1:
        end = text.find(BIDI_POP, start + 1)
        end = len(text) if end == -1 else end
        parts.append(text[position:start])
        parts.append(text[start + 1 : end][::-1])
        position = end + 1
    parts.append(text[position:])
    return "".join(parts)


def drop_invisible(text: str) -> str:
    """NFKC of ``text`` without its invisible characters and combining marks (the kana
    voiced marks stay, joined to their kana)."""
    text = unicodedata.normalize("NFKD", text.translate(_SPACING_VOICED_MARKS))
    return unicodedata.normalize("NFC", _DROPPED_RE.sub("", text))


# --- look-alikes ---------------------------------------------------------------------


def _canonical(char: str) -> str:
    return hiragana_to_katakana(unicodedata.normalize("NFKC", char)).casefold()


def _preference(char: str) -> tuple[int, int]:
    """Which member of a group of look-alikes stands for the group: ASCII first (lower
    case before other ASCII), then katakana, then hiragana, then the lowest code point."""
    code = ord(char)
    if char.isascii():
        rank = 0 if char.islower() else 1
    elif 0x30A0 <= code <= 0x30FF:
        rank = 2
    elif 0x3040 <= code <= 0x309F:
        rank = 3
    else:
        rank = 4
    return rank, code


def _groups(pairs: Iterable[tuple[str, str]]) -> list[set[str]]:
    """Connected groups of single characters that the table says look alike."""
    neighbours: defaultdict[str, set[str]] = defaultdict(set)
    for first, second in pairs:
        neighbours[first].add(second)
        neighbours[second].add(first)
    seen: set[str] = set()
    groups: list[set[str]] = []
    for start in neighbours:
        if start in seen:
            continue
        group: set[str] = set()
        pending = [start]
        while pending:
            char = pending.pop()
            if char not in group:
                group.add(char)
                pending.extend(neighbours[char] - group)
        seen |= group
        groups.append(group)
    return groups


# One pair added to the table (docs/decisions.md): the table's prototype for the Cyrillic
# к and the Greek κ is the Latin kra ĸ, which reads as k in lower-case text.
_SUPPLEMENT = (("ĸ", "k"),)


@functools.cache
def _confusable_pairs() -> tuple[tuple[str, str], ...]:
    # Imported here: the data (about 1 MB of JSON) is read on the first scan only.
    from confusable_homoglyphs.confusables import confusables_data

    pairs: list[tuple[str, str]] = []
    for key, entries in confusables_data.items():
        source = key.replace("\u200e", "").replace("\u200f", "")
        for entry in entries:
            target = entry["c"].replace("\u200e", "").replace("\u200f", "")
            # Sequences ("rn" for "m") are left out: a character is folded to a character.
            if len(source) == 1 and len(target) == 1:
                pairs.append((source, target))
    return (*pairs, *_SUPPLEMENT)


@functools.cache
def confusables_table() -> dict[int, str]:
    """A ``str.translate`` table from each look-alike to the character standing for its
    group (in NFKC, katakana and case folded). Apply it before case folding too: the
    Cyrillic К looks like K, its lower case к does not look like k."""
    table: dict[int, str] = {}
    for group in _groups(_confusable_pairs()):
        members = group - _NEVER_FOLDED
        if len(members) < 2:
            continue
        representative = _canonical(min(members, key=_preference))
        for member in members:
            if member != representative:
                table[ord(member)] = representative
    return table


@functools.cache
def upper_case_confusables_table() -> dict[int, str]:
    """The table for text not yet case folded: ASCII is left to case folding ("I" is i,
    not the l it looks like); the Cyrillic К still folds to k, before it turns into к."""
    return {code: char for code, char in confusables_table().items() if code >= 0x80}


@functools.cache
def digit_lookalikes() -> dict[str, str]:
    """Each character that passes for a digit (O and o for 0, l and I for 1, З for 3…)."""
    lookalikes: dict[str, str] = {}
    for group in _groups(_confusable_pairs()):
        digits = sorted(group & set("0123456789"))
        digit = digits[0] if digits else ("0" if "o" in group else "")
        if digit:
            lookalikes.update({member: digit for member in group if not member.isdigit()})
    return lookalikes


@functools.cache
def _digit_lookalike_run_re() -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(c) for c in sorted(digit_lookalikes())) + "]+")


def _digit_near(text: str, index: int, step: int, reach: int) -> bool:
    """A digit at ``index``, or behind at most ``reach`` other characters in the
    direction of ``step`` (the gap a phone number's digit groups may have between them:
    "090の1000のOOOO")."""
    for _ in range(reach + 1):
        if not 0 <= index < len(text):
            return False
        if text[index].isdecimal():
            return True
        index += step
    return False


def letters_as_digits(text: str, *, reach: int) -> str:
    """Letters that pass for digits, read as digits where a digit is near them (at most
    ``reach`` characters away): "O98-765-432l", "090xl234x5678" and, with a reach of
    three, "090の1000のOOOO" read 098-765-4321, 090x1234x5678 and 090の1000の0000. A
    run of them away from digits ("ROOM", "Oil") stays; one near a digit ("CO2",
    "ROOM 3") turns into digits too, which only matters if the result is a phone
    number."""
    lookalikes = digit_lookalikes()
    run = _digit_lookalike_run_re()
    # Over the text as read so far, until nothing more is read, so a group read as
    # digits makes its neighbour near a digit ("090♪lOOO♪OOOO", and reversed).
    read, changed = text, True
    while changed:
        changed, done = False, 0
        while match := run.search(read, done):
            start, end = match.span()
            if _digit_near(read, start - 1, -1, reach) or _digit_near(read, end, 1, reach):
                digits = "".join(lookalikes[c] for c in match.group())
                read, changed = read[:start] + digits + read[end:], True
            done = end
    return read


# --- the comparison form of names and e-mail addresses -----------------------------

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
_FOLD_IGNORED: frozenset[str] = (
    HYPHENS | {"・", "=", "゠"} | {chr(code) for code in range(0x3001) if chr(code).isspace()}
)
_ITERATION_MARK = "々"


@functools.cache
def _fold_table() -> dict[int, str]:
    """Hiragana → katakana, look-alikes and kanji variants in one translation table."""
    confusables = confusables_table()
    codes = {*range(0x3040, 0x30A0), *confusables, *_KANJI_VARIANTS}
    table: dict[int, str] = {}
    for code in codes:
        folded = hiragana_to_katakana(chr(code)).translate(confusables).translate(_KANJI_VARIANTS)
        if folded != chr(code):
            table[code] = folded
    return table


@dataclass(frozen=True)
class Folded:
    """A folded text and, per folded character, its index in ``source``.

    ``source`` is the text before spaces, hyphens and the like were dropped; the
    positions let a match be checked against its real neighbours.
    """

    source: str
    text: str
    positions: tuple[int, ...]


def _prefold(text: str) -> str:
    text = drop_invisible(text).translate(upper_case_confusables_table())
    text = text.casefold().translate(_fold_table())
    if _ITERATION_MARK not in text:
        return text
    chars: list[str] = []
    for char in text:
        # 佐々木 and 佐佐木 are the same name.
        chars.append(chars[-1] if char == _ITERATION_MARK and chars else char)
    return "".join(chars)


def _is_katakana(char: str) -> bool:
    return "\u30a1" <= char <= "\u30fc"


def _kept_in_fold(source: str, index: int) -> bool:
    char = source[index]
    if char == KANJI_ONE:
        # 一 between two katakana is a prolonged sound mark in disguise ("カ一ド", "ス一一").
        before = len(source[:index].rstrip(KANJI_ONE)) - 1
        after = len(source) - len(source[index:].lstrip(KANJI_ONE))
        return not (
            before >= 0
            and after < len(source)
            and _is_katakana(source[before])
            and _is_katakana(source[after])
        )
    return char not in _FOLD_IGNORED


def fold_with_positions(text: str) -> Folded:
    source = _prefold(text)
    if KANJI_ONE in source:
        positions = [index for index in range(len(source)) if _kept_in_fold(source, index)]
    else:
        positions = [index for index, char in enumerate(source) if char not in _FOLD_IGNORED]
    return Folded(
        source=source,
        text="".join(source[index] for index in positions),
        positions=tuple(positions),
    )


def fold(text: str) -> str:
    """The comparison form of a text: apply it to both the needle and the haystack.

    Full-width → half-width (NFKC), invisible characters and stray combining
    marks removed, hiragana → katakana, case folded, look-alikes (confusables)
    and common kanji variants unified, and every space, hyphen variant, ー and ・
    removed.
    """
    return fold_with_positions(text).text
