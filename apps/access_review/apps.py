from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessReviewConfig(AppConfig):
    name = "apps.access_review"
    label = "access_review"
    verbose_name = _("Access review")
