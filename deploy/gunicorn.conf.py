"""gunicorn settings for a shadan site (deploy/systemd/shadan-td.service runs it).

    gunicorn -c deploy/gunicorn.conf.py

Everything an operator tunes comes from the environment, so one file serves the T&D
site and (with the physical split) the retail site, each as its own unit.

The control socket (gunicorn 25.1+, `gunicornc`): its default path is the same for every
instance of one user ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl), so a second site on
the host would take over the first one's socket. Each instance puts it in its own
runtime directory: systemd's RuntimeDirectory= (exported as $RUNTIME_DIRECTORY), or
GUNICORN_CONTROL_SOCKET.
"""

from __future__ import annotations

import os

wsgi_app = "config.wsgi:application"

# Behind the TLS proxy on this host (deploy/nginx/shadan.conf): loopback only.
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
worker_class = "sync"
# A request that takes longer is a fault; the proxy gives up after the same time.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# Recycle workers now and then (memory growth), not all at once.
max_requests = 2000
max_requests_jitter = 200
# Only the proxy on this host may set X-Forwarded-Proto / X-Forwarded-For.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# To journald through stdout/stderr. URLs carry ids only, never personal data.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

_runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or (
    os.path.join(_runtime, "gunicorn.ctl") if _runtime else ""
)
if _socket:
    control_socket = _socket
    control_socket_mode = 0o600
else:
    # Not under systemd and not told where: no control socket rather than a shared one.
    control_socket_disable = True
