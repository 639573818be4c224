"""Issue #13: each order line keeps the price it was placed at; orders carry the reseller's reference.

Orders placed before this migration get their lines' prices from the product's price at the time the
migration runs (the best the database knows: the price a line was placed at was not recorded). Their invoices
already exist with the prices of their day and are not touched. The column becomes required in 0010, once
filled.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_line_prices(apps, schema_editor):
    OrderLine = apps.get_model("orders", "OrderLine")
    Product = apps.get_model("catalog", "Product")
    price = Product.objects.filter(pk=OuterRef("product_id")).values("unit_price")[:1]
    OrderLine.objects.filter(unit_price__isnull=True).update(unit_price=Subquery(price))


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_product_low_stock_threshold_product_unit_price"),
        ("orders", "0008_order_links_and_customer_steps"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="reseller_reference",
            field=models.CharField(blank=True, default="", max_length=64, verbose_name="reseller reference"),
        ),
        migrations.AddField(
            model_name="orderline",
            name="unit_price",
            field=models.DecimalField(
                decimal_places=2, max_digits=10, null=True, verbose_name="unit price (net)"
            ),
        ),
        migrations.RunPython(fill_line_prices, migrations.RunPython.noop),
    ]
