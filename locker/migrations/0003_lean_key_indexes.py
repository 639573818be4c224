import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_product_low_stock_threshold_product_unit_price"),
        ("locker", "0002_keyevent_keyimport_productkey_purged_at_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # Every index of the key table is written for each imported key: keep only those the queries use.
    # The new unique constraint comes first, so fingerprints are never without one (LOCK-5).
    operations = [
        migrations.AddConstraint(
            model_name="productkey",
            constraint=models.UniqueConstraint(fields=("fingerprint",), name="key_fingerprint_unique"),
        ),
        migrations.AlterField(
            model_name="productkey",
            name="fingerprint",
            field=models.CharField(editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="productkey",
            name="master_key_id",
            field=models.CharField(editable=False, max_length=16),
        ),
        migrations.AlterField(
            model_name="productkey",
            name="owner",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="locker_keys",
                to=settings.AUTH_USER_MODEL,
                verbose_name="owner",
            ),
        ),
        migrations.AlterField(
            model_name="productkey",
            name="product",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="keys",
                to="catalog.product",
            ),
        ),
    ]
