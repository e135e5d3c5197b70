from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    name = "apps.applications"
    label = "applications"
    verbose_name = _("New-connection applications")

    def ready(self) -> None:
        # The retailers floor cannot import the workflow: the workflow tells it, once, whom
        # to call when a retailer's name or affiliation changes (same transaction).
        from apps.retailers.services import on_retailer_changed

        from .services import invalidate_retailer_applications

        on_retailer_changed(invalidate_retailer_applications)
