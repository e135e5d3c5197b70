"""A template backend whose every template renders nothing: the HTTP row's twin servers
(bench/http.py, `SHADAN_BENCH_TEMPLATES=none` in bench/http_settings.py) answer the
product's pages through it, so a page's figure there is what the page costs besides its
render — its middleware, view, services and SQL, with the same session and user as the
twin it is compared with. No context processor runs and nothing the template alone would
read is read (a form's choices, say): what is left out is exactly what rendering does.
Never in the product's settings."""

from __future__ import annotations

from typing import Any

from django.template.backends.base import BaseEngine


class NothingRendered:
    """A template that renders the empty string, whatever its context."""

    def render(self, context: Any = None, request: Any = None) -> str:
        return ""


class NoTemplates(BaseEngine):
    """Finds every template, and each renders nothing."""

    def __init__(self, params: dict[str, Any]) -> None:
        params = params.copy()
        params.pop("OPTIONS")  # none: there is nothing to configure
        super().__init__(params)

    def from_string(self, template_code: str) -> NothingRendered:
        return NothingRendered()

    def get_template(self, template_name: str) -> NothingRendered:
        return NothingRendered()
