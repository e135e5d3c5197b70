from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExposureConfig(AppConfig):
    name = "apps.exposure"
    label = "exposure"
    verbose_name = _("Investigation report")
