"""WebhookAttempt.response_body keeps a 200-character printable excerpt, no longer 2,000 raw characters.

Existing answers are cut down the same way first (issue #10, item 3), so the column can shrink.
"""

import unicodedata

from django.db import migrations, models


def _excerpt(text: str) -> str:
    # A copy of webhooks.targets.excerpt as it is now (a migration must not follow later code changes).
    kept = "".join(
        " " if char.isspace() else char
        for char in text
        if unicodedata.category(char)[0] != "C" or char.isspace()
    )
    return " ".join(kept.split())[:200]


def shorten_answers(apps, schema_editor):
    WebhookAttempt = apps.get_model("webhooks", "WebhookAttempt")
    batch = []
    for attempt in WebhookAttempt.objects.exclude(response_body="").only("pk", "response_body").iterator():
        short = _excerpt(attempt.response_body)
        if short != attempt.response_body:
            attempt.response_body = short
            batch.append(attempt)
        if len(batch) >= 1000:
            WebhookAttempt.objects.bulk_update(batch, ["response_body"])
            batch = []
    WebhookAttempt.objects.bulk_update(batch, ["response_body"])


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(shorten_answers, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="webhookattempt",
            name="response_body",
            field=models.CharField(blank=True, max_length=200),
        ),
    ]
