from django.urls import path

from apps.web.auditors.exposure import views

urlpatterns = [
    path("", views.exposure_home, name="exposure-home"),
    path("runs/<int:run_id>/", views.exposure_run, name="exposure-run"),
    path("runs/<int:run_id>/status.json", views.exposure_run_status, name="exposure-status"),
    path("runs/<int:run_id>/report.csv", views.exposure_csv, name="exposure-csv"),
    path("runs/<int:run_id>/report.json", views.exposure_json, name="exposure-json"),
]
