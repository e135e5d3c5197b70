"""Request paths never reach the logs as typed.

Django logs every 4xx/5xx answer with its path (`django.request`: "Not Found: /retail/…/")
and the development server logs every request line (`django.server`). No shadan URL
carries personal data by design, but a path is user input: a retail user probing with a
customer's phone number typed into the address bar would put it in the server log. The
filter replaces the path with the route that matched it (`retail/<str:reference>/`),
which names the page without any value, or with its length when nothing matched; the
query string is never kept.
"""

from __future__ import annotations

import logging

from django.urls import Resolver404, resolve

_REQUEST_LOGGERS = frozenset({"django.request", "django.server"})


def redacted_path(path: str) -> str:
    bare = path.split("?", 1)[0]
    try:
        match = resolve(bare)
    except Resolver404:
        return f"[unmatched path, {len(bare)} characters]"
    except Exception:  # a log line must never fail because of the URLconf
        return f"[path, {len(bare)} characters]"
    return "/" + match.route if match.route else f"[view {match.view_name}]"


def _redacted_request_line(line: str) -> str:
    """`GET /path?query HTTP/1.1` → `GET <route> HTTP/1.1`."""
    method, _, rest = line.partition(" ")
    target, _, protocol = rest.rpartition(" ")
    if not target:
        return f"{method} {redacted_path(rest)}"
    return f"{method} {redacted_path(target)} {protocol}"


class RedactRequestPaths(logging.Filter):
    """Attached to `django.request` and `django.server` (see LOGGING in the settings)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name not in _REQUEST_LOGGERS or not isinstance(record.args, tuple):
            return True
        args = list(record.args)
        if not args or not isinstance(args[-1], str):
            return True
        if record.name == "django.request":
            # "Not Found: %s", "Forbidden (%s): %s", "Method Not Allowed (%s): %s"…: the
            # path is the last argument, already escaped; the request carries it as typed.
            request = getattr(record, "request", None)
            args[-1] = redacted_path(getattr(request, "path_info", None) or args[-1])
        else:
            # The development server's '"%s" %s %s': the request line comes first.
            args[0] = _redacted_request_line(args[0]) if isinstance(args[0], str) else args[0]
        record.args = tuple(args)
        return True
