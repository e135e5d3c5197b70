"""The badges every list and detail page shows, the per-page URL prefix, the links
every page has and what retail sees of an application.

Here, not in apps.web, because both sites render them: the T&D site (through the `shadan`
library, which registers these same functions) and the retail site, which has nothing of
apps.web. One definition of each badge.
"""

from __future__ import annotations

import functools
from typing import Any

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import linebreaksbr
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

register = template.Library()


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


@register.simple_tag
def url_prefix(name: str, then: str = "") -> str:
    """The URL named `name` up to its one argument, reversed once per page rather than once
    per row: a row's link is `prefix + argument + "/" + then` (for arguments that need no
    quoting, as references and ids). `then` is what the URL has after its argument
    ("read/"), checked here against the URLconf. A template reverses it once, before its
    rows: `{% url_prefix 'inbox-read' then='read/' as read_prefix %}`."""
    url = reversed_once(name, _MARK)
    tail = f"/{_MARK}/{then}"
    if not url.endswith(tail):
        raise ValueError(f"{name} does not end in its argument{' then ' + then if then else ''}")
    return url[: len(url) - len(tail) + 1]


def reversed_once(name: str, *args: str) -> str:
    """`reverse(name, args=args)`, remembered per process for the URLconf, script prefix
    and language it was reversed under: nothing else changes a URL while a process runs.
    The header and the navigation link a dozen fixed pages on every page view, and
    Django's reversal walks the resolver each time (issue 17 goal 5)."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF  # a request's own, or the site's
    return _reversed(name, args, urlconf, get_script_prefix(), get_language())


@functools.lru_cache(maxsize=1024)
def _reversed(
    name: str, args: tuple[str, ...], urlconf: str | None, prefix: str, language: str | None
) -> str:
    return reverse(name, urlconf=urlconf, args=args or None)


@register.simple_tag
def link(name: str) -> str:
    """`{% url name %}` for a page without arguments, reversed once per process
    (`reversed_once`): the header's, the navigation's and a list's own links."""
    return reversed_once(name)


@register.simple_tag
def asset(path: str) -> str:
    """`{% static path %}`, looked up once per process: the storage maps the file to its
    hashed name on every call (about 25 µs, twice on every page of both sites), and that
    name does not change while a process runs (a deployment collects the files, then
    restarts the sites). A change of the static settings (tests) forgets them."""
    found = _ASSETS.get(path)
    if found is None:
        found = _ASSETS[path] = static(path)
    return found


# By path: a template's literal is a SafeString, equal to the str and hashed alike.
_ASSETS: dict[str, str] = {}


@receiver(setting_changed)
def _forget_assets(*, setting: str, **kwargs: Any) -> None:
    if setting in {"STATIC_URL", "STATIC_ROOT", "STORAGES"}:
        _ASSETS.clear()


# What retail sees of one application (apps.vocabulary.projection.RETAIL_FIELDS' hashed
# fields): the supervisor's preview on the review page and the retail detail page both
# write it here, so they are the same bytes (docs/decisions.md). A tag rather than a
# template: the field loop was a fifth of the review page's render (issue 17).
_RETAIL_FIELD = '\n  <dt>{label}</dt><dd data-field="{name}">{value}</dd>\n'


def as_shown(value: Any) -> str:
    """What {{ value }} prints: localised, escaped."""
    return conditional_escape(localize(value))


@register.simple_tag
def retail_fields(projection: Any) -> SafeString:
    """`<dl>` of the projection's verified fields, each as its display says. `projection`
    is an apps.vocabulary.projection.RetailApplication (not imported: apps.core sits below
    the vocabulary)."""
    out = ['<dl data-testid="retail-fields">']
    for spec, value in projection.verified_fields():
        if spec.display == "date":
            shown = as_shown(date_filter(value, "DATE_FORMAT"))
        elif spec.display == "kw":
            shown = f"{as_shown(value)} kW"
        elif spec.display == "code":
            shown = f"<code>{as_shown(value)}</code>"
        elif spec.display == "lines":
            shown = linebreaksbr(value or "—", autoescape=True)
        else:
            shown = as_shown(value or "—")
        out.append(
            _RETAIL_FIELD.format(label=as_shown(spec.label), name=as_shown(spec.name), value=shown)
        )
    out.append("</dl>")
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped
