from __future__ import annotations

import datetime

from django import template
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from apps.core.templatetags.badges import masking_badge, state_badge, url_prefix

__all__ = ["age", "enumerate_words", "masking_badge", "state_badge", "url_prefix"]

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


# The badges and the URL prefix are shared with the retail site (apps.core.templatetags.badges).
register.simple_tag(state_badge)
register.simple_tag(masking_badge)
