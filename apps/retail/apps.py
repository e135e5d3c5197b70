from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetailConfig(AppConfig):
    name = "apps.retail"
    label = "retail"
    verbose_name = _("Retail")
