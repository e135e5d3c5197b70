"""List pages build each row without an {% include %} or a {% url %} per row (issue 17:
templates were a quarter of the retail list's time, half of the clerk's list and the
approval queue); the rows read as before."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from apps.web.templatetags.shadan import url_prefix

ROOT = Path(__file__).resolve().parents[3]
LIST_PAGES = ["apps/web/templates/applications/construction_list.html"]
# The lists whose rows one tag builds (apps/web/templatetags/td_rows.py,
# apps/retail/templatetags/retail_list.py): no row loop is left in the template.
ROW_TAGS = {
    "apps/web/templates/applications/list.html": "clerk_rows",
    "apps/web/templates/applications/review_queue.html": "queue_rows",
    "apps/retail/templates/retail/application_list.html": "retail_rows",
}


@pytest.mark.parametrize("path", LIST_PAGES)
def test_a_list_pages_rows_reverse_no_url_and_include_no_template(path):
    source = (ROOT / path).read_text()
    loops = re.findall(r"{% for [^%]*%}(.*?){% endfor %}", source, re.S)
    rows = [loop for loop in loops if "<tr" in loop]

    assert rows
    assert not any("{% url" in row or "{% include" in row for row in rows)


@pytest.mark.parametrize(("path", "tag"), ROW_TAGS.items())
def test_a_lists_rows_come_from_one_tag_without_a_template_per_row(path, tag):
    """The retail list's 25 rows, the clerk's 50 and the queue's 25 are each built by one
    tag from one reversed prefix: no row loop is left in the template."""
    source = (ROOT / path).read_text()
    loops = re.findall(r"{% for [^%]*%}(.*?){% endfor %}", source, re.S)

    assert f"{{% {tag} " in source
    assert not [loop for loop in loops if "<tr" in loop]


@pytest.mark.parametrize(
    ("name", "argument"),
    [("review-page", 42), ("application-detail", 42)],
)
def test_a_row_link_built_from_the_prefix_is_the_reversed_url(name, argument):
    assert f"{url_prefix(name)}{argument}/" == reverse(name, args=[argument])


@override_settings(ROOT_URLCONF="config.urls_retail")
def test_the_retail_sites_row_link_built_from_the_prefix_is_the_reversed_url():
    argument = "SD2026-0000001"
    assert f"{url_prefix('retail-detail')}{argument}/" == reverse("retail-detail", args=[argument])


@pytest.mark.parametrize("library", ["shadan", "badges"])
def test_both_sites_badges_are_the_same_tags(library):
    html = Template(f"{{% load {library} %}}{{% masking_badge s %}}{{% state_badge s s %}}")

    assert html.render(Context({"s": "verified"})).count('class="badge') == 2


@pytest.mark.parametrize(
    ("state", "shown"),
    [
        ("verified", "● Masked (verified)"),
        ("encoded", "◐ Masked, awaiting check"),
        ("unmasked", "○ Not masked"),
    ],
)
def test_the_masking_badge_reads_as_the_partial_did(state, shown):
    with translation.override("en"):
        html = Template("{% load shadan %}{% masking_badge s %}").render(Context({"s": state}))

    assert html == f'<span class="badge masking-{state}" data-testid="masking">{shown}</span>'


def test_the_state_badge_escapes_its_label():
    html = Template("{% load shadan %}{% state_badge s l %}").render(
        Context({"s": "entered", "l": "<b>"})
    )

    assert html == '<span class="badge state-entered" data-testid="state">&lt;b&gt;</span>'


def test_a_prefix_with_a_tail_gives_the_reversed_url_and_refuses_a_wrong_tail():
    assert f"{url_prefix('inbox-read', then='read/')}42/read/" == reverse("inbox-read", args=[42])
    with pytest.raises(ValueError, match="does not end in its argument then edit/"):
        url_prefix("inbox-read", then="edit/")
    with pytest.raises(ValueError, match=r"does not end in its argument$"):
        url_prefix("inbox-read")


# The home page's queue table: one row per queue of the person's roles, each a different
# page (a handful of links, not rows of data).
MENUS = {"apps/web/templates/web/home.html"}


def test_no_list_template_reverses_a_url_for_each_row():
    """Every row link is a prefix reversed once before the rows (`{% url_prefix %}`), so a
    page of rows costs one reversal, not one a row (issue 17 goal 5)."""
    templates = [*ROOT.glob("apps/*/templates/**/*.html"), *ROOT.glob("templates/**/*.html")]
    per_row = []
    for path in templates:
        if str(path.relative_to(ROOT)) in MENUS:
            continue
        source = path.read_text()
        for loop in re.findall(r"{% for [^%]*%}(.*?){% endfor %}", source, re.S):
            if "<tr" in loop or "<li" in loop:
                per_row += [
                    f"{path.relative_to(ROOT)}: {u}" for u in re.findall(r"{% url [^%]*%}", loop)
                ]
    assert per_row == []
