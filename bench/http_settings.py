"""The settings gunicorn runs on in the HTTP row (bench/http.py): production's, over the
bench's databases, with two differences that exist only here.

bench/http.py starts each gunicorn with `DJANGO_SETTINGS_MODULE=bench.http_settings` and
an environment built as a production unit's (the T&D site's databases and keys, or the
retail site's `SHADAN_SITE_ROLE=retail` with its database and secret key alone), so every
refusal, the persistent connections, the cached template loader, WhiteNoise and the HTTPS
settings are production's own. The one difference: the URLconf adds a page,
`bench-minimal` (bench/urls.py, bench/urls_retail.py), the framework's ceiling the
product's pages are compared with; production's URLs never have it.
"""

from __future__ import annotations

from config.settings.production import *  # noqa: F403
from config.settings.production import SHADAN_SITE_ROLE

ROOT_URLCONF = "bench.urls_retail" if SHADAN_SITE_ROLE == "retail" else "bench.urls"
