"""Print a fresh set of production secrets in environment-file format, to stdout only.

    python manage.py generate_production_keys > /etc/shadan/keys.env   # then chmod 600

It runs before any environment exists (manage.py gives it settings without a database or
secrets, config/environment.py) and writes no file: where the output goes is the
operator's choice, never the checkout. Run it once per deployment; a second run makes
different keys, which would make the existing vault records and audit MACs unreadable.
For a rotation, take only the new ring entry from a run with `--key-id prod-2` and
append it (docs/production.md).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.core.keygen import KEY_NAMES, generate, public_key_of

# Besides what every environment holds: the ranking key of the access sample, which
# would otherwise fall back to the secret key (rotating that would change re-draws).
EXTRA_NAMES = ("SHADAN_ACCESS_SAMPLE_KEY",)


class Command(BaseCommand):
    help = "Print fresh production secrets (environment-file format) to stdout; writes nothing."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--key-id",
            default="prod-1",
            help="Id of the first key of the vault and audit MAC key rings (default prod-1).",
        )

    def handle(self, *args: Any, key_id: str, **options: Any) -> None:
        values = {name: generate(name, key_id=key_id) for name in (*KEY_NAMES, *EXTRA_NAMES)}
        values["AUDIT_VERIFY_KEY"] = public_key_of(values["AUDIT_SIGNING_KEY"])
        lines = [
            "# shadan production secrets from `manage.py generate_production_keys`.",
            "# Keep them outside the code, readable by the service user only (chmod 600).",
            "# Back them up apart from the database dumps: without VAULT_MASTER_KEYS the",
            "# vault cannot be read, without AUDIT_MAC_KEYS no event can be checked.",
            "# AUDIT_VERIFY_KEY is public: give it to whoever runs audit_verify elsewhere.",
        ]
        lines += [f"{name}={values[name]}" for name in (*KEY_NAMES, "AUDIT_VERIFY_KEY")]
        lines += [f"{name}={values[name]}" for name in EXTRA_NAMES]
        self.stdout.write("\n".join(lines))
