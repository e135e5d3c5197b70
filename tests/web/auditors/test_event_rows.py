"""The auditors' event tables build their rows in one tag (`event_rows`, and
`event_details` for an event's details; apps/web/templatetags/audit_labels.py, issue 17
goal 5): every row reads exactly as the template loop that built it before did, with its
two reversed URLs and its included details template, in both languages, escaped, times
in the local time zone, a folded group with its members.

The loop below is the table's body as it was, kept here as the reference."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from apps.audit.models import AuditAction, AuditEvent
from apps.web.auditors.trail.tables import EventRow, event_rows
from apps.web.templatetags.audit_labels import event_details
from apps.web.templatetags.audit_labels import event_rows as event_rows_tag

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

DETAILS = (
    '{% load i18n %}{% if items %}<dl class="details-list">{% for item in items %}<div><dt>'
    '{{ item.label }}</dt><dd>{% if item.full %}<details class="hash"><summary><code '
    'title="{{ item.full }}">{{ item.text }}</code></summary><code class="hash-full">'
    "{{ item.full }}</code></details>{% else %}{{ item.text }}{% endif %}</dd></div>"
    '{% endfor %}</dl>{% endif %}{% if reason %}<p class="reason"><span class="muted">'
    '{% translate "Reason" %}:</span> {{ reason }}</p>{% endif %}'
)
LOOP = Template(
    """{% load i18n %}{% for row in rows %}{% with e=row.event %}
    <tr data-event="{{ e.pk }}"{% if row.events %} data-count="{{ row.count }}"{% endif %}>
      <td class="num">{{ e.pk }}</td>
      <td><span class="nowrap">{{ e.occurred_at|date:"DATE_FORMAT" }}</span> <span class="nowrap">{{ e.occurred_at|date:"TIME_FORMAT" }}</span></td>
      <td>{{ row.action }}{% if row.events %} <span class="badge" data-testid="group-count">{% blocktranslate count counter=row.count %}×{{ counter }}{% plural %}×{{ counter }}{% endblocktranslate %}</span>
        <details class="group"><summary>{% blocktranslate count counter=row.count %}{{ counter }} view this day{% plural %}{{ counter }} views this day{% endblocktranslate %}</summary>
          <ul class="plain">{% for member in row.events %}<li>#{{ member.pk }} <span class="nowrap">{{ member.occurred_at|date:"DATETIME_FORMAT" }}</span></li>{% endfor %}</ul>
        </details>{% endif %}</td>
      <td>{% if e.actor_id %}<a href="{% url 'audit-user' e.actor_id %}">{{ row.actor_name }}</a>{% else %}{{ row.actor_name }}{% endif %}{% if e.actor_username and e.actor_username != row.actor_name %} <span class="muted login-id">({{ e.actor_username }})</span>{% endif %}</td>
      <td class="nowrap">{{ row.division }}</td>
      <td class="nowrap">{{ row.roles }}</td>
      <td class="nowrap">{% if e.object_type == "applications.application" %}<a href="{% url 'audit-application' e.object_id %}">{{ e.object_label }}</a>{% else %}{{ e.object_label }}{% endif %}</td>
      <td class="fields">{{ row.fields }}</td>
      <td class="details">{% include details with items=row.details reason=e.reason %}</td>
    </tr>
  {% endwith %}{% endfor %}"""  # noqa: E501 - the template as it was
)


def _markup(html: str) -> str:
    """The markup without the whitespace between tags, which the browser ignores."""
    return re.sub(r">\s+<", "><", html.strip())


def _rows(clerk, new_application) -> list[EventRow]:
    """Events of every kind a table shows: an application's with changed fields and a
    reason with markup, one with a hash among its details, one whose actor's name is not
    their login id, one of no user (an unknown sign-in), and a group of retail views of
    one day folded into one row; one at 23:30 UTC, the next day in Tokyo."""
    app = new_application()
    evening = timezone.now().replace(hour=23, minute=30, second=0, microsecond=0)
    clerk.last_name, clerk.first_name = "<田中>", "花子"
    clerk.save(update_fields=["last_name", "first_name"])
    events = [
        AuditEvent.objects.create(
            actor=clerk,
            action=AuditAction.APPLICATION_UPDATED,
            object_type="applications.application",
            object_id=str(app.pk),
            object_label="SD2026-<b>",
            changed_fields=["remarks", "retailer"],
            details={"version": 2, "state": "draft"},
            reason="誤記 <訂正> & 確認",
            actor_division="td",
            actor_roles=["clerk"],
        ),
        AuditEvent.objects.create(
            actor=clerk,
            action=AuditAction.APPLICATION_VERIFIED,
            object_type="applications.application",
            object_id=str(app.pk),
            details={"projection": "ab" * 32},
            occurred_at=evening,
        ),
        AuditEvent.objects.create(
            actor=None,
            actor_username="someone<x>",
            action=AuditAction.LOGIN_FAILED,
            object_label="",
        ),
    ]
    views = [
        AuditEvent.objects.create(
            actor=clerk,
            action=AuditAction.RETAIL_VIEWED,
            object_type="applications.application",
            object_id=str(app.pk),
            details={"view": "list"},
            occurred_at=evening - dt.timedelta(minutes=n),
        )
        for n in (3, 2, 1)
    ]
    rows = event_rows(events)
    first = event_rows(views[:1])[0]
    rows.append(EventRow(first.event, first.actor_name, first.details, tuple(views)))
    assert rows[0].actor_name != clerk.username and rows[1].details[0].full
    return rows


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_tag_writes_the_rows_the_template_loop_wrote(clerk, new_application, language):
    with translation.override(language):
        rows = _rows(clerk, new_application)
        old = LOOP.render(Context({"rows": rows, "details": Template(DETAILS)}))
        new = event_rows_tag(rows)

    assert _markup(new) == _markup(old)
    assert new.count("<tr ") == 4 and 'data-count="3"' in new
    assert "&lt;田中&gt;" in new and "<田中>" not in new  # escaped like the template


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_details_tag_writes_what_the_included_template_wrote(language):
    items = [*event_rows([AuditEvent(details={"projection": "cd" * 32, "version": 3})])[0].details]
    with translation.override(language):
        for shown, reason in ((items, "理由 <b>"), (items, ""), ([], "だけ"), ([], "")):
            old = Template(DETAILS).render(Context({"items": shown, "reason": reason}))
            assert event_details(shown, reason) == old
