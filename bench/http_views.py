"""The minimal signed-in page of the HTTP row (bench/urls.py, bench/urls_retail.py): only
Django, so the retail site's process imports nothing of the T&D side through it."""

from django.http import HttpRequest, HttpResponse

MINIMAL_BODY = b"<!doctype html><title>bench</title><p>ok</p>"


def minimal(request: HttpRequest) -> HttpResponse:
    """Session, authentication and every middleware of the site (LoginRequiredMiddleware
    reads the signed-in user), no query beyond them, no template."""
    return HttpResponse(MINIMAL_BODY)
