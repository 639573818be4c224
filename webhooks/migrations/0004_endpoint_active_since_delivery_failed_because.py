"""Issue #11, item 5: an endpoint receives only events from its `active_since` on (existing endpoints: from
when they were created), and a delivery held by a disabled endpoint past the retry window says why it failed.
"""

import django.utils.timezone
from django.db import migrations, models


def from_creation(apps, schema_editor):
    WebhookEndpoint = apps.get_model("webhooks", "WebhookEndpoint")
    WebhookEndpoint.objects.update(active_since=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0003_disable_ambiguous_urls")]

    operations = [
        migrations.AddField(
            model_name="webhookendpoint",
            name="active_since",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="active since"),
        ),
        migrations.RunPython(from_creation, migrations.RunPython.noop),
        migrations.AddField(
            model_name="webhookdelivery",
            name="failed_because",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "The last attempt was not answered with 2xx"),
                    (
                        "endpoint_disabled",
                        "The endpoint was disabled until the retry window ended; nothing was sent.",
                    ),
                ],
                default="",
                max_length=30,
            ),
        ),
    ]
