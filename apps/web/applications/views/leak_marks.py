"""The encode refusal as the clerk reads it: each leak named once, the text marked.

The marked text is the customer's personal data as the clerk typed it, on the page that
already shows it (read with purpose "encode" and logged); it goes nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.functional import Promise
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from apps.applications.leak_spans import FieldLeaks, Span
from apps.web.templatetags.shadan import SummaryItem


def _merged(spans: list[Span]) -> list[tuple[int, int]]:
    """Overlapping or touching pieces as one mark: "山田" and "花子" typed as "山田花子"."""
    merged: list[tuple[int, int]] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if merged and span.start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], span.end))
        else:
            merged.append((span.start, span.end))
    return merged


def marked(text: str, spans: list[Span]) -> SafeString:
    """``text`` escaped, with each leaking piece in <mark>."""
    parts: list[str] = []
    at = 0
    for start, end in _merged(spans):
        parts.append(conditional_escape(text[at:start]))
        parts.append(format_html('<mark data-testid="leak-mark">{}</mark>', text[start:end]))
        at = end
    parts.append(conditional_escape(text[at:]))
    return mark_safe("".join(parts))  # noqa: S308 — every piece was escaped above


def anchor(field: str) -> str:
    return f"leak-{field}"


def summary_items(
    located: list[FieldLeaks], labels: Mapping[str, str | Promise]
) -> list[SummaryItem]:
    """One line per leak, linking to the marked field on the retail side."""
    return [
        SummaryItem(
            anchor(found.field),
            labels.get(found.field, found.field),
            str(kind.label),
            found.field,
        )
        for found in located
        for kind in found.kinds
    ]
