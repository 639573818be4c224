"""Issue #13: an organisation's postal (billing) address, printed for the buyer on invoices."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_memberships_per_organisation"),
    ]

    operations = [
        migrations.AddField(
            model_name="organisation",
            name="street",
            field=models.CharField(blank=True, max_length=200, verbose_name="street and number"),
        ),
        migrations.AddField(
            model_name="organisation",
            name="postcode",
            field=models.CharField(blank=True, max_length=20, verbose_name="postcode"),
        ),
        migrations.AddField(
            model_name="organisation",
            name="city",
            field=models.CharField(blank=True, max_length=100, verbose_name="city"),
        ),
        migrations.AddField(
            model_name="organisation",
            name="country",
            field=models.CharField(blank=True, max_length=100, verbose_name="country"),
        ),
    ]
