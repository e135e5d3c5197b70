from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

urlpatterns = [
    path("", include("apps.web.urls")),
    path("applications/", include("apps.web.applications.urls")),
    path("review/", include("apps.web.applications.urls_review")),
    path("construction/", include("apps.web.applications.urls_construction")),
    path("audit/reviews/", include("apps.web.auditors.reviews.urls")),
    path("audit/exposure/", include("apps.web.auditors.exposure.urls")),
    path("audit/", include("apps.web.auditors.trail.urls")),
    path("inbox/", include("apps.web.inbox.urls")),
    path("administration/", include("apps.web.administration.urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
]
