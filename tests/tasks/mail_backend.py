"""A mail backend for worker processes under test: appends one JSON line per message to
the file named by SHADAN_TEST_MAIL_LOG.

SHADAN_TEST_MAIL_PAUSE (a file path), read only by the process started with it: the
first send writes that file and then sleeps, so the test can kill the worker in the
middle of a delivery, before anything was sent.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage


class RecordingBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        pause = os.environ.get("SHADAN_TEST_MAIL_PAUSE")
        if pause:
            Path(pause).write_text(str(os.getpid()))
            time.sleep(300)
        with open(os.environ["SHADAN_TEST_MAIL_LOG"], "a", encoding="utf-8") as log:
            for message in email_messages:
                record = {"to": message.to, "subject": message.subject, "pid": os.getpid()}
                log.write(json.dumps(record, ensure_ascii=False) + "\n")
        return len(email_messages)
