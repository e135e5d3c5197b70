from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    # Until the role pages exist, the administration site is the way in.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
