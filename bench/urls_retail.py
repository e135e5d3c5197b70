"""The retail site's URLs under the HTTP row's gunicorn (bench/http_settings.py): the
product's, its error pages, and the same minimal signed-in page as bench/urls.py."""

from django.urls import path

from bench.http_views import minimal
from config.urls_retail import handler403, handler404, handler500  # noqa: F401
from config.urls_retail import urlpatterns as product_urls

urlpatterns = [path("bench/minimal/", minimal, name="bench-minimal"), *product_urls]
