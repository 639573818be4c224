from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_product_low_stock_threshold_product_unit_price"),
        ("locker", "0003_lean_key_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # The new index first, so a customer's keys are never without one.
    operations = [
        migrations.AddIndex(
            model_name="productkey",
            index=models.Index(fields=["owner", "-allocated_at", "-product", "-id"], name="key_locker_idx"),
        ),
        migrations.RemoveIndex(
            model_name="productkey",
            name="key_owner_idx",
        ),
    ]
