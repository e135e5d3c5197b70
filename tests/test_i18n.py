"""Japanese first: the shipped catalog is complete and compiled, no system gettext needed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import polib
import pytest
from django.utils import translation

from apps.applications import services
from apps.core.errors import StaleVersion

PO = Path(__file__).resolve().parents[1] / "locale" / "ja" / "LC_MESSAGES" / "django.po"


def test_every_message_has_a_japanese_translation():
    catalog = polib.pofile(str(PO))

    assert catalog.untranslated_entries() == []
    assert catalog.fuzzy_entries() == []


def test_no_message_is_defined_twice():
    # Branches append their entries and merge as a union (.gitattributes): a string two
    # branches both added would be defined twice, which GNU msgfmt refuses and polib
    # silently resolves to one of them.
    keys = Counter((e.msgctxt, e.msgid) for e in polib.pofile(str(PO)) if not e.obsolete)

    assert [key for key, times in keys.items() if times > 1] == []


def test_the_committed_mo_file_matches_the_po_file():
    po = {(e.msgctxt, e.msgid): e.msgstr for e in polib.pofile(str(PO)) if not e.obsolete}
    mo = {(e.msgctxt, e.msgid): e.msgstr for e in polib.mofile(str(PO.with_suffix(".mo")))}

    assert mo == po, "run `make messages` (or recompile with polib) and commit django.mo"


def test_refusals_speak_japanese_by_default():
    with translation.override("ja"):
        assert "再読み込み" in str(StaleVersion())


def test_and_english_when_asked():
    with translation.override("en"):
        assert "Reload" in str(StaleVersion())


@pytest.mark.django_db(databases=["default", "vault", "retail"])
def test_a_field_error_from_a_service_is_japanese(clerk, retailer):
    from django.core.exceptions import ValidationError

    from tests.factories import application_input

    with translation.override("ja"), pytest.raises(ValidationError) as refused:
        services.application_create(
            acting_user=clerk, data=application_input(retailer, customer_phone="")
        )
    message = refused.value.message_dict["customer_phone"][0]
    assert message != "This field is required."
    assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in message)
