"""Widgets that write their markup in Python instead of through Django's widget templates.

Django renders a select through select.html, which includes select_option.html and
attrs.html for each option, and an input through input.html and attrs.html: on the
pages shown most (the approval queue's filters, the clerk's list's and the retail list's
search boxes, the review page's checklist) that was about thirty templates on every
page view (issue 17). Each widget here takes Django's own context (`get_context`: the
id, the error and help-text ARIA attributes, which option is selected), so the markup is
what Django's templates write; tests/core/test_plain_widgets.py renders both. Both sites
use them (the retail site has nothing of apps.web).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def _attributes(attrs: dict[str, Any]) -> str:
    """Django's django/forms/widgets/attrs.html in Python: False leaves an attribute out,
    True writes its name alone, anything else its escaped text."""
    return "".join(
        f" {name}" if value is True else f' {name}="{escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class PlainSelect(forms.Select):
    """A select that writes its markup here: Django's select.html includes
    select_option.html and attrs.html for each option. Its options are Django's
    (`ChoiceWidget.optgroups`: groups, the empty value for None, the first matching
    option selected unless several may be) without a context dictionary per option,
    which for three small selects cost as much as their query (issue 17)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        attrs = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            attrs["multiple"] = True
        chosen = self.format_value(value)
        parts = [f'<select name="{escape(name)}"{_attributes(attrs)}>']
        has_selected = False
        for option_value, option_label in self.choices:
            grouped = isinstance(option_label, (list, tuple))
            if grouped:
                parts.append(f'\n  <optgroup label="{escape(option_value)}">')
                options = option_label
            else:
                options = [("" if option_value is None else option_value, option_label)]
            for subvalue, sublabel in options:
                selected = (not has_selected or self.allow_multiple_selected) and str(
                    subvalue
                ) in chosen
                has_selected |= selected
                parts.append(
                    f'\n  <option value="{escape(subvalue)}"{" selected" if selected else ""}>'
                    f"{escape(sublabel)}</option>"
                )
            if grouped:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


def _input(widget: dict[str, Any]) -> SafeString:
    """Django's django/forms/widgets/input.html in Python, of a widget's context."""
    shown = "" if widget["value"] is None else f' value="{escape(widget["value"])}"'
    return mark_safe(  # noqa: S308 - every value is escaped
        f'<input type="{escape(widget["type"])}" name="{escape(widget["name"])}"'
        f"{shown}{_attributes(widget['attrs'])}>"
    )


class PlainCheckbox(forms.CheckboxInput):
    """A check box written here (Django's checkbox.html includes input.html and
    attrs.html): the review page's checklist, three on every opening (issue 17). The
    context is Django's own (`checked`, the ARIA attributes), so is the markup."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        return _input(self.get_context(name, value, attrs)["widget"])


class PlainTextInput(forms.TextInput):
    """A text input written here (Django's text.html includes input.html and attrs.html):
    the clerk's list's and the retail list's search boxes, on every view of either list
    (issue 17)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        return _input(self.get_context(name, value, attrs)["widget"])


class PlainTextarea(forms.Textarea):
    """A text area written here, as Django's textarea.html writes it (the new line after
    the opening tag included: a browser drops it, so a value starting with one keeps it)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        text = escape(widget["value"]) if widget["value"] else ""
        return mark_safe(  # noqa: S308 - every value is escaped
            f'<textarea name="{escape(widget["name"])}"{_attributes(widget["attrs"])}>\n'
            f"{text}</textarea>"
        )
