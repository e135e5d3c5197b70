from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

urlpatterns = [
    path("", include("apps.web.urls")),
    path("applications/", include("apps.applications.urls")),
    path("review/", include("apps.applications.urls_review")),
    path("construction/", include("apps.applications.urls_construction")),
    path("audit/reviews/", include("apps.access_review.urls")),
    path("audit/exposure/", include("apps.exposure.urls")),
    path("audit/", include("apps.audit.urls")),
    path("inbox/", include("apps.notifications.urls")),
    path("administration/", include("apps.web.administration.urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
]
