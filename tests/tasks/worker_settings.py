"""Settings of the worker processes the real-worker tests start: the test settings, with
e-mail recorded to a file the test reads (tests.tasks.mail_backend)."""

from config.settings.test import *  # noqa: F403

EMAIL_BACKEND = "tests.tasks.mail_backend.RecordingBackend"
