"""PlainSelect (apps.web.forms) writes the markup Django's select templates write, without
a template per option (issue 17): the approval queue's and the clerk's list's selects."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.utils import translation

from apps.web.applications.forms_review import QueueFilterForm
from apps.web.forms import PlainSelect
from tests.factories import make_retailer

CHOICES = [
    ("", "— any —"),
    ("a", "A & <b>"),
    ("Group", [("g1", "in a group"), ("g2", '"quoted"')]),
]


def _form(widget: type[forms.Select], **kwargs) -> type[forms.Form]:
    class Picking(forms.Form):
        pick = forms.ChoiceField(
            choices=CHOICES, widget=widget(attrs={"data-x": "1", "disabled": False}), **kwargs
        )

    return Picking


def _markup(html: object) -> str:
    return re.sub(r">\s+<", "><", str(html).strip())


@pytest.mark.parametrize(
    "data",
    [None, {"pick": "a"}, {"pick": "g2"}, {"pick": "nonsense"}, {"pick": ""}],
)
@pytest.mark.parametrize("help_text", ["", "say why"])
def test_plain_select_writes_what_djangos_select_writes(data, help_text):
    plain = _form(PlainSelect, help_text=help_text)(data)
    django = _form(forms.Select, help_text=help_text)(data)
    plain.is_valid(), django.is_valid()

    assert _markup(plain["pick"]) == _markup(django["pick"])
    assert "<option" in str(plain["pick"])


@pytest.mark.django_db
def test_the_queue_filters_render_as_with_djangos_select():
    make_retailer(code="B0002", name="にし<電力>")
    data = {"contract_class": "high", "age": "3"}
    plain = QueueFilterForm(data)
    with translation.override("ja"):
        shown = [_markup(field) for field in plain]

    class Before(QueueFilterForm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            for field in self.fields.values():
                field.widget = forms.Select(choices=field.widget.choices)

    before = Before(data)
    with translation.override("ja"):
        assert shown == [_markup(field) for field in before]
    assert all(isinstance(f.widget, PlainSelect) for f in plain.fields.values())
    assert "にし&lt;電力&gt;" in shown[0]
    assert '<option value="high" selected>' in shown[1]
