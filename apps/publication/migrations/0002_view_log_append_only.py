"""Triggers that refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) on the retail view
log. The SQL lives in apps.publication.db; the table is named here so a later change to
that module's defaults does not rewrite what this migration did. Runs only where the
publication app migrates: the retail alias on the T&D side, the retail site's database."""

from django.db import migrations

TABLES = ("publication_retailviewlog",)


def install(apps, schema_editor):
    from apps.publication.db import install_triggers

    install_triggers(schema_editor.connection, TABLES)


def drop(apps, schema_editor):
    from apps.publication.db import drop_triggers

    drop_triggers(schema_editor.connection, TABLES)


class Migration(migrations.Migration):

    dependencies = [
        ("publication", "0001_retail_database"),
    ]

    operations = [
        migrations.RunPython(install, drop),
    ]
