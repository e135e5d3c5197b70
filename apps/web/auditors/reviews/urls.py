from django.urls import path

from apps.web.auditors.reviews import views

urlpatterns = [
    path("", views.queue, name="access-review-queue"),
    path("reviewed/", views.reviewed, name="access-review-reviewed"),
    path("shares/", views.shares, name="access-review-shares"),
    path("<int:item_id>/", views.item, name="access-review-item"),
]
