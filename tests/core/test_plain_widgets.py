"""PlainSelect, PlainCheckbox, PlainTextInput and PlainTextarea (apps.core.widgets) write
the markup Django's widget templates write, without a template per option or per input
(issue 17): the approval queue's and the clerk's list's selects and search box, the
retail list's search box, the review page's checklist and reasons."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from apps.core.widgets import PlainCheckbox, PlainSelect, PlainTextarea, PlainTextInput
from apps.retail.forms import RetailSearchForm
from apps.web.administration.forms import PasswordResetProposalForm
from apps.web.applications.forms import ApplicationForm
from apps.web.applications.forms_review import QueueFilterForm, ReturnForm, VerifyForm
from apps.web.applications.forms_search import ApplicationSearchForm
from apps.web.forms import ListedModelChoiceField
from tests.factories import make_retailer

CHOICES = [
    ("", "— any —"),
    ("a", "A & <b>"),
    ("Group", [("g1", "in a group"), ("g2", '"quoted"'), ("a", "A again: not selected")]),
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


def _with_djangos_widgets(form: forms.Form) -> forms.Form:
    for field in form.fields.values():
        if isinstance(field.widget, PlainCheckbox):
            field.widget = forms.CheckboxInput(attrs=field.widget.attrs)
        elif isinstance(field.widget, PlainTextarea):
            field.widget = forms.Textarea(attrs=field.widget.attrs)
        elif isinstance(field.widget, PlainTextInput):
            attrs = {**field.widget.attrs, "type": field.widget.input_type}
            field.widget = forms.TextInput(attrs=attrs)
    return form


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"version": "3", "check_retailer": "on"},
        {"version": "3", "check_retailer": "on", "check_free_text": "on", "check_preview": "1"},
        {"check_preview": "false"},
    ],
)
def test_the_checklist_renders_as_with_djangos_check_box(data):
    plain, django = VerifyForm(data), _with_djangos_widgets(VerifyForm(data))
    for form in (plain, django):
        form.is_valid()

    assert [_markup(f) for f in plain] == [_markup(f) for f in django]
    assert any(isinstance(f.widget, PlainCheckbox) for f in plain.fields.values())


@pytest.mark.parametrize(
    "reason",
    [None, "", "  ", "戻します <b>&</b>", "\nstarts with a new line", "x" * 1001],
)
def test_a_reason_renders_as_with_djangos_text_area(reason):
    data = None if reason is None else {"version": "2", "reason": reason}
    plain, django = ReturnForm(data), _with_djangos_widgets(ReturnForm(data))
    for form in (plain, django):
        form.is_valid()

    assert str(plain["reason"]) == str(django["reason"])
    assert isinstance(plain.fields["reason"].widget, PlainTextarea)


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"key": "reference", "text": "SD2026-0000001"},
        {"key": "customer_name", "text": '山田 "太郎" <b>&</b>'},
        {"key": "reference", "text": ""},
        {"key": "reference", "text": "x" * 101},
    ],
)
def test_the_search_box_renders_as_with_djangos_text_input(data):
    """Unbound (the list), bound and valid, bound and invalid (empty, too long: the
    error's ARIA attributes)."""
    initial = {"key": "supply_point", "text": "0312"}
    plain = ApplicationSearchForm(data, initial=initial)
    django = _with_djangos_widgets(ApplicationSearchForm(data, initial=initial))
    for form in (plain, django):
        if data is not None:
            form.is_valid()

    assert str(plain["text"]) == str(django["text"])
    assert isinstance(plain.fields["text"].widget, PlainTextInput)


@pytest.mark.parametrize("data", [None, {}, {"q": "SD2026-0000123"}, {"q": "1" * 41}])
def test_the_retail_search_box_renders_as_with_djangos_text_input(data):
    """The retail list's search box (a search input with its own attributes): unbound,
    empty, a reference, too long (the error's ARIA attributes)."""
    plain = RetailSearchForm(data)
    django = _with_djangos_widgets(RetailSearchForm(data))
    for form in (plain, django):
        if data is not None:
            form.is_valid()

    assert str(plain["q"]) == str(django["q"])
    assert 'type="search"' in str(plain["q"])
    assert isinstance(plain.fields["q"].widget, PlainTextInput)


@pytest.mark.django_db
def test_a_model_select_reads_its_options_in_one_query_not_through_a_cursor():
    """The queue's retailer filter, the application form's retailer and the
    administrators' user choice: the options Django's ModelChoiceField gives (empty
    label, order, labels, the one selected), read by one SELECT; Django's own iterator
    reads them through a server-side cursor on PostgreSQL (`chunked_cursor`)."""
    make_retailer(code="B0002", name="にし<電力>")
    make_retailer(code="B0001", name="ひがし電力")
    chosen = make_retailer(code="B0003", name="みなみ電力")
    data = {"retailer": str(chosen.pk)}

    class Before(QueueFilterForm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            listed = self.fields["retailer"]
            assert isinstance(listed, ListedModelChoiceField)
            self.fields["retailer"] = forms.ModelChoiceField(
                queryset=listed.queryset,
                required=False,
                empty_label=listed.empty_label,
                widget=PlainSelect,
            )

    for bound in (None, data):
        with (
            mock.patch.object(connection, "chunked_cursor", side_effect=AssertionError("cursor")),
            CaptureQueriesContext(connection) as read,
        ):
            shown = _markup(QueueFilterForm(bound)["retailer"])
        # The options; a bound form also validates the choice (Django reads it by key).
        assert len(read) == (1 if bound is None else 2)
        assert shown == _markup(Before(bound)["retailer"])
    assert shown.index("B0001") < shown.index("B0002") < shown.index("B0003")
    assert f'<option value="{chosen.pk}" selected>' in shown
    for field in (
        ApplicationForm.base_fields["retailer"],
        PasswordResetProposalForm.base_fields["user"],
    ):
        assert isinstance(field, ListedModelChoiceField)


@pytest.mark.django_db
def test_a_fixed_model_select_builds_its_statement_once_and_reads_its_options_afresh():
    """The queue's retailer filter (`fixed`): one statement per process and alias, shared
    by every form's copy of the field, run at each rendering, so a retailer added since
    the last page view is among the options."""
    field = QueueFilterForm.base_fields["retailer"]
    assert isinstance(field, ListedModelChoiceField)
    reads = field.fixed_reads
    assert reads is not None
    reads.clear()
    make_retailer(code="B0001", name="ひがし電力")

    first = _markup(QueueFilterForm(None)["retailer"])
    (read,) = reads.values()
    added = make_retailer(code="B0002", name="にし電力")
    with mock.patch("apps.web.forms.ModelRead", side_effect=AssertionError("built again")):
        second = _markup(QueueFilterForm(None)["retailer"])

    assert "B0001" in first
    assert "B0002" not in first
    assert f'<option value="{added.pk}">B0002 にし電力</option>' in second
    assert list(reads.values()) == [read]
    # The application form's retailer is not fixed: its form chooses what it offers.
    chosen_per_form = ApplicationForm.base_fields["retailer"]
    assert isinstance(chosen_per_form, ListedModelChoiceField)
    assert chosen_per_form.fixed_reads is None
