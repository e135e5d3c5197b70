"""The T&D site's URLs under the HTTP row's gunicorn (bench/http_settings.py): the
product's, and the minimal signed-in page the pages are compared with."""

from django.urls import path

from bench.http_views import minimal
from config.urls import urlpatterns as product_urls

urlpatterns = [path("bench/minimal/", minimal, name="bench-minimal"), *product_urls]
