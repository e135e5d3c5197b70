"""Pseudonym codes stand in for the customer on the retail side."""

from __future__ import annotations

import pytest

from apps.applications import pseudonym
from apps.applications.pseudonym import PSEUDONYM_RE, is_pseudonym, new_pseudonym
from apps.applications.services import intake


def test_new_pseudonym_has_the_c_hex_hex_shape():
    code = new_pseudonym()

    assert PSEUDONYM_RE.match(code)
    assert len(code) == len("C-XXXX-XXXX")


def test_new_pseudonyms_differ_from_each_other():
    codes = {new_pseudonym() for _ in range(1000)}

    assert len(codes) > 990


def test_pseudonym_comes_from_the_secrets_module(monkeypatch):
    monkeypatch.setattr(pseudonym.secrets, "token_hex", lambda nbytes: "ab" * nbytes)

    assert new_pseudonym() == "C-ABAB-ABAB"


def test_new_pseudonym_takes_no_personal_data():
    with pytest.raises(TypeError):
        new_pseudonym("山田太郎")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "value",
    ["c-1a2b-3c4d", "C-1A2B-3C4", "C-1A2B-3C4DE", "C-1A2G-3C4D", "C1A2B3C4D", "C-1A2B-3C4D\n", ""],
)
def test_malformed_codes_are_not_pseudonyms(value):
    assert not is_pseudonym(value)


def test_well_formed_code_is_a_pseudonym():
    assert is_pseudonym("C-0F9A-B1C2")


@pytest.mark.django_db(databases=["default", "vault"])
def test_create_draws_again_when_the_pseudonym_is_taken(monkeypatch, new_application):
    first = new_application()
    draws = iter([first.pseudonym, first.pseudonym, "C-0000-0001"])
    monkeypatch.setattr(intake, "new_pseudonym", lambda: next(draws))

    second = new_application()

    assert second.pseudonym == "C-0000-0001"
    assert next(draws, None) is None  # both repeats were seen as taken
