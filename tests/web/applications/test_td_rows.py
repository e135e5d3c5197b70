"""The clerk's list and the approval queue build their rows in one tag each
(apps/web/templatetags/td_rows.py, issue 17): every row reads exactly as the template
loop that built it before did, in both languages, escaped, dates in the local time zone.

The loops below are the templates' rows as they were (over model instances), kept here
as the reference for the tags (over the dicts the views read)."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from apps.accounts.models import User
from apps.applications.models import Application
from apps.web.applications.views.clerk_list import ROW_COLUMNS, _row_of
from apps.web.applications.views.supervisor import QUEUE_COLUMNS, SLA_LABELS, QueueRow
from apps.web.templatetags.shadan import url_prefix
from tests.conftest import advance
from tests.factories import make_retailer

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

CLERK_LOOP = Template(
    """{% load i18n shadan %}{% for app, app_age in rows %}
    <tr data-application="{{ app.pk }}">
      <td class="nowrap"><a href="{{ detail_prefix }}{{ app.pk }}/">{{ app.reference }}</a></td>
      <td class="nowrap"><code>{{ app.pseudonym }}</code></td>
      <td class="nowrap"><code>{{ app.supply_point_id }}</code></td>
      <td>{{ app.retailer.code }} {{ app.retailer.name }}{% if app.retailer.is_affiliated %} <span class="badge" data-testid="affiliated">{% translate "affiliated" %}</span>{% else %} <span class="badge" data-testid="non-affiliated">{% translate "non-affiliated" %}</span>{% endif %}</td>
      <td>{% state_badge app.state app.get_state_display %}{% if app.state == "draft" and app.created_by_id == user_pk %} <a href="{{ detail_prefix }}{{ app.pk }}/discard/" data-testid="discard">{% translate "Discard…" %}</a>{% endif %}</td>
      <td>{% masking_badge app.masking_state %}</td>
      <td class="num nowrap">{{ app_age|age }}</td>
    </tr>{% endfor %}"""  # noqa: E501 - the template as it was
)
QUEUE_LOOP = Template(
    """{% load i18n shadan %}{% translate "Affiliated" as affiliated %}{% masking_badge "encoded" as encoded_badge %}
  {% for row in rows %}{% with app=row.application %}
    <tr data-application="{{ row.pk }}">
      <td class="nowrap"><a href="{{ detail_prefix }}{{ row.pk }}/">{{ app.reference }}</a></td>
      <td>{{ app.retailer.code }} {{ app.retailer.name }}{% if app.retailer.is_affiliated %} <span class="badge">{{ affiliated }}</span>{% endif %}</td>
      <td>{{ app.get_contract_class_display }}</td>
      <td class="num nowrap">{{ app.contract_capacity_kw }} kW</td>
      <td>{{ app.encoded_by.display_name|default:"—" }}</td>
      <td class="nowrap">{{ app.encoded_at|date:"SHORT_DATETIME_FORMAT" }}</td>
      <td class="nowrap">{{ row.age|age }}</td>
      <td class="sla-{{ row.sla }}" data-sla="{{ row.sla }}">{% if row.sla == "overdue" %}✖ {% elif row.sla == "due" %}▲ {% else %}✔ {% endif %}{{ row.sla_label }}</td>
      <td>{{ encoded_badge }}</td>
    </tr>
  {% endwith %}{% endfor %}"""  # noqa: E501 - the template as it was
)


@dataclass(frozen=True)
class OldQueueRow:
    """What the queue's template loop read: the application as a model instance."""

    application: Application
    pk: str
    age: datetime.timedelta | None
    sla: str
    sla_label: object


def _markup(html: str) -> str:
    """The markup without the whitespace between tags, which the browser ignores."""
    return re.sub(r">\s+<", "><", html.strip())


def _desk(new_application, clerk, clerk2, supervisor) -> list[Application]:
    """Rows of every kind: an affiliated and a non-affiliated retailer (one with markup
    in its name), the person's own draft and another's, a submitted application."""
    odd = make_retailer(code="B0099", name="<b>試験&でんき</b>", is_affiliated=False)
    group = make_retailer(code="A0001", name="自社でんき", is_affiliated=True)
    mine = new_application(retailer=odd.pk)
    entered = advance(
        new_application(retailer=group.pk), "entered", clerk=clerk, supervisor=supervisor
    )
    Application.objects.filter(pk=mine.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=3, hours=2)
    )
    theirs = new_application()
    Application.objects.filter(pk=theirs.pk).update(created_by=clerk2)
    return list(
        Application.objects.select_related("retailer")
        .filter(pk__in=[mine.pk, entered.pk, theirs.pk])
        .order_by("pk")
    )


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_clerks_rows_read_as_the_template_loop_did(
    language, new_application, clerk, clerk2, supervisor
):
    apps = _desk(new_application, clerk, clerk2, supervisor)
    now = timezone.now()
    read = Application.objects.filter(pk__in=[a.pk for a in apps]).values(*ROW_COLUMNS)
    dicts = {row["id"]: row for row in read}
    common = {"detail_prefix": url_prefix("application-detail"), "user_pk": clerk.pk}
    with translation.override(language):
        before = CLERK_LOOP.render(
            Context({"rows": [(a, now - a.created_at) for a in apps], **common})
        )
        after = Template("{% load td_rows %}{% clerk_rows rows detail_prefix user_pk %}").render(
            Context({"rows": [(dicts[a.pk], now - a.created_at) for a in apps], **common})
        )

    assert _markup(after) == _markup(before)
    assert after.count('data-testid="discard"') == 1
    assert "&lt;b&gt;試験&amp;でんき&lt;/b&gt;" in after


def test_a_found_application_reads_as_the_lists_rows(new_application, clerk, clerk2, supervisor):
    """The name search answers with model instances; the list shows them as its rows."""
    for app in _desk(new_application, clerk, clerk2, supervisor):
        read = Application.objects.values(*ROW_COLUMNS).get(pk=app.pk)
        assert _row_of(app) == read


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_queues_rows_read_as_the_template_loop_did(
    language, new_application, clerk, supervisor, settings
):
    settings.TIME_ZONE = "Asia/Tokyo"
    group = make_retailer(code="A0001", name="自社<でんき>", is_affiliated=True)
    apps = [
        advance(new_application(**fields), "encoded", clerk=clerk, supervisor=supervisor)
        for fields in (
            {},
            {"retailer": group.pk, "contract_class": "high", "contract_capacity_kw": "1234.5"},
        )
    ]
    # Encoded late in the UTC evening: the local date is the next day.
    late = timezone.make_aware(datetime.datetime(2026, 3, 1, 23, 30), datetime.UTC)
    Application.objects.filter(pk=apps[0].pk).update(encoded_at=late)
    Application.objects.filter(pk=apps[1].pk).update(encoded_by=None)
    User.objects.filter(pk=clerk.pk).update(last_name="受付", first_name="花子")
    now = timezone.now()
    models = list(Application.objects.select_related("retailer", "encoded_by").order_by("pk"))
    dicts = list(Application.objects.values(*QUEUE_COLUMNS).order_by("pk"))
    timings = [(now - models[0].encoded_at, "overdue"), (now - models[1].encoded_at, "due")]
    timings.append((None, "ok"))  # not yet timed: a dash
    models.append(models[0])
    dicts.append(dicts[0])
    old_rows = [
        OldQueueRow(app, str(app.pk), waited, sla, SLA_LABELS[sla])
        for app, (waited, sla) in zip(models, timings, strict=True)
    ]
    rows = [QueueRow(app, waited, sla) for app, (waited, sla) in zip(dicts, timings, strict=True)]
    prefix = url_prefix("review-page")
    with translation.override(language):
        before = QUEUE_LOOP.render(Context({"rows": old_rows, "detail_prefix": prefix}))
        after = Template("{% load td_rows %}{% queue_rows rows detail_prefix %}").render(
            Context({"rows": rows, "detail_prefix": prefix})
        )

    assert _markup(after) == _markup(before)
    assert "2026/03/02 08:30" in after
    assert "<td>受付 花子</td>" in after
    assert "自社&lt;でんき&gt;" in after


def test_the_rows_of_an_empty_page_are_nothing():
    empty = Template("{% load td_rows %}{% clerk_rows rows p 1 %}{% queue_rows rows p %}").render(
        Context({"rows": [], "p": "/x/"})
    )

    assert empty == ""


def test_a_queue_row_without_an_encoder_shows_a_dash(new_application, clerk, supervisor):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    Application.objects.filter(pk=app.pk).update(encoded_by=None)
    row = Application.objects.values(*QUEUE_COLUMNS).get(pk=app.pk)

    html = Template("{% load td_rows %}{% queue_rows rows p %}").render(
        Context({"rows": [QueueRow(row, None, "ok")], "p": "/review/"})
    )

    assert "<td>—</td>" in html


# The clerk's list's filter loop as it was, kept as the reference for `clerk_filters`.
FILTER_LOOP = Template(
    """{% for f, count in filters %}<a href="{{ list_url }}?state={{ f.key }}"{% if chosen.key == f.key %} aria-current="page"{% endif %} data-filter="{{ f.key }}">{{ f.label }} <span class="count" data-testid="count-{{ f.key }}">{{ count }}</span></a>{% endfor %}"""  # noqa: E501 - the template as it was
)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_filters_tag_writes_what_the_filter_loop_wrote(language):
    from django.db.models import Q

    from apps.core.counting import CappedCount
    from apps.web.applications.views.clerk_list import STATE_FILTERS, StateFilter
    from apps.web.templatetags.td_rows import clerk_filters

    odd = StateFilter("x&y", "<i>名前</i>", lambda user: Q())
    counts = range(0, 2000, 222)  # ten, past the cap at the end
    filters = [(f, CappedCount(n)) for f, n in zip((*STATE_FILTERS, odd), counts, strict=True)]
    with translation.override(language):
        for chosen in (None, "", STATE_FILTERS[2], odd):
            for url in ("/applications/", "/a&b/"):
                context = {"filters": filters, "chosen": chosen, "list_url": url}
                old = FILTER_LOOP.render(Context(context))
                assert clerk_filters(filters, chosen, url) == old, (chosen, url)
        written = clerk_filters(filters, STATE_FILTERS[2], "/applications/")
    assert written.count('aria-current="page"') == 1 and "1000+" in written
    assert "&lt;i&gt;名前&lt;/i&gt;" in written and 'data-filter="x&amp;y"' in written


def test_each_row_shows_its_own_age_written_once_per_distinct_age():
    from apps.web.templatetags.shadan import age
    from apps.web.templatetags.td_rows import clerk_rows

    base: dict[str, object] = {name: f"<{name}>" for name in ROW_COLUMNS}
    base.update(id=1, state="entered", masking_state="unmasked", created_by_id=9)
    base.update(retailer_id=1, retailer__is_affiliated=False)
    waits = [
        datetime.timedelta(days=3, hours=4, minutes=5),
        datetime.timedelta(hours=2, minutes=7),
        None,
        datetime.timedelta(days=3, hours=4, minutes=59),  # shown as the first
    ]
    with translation.override("en"):
        written = clerk_rows([(dict(base, id=n), wait) for n, wait in enumerate(waits)], "/a/", 1)
        shown = re.findall(r'<td class="num nowrap">([^<]*)</td>', written)
        assert shown == [age(wait) for wait in waits] == ["3 d 4 h", "2 h 7 min", "—", "3 d 4 h"]
