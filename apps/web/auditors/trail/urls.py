from django.urls import path

from apps.web.auditors.trail import views

urlpatterns = [
    path("", views.event_search, name="audit-search"),
    path("export.csv", views.event_export, name="audit-export"),
    path("applications/<int:pk>/", views.application_timeline, name="audit-application"),
    path("users/<int:user_id>/", views.user_history, name="audit-user"),
    path("chain/", views.chain, name="audit-chain"),
]
