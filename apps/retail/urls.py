from django.urls import path

from . import views

urlpatterns = [
    path("", views.application_list, name="retail-list"),
    path("<str:reference>/", views.application_detail, name="retail-detail"),
]
