"""Start-up checks: a malformed audit key stops the process; a missing one is a warning
(without a signing key the chain still works, only the signed checkpoints are off;
without a MAC key no event can be written; production refuses to start without
either)."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .checkpoints import CHAIN_ID_PLACEHOLDER
from .mac import mac_keys
from .signing import key_id, signing_key, verify_keys


@checks.register(checks.Tags.security)
def check_audit_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        private = signing_key()
        trusted = verify_keys()
        authenticating = mac_keys()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="audit.E001")]
    messages: list[checks.CheckMessage] = []
    if authenticating is None:
        messages.append(
            checks.Warning(
                "AUDIT_MAC_KEYS is not set: audit events cannot be authenticated, so every "
                "write of an audit event fails (`manage.py init_local_keys` makes a key).",
                id="audit.W002",
            )
        )
    if private is None and not trusted:
        messages.append(
            checks.Warning(
                "AUDIT_SIGNING_KEY is not set: the audit chain is sealed but no signed "
                "checkpoints are written, so a rewrite of the whole table would go unnoticed.",
                id="audit.W001",
            )
        )
    signer_untrusted = private is not None and key_id(private.public_key()) not in trusted
    if settings.AUDIT_VERIFY_KEY and signer_untrusted:
        messages.append(
            checks.Error(
                "AUDIT_VERIFY_KEY does not include the public key of AUDIT_SIGNING_KEY: "
                "new checkpoints would fail verification.",
                id="audit.E002",
            )
        )
    development = settings.DEBUG or settings.SHADAN_LOCAL_DEVELOPMENT
    if CHAIN_ID_PLACEHOLDER in str(settings.AUDIT_CHECKPOINT_DIR) and not development:
        messages.append(
            checks.Error(
                "AUDIT_CHECKPOINT_DIR contains {chain_id}: that lets a replaced audit trail "
                "start over unnoticed, so it is for development only (DEBUG on).",
                id="audit.E004",
            )
        )
    pinned = getattr(settings, "AUDIT_CHAIN_ID", "")
    if pinned and not re.fullmatch(r"[0-9a-f]{64}", pinned):
        messages.append(
            checks.Error("AUDIT_CHAIN_ID must be 64 lowercase hex digits.", id="audit.E005")
        )
    if settings.AUDIT_SEAL_GRACE_SECONDS <= 0:
        messages.append(checks.Error("AUDIT_SEAL_GRACE_SECONDS must be positive.", id="audit.E003"))
    return messages


@checks.register(checks.Tags.security, deploy=True)
def check_chain_pinned(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`check --deploy`: without AUDIT_CHAIN_ID, a trail replaced wholesale by one with a
    new chain id meets an empty checkpoint directory of its own."""
    if getattr(settings, "AUDIT_CHAIN_ID", ""):
        return []
    return [
        checks.Warning(
            "AUDIT_CHAIN_ID is not set: once the first audit_seal has run, set it to the "
            "chain id `manage.py audit_checkpoints` prints, so a replaced trail cannot "
            "verify against an empty checkpoint directory of its own.",
            id="audit.W003",
        )
    ]
