"""A form's field and its form-wide errors, as every form of both sites shows them.

Tags, not `{% include %}`s: an include pushes a context and renders a template's nodes
for each field (the approval queue's three filters cost more than its 25 rows, issue
17), where these write the same markup in one call. Both sites load this library (the
retail site has nothing of apps.web). Every value is escaped as the template's
`{{ … }}` escaped it; the widget and the label tag are Django's own.
"""

from __future__ import annotations

from django import template
from django.forms import BaseForm, BoundField
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_REQUIRED = ' <span class="req" aria-hidden="true">*</span>'


@register.simple_tag
def form_field(field: BoundField) -> SafeString:
    """One field with its label, help and the error next to it; what was typed stays."""
    errors = field.errors
    auto_id = conditional_escape(field.auto_id)
    parts = [
        f'\n<div class="field{" has-error" if errors else ""}"'
        f' data-field="{conditional_escape(field.name)}">\n'
        f'  <label for="{conditional_escape(field.id_for_label)}">'
        f"{conditional_escape(field.label)}{_REQUIRED if field.field.required else ''}</label>\n"
        f"  {field}\n  "
    ]
    if field.help_text:
        parts.append(
            f'<small class="help" id="{auto_id}_helptext">'
            f"{conditional_escape(field.help_text)}</small>"
        )
    parts.append("\n  ")
    parts.extend(
        f'<p class="error" id="{auto_id}_error">{conditional_escape(str(error))}</p>'
        for error in errors
    )
    parts.append("\n</div>\n")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)


@register.simple_tag
def form_errors(form: BaseForm) -> SafeString:
    """The errors of the form as a whole (not of one field), as an alert."""
    errors = form.non_field_errors()
    if not errors:
        return SafeString("")
    listed = "".join(f"<p>{conditional_escape(str(error))}</p>" for error in errors)
    return mark_safe(f'<div class="errors" role="alert">{listed}</div>')  # noqa: S308
