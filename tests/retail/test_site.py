"""The retail site as a whole (served in-process): only its own pages exist, each with a
strict CSP; sign-in locks after repeated failures; a reset password must be changed first;
the own-password change writes the retail database only; the inbox shows one's own
messages and marks them read."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import check_password
from django.utils import translation

from apps.accounts.models import User
from apps.publication.models import RetailAccount, RetailInboxEntry
from tests.conftest import PASSWORD
from tests.retail.site import LIST, RetailSiteClient, account_of, detail
from tests.web.test_security import _assert_csp, inline_code

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

LOGIN = "/accounts/login/"
NEW_PASSWORD = "a brand new retail passphrase 7"


def test_every_retail_page_has_a_strict_csp_and_no_inline_code(retail_client, verified):
    app = verified()
    pages = {
        "list": LIST,
        "search": f"{LIST}?q={app.reference}",
        "detail": detail(app.reference),
        "not found": detail("SD2099-9999999"),
        "inbox": "/inbox/",
        "password": "/accounts/password/",
        "sign-in": LOGIN,
    }
    for label, url in pages.items():
        client = RetailSiteClient() if label == "sign-in" else retail_client
        response = client.get(url)
        assert response.status_code in (200, 404), label
        _assert_csp(response, label)
        assert inline_code(response.content.decode()) == [], label


def test_the_retail_pages_show_no_t_and_d_navigation(retail_client, verified):
    verified()

    html = retail_client.get(LIST).content.decode()

    for td_path in ("/review/", "/construction/", "/audit/", "/administration/", "/admin/"):
        assert f'href="{td_path}' not in html
    assert 'href="/inbox/"' in html


@pytest.mark.parametrize(
    "path",
    ["/admin/", "/admin/login/", "/review/", "/applications/", "/audit/", "/retail/", "/x/"],
)
def test_nothing_but_the_retail_pages_exists(retail_client, path):
    assert retail_client.get(path).status_code == 404


def test_retail_sign_in_is_locked_after_repeated_failures(settings, retail_user):
    settings.AXES_ENABLED = True
    account_of(retail_user)
    client = RetailSiteClient()
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": retail_user.username, "password": "wrong"})

    response = client.post(LOGIN, {"username": retail_user.username, "password": PASSWORD})

    assert response.status_code == settings.AXES_HTTP_RESPONSE_CODE
    assert "retail/locked_out.html" in [t.name for t in response.templates]
    with translation.override("ja"):
        assert translation.gettext("Account locked") in response.content.decode()
    assert client.get(LIST).status_code == 302


def test_a_reset_password_must_be_changed_before_anything_else(retail_user, verified):
    app = verified()
    account = account_of(retail_user)
    RetailAccount.objects.filter(pk=account.pk).update(must_change_password=True)
    client = RetailSiteClient()
    client.post(LOGIN, {"username": retail_user.username, "password": PASSWORD})

    for url in (LIST, detail(app.reference), "/inbox/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == "/accounts/password/"
    form = client.get("/accounts/password/").content.decode()
    assert 'data-testid="forced-password-change"' in form

    changed = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert changed.status_code == 302
    assert client.get(LIST).status_code == 200
    account.refresh_from_db()
    assert account.must_change_password is False


def test_the_own_password_change_writes_the_retail_database_only(retail_client, retail_user):
    wrong = retail_client.post(
        "/accounts/password/",
        {"old_password": "not it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 200

    response = retail_client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert check_password(NEW_PASSWORD, RetailAccount.objects.get(pk=retail_user.pk).password)
    # The T&D account is untouched; the signed-in session stays valid.
    assert check_password(PASSWORD, User.objects.get(pk=retail_user.pk).password)
    assert retail_client.get(LIST).status_code == 200


def test_the_inbox_shows_ones_own_messages_and_marks_them_read(retail_client, retail_user):
    mine = RetailInboxEntry.objects.create(
        message_id=1, account_id=retail_user.pk, kind="password.reset", subject="パスワード再設定"
    )
    theirs = RetailInboxEntry.objects.create(
        message_id=2, account_id=retail_user.pk + 1000, kind="x", subject="ほかの人あて"
    )

    html = retail_client.get("/inbox/").content.decode()
    assert "パスワード再設定" in html and "ほかの人あて" not in html
    header = retail_client.get(LIST).content.decode()
    # One unread of one's own; the other person's does not count.
    assert re.search(r'data-testid="inbox-unread">[^<]*\b1\b', header), header

    assert retail_client.post(f"/inbox/{theirs.pk}/read/").status_code == 404
    assert retail_client.post(f"/inbox/{mine.pk}/read/").status_code == 302
    assert retail_client.get(f"/inbox/{mine.pk}/read/").status_code == 405

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None and theirs.read_at is None
    assert 'data-testid="inbox-unread"' not in retail_client.get(LIST).content.decode()


@pytest.mark.parametrize(("unread", "badge"), [(99, "99"), (100, "99+")])
def test_the_unread_badge_counts_up_to_99_then_says_more(retail_client, retail_user, unread, badge):
    RetailInboxEntry.objects.bulk_create(
        RetailInboxEntry(message_id=n, account_id=retail_user.pk, kind="x", subject=f"s{n}")
        for n in range(1, unread + 1)
    )

    header = retail_client.get(LIST).content.decode()

    found = re.search(r'data-testid="inbox-unread">([^<]*)<', header)
    assert found and re.search(rf"(?<![\d+]){re.escape(badge)}(?![\d+])", found.group(1))


def test_signing_out_ends_the_retail_session(retail_client):
    assert retail_client.post("/accounts/logout/").status_code == 302
    assert retail_client.get(LIST).status_code == 302


def test_no_retail_page_shows_a_raw_code(retail_client, verified, retail_user):
    from tests.web.test_no_raw_codes import raw_codes_in

    app = verified()
    RetailInboxEntry.objects.create(
        message_id=3, account_id=retail_user.pk, kind="password.reset", subject="お知らせ"
    )
    for url in (LIST, detail(app.reference), "/inbox/", "/accounts/password/"):
        assert raw_codes_in(retail_client.get(url).content.decode()) == [], url
