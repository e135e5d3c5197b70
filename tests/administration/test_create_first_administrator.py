"""`manage.py create_first_administrator`: a member of the administration division,
created through the services (audited), once; the password never on the command line."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import User
from apps.audit.models import AuditAction, AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _roles():
    from tests.conftest import _ensure_roles

    _ensure_roles()


def _create(monkeypatch, username="kanri_first", password=PASSWORD, **options):
    monkeypatch.setenv("SHADAN_FIRST_ADMIN_PASSWORD", password)
    out = io.StringIO()
    call_command("create_first_administrator", username=username, stdout=out, **options)
    return out.getvalue()


def test_the_first_administrator_is_an_audited_member_of_the_administration(monkeypatch):
    out = _create(monkeypatch)

    user = User.objects.get(username="kanri_first")
    assert "kanri_first" in out
    assert user.division_at() == "admin"
    assert user.role_codes() == ["administrator"]
    assert user.check_password(PASSWORD)
    assert not user.is_superuser
    assert AuditEvent.objects.filter(
        action=AuditAction.USER_CREATED, object_id=str(user.pk), actor__isnull=True
    ).exists()
    assert PASSWORD not in out


def test_a_second_administrator_is_refused(monkeypatch):
    _create(monkeypatch)

    with pytest.raises(CommandError, match="exists already"):
        _create(monkeypatch, username="kanri_second")

    assert not User.objects.filter(username="kanri_second").exists()


def test_an_existing_administrator_made_otherwise_also_refuses(monkeypatch, administrator):
    with pytest.raises(CommandError, match="exists already"):
        _create(monkeypatch)


def test_a_weak_password_is_refused_with_the_reason_and_nothing_stored(monkeypatch):
    with pytest.raises(CommandError, match="password"):
        _create(monkeypatch, password="12345")

    assert not User.objects.filter(username="kanri_first").exists()


def test_without_a_terminal_or_the_variable_it_asks_for_the_variable(monkeypatch):
    monkeypatch.delenv("SHADAN_FIRST_ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    with pytest.raises(CommandError, match="SHADAN_FIRST_ADMIN_PASSWORD"):
        call_command("create_first_administrator", username="kanri_first")

    assert not User.objects.exists()


def test_the_password_is_not_a_command_line_option():
    with pytest.raises(CommandError):
        call_command("create_first_administrator", "--username", "x", "--password", PASSWORD)
