"""The settings gunicorn runs on in the HTTP row (bench/http.py): production's, over the
bench's databases, with differences that exist only here.

bench/http.py starts each gunicorn with `DJANGO_SETTINGS_MODULE=bench.http_settings` and
an environment built as a production unit's (the T&D site's databases and keys, or the
retail site's `SHADAN_SITE_ROLE=retail` with its database and secret key alone), so every
refusal, the persistent connections, the cached template loader, WhiteNoise and the HTTPS
settings are production's own. The differences: the URLconf adds a page,
`bench-minimal` (bench/urls.py, bench/urls_retail.py), the framework's ceiling the
product's pages are compared with; production's URLs never have it. And on the row's
twin servers only (`SHADAN_BENCH_TEMPLATES=none`), every template renders nothing
(bench/no_templates.py): what a page costs besides its render.
"""

from __future__ import annotations

import os

from config.settings.production import *  # noqa: F403
from config.settings.production import SHADAN_SITE_ROLE

ROOT_URLCONF = "bench.urls_retail" if SHADAN_SITE_ROLE == "retail" else "bench.urls"

if os.environ.get("SHADAN_BENCH_TEMPLATES") == "none":
    TEMPLATES = [{"BACKEND": "bench.no_templates.NoTemplates"}]
