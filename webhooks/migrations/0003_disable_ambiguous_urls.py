"""Endpoints registered with a URL that parsers read differently (a backslash, credentials or "@" in the
authority: issue #10, item 3) are disabled, and the answers recorded for them are erased: those answers may
have come from an internal address rather than the host the filter checked."""

from django.db import migrations
from django.db.models import Q


def disable(apps, schema_editor):
    WebhookEndpoint = apps.get_model("webhooks", "WebhookEndpoint")
    WebhookAttempt = apps.get_model("webhooks", "WebhookAttempt")
    ambiguous = WebhookEndpoint.objects.filter(Q(url__contains="\\") | Q(url__contains="@"))
    WebhookAttempt.objects.filter(delivery__endpoint__in=ambiguous).update(response_body="")
    ambiguous.update(active=False)


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0002_attempt_response_excerpt")]

    operations = [migrations.RunPython(disable, migrations.RunPython.noop)]
