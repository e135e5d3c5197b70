"""The retail site's URLs (SHADAN_SITE_ROLE=retail): sign-in, sign-out, own password,
the masked list with its search, the masked detail, the inbox. Nothing else: every other
path, the Django admin's included, is 404."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import path
from django.views.i18n import set_language

from apps.retail import views

urlpatterns = [
    path("", views.application_list, name="retail-list"),
    path("applications/<str:reference>/", views.application_detail, name="retail-detail"),
    path("inbox/", views.inbox, name="retail-inbox"),
    path("inbox/<int:entry_id>/read/", views.inbox_read, name="retail-inbox-read"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
]

handler403 = "apps.retail.views.forbidden"
handler404 = "apps.retail.views.not_found"
handler500 = "apps.retail.views.server_error"
