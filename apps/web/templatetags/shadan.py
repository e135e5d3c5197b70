from __future__ import annotations

import datetime
import functools
import html
from dataclasses import dataclass
from typing import Any

from django import template
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms import BaseForm, BoundField
from django.template.defaultfilters import date as date_filter
from django.urls import get_script_prefix, get_urlconf
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from apps.accounts.models import RoleCode as Role
from apps.core.templatetags.badges import (
    as_shown,
    asset,
    link,
    masking_badge,
    retail_fields,
    reversed_once,
    state_badge,
    url_prefix,
)

__all__ = ["age", "enumerate_words", "masking_badge", "state_badge", "url_prefix"]

register = template.Library()


@register.filter
def age(value: datetime.timedelta | None) -> str:
    """How long something has waited, in days and hours (3日4時間 / 3 d 4 h)."""
    return age_text(age_parts(value))


def age_parts(value: datetime.timedelta | None) -> tuple[int, int, int] | None:
    """What `age` shows of a wait: (days, hours, minutes), minutes only under a day."""
    if value is None:
        return None
    hours = int(value.total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    return days, hours, 0 if days else int(value.total_seconds() // 60) % 60


def age_text(parts: tuple[int, int, int] | None) -> str:
    """`age` of a wait's `age_parts`: a list's rows write each distinct one once."""
    if parts is None:
        return "—"
    days, hours, minutes = parts
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}


@register.filter
def enumerate_words(values: list[object]) -> str:
    """A list as prose: 市区町村、電気工事店、備考 in Japanese, a, b, c in English."""
    separator = "、" if (get_language() or "").startswith("ja") else ", "
    return separator.join(str(value) for value in values)


@dataclass(frozen=True)
class NavItem:
    """A page of the main navigation: its URL name, its label, and the roles that see it
    (everyone signed in when empty)."""

    name: str
    label: Any
    roles: frozenset[str] = frozenset()


def _for(*roles: Role) -> frozenset[str]:
    return frozenset(role.value for role in roles)


# The T&D site's main navigation in the order shown, the inbox in its place (its link
# carries the unread count).
INBOX = "inbox"
NAV = (
    NavItem("home", gettext_lazy("Home")),
    NavItem("clerk-list", gettext_lazy("Applications"), _for(Role.CLERK, Role.SUPERVISOR)),
    NavItem("clerk-create", gettext_lazy("New application"), _for(Role.CLERK)),
    NavItem("review-queue", gettext_lazy("Approval queue"), _for(Role.SUPERVISOR)),
    NavItem("construction-list", gettext_lazy("Released work"), _for(Role.CONSTRUCTION)),
    NavItem("audit-search", gettext_lazy("Audit trail"), _for(Role.AUDITOR)),
    NavItem("access-review-queue", gettext_lazy("Access review"), _for(Role.AUDITOR)),
    NavItem("exposure-home", gettext_lazy("Investigation report"), _for(Role.AUDITOR)),
    NavItem(INBOX, gettext_lazy("Inbox")),
    NavItem("admin-users", gettext_lazy("Users"), _for(Role.ADMINISTRATOR)),
    NavItem("admin-retailers", gettext_lazy("Retailers"), _for(Role.ADMINISTRATOR)),
    NavItem("admin-affiliations", gettext_lazy("Affiliation changes"), _for(Role.ADMINISTRATOR)),
    NavItem("admin-password-resets", gettext_lazy("Password resets"), _for(Role.ADMINISTRATOR)),
)


INBOX_BADGE = ' <span class="badge inbox-unread-count" data-testid="inbox-unread">{}</span>'


@register.simple_tag
def main_nav(me: Any, inbox: Any) -> SafeString:
    """The main navigation of a signed-in person (`me`: apps.web.access.Persona) with
    their unread count (`inbox`: apps.web.context_processors.InboxBadge); nothing for
    nobody. Written once per process for each set of roles, URLconf, script prefix and
    language (only the count changes between page views): through the template engine
    it was a seventh of a list page's render (issue 17)."""
    if not me:
        return mark_safe("")
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    before, after = _nav(frozenset(me.roles), urlconf, get_script_prefix(), get_language())
    if inbox.unread:
        unread = html.escape(_("%(count)s unread") % {"count": inbox.label})
        badge = INBOX_BADGE.format(unread)
    else:
        badge = ""
    return mark_safe(f"{before}{badge}{after}")  # noqa: S308 - every part is escaped


@functools.lru_cache(maxsize=256)
def _nav(roles: frozenset[str], urlconf: str, prefix: str, language: str | None) -> tuple[str, str]:
    """The navigation's markup before and after the inbox's unread count. The arguments
    but `roles` are what `reversed_once` and the labels' translation depend on."""
    before: list[str] = ["<ul>"]
    after: list[str] = []
    for item in NAV:
        if item.roles and not item.roles & roles:
            continue
        href, label = html.escape(reversed_once(item.name)), html.escape(str(item.label))
        if item.name == INBOX:
            before.append(f'\n  <li><a href="{href}" data-testid="nav-inbox">{label}')
            after.append("</a></li>")
        else:
            (after if after else before).append(f'\n  <li><a href="{href}">{label}</a></li>')
    return "".join(before), "".join([*after, "\n</ul>"])


_TD_FIELD = "<dt>{}</dt><dd>{}</dd>\n"


@register.simple_tag
def td_fields(application: Any) -> SafeString:
    """The T&D side of an application (no customer data) as <dt>/<dd> pairs, on the
    review page and the work page: written here, as `{{ … }}` wrote each value (localised,
    escaped), since the partial's thirty nodes were a tenth of the review page's render
    (issue 17)."""
    a = application
    address = "".join(
        as_shown(part) for part in (a.get_prefecture_display(), a.municipality, a.street_address)
    )
    start = as_shown(date_filter(a.requested_start_date, "SHORT_DATE_FORMAT"))
    pairs = (
        (_("Reference number"), as_shown(a.reference)),
        (_("Customer (pseudonym)"), f"<code>{as_shown(a.pseudonym)}</code>"),
        (_("Supply point ID"), f"<code>{as_shown(a.supply_point_id)}</code>"),
        (_("Postal code"), f"〒{as_shown(a.postal_code)}"),
        (_("Site address"), address),
        (_("Contract class"), as_shown(a.get_contract_class_display())),
        (_("Contract capacity"), f"{as_shown(a.contract_capacity_kw)} kW"),
        (_("Requested start date"), start),
        (_("Electrical contractor"), as_shown(a.contractor_name)),
        (_("Contractor registration number"), as_shown(a.contractor_registration)),
    )
    return mark_safe(  # noqa: S308 - every value is escaped
        "".join(_TD_FIELD.format(conditional_escape(label), value) for label, value in pairs)
    )


# The badges and the URL prefix are shared with the retail site (apps.core.templatetags.badges).
register.simple_tag(state_badge)
register.simple_tag(masking_badge)
register.simple_tag(url_prefix)
register.simple_tag(link)
register.simple_tag(asset)
register.simple_tag(retail_fields)


@dataclass(frozen=True)
class SummaryItem:
    """One line of the error summary: where the field is (``anchor``, no ``#``; empty for
    an error about the whole form), what it is called and what is wrong; ``field`` names it
    for tests and scripts."""

    anchor: str
    label: object
    message: str
    field: str = ""


def _anchor(bound: BoundField) -> str:
    # A group of radio buttons or check boxes has no single label target (Django leaves
    # id_for_label empty); its first choice carries the id "<auto_id>_0".
    return bound.id_for_label or (f"{bound.auto_id}_0" if bound.auto_id else "")


@register.simple_tag
def error_summary_items(*forms: object) -> list[SummaryItem]:
    """Every error of the given forms in page order: the form's own first, then each field's,
    so the summary at the top of a long page can link to each field."""
    items: list[SummaryItem] = []
    for form in forms:
        # An absent second form arrives as "" (the template engine's missing value).
        if not isinstance(form, BaseForm) or not form.is_bound or not form.errors:
            continue
        items.extend(SummaryItem("", "", str(error)) for error in form.non_field_errors())
        for bound in form:
            items.extend(
                SummaryItem(_anchor(bound), bound.label, str(e), bound.name) for e in bound.errors
            )
        for name in form.errors.keys() - {*form.fields, NON_FIELD_ERRORS}:
            items.extend(SummaryItem("", "", str(e)) for e in form.errors[name])
    return items
