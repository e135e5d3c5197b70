from django.urls import path

from . import retailers, users, views

urlpatterns = [
    path("users/", users.user_list, name="admin-users"),
    path("users/new/", users.user_create_page, name="admin-user-create"),
    path("users/<int:user_id>/", users.user_detail, name="admin-user"),
    path(
        "users/<int:user_id>/deactivate/", users.user_deactivate_page, name="admin-user-deactivate"
    ),
    path("users/<int:user_id>/transfer/", users.user_transfer_page, name="admin-user-transfer"),
    path("retailers/", retailers.retailer_list, name="admin-retailers"),
    path("retailers/<int:retailer_id>/", retailers.retailer_detail, name="admin-retailer"),
    path("affiliation/", retailers.affiliation_list, name="admin-affiliations"),
    path("affiliation/<int:proposal_id>/", retailers.affiliation_detail, name="admin-affiliation"),
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
