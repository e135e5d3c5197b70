"""Two indexes fewer on the audit events, one better: every index costs each INSERT,
and the trail must take 1,000 events/s from four writers (bench item 4).

- actor_id alone: audit_actor_idx (actor_id, id) serves every lookup by actor.
- action alone (and, on PostgreSQL, its LIKE twin): replaced by audit_action_idx
  (action, id), which also serves the search's newest-first keyset pages.

Only the indexes are dropped (found by introspection, whatever their generated names):
AlterField would rebuild the table on SQLite, and with it lose the append-only
triggers."""

from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion

TABLE = "audit_auditevent"


def drop_single_column_indexes(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    for name, info in constraints.items():
        if (
            info["index"]
            and not info["primary_key"]
            and not info["unique"]
            and info["columns"] in (["actor_id"], ["action"])
        ):
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def recreate_single_column_indexes(apps, schema_editor):
    for column in ("actor_id", "action"):
        name = schema_editor.quote_name(f"{TABLE}_{column}_single")
        schema_editor.execute(f"CREATE INDEX {name} ON {TABLE} ({column})")


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_append_only_triggers'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='auditevent',
                    name='action',
                    field=models.CharField(choices=[('application.created', 'Application created'), ('application.updated', 'Application edited'), ('application.submitted', 'Application submitted'), ('application.encoded', 'Customer data encoded'), ('application.encode_refused', 'Encoding refused (leak found)'), ('application.review_opened', 'Review page opened'), ('application.verified', 'Masking verified (second person)'), ('application.returned', 'Returned for correction'), ('application.released', 'Construction released'), ('application.completed', 'Construction completed'), ('application.energized', 'Energized'), ('application.cancelled', 'Application cancelled'), ('application.retailer_changed', 'Retailer changed'), ('application.masking_invalidated', 'Masking invalidated by a change'), ('pii.read', 'Personal data read'), ('retail.viewed', 'Viewed by retail'), ('permission.granted', 'Permission granted'), ('permission.revoked', 'Permission revoked'), ('user.created', 'User created'), ('user.role_granted', 'Role granted'), ('user.role_revoked', 'Role revoked'), ('user.transferred', 'User transferred between divisions'), ('auth.login', 'Signed in'), ('auth.logout', 'Signed out'), ('auth.login_failed', 'Sign-in failed'), ('retailer.created', 'Retailer created'), ('retailer.affiliation_proposed', 'Affiliation change proposed'), ('retailer.affiliation_approved', 'Affiliation change approved'), ('retailer.affiliation_rejected', 'Affiliation change rejected'), ('vault.erased', 'Customer data erased'), ('system.configuration_changed', 'Configuration changed'), ('system.export', 'Export')], max_length=64, verbose_name='action'),
                ),
                migrations.AlterField(
                    model_name='auditevent',
                    name='actor',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='actor'),
                ),
            ],
            database_operations=[
                migrations.RunPython(
                    drop_single_column_indexes, recreate_single_column_indexes
                ),
            ],
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['action', 'id'], name='audit_action_idx'),
        ),
    ]
