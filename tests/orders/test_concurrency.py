from functools import partial

import pytest

from locker.models import ProductKey
from orders.models import Allocation, Order
from orders.services import LineIn, order_fulfil, order_place
from tests.conftest import run_concurrently
from tests.factories import make_product, org_of, stock


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_esd4_fifty_orders_racing_for_twenty_keys_never_share_one(reseller):
    """ESD-4: 50 concurrent fulfilments, 20 keys: exactly 20 keys allocated, none to two order lines."""
    product = make_product()
    stock(product, 20)
    org = org_of(reseller)
    orders = [
        order_place(
            reseller=org,
            placed_by=reseller,
            end_customer_email=f"c{i}@end.test",
            lines=[LineIn(product_id=product.pk, quantity=1)],
        )
        for i in range(50)
    ]
    run_concurrently([partial(order_fulfil, order_id=o.pk) for o in orders])
    assert ProductKey.objects.filter(product=product, status="allocated").count() == 20
    assert ProductKey.objects.filter(product=product, status="available").count() == 0
    assert Allocation.objects.count() == 20
    assert Allocation.objects.values("key").distinct().count() == 20
    assert Order.objects.filter(status=Order.Status.FULFILLED).count() == 20
    assert Order.objects.filter(status=Order.Status.AWAITING_STOCK).count() == 30
    # Each fulfilled order's key belongs to that order's customer and to no one else.
    for a in Allocation.objects.select_related("key", "line__order__end_customer"):
        assert a.key.owner == a.line.order.end_customer
