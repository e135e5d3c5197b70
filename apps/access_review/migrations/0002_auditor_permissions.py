"""The auditor role may read and review sampled accesses (apps.accounts.roles)."""

from django.db import migrations

from apps.accounts.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [
        ("access_review", "0001_initial"),
        ("accounts", "0002_divisions_and_roles"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
