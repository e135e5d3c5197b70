"""The T&D site's main navigation is written by one tag (`main_nav`,
apps/web/templatetags/shadan.py, issue 17), remembered per set of roles, URLconf, script
prefix and language: the markup partials/nav.html wrote, for every set of roles, in both
languages, with and without unread messages, and after a change of script prefix."""

from __future__ import annotations

import itertools
import re

import pytest
from django.template import Context, Template
from django.urls import set_script_prefix
from django.utils import translation

from apps.accounts.models import RoleCode
from apps.web.access import Persona
from apps.web.context_processors import InboxBadge
from apps.web.templatetags.shadan import main_nav

# partials/nav.html as it was, kept as the reference.
TEMPLATE = Template(
    """{% load i18n shadan %}{% if me %}<ul>
  <li><a href="{% link 'home' %}">{% translate "Home" %}</a></li>
  {% if "clerk" in me.roles or "supervisor" in me.roles %}<li><a href="{% link 'clerk-list' %}">{% translate "Applications" %}</a></li>{% endif %}
  {% if "clerk" in me.roles %}<li><a href="{% link 'clerk-create' %}">{% translate "New application" %}</a></li>{% endif %}
  {% if "supervisor" in me.roles %}<li><a href="{% link 'review-queue' %}">{% translate "Approval queue" %}</a></li>{% endif %}
  {% if "construction" in me.roles %}<li><a href="{% link 'construction-list' %}">{% translate "Released work" %}</a></li>{% endif %}
  {% if "auditor" in me.roles %}<li><a href="{% link 'audit-search' %}">{% translate "Audit trail" %}</a></li>
  <li><a href="{% link 'access-review-queue' %}">{% translate "Access review" %}</a></li>
  <li><a href="{% link 'exposure-home' %}">{% translate "Investigation report" %}</a></li>{% endif %}
  <li><a href="{% link 'inbox' %}" data-testid="nav-inbox">{% translate "Inbox" %}{% if inbox.unread %} <span class="badge inbox-unread-count" data-testid="inbox-unread">{% blocktranslate with count=inbox.label %}{{ count }} unread{% endblocktranslate %}</span>{% endif %}</a></li>
  {% if "administrator" in me.roles %}<li><a href="{% link 'admin-users' %}">{% translate "Users" %}</a></li>
  <li><a href="{% link 'admin-retailers' %}">{% translate "Retailers" %}</a></li>
  <li><a href="{% link 'admin-affiliations' %}">{% translate "Affiliation changes" %}</a></li>
  <li><a href="{% link 'admin-password-resets' %}">{% translate "Password resets" %}</a></li>{% endif %}
</ul>{% endif %}"""  # noqa: E501 - the template as it was
)
ROLES = [code.value for code in RoleCode if code != RoleCode.RETAIL]


def _tags(markup: str) -> str:
    """The markup without the whitespace between tags (the template's line breaks)."""
    return re.sub(r">\s+<", "><", str(markup)).strip()


def _both(roles: tuple[str, ...], unread: int) -> tuple[str, str]:
    me = Persona(None, "td", frozenset(roles), unread)
    # No user is needed: a Persona is true whatever it holds, so both write the roles' links.
    inbox = InboxBadge(unread)
    old = TEMPLATE.render(Context({"me": me, "inbox": inbox}))
    return _tags(old), _tags(main_nav(me, inbox))


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_tag_writes_what_the_template_wrote_for_every_set_of_roles(language):
    with translation.override(language):
        for size in range(len(ROLES) + 1):
            for roles in itertools.combinations(ROLES, size):
                for unread in (0, 3, 250):
                    old, new = _both(roles, unread)
                    assert new == old, (roles, unread)
        _old, everything = _both(tuple(ROLES), 250)
    assert everything.count("<li>") == 13
    assert 'data-testid="inbox-unread">' in everything and "99+" in everything
    assert _both((), 0)[1].count("<li>") == 2  # home and the inbox


def test_no_navigation_for_nobody():
    assert main_nav(None, "") == ""


def test_the_links_follow_the_script_prefix_and_the_labels_the_language():
    me = Persona(None, "td", frozenset({"clerk"}))
    with translation.override("en"):
        plain = main_nav(me, InboxBadge(0))
    try:
        set_script_prefix("/shadan/")
        with translation.override("ja"):
            prefixed = main_nav(me, InboxBadge(0))
    finally:
        set_script_prefix("/")
    assert 'href="/applications/">Applications<' in plain
    assert 'href="/shadan/applications/">申込み一覧<' in prefixed
