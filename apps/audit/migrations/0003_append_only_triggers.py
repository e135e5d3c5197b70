"""Database triggers that refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) on the
audit tables. The SQL lives in apps.audit.db; the table list is frozen here so a later
change to that module's defaults does not rewrite what this migration did."""

from django.db import migrations

TABLES = (
    "audit_auditevent",
    "audit_auditseal",
    "audit_auditcheckpoint",
    "audit_auditverification",
)


def install(apps, schema_editor):
    from apps.audit.db import install_triggers

    install_triggers(schema_editor.connection, TABLES)


def drop(apps, schema_editor):
    from apps.audit.db import drop_triggers

    drop_triggers(schema_editor.connection, TABLES)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0002_chain_checkpoints_verifications"),
    ]

    operations = [
        migrations.RunPython(install, drop),
    ]
