"""The T&D side of an application on the review page and the work page is written by one
tag (`td_fields`, apps/web/templatetags/shadan.py, issue 17): it reads as the partial
that wrote it before (applications/_td_fields.html, kept below as the reference), in
both languages, every value escaped and localised."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from apps.applications.models import Application

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

PARTIAL = Template(
    """{% load i18n %}
<dt>{% translate "Reference number" %}</dt><dd>{{ application.reference }}</dd>
<dt>{% translate "Customer (pseudonym)" %}</dt><dd><code>{{ application.pseudonym }}</code></dd>
<dt>{% translate "Supply point ID" %}</dt><dd><code>{{ application.supply_point_id }}</code></dd>
<dt>{% translate "Postal code" %}</dt><dd>〒{{ application.postal_code }}</dd>
<dt>{% translate "Site address" %}</dt><dd>{{ application.get_prefecture_display }}{{ application.municipality }}{{ application.street_address }}</dd>
<dt>{% translate "Contract class" %}</dt><dd>{{ application.get_contract_class_display }}</dd>
<dt>{% translate "Contract capacity" %}</dt><dd>{{ application.contract_capacity_kw }} kW</dd>
<dt>{% translate "Requested start date" %}</dt><dd>{{ application.requested_start_date|date:"SHORT_DATE_FORMAT" }}</dd>
<dt>{% translate "Electrical contractor" %}</dt><dd>{{ application.contractor_name }}</dd>
<dt>{% translate "Contractor registration number" %}</dt><dd>{{ application.contractor_registration }}</dd>"""  # noqa: E501 - the partial as it was
)
TAG = Template("{% load shadan %}{% td_fields application %}")


def _markup(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_tag_writes_what_the_partial_wrote(language, new_application):
    marked = new_application(
        contractor_name="<電気>&工事",
        street_address="見本町1-2 <b>",
        contract_class="high",
        contract_capacity_kw=Decimal("1234.5"),
        requested_start_date=datetime.date(2026, 12, 31),
    )
    plain = new_application()
    Application.objects.filter(pk=plain.pk).update(contractor_registration="", remarks="")
    written = {}
    for app in Application.objects.filter(pk__in=[marked.pk, plain.pk]):
        with translation.override(language):
            before = PARTIAL.render(Context({"application": app}))
            written[app.pk] = after = TAG.render(Context({"application": app}))

        assert _markup(after) == _markup(before)
    assert "&lt;電気&gt;&amp;工事" in written[marked.pk]
    assert "<b>" not in written[marked.pk]
