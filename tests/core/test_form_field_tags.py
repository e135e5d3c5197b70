"""`{% form_field %}` and `{% form_errors %}` (apps/core/templatetags/fields.py) write what
the partials they replace wrote (`partials/field.html`, `partials/form_errors.html`,
kept here as they were): every kind of widget, bound and unbound, valid and not, with
markup in labels, help and errors, in both languages, on the product's own forms too."""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.test.html import parse_html
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from apps.retail.forms import RetailSearchForm
from apps.web.applications.forms import ApplicationForm
from apps.web.applications.forms_review import QueueFilterForm, ReturnForm
from apps.web.applications.forms_search import ApplicationSearchForm

# The partials as they were, for the comparison.
FIELD_PARTIAL = (
    "{# One form field with its label, help and the error next to it; what was typed stays. #}\n"
    '<div class="field{% if field.errors %} has-error{% endif %}" data-field="{{ field.name }}">\n'
    '  <label for="{{ field.id_for_label }}">{{ field.label }}{% if field.field.required %}'
    ' <span class="req" aria-hidden="true">*</span>{% endif %}</label>\n'
    "  {{ field }}\n"
    '  {% if field.help_text %}<small class="help" id="{{ field.auto_id }}_helptext">'
    "{{ field.help_text }}</small>{% endif %}\n"
    '  {% for error in field.errors %}<p class="error" id="{{ field.auto_id }}_error">'
    "{{ error }}</p>{% endfor %}\n"
    "</div>\n"
)
ERRORS_PARTIAL = (
    "{% load i18n %}{% if form.non_field_errors %}"
    '<div class="errors" role="alert">{% for e in form.non_field_errors %}<p>{{ e }}</p>'
    "{% endfor %}</div>{% endif %}\n"
)


class Everything(forms.Form):
    """A field of each kind the product's forms use, markup in what they show."""

    text = forms.CharField(label="Name <b>&</b>", help_text="Help <i>'x'</i>", max_length=3)
    note = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea)
    pick = forms.ChoiceField(label="Pick", choices=[("", "—"), ("a", "A & <b>")])
    many = forms.MultipleChoiceField(
        label="Many", choices=[("x", "X"), ("y", "Y")], widget=forms.CheckboxSelectMultiple
    )
    one = forms.ChoiceField(label="One", choices=[("r", "R")], widget=forms.RadioSelect)
    tick = forms.BooleanField(label="Tick <em>it</em>")
    day = forms.DateField(label="Day", required=False, widget=forms.DateInput(attrs={"id": "d"}))
    hidden = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean(self):
        raise ValidationError(["Whole form <b>wrong</b>", "and & again"])


def _old(field) -> str:
    return Template(FIELD_PARTIAL).render(Context({"field": field}))


def _new(field) -> str:
    return Template("{% load fields %}{% form_field field %}").render(Context({"field": field}))


def _old_errors(form) -> str:
    return Template(ERRORS_PARTIAL).render(Context({"form": form}))


def _new_errors(form) -> str:
    return Template("{% load fields %}{% form_errors form %}").render(Context({"form": form}))


def _forms():
    invalid = {"text": "toolong<", "pick": "zz", "many": ["x", "nope"], "day": "31/31"}
    yield Everything()
    yield Everything(data=invalid)
    yield Everything(data={"text": "ok", "pick": "a", "many": ["x"], "one": "r", "tick": "on"})
    yield Everything(data=invalid, auto_id=False)
    yield Everything(data=invalid, auto_id="f_%s", prefix="p")
    yield QueueFilterForm(data={"retailer": "999999", "contract_class": "x", "age": "3"})
    yield QueueFilterForm()
    yield ApplicationSearchForm(data={"key": "nothing", "text": "x" * 300})
    yield ReturnForm(data={"version": "1", "reason": ""})
    yield ApplicationForm()
    yield ApplicationForm(data={"customer_email": "not an address", "contract_capacity": "-1"})
    yield RetailSearchForm(data={"q": "<script>"})


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ja", "en"])
def test_each_field_is_written_as_the_partial_wrote_it(language):
    compared = 0
    with translation.override(language):
        for form in _forms():
            for field in form:
                assert _new(field) == _old(field), (type(form).__name__, field.name)
                compared += 1
            assert parse_html(_new_errors(form)) == parse_html(_old_errors(form))
    # Errors, help and required marks were among them, not only quiet fields.
    assert compared > 40


@pytest.mark.django_db
def test_the_errors_of_a_form_are_escaped_and_none_writes_nothing():
    form = Everything(data={})
    written = _new_errors(form)
    assert '<div class="errors" role="alert">' in written
    assert "Whole form &lt;b&gt;wrong&lt;/b&gt;" in written and "and &amp; again" in written
    assert _new_errors(QueueFilterForm()) == ""
    field = _new(form["text"])
    assert 'class="field has-error"' in field and "Name &lt;b&gt;&amp;&lt;/b&gt;" in field
    assert "<b>&</b>" not in field and "Help &lt;i&gt;&#x27;x&#x27;&lt;/i&gt;" in field
