"""Issue #13: a line's price is required from now on (0009 filled the existing ones); the reseller's
reference is indexed for the order list's search, and the invoice list reads (reseller, issued_at, id)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0009_line_prices_and_reseller_reference"),
    ]

    operations = [
        migrations.AlterField(
            model_name="orderline",
            name="unit_price",
            field=models.DecimalField(decimal_places=2, max_digits=10, verbose_name="unit price (net)"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["reseller", "reseller_reference"], name="order_reseller_ref_idx"),
        ),
        migrations.RemoveIndex(model_name="invoice", name="invoice_reseller_idx"),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(fields=["reseller", "-issued_at", "-id"], name="invoice_reseller_recent_idx"),
        ),
    ]
