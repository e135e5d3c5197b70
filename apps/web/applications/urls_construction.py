from django.urls import path

from apps.web.applications.views import construction

urlpatterns = [
    path("", construction.work_list, name="construction-list"),
    path("<int:pk>/", construction.work_detail, name="construction-detail"),
    path("<int:pk>/reveal/", construction.reveal, name="construction-reveal"),
    path("<int:pk>/complete/", construction.complete, name="construction-complete"),
    path("<int:pk>/energize/", construction.energize, name="construction-energize"),
]
