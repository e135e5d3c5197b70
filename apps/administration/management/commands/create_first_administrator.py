"""Create the first administrator of a new deployment, through `user_create` (audited).

    SHADAN_ENV=production python manage.py create_first_administrator --username kanri

`createsuperuser` would make a user outside every division, whom no page accepts and no
four-eyes rule can place. This command makes a member of the administration division
with the administrator role, and refuses once any administrator exists: further people
are created by administrators on their pages. The password comes from an interactive
prompt (typed twice) or from SHADAN_FIRST_ADMIN_PASSWORD for an unattended install,
never from the command line, where it would stay in the shell history and the process list.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Division, DivisionCode, RoleCode, User
from apps.administration.services import user_create

PASSWORD_VARIABLE = "SHADAN_FIRST_ADMIN_PASSWORD"  # noqa: S105 (a variable name)


def administrators_exist() -> bool:
    """Any active superuser, or any active current member of the administration division."""
    now = timezone.now()
    current_admin = Q(
        memberships__division_id=DivisionCode.ADMIN,
        memberships__valid_from__lte=now,
    ) & (Q(memberships__valid_until__isnull=True) | Q(memberships__valid_until__gt=now))
    return User.objects.filter(is_active=True).filter(Q(is_superuser=True) | current_admin).exists()


class Command(BaseCommand):
    help = (
        "Create the first administrator (administration division, audited); refuses if one exists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, username: str, email: str, **options: Any) -> None:
        if administrators_exist():
            raise CommandError(
                "An administrator exists already: further people are created on the "
                "administrators' pages, not by this command."
            )
        password = self._password()
        with transaction.atomic():
            # Two installs started at once: the second waits here, then sees the first.
            Division.objects.select_for_update().get(code=DivisionCode.ADMIN)
            if administrators_exist():
                raise CommandError("An administrator was created meanwhile; nothing changed.")
            try:
                user = user_create(
                    acting_user=None,
                    username=username,
                    password=password,
                    email=email,
                    division=DivisionCode.ADMIN,
                    roles=[RoleCode.ADMINISTRATOR],
                )
            except ValidationError as exc:
                problems = "; ".join(
                    f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
                )
                raise CommandError(problems) from None
        self.stdout.write(f"Created administrator {user.username} (id {user.pk}).")

    def _password(self) -> str:
        password = os.environ.get(PASSWORD_VARIABLE, "")
        if password:
            return password
        if not sys.stdin.isatty():
            raise CommandError(
                f"No terminal to ask for the password: set {PASSWORD_VARIABLE} for this "
                "command only (it is never taken from the command line)."
            )
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ; nothing changed.")
        return first
