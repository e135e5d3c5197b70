from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apps.accounts.models import Division, DivisionCode, User
from apps.applications.models import Application
from apps.retailers.models import Retailer
from tests.conftest import _person, advance
from tests.factories import make_retailer


@pytest.fixture(autouse=True)
def _checkpoints_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"


@pytest.fixture
def compliance(db: None) -> User:
    contact = _person("compliance_kato", "td", "supervisor")
    Division.objects.filter(code=DivisionCode.TD).update(compliance_contact=contact)
    return contact


@pytest.fixture
def affiliated(db: None) -> Retailer:
    return make_retailer(code="A0001", name="自社小売", is_affiliated=True)


@pytest.fixture
def entered(
    new_application: Callable[..., Application], clerk: User, supervisor: User
) -> Callable[..., Application]:
    def make(**overrides: Any) -> Application:
        return advance(new_application(**overrides), "entered", clerk=clerk, supervisor=supervisor)

    return make
