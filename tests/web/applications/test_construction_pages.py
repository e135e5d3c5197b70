"""Construction's pages: released work, the work page, contact details revealed with a
reason code, completion and energization."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.applications.models import Application
from apps.audit.models import AuditAction, AuditEvent
from apps.vault.services import vault_read
from apps.web.applications.views.construction import PAGE_SIZE
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def work(new_application, clerk, supervisor, construction):
    """An application walked through the services up to `to` (released by default)."""

    def make(to: str = "released", **overrides) -> Application:
        return advance(
            new_application(**overrides),
            to,
            clerk=clerk,
            supervisor=supervisor,
            construction=construction,
        )

    return make


def _ids(html: str) -> list[int]:
    table = html.split('data-testid="construction-list"')[1].split("</table>")[0]
    return [int(pk) for pk in re.findall(r'data-application="(\d+)"', table)]


def _get(client: Client, user, name: str, *args, **query) -> str:
    client.force_login(user)
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200
    return response.content.decode()


def _reload(app: Application) -> Application:
    return Application.objects.get(pk=app.pk)


def _pii_values(app: Application) -> list[str]:
    pii = vault_read(app.customer_ref)
    return [pii.name, pii.name_kana, pii.phone, pii.email]


def _pii_reads(app: Application):
    return AuditEvent.objects.for_object(app).filter(action=AuditAction.PII_READ)


def _released_at(app: Application, *, days_ago: int) -> None:
    Application.objects.filter(pk=app.pk).update(
        released_at=timezone.now() - datetime.timedelta(days=days_ago)
    )


# --- the work lists ------------------------------------------------------------------------


def test_work_list_shows_released_work_oldest_first(client, work, construction):
    recent, old, middle = work(), work(), work()
    _released_at(recent, days_ago=1)
    _released_at(old, days_ago=9)
    _released_at(middle, days_ago=4)
    work("verified")  # not released yet
    work("constructed")  # on the other list

    html = _get(client, construction, "construction-list")

    assert _ids(html) == [old.pk, middle.pk, recent.pk]
    for app in (recent, old, middle):
        for value in _pii_values(app):
            assert value not in html
    assert 'data-testid="masking"' in html


def test_work_list_of_completed_work_waits_for_energization(client, work, construction):
    work()
    done = work("constructed")
    work("energized")

    html = _get(client, construction, "construction-list", state="constructed")

    assert _ids(html) == [done.pk]


def test_work_list_is_paginated(client, work, construction):
    apps = [work() for _ in range(PAGE_SIZE + 1)]
    for days, app in enumerate(reversed(apps)):
        _released_at(app, days_ago=days + 1)

    first = _get(client, construction, "construction-list")
    second = _get(client, construction, "construction-list", page=2)

    assert _ids(first) == [a.pk for a in apps[:PAGE_SIZE]]
    assert _ids(second) == [apps[-1].pk]
    assert 'href="?page=2"' in first


# --- the work page -------------------------------------------------------------------------


def test_work_page_shows_the_site_without_personal_data(client, work, construction):
    app = work()

    html = _get(client, construction, "construction-detail", app.pk)

    assert app.street_address in html
    assert app.pseudonym in html
    for value in _pii_values(app):
        assert value not in html
    assert 'data-testid="reveal-form"' in html
    assert 'data-testid="complete-form"' in html
    assert 'data-testid="masking"' in html
    assert not _pii_reads(app).exists()


def test_work_page_of_unreleased_work_is_not_found(client, work, construction):
    app = work("verified")
    client.force_login(construction)

    assert client.get(reverse("construction-detail", args=[app.pk])).status_code == 404


# --- revealing the contact details ---------------------------------------------------------


def test_reveal_without_a_reason_code_is_refused(client, work, construction):
    app = work()
    client.force_login(construction)

    response = client.post(reverse("construction-reveal", args=[app.pk]), {})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="error"' in html.split('data-field="purpose"')[1].split("</fieldset>")[0]
    assert 'data-testid="contact-details"' not in html
    for value in _pii_values(app):
        assert value not in html
    assert not _pii_reads(app).exists()


def test_reveal_with_a_reason_code_shows_the_contact_details_and_records_the_read(
    client, work, construction
):
    app = work()
    client.force_login(construction)

    response = client.post(
        reverse("construction-reveal", args=[app.pk]), {"purpose": "site_access"}
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    panel = html.split('data-testid="contact-details"')[1].split("</section>")[0]
    for value in _pii_values(app):
        assert value in panel
    read = _pii_reads(app).get()
    assert read.actor == construction
    assert read.details["purpose"] == "site_access"
    # Not kept anywhere for later: the next page view shows no personal data.
    for value in _pii_values(app):
        assert value not in str(dict(client.session))
    html = _get(client, construction, "construction-detail", app.pk)
    for value in _pii_values(app):
        assert value not in html


def test_reveal_for_other_without_text_is_refused(client, work, construction):
    app = work()
    client.force_login(construction)

    response = client.post(
        reverse("construction-reveal", args=[app.pk]), {"purpose": "other", "reason_text": " "}
    )

    html = response.content.decode()
    assert 'class="error"' in html.split('data-field="reason_text"')[1].split("</div>")[0]
    assert 'data-testid="contact-details"' not in html
    assert not _pii_reads(app).exists()


def test_reveal_for_other_with_text_records_the_text(client, work, construction):
    app = work()
    client.force_login(construction)

    response = client.post(
        reverse("construction-reveal", args=[app.pk]),
        {"purpose": "other", "reason_text": "メーター位置の確認"},
    )

    assert 'data-testid="contact-details"' in response.content.decode()
    read = _pii_reads(app).get()
    assert read.details["purpose"] == "other"
    assert read.reason == "メーター位置の確認"


def test_reveal_reason_with_personal_data_is_refused_and_the_text_kept(client, work, construction):
    app = work()
    client.force_login(construction)
    typed = "090-1111-2222 に電話"

    response = client.post(
        reverse("construction-reveal", args=[app.pk]), {"purpose": "other", "reason_text": typed}
    )

    html = response.content.decode()
    field = html.split('data-field="reason_text"')[1].split("</div>")[0]
    assert 'class="error"' in field
    assert typed in field
    assert 'data-testid="contact-details"' not in html
    assert not _pii_reads(app).exists()


# --- completion and energization ---------------------------------------------------------


def test_completion_form_defaults_to_today(client, work, construction):
    app = work()

    html = _get(client, construction, "construction-detail", app.pk)

    form = html.split('data-testid="complete-form"')[1].split("</form>")[0]
    assert f'value="{timezone.localdate():%Y-%m-%d}"' in form


def test_completion_is_recorded_with_its_date(client, work, construction):
    app = work()
    _released_at(app, days_ago=5)
    day = timezone.localdate() - datetime.timedelta(days=2)
    client.force_login(construction)

    response = client.post(
        reverse("construction-complete", args=[app.pk]),
        {"completed_on": day.isoformat(), "confirm": "on"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("construction-detail", args=[app.pk])
    app = _reload(app)
    assert app.state == "constructed"
    assert app.completed_on == day


def test_completion_accepts_full_width_digits(client, work, construction):
    app = work()
    client.force_login(construction)
    today = timezone.localdate()
    typed = f"{today:%Y/%m/%d}".translate(str.maketrans("0123456789", "０１２３４５６７８９"))

    response = client.post(
        reverse("construction-complete", args=[app.pk]), {"completed_on": typed, "confirm": "on"}
    )

    assert response.status_code == 302
    assert _reload(app).completed_on == today


def test_completion_in_the_future_is_refused_and_the_date_kept(client, work, construction):
    app = work()
    client.force_login(construction)
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()

    response = client.post(
        reverse("construction-complete", args=[app.pk]), {"completed_on": tomorrow, "confirm": "on"}
    )

    assert response.status_code == 200
    field = response.content.decode().split('data-field="completed_on"')[1].split("</div>")[0]
    assert 'class="error"' in field
    assert f'value="{tomorrow}"' in field
    assert _reload(app).state == "released"


def test_energization_is_recorded_with_its_date(client, work, construction):
    app = work("constructed")
    client.force_login(construction)
    html = _get(client, construction, "construction-detail", app.pk)
    assert 'data-testid="energize-form"' in html

    response = client.post(
        reverse("construction-energize", args=[app.pk]),
        {"energized_on": timezone.localdate().isoformat(), "confirm": "on"},
    )

    assert response.status_code == 302
    app = _reload(app)
    assert app.state == "energized"
    assert app.energized_on == timezone.localdate()


def test_energization_without_a_date_is_refused(client, work, construction):
    app = work("constructed")
    client.force_login(construction)

    response = client.post(
        reverse("construction-energize", args=[app.pk]), {"energized_on": "", "confirm": "on"}
    )

    assert response.status_code == 200
    assert 'class="error"' in response.content.decode().split('data-field="energized_on"')[1]
    assert _reload(app).state == "constructed"


def test_energizing_work_not_completed_is_refused_with_a_message(client, work, construction):
    app = work()
    client.force_login(construction)

    response = client.post(
        reverse("construction-energize", args=[app.pk]),
        {"energized_on": timezone.localdate().isoformat(), "confirm": "on"},
    )

    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert 'class="message error"' in page
    assert _reload(app).state == "released"


def test_completion_is_not_recorded_until_it_is_confirmed(client, work, construction):
    app = work()
    client.force_login(construction)
    day = timezone.localdate().isoformat()

    response = client.post(reverse("construction-complete", args=[app.pk]), {"completed_on": day})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="error"' in html.split('data-field="confirm"')[1].split("</div>")[0]
    assert f'value="{day}"' in html.split('data-field="completed_on"')[1].split("</div>")[0]
    assert _reload(app).state == "released"


def test_energization_is_not_recorded_until_it_is_confirmed(client, work, construction):
    app = work("constructed")
    client.force_login(construction)

    response = client.post(
        reverse("construction-energize", args=[app.pk]),
        {"energized_on": timezone.localdate().isoformat()},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="error"' in html.split('data-field="confirm"')[1].split("</div>")[0]
    assert _reload(app).state == "constructed"


def test_the_energization_form_names_the_completion_date_it_must_follow(client, work, construction):
    app = work("constructed")
    completed = _reload(app).completed_on
    html = _get(client, construction, "construction-detail", app.pk)

    field = html.split('data-field="energized_on"')[1].split("</div>")[0]
    assert f"{completed:%Y/%m/%d}" in field
    assert 'name="confirm"' in html.split('data-testid="energize-form"')[1]


# --- who may open these pages ---------------------------------------------------------


CONSTRUCTION_URLS = [
    ("get", "construction-list", False),
    ("get", "construction-detail", True),
    ("post", "construction-reveal", True),
    ("post", "construction-complete", True),
    ("post", "construction-energize", True),
]


@pytest.mark.parametrize(("method", "name", "with_pk"), CONSTRUCTION_URLS)
@pytest.mark.parametrize(
    ("persona", "status"),
    [("retail_user", 404), ("clerk", 403), ("auditor", 403), ("supervisor", 403)],
)
def test_other_roles_are_refused(request, client, work, method, name, with_pk, persona, status):
    app = work()
    client.force_login(request.getfixturevalue(persona))
    url = reverse(name, args=[app.pk] if with_pk else [])
    data = {
        "purpose": "scheduling",
        "completed_on": timezone.localdate().isoformat(),
        "energized_on": timezone.localdate().isoformat(),
        "confirm": "on",
    }

    response = getattr(client, method)(url, data if method == "post" else {})

    assert response.status_code == status
    assert _reload(app).state == "released"
    assert not _pii_reads(app).exists()


def test_construction_opens_the_application_page_of_released_work_only(
    client, new_application, clerk, supervisor, construction
):
    released = advance(new_application(), "released", clerk=clerk, supervisor=supervisor)
    verified = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    client.force_login(construction)

    assert client.get(reverse("application-detail", args=[released.pk])).status_code == 200
    assert client.get(reverse("application-detail", args=[verified.pk])).status_code == 403
