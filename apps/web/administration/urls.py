from django.urls import path

from . import views

urlpatterns = [
    path("password-resets/", views.password_resets, name="admin-password-resets"),
    path(
        "password-resets/new/",
        views.password_reset_propose,
        name="admin-password-reset-propose",
    ),
    path(
        "password-resets/<int:request_id>/",
        views.password_reset_detail,
        name="admin-password-reset",
    ),
]
