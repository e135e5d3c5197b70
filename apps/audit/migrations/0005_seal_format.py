"""Each seal names the format of the canonical bytes its hash covers (apps.audit.chain).
Every seal written so far is format 1. On SQLite adding the column rebuilds the table,
which drops its append-only triggers: they are installed again right after."""

from django.db import migrations, models


def reinstall_triggers(apps, schema_editor):
    from apps.audit.db import install_triggers

    install_triggers(schema_editor.connection, ("audit_auditseal",))


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0004_fewer_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditseal',
            name='format',
            field=models.SmallIntegerField(default=1, verbose_name='canonical format'),
        ),
        migrations.RunPython(reinstall_triggers, migrations.RunPython.noop),
    ]
