"""Codes of the trail as the auditors read them (apps.web.auditors.trail.presentation)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from apps.web.auditors.trail import presentation

register = template.Library()


@register.filter
def division_label(code: object) -> str:
    return presentation.division_label(code)


@register.filter
def roles_label(codes: Iterable[object]) -> str:
    return presentation.roles_label(codes)


@register.filter
def action_label(code: object) -> str:
    return presentation.action_label(code)


@register.filter
def detail_items(details: Any) -> list[presentation.DetailItem]:
    return presentation.detail_items(details)


@register.filter
def person(user: Any) -> str:
    return presentation.person_name(user)


@register.inclusion_tag("audit/_person.html")
def person_with_login(user: Any, fallback: str = "") -> dict[str, Any]:
    """Display name with the login id beside it: the auditor needs both."""
    return {
        "name": presentation.person_name(user, fallback),
        "login": getattr(user, "username", "") or "",
    }
