from django.urls import path

from apps.web.applications.views import supervisor

urlpatterns = [
    path("", supervisor.queue, name="review-queue"),
    path("<int:pk>/", supervisor.review, name="review-page"),
    path("<int:pk>/verify/", supervisor.verify, name="review-verify"),
    path("<int:pk>/return/", supervisor.return_application, name="review-return"),
    path("<int:pk>/release/", supervisor.release, name="review-release"),
    path("<int:pk>/cancel/", supervisor.cancel, name="review-cancel"),
]
