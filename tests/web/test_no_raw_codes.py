"""No page shows a raw code: division, role and action codes and the application's model
field names appear only as their labels in the visible text (tags stripped, attributes
ignored: a code in a link or a data- attribute is for machines, not read).

The pages are walked with a trail that holds every kind of event the pages show: the
whole workflow of an application, a personal-data read, a retail view and list views,
the grant of retail visibility, a transfer and a sampled access.
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone

from apps.access_review.services import access_sample
from apps.accounts.models import DivisionCode, RoleCode, User
from apps.administration.services import user_transfer
from apps.applications.models import Application
from apps.applications.reveal import application_reveal_customer
from apps.audit.models import AuditAction, AuditEvent
from apps.vault.types import PII_FIELDS
from tests.conftest import _person, advance
from tests.retail.site import LIST, view_on_retail_site
from tests.web.test_role_matrix import (  # noqa: F401  (fixtures used by name)
    EXPECTED,
    ROLES,
    STATE_FOR,
    application_in,
    signed_in,
    url_for,
)

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

# Machine outputs: their codes are for scripts (the CSV has label columns beside them).
NOT_HTML = {"exposure-status", "exposure-csv", "exposure-json", "audit-export"}
RAW_CODES = sorted(
    {
        *DivisionCode.values,
        *RoleCode.values,
        *AuditAction.values,
        *(f.name for f in Application._meta.concrete_fields if f.name != "id"),
        *(f.attname for f in Application._meta.concrete_fields if f.name != "id"),
        *PII_FIELDS,  # the vault's names of the personal data fields, in reads' details
    },
    key=len,
    reverse=True,
)
# A code as a whole token: not part of a longer word, a login id (kouri_watanabe) or a
# dotted name.
RAW = re.compile(r"(?<![\w.@/-])(" + "|".join(map(re.escape, RAW_CODES)) + r")(?![\w@/-]|\.\w)")


class _VisibleText(HTMLParser):
    HIDDEN = {"script", "style", "title", "head"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


def raw_codes_in(html: str) -> list[str]:
    return sorted(set(RAW.findall(visible_text(html))))


def test_the_check_finds_a_code_in_text_and_not_in_attributes_or_login_ids():
    assert raw_codes_in("<td>retail</td>") == ["retail"]
    assert raw_codes_in("<p>purpose=scheduling contract_capacity_kw</p>") == [
        "contract_capacity_kw"
    ]
    assert raw_codes_in("<td>application.energized</td>") == ["application.energized"]
    assert raw_codes_in('<a href="/audit/?division=td" data-x="clerk">小売部門</a>') == []
    assert raw_codes_in("<td>kouri_watanabe</td><td>clerk1@example.invalid</td>") == []


@pytest.fixture
def busy_trail(new_application, clerk, supervisor, construction, retail_user, administrator):
    """Every kind of event the auditors' pages show, in the trail before the walk."""
    app = advance(
        new_application(),
        "energized",
        clerk=clerk,
        supervisor=supervisor,
        construction=construction,
    )
    application_reveal_customer(
        acting_user=construction, application_id=app.pk, purpose="other", reason_text="現地確認"
    )
    shown = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    view_on_retail_site(retail_user, LIST, LIST, LIST)
    moved = _person("transfer_me", "td", "clerk")
    user_transfer(acting_user=administrator, user_id=moved.pk, to_division="retail")
    AuditEvent.objects.create(
        occurred_at=timezone.now() - dt.timedelta(days=3),
        actor=construction,
        actor_division="td",
        actor_roles=["construction"],
        action=AuditAction.PII_READ,
        object_type="applications.application",
        object_id=str(shown.pk),
        object_label=shown.reference or "",
        details={"purpose": "scheduling", "fields": ["customer_name", "customer_phone"]},
    )
    access_sample(day=timezone.localdate() - dt.timedelta(days=3), size=10)
    return app


AUDITOR_PAGES = [
    name
    for name, statuses in EXPECTED.items()
    if statuses[ROLES.index("auditor")] == 200 and name not in NOT_HTML
]


def _walk(client: Client, names: list[str], application_in) -> dict[str, list[str]]:  # noqa: F811
    found = {}
    for name in names:
        state = STATE_FOR.get(name)
        url = url_for(name, application_in(state) if state else None)
        response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        codes = raw_codes_in(response.content.decode())
        if codes:
            found[name] = codes
    return found


def test_no_auditor_page_shows_a_raw_code(busy_trail, signed_in, application_in):  # noqa: F811
    assert len(AUDITOR_PAGES) >= 10

    found = _walk(signed_in("auditor"), AUDITOR_PAGES, application_in)

    assert found == {}


def test_the_timeline_of_a_busy_application_shows_no_raw_code(
    busy_trail,
    signed_in,  # noqa: F811
):
    from django.urls import reverse

    client = signed_in("auditor")
    for kind in ("", "workflow", "reads", "barrier"):
        response = client.get(reverse("audit-application", args=[busy_trail.pk]), {"kind": kind})
        assert raw_codes_in(response.content.decode()) == [], kind


def test_the_user_history_of_a_transferred_user_shows_no_raw_code(
    busy_trail,
    signed_in,  # noqa: F811
):
    from django.urls import reverse

    moved = User.objects.get(username="transfer_me")
    response = signed_in("auditor").get(reverse("audit-user", args=[moved.pk]))

    assert response.status_code == 200
    assert raw_codes_in(response.content.decode()) == []


HTML_PAGES_BY_ROLE = [
    (role, name)
    for name, statuses in EXPECTED.items()
    for i, role in enumerate(ROLES)
    if statuses[i] == 200 and name not in NOT_HTML and role != "auditor"
]


@pytest.mark.parametrize(
    ("role", "name"), HTML_PAGES_BY_ROLE, ids=[f"{n}-{r}" for r, n in HTML_PAGES_BY_ROLE]
)
def test_no_page_of_another_role_shows_a_raw_code(role, name, signed_in, application_in):  # noqa: F811
    assert _walk(signed_in(role), [name], application_in) == {}
