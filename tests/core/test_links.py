"""Fixed links reversed once per process (apps.core.templatetags.badges.reversed_once,
`{% link %}`): the same URL as Django's reversal under every script prefix, and a page
renders them as `{% url %}` did."""

from __future__ import annotations

from unittest import mock

import pytest
from django.template import Context, Template
from django.templatetags.static import static
from django.urls import NoReverseMatch, get_script_prefix, reverse, set_script_prefix

from apps.core.templatetags.badges import _ASSETS, _reversed, asset, reversed_once, url_prefix

NAMES = ["home", "clerk-list", "review-queue", "inbox", "logout", "set_language"]


@pytest.fixture
def prefix():
    before = get_script_prefix()
    yield set_script_prefix
    set_script_prefix(before)


def test_a_link_is_the_url_reversed_under_its_script_prefix(prefix):
    for script in ("/", "/shadan/", "/other/"):
        prefix(script)
        for name in NAMES:
            assert reversed_once(name) == reverse(name)
        assert reversed_once("application-detail", "7") == reverse("application-detail", args=[7])
        assert url_prefix("application-detail") + "7/" == reverse("application-detail", args=[7])
    prefix("/shadan/")
    assert reversed_once("home").startswith("/shadan/")


def test_a_link_is_remembered_and_an_unknown_name_is_refused():
    _reversed.cache_clear()
    reversed_once("home")
    reversed_once("home")
    assert _reversed.cache_info().hits == 1
    with pytest.raises(NoReverseMatch):
        reversed_once("no-such-page")


def test_the_tag_writes_what_the_url_tag_wrote():
    names = " ".join(f"[{{% url '{name}' %}}]" for name in NAMES)
    links = " ".join(f"[{{% link '{name}' %}}]" for name in NAMES)
    assert Template("{% load shadan %}" + links).render(Context()) == Template(names).render(
        Context()
    )
    kept = Template("{% load shadan %}{% link 'clerk-list' as here %}<a href='{{ here }}'>")
    assert kept.render(Context()) == f"<a href='{reverse('clerk-list')}'>"


def test_another_urlconf_has_its_own_links(settings):
    site = reversed_once("home")
    settings.ROOT_URLCONF = "config.urls_retail"
    assert reversed_once("retail-list") == reverse("retail-list")
    with pytest.raises(NoReverseMatch):
        reversed_once("clerk-list")
    settings.ROOT_URLCONF = "config.urls"
    assert reversed_once("home") == site


def test_an_asset_is_the_static_url_looked_up_once_and_forgotten_with_the_settings(settings):
    """`{% asset %}` writes what `{% static %}` wrote; the storage is asked once per path,
    and again after the static settings change (a deployment restarts the sites)."""
    _ASSETS.clear()
    written = Template("{% load badges %}{% asset 'css/shadan.css' %}").render(Context())
    assert written == Template("{% load static %}{% static 'css/shadan.css' %}").render(Context())
    with mock.patch("apps.core.templatetags.badges.static", side_effect=static) as looked_up:
        asset("css/shadan.css")
        assert looked_up.call_count == 0
        settings.STATIC_URL = "/elsewhere/"
        assert asset("css/shadan.css") == static("css/shadan.css")
        assert asset("css/shadan.css").startswith("/elsewhere/")
        assert looked_up.call_count == 1
