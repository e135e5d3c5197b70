"""Normalise and validate what a clerk types into an application.

Each ``normalize_<field>(value)`` returns the canonical form or raises a
``ValidationError`` with a ``code``. Blank input (empty or only spaces) comes
back as "": whether a field is required depends on the step (a draft may be
incomplete, submit may not), so the caller decides.

Messages never contain the value: it may be personal data, and messages end
up in logs and error reports.
"""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from apps.vocabulary.normalize import (
    collapse_spaces,
    hiragana_to_katakana,
    to_halfwidth,
    unify_hyphens,
)

from .textfold import has_invisible

SUPPLY_POINT_ID_LENGTH = 22
NAME_MAX_LENGTH = 100
KANA_MAX_LENGTH = 100
CONTRACTOR_REGISTRATION_MAX_LENGTH = 60

# Mobile, IP, M2M and 0800 numbers have 11 digits; every other number 10.
ELEVEN_DIGIT_PREFIXES: tuple[str, ...] = ("020", "050", "070", "080", "090")

_SUPPLY_POINT_ID_RE = re.compile(rf"[0-9]{{{SUPPLY_POINT_ID_LENGTH}}}")
_POSTAL_CODE_RE = re.compile(r"([0-9]{3})-?([0-9]{4})")
# "+81", optionally followed by a misplaced trunk prefix written "(0)".
_COUNTRY_CODE_RE = re.compile(r"\A\+\s*81[\s\-]*(?:\(\s*0\s*\)[\s\-]*)?")
_PHONE_CHARS_RE = re.compile(r"[0-9\-\s()]+")
_PHONE_SEPARATORS_RE = re.compile(r"[\-\s()]+")
_KANA_RE = re.compile(r"[\u30a1-\u30fa\u30fb\u30fc\u30fd\u30fe ]+")
# A dash typed right after a kana letter is a long vowel mark that went wrong.
_KANA_DASH_RE = re.compile(r"(?<=[\u30a1-\u30fa\u30fc])-")
_NAME_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def refuse_invisible(
    value: str, *, field: StrOrPromise, allow_variation_selectors: bool = False
) -> None:
    """Refuse characters nobody types by accident and nobody can see: zero-width and
    format characters, text-direction controls, fillers, variation selectors and
    control characters other than tab and line breaks. They hide personal data from
    the leak scanner and from the supervisor who checks what retail will see.

    Variation selectors may be allowed where they choose the glyph of a kanji in a
    person's name (異体字), which never reaches retail.
    """
    if has_invisible(value, allow_variation_selectors=allow_variation_selectors):
        raise ValidationError(
            _(
                "%(field)s contains invisible characters or characters that change the "
                "direction of the text (such as zero-width spaces, direction controls, "
                "fillers or variation selectors). Delete them and type the text again."
            ),
            code="invisible_characters",
            params={"field": field},
        )


def refuse_invisible_in(value: str, *, field_name: str, label: StrOrPromise) -> None:
    """`refuse_invisible` for a service's free text (a reason), keyed by its form field so
    the page shows the error beside it."""
    try:
        refuse_invisible(value, field=label)
    except ValidationError as error:
        raise ValidationError({field_name: error.error_list}) from None


def _is_blank(value: str) -> bool:
    return collapse_spaces(value) == ""


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(char) in _NAME_FORBIDDEN_CATEGORIES for char in text)


def _digits_without_separators(value: str) -> str:
    text = unify_hyphens(to_halfwidth(value), numeric=True)
    return "".join(char for char in text if not char.isspace() and char != "-")


def normalize_supply_point_id(value: str) -> str:
    """供給地点特定番号: 22 ASCII digits starting with this utility's area code."""
    if _is_blank(value):
        return ""
    candidate = _digits_without_separators(value)
    if not _SUPPLY_POINT_ID_RE.fullmatch(candidate):
        raise ValidationError(
            _("Enter the supply point ID as 22 digits."),
            code="supply_point_id_format",
        )
    area_code = str(settings.SHADAN_AREA_CODE)
    if candidate[:2] != area_code:
        raise ValidationError(
            _("This supply point ID belongs to another service area: it must start with %(area)s."),
            code="supply_point_id_area",
            params={"area": area_code},
        )
    return candidate


def normalize_postal_code(value: str) -> str:
    """Postal code → "123-4567" (accepts 〒, full-width digits, any hyphen, spaces)."""
    if _is_blank(value):
        return ""
    text = to_halfwidth(value).strip().removeprefix("〒")
    text = unify_hyphens(text, numeric=True)
    text = "".join(text.split())
    match = _POSTAL_CODE_RE.fullmatch(text)
    if match is None:
        raise ValidationError(
            _("Enter the postal code as 7 digits, for example 900-0001."),
            code="postal_code_invalid",
        )
    return f"{match.group(1)}-{match.group(2)}"


def _is_japanese_number(digits: str) -> bool:
    if len(digits) == 11:
        return digits.startswith(ELEVEN_DIGIT_PREFIXES)
    if len(digits) == 10:
        return (
            digits[0] == "0" and digits[1] != "0" and not digits.startswith(ELEVEN_DIGIT_PREFIXES)
        )
    return False


def normalize_phone(value: str) -> str:
    """A Japanese phone number, keeping the person's grouping with ASCII hyphens.

    "098(123)4567" → "098-123-4567", "+81 90 1234 5678" → "090-1234-5678",
    "０９０１２３４５６７８" → "09012345678". More than three groups are
    written as digits only: that grouping carries no meaning worth keeping.
    """
    if _is_blank(value):
        return ""
    text = unify_hyphens(to_halfwidth(value), numeric=True).strip()
    if text.startswith("+"):
        country = _COUNTRY_CODE_RE.match(text)
        if country is None:
            raise ValidationError(
                _("Enter a Japanese phone number (starting with 0 or +81)."),
                code="phone_foreign",
            )
        rest = text[country.end() :]
        # "+81 090..." keeps the trunk prefix the person already wrote.
        text = rest if rest.startswith("0") else "0" + rest
    if not _PHONE_CHARS_RE.fullmatch(text):
        raise ValidationError(
            _("A phone number may contain only digits, hyphens, spaces and parentheses."),
            code="phone_invalid_characters",
        )
    groups = [group for group in _PHONE_SEPARATORS_RE.split(text) if group]
    digits = "".join(groups)
    if not _is_japanese_number(digits):
        raise ValidationError(
            _(
                "Enter a Japanese phone number: 10 digits starting with 0, or 11 digits "
                "starting with 020, 050, 070, 080 or 090."
            ),
            code="phone_invalid",
        )
    if len(groups) > 3:
        return digits
    return "-".join(groups)


def phone_digits(value: str) -> str:
    """The digits of a valid Japanese phone number ("" for blank input)."""
    return normalize_phone(value).replace("-", "")


def normalize_email(value: str) -> str:
    """E-mail address: NFKC, trimmed, domain lowercased, local part as typed."""
    text = to_halfwidth(value).strip()
    if not text:
        return ""
    local, at, domain = text.rpartition("@")
    candidate = f"{local}{at}{domain.lower()}" if at else text
    try:
        EmailValidator()(candidate)
    except ValidationError:
        # Re-raised without Django's params, which carry the address itself.
        raise ValidationError(_("Enter a valid e-mail address."), code="email_invalid") from None
    return candidate


def normalize_kana(value: str) -> str:
    """The name in katakana: half-width and hiragana folded, spaces collapsed."""
    text = collapse_spaces(hiragana_to_katakana(to_halfwidth(value)))
    if not text:
        return ""
    text = _KANA_DASH_RE.sub("ー", unify_hyphens(text, numeric=False))
    if not _KANA_RE.fullmatch(text):
        raise ValidationError(
            _("Enter the name in katakana; only ー, ・ and spaces may be used besides."),
            code="kana_invalid",
        )
    if len(text) > KANA_MAX_LENGTH:
        raise ValidationError(
            _("The name in kana may be at most %(limit)d characters long."),
            code="kana_too_long",
            params={"limit": KANA_MAX_LENGTH},
        )
    return text


def normalize_person_name(value: str) -> str:
    """A person's name, trimmed and with spaces collapsed, otherwise exactly as typed.

    No NFKC here: it would replace compatibility ideographs, and people care
    which variant of a kanji (異体字) their name is written with.
    """
    text = collapse_spaces(value)
    if not text:
        return ""
    if _has_control_characters(text):
        raise ValidationError(
            _("The name contains control characters."),
            code="name_invalid_characters",
        )
    compact = text.replace(" ", "")
    if all(char.isdecimal() for char in compact):
        raise ValidationError(_("A name cannot consist of digits only."), code="name_digits_only")
    if not any(unicodedata.category(char).startswith("L") for char in compact):
        raise ValidationError(_("A name must contain at least one letter."), code="name_no_letters")
    if len(text) > NAME_MAX_LENGTH:
        raise ValidationError(
            _("The name may be at most %(limit)d characters long."),
            code="name_too_long",
            params={"limit": NAME_MAX_LENGTH},
        )
    return text


def normalize_contractor_registration(value: str) -> str:
    """電気工事業者 registration number, free-form: "沖縄県知事登録 第12345号".

    NFKC is fine here (it is an official identifier, not a person's name):
    digits and parentheses become half-width.
    """
    text = collapse_spaces(to_halfwidth(value))
    if not text:
        return ""
    if _has_control_characters(text):
        raise ValidationError(
            _("The registration number contains control characters."),
            code="registration_invalid_characters",
        )
    if len(text) > CONTRACTOR_REGISTRATION_MAX_LENGTH:
        raise ValidationError(
            _("The registration number may be at most %(limit)d characters long."),
            code="registration_too_long",
            params={"limit": CONTRACTOR_REGISTRATION_MAX_LENGTH},
        )
    if not any(char in "0123456789" for char in text):
        raise ValidationError(
            _("The registration number must contain the number itself."),
            code="registration_no_digit",
        )
    return text
