"""`audit_verify` now compares the PostgreSQL trigger function's body with the one in
apps.audit.db (issue 12, item 8), whose whitespace differs from what migration 0003
installed: install the function and the triggers again so an intact database verifies.
The table list is frozen here, like in 0003."""

from django.db import migrations, models

TABLES = (
    "audit_auditevent",
    "audit_auditseal",
    "audit_auditcheckpoint",
    "audit_auditverification",
)


def install(apps, schema_editor):
    from apps.audit.db import install_triggers

    install_triggers(schema_editor.connection, TABLES)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0009_probe_and_drop_actions"),
    ]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='auditverification',
            name='problem',
            field=models.CharField(blank=True, choices=[('altered', 'Event altered'), ('removed', 'Event missing or removed'), ('inserted', 'Event inserted or left unsealed'), ('out_of_order', 'Events out of order'), ('rewritten', 'Chain rewritten (checkpoint mismatch)'), ('checkpoint_invalid', 'Checkpoint invalid'), ('unprotected', 'Append-only triggers missing or disarmed')], max_length=32, verbose_name='first problem'),
        ),
    ]
