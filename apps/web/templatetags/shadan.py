from __future__ import annotations

import datetime

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def age(value: datetime.timedelta | None) -> str:
    """How long something has waited, in days and hours (3日4時間 / 3 d 4 h)."""
    if value is None:
        return "—"
    hours = int(value.total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    minutes = int(value.total_seconds() // 60) % 60
    return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}


@register.filter
def enumerate_words(values: list[object]) -> str:
    """A list as prose: 市区町村、電気工事店、備考 in Japanese, a, b, c in English."""
    separator = "、" if (get_language() or "").startswith("ja") else ", "
    return separator.join(str(value) for value in values)


# List pages show a badge or two on every row; a tag costs a fraction of an {% include %}
# (issue 17: templates were a quarter of the retail list's time). The partials
# (partials/state_badge.html, partials/masking_badge.html) call these, so there is one
# definition of each badge.
@register.simple_tag
def state_badge(state: object, label: object) -> SafeString:
    return format_html('<span class="badge state-{}" data-testid="state">{}</span>', state, label)


@register.simple_tag
def masking_badge(masking_state: object) -> SafeString:
    """The masking status at a glance: colour plus text, never colour alone."""
    if masking_state == "verified":
        text = "● " + _("Masked (verified)")
    elif masking_state == "encoded":
        text = "◐ " + _("Masked, awaiting check")
    else:
        text = "○ " + _("Not masked")
    return format_html(
        '<span class="badge masking-{}" data-testid="masking">{}</span>', masking_state, text
    )


_MARK = "4242424242"  # matches both <int:…> and <str:…>


def url_prefix(name: str) -> str:
    """The URL named `name` up to its one argument, reversed once per page rather than once
    per row: a row's link is `prefix + argument + "/"` (for arguments that need no quoting,
    as references and ids)."""
    url = reverse(name, args=[_MARK])
    if not url.endswith(f"/{_MARK}/"):
        raise ValueError(f"{name} does not end in its argument")
    return url[: -len(_MARK) - 1]
