from typing import Any

from celery import Celery

from config.environment import choose_if_possible

# The same rule as manage.py and gunicorn (config/environment.py): SHADAN_ENV, or a
# developer checkout's .local-keys.env; a worker or beat never starts on a guess.
_not_chosen = choose_if_possible()

app = Celery("shadan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_configure.connect
def _refuse_without_settings(**kwargs: Any) -> None:
    if _not_chosen is not None:
        raise SystemExit(f"shadan: {_not_chosen}")
