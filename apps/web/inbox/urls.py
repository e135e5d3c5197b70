from django.urls import path

from apps.web.inbox import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/read/", views.mark_read, name="inbox-read"),
    path("read-all/", views.mark_all_read, name="inbox-read-all"),
]
