"""A finished or failed import holds no sealed file: its master key id is cleared too, so the
vault's rotation and report (locker.vault) skip it (a failed import kept the id of a file it no longer had)."""

from django.db import migrations


def clear(apps, schema_editor):
    KeyImport = apps.get_model("locker", "KeyImport")
    KeyImport.objects.filter(status__in=["done", "failed"]).exclude(payload_master_key_id="").update(
        payload=b"", payload_key=b"", payload_master_key_id=""
    )


class Migration(migrations.Migration):
    dependencies = [("locker", "0004_locker_page_index")]

    operations = [migrations.RunPython(clear, migrations.RunPython.noop)]
