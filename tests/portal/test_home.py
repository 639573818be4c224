"""The home page (issue #13): a reseller's overview of what needs attention, staff's pointer to the admin
with today's alerts and low stock, the end customer's locker (ALL-1, ESD-5, ESD-7)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation
from orders.models import Order, StaffAlert
from tests.factories import login_staff_with_mfa, make_org, make_product, make_user, org_of


def _order(reseller, email, **fields):
    order = Order.objects.create(reseller=org_of(reseller), placed_by=reseller, end_customer_email=email)
    product = make_product()
    order.lines.create(product=product, quantity=1, unit_price=product.unit_price)
    Order.objects.filter(pk=order.pk).update(**fields)
    return order


@pytest.mark.django_db
def test_esd7_reseller_home_counts_what_needs_attention_and_shows_last_orders(
    client, reseller, other_reseller, settings, django_assert_max_num_queries
):
    """Orders awaiting stock, welcome mails failed, deliveries unopened after DASHBOARD_UNOPENED_DAYS, each
    linking to the list filtered so; the last orders; nothing of another reseller's (ALL-1)."""
    settings.DASHBOARD_UNOPENED_DAYS = 7
    long_ago = timezone.now() - timedelta(days=10)
    _order(reseller, "a@shop.test", status=Order.Status.AWAITING_STOCK)
    _order(reseller, "b@shop.test", status=Order.Status.AWAITING_STOCK)
    _order(reseller, "c@shop.test", welcome_mail_status=Order.MailStatus.FAILED)
    _order(reseller, "d@shop.test", status=Order.Status.FULFILLED, fulfilled_at=long_ago)
    _order(other_reseller, "theirs@shop.test", status=Order.Status.AWAITING_STOCK)
    client.force_login(reseller)
    client.get(reverse("home"))
    with django_assert_max_num_queries(8):
        response = client.get(reverse("home"))
    html = response.content.decode()
    assert response.status_code == 200
    counts = dict(
        (label, value)
        for value, label in __import__("re").findall(
            r'<span class="stat__value">(\d+)</span>\s*<span class="stat__label">([^<]+)</span>', html
        )
    )
    assert counts == {
        "Orders awaiting stock": "2",
        "Welcome mails failed": "1",
        "Keys not opened after 7 days": "1",
    }
    assert (
        "?status=awaiting_stock" in html
        and "?attention=mail_failed" in html
        and "?attention=unopened" in html
    )
    assert "a@shop.test" in html and "theirs@shop.test" not in html


@pytest.mark.django_db
def test_home_queries_do_not_grow_with_orders(client, reseller, django_assert_max_num_queries):
    for i in range(40):
        _order(reseller, f"n{i}@shop.test", status=Order.Status.AWAITING_STOCK)
    client.force_login(reseller)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("home")).status_code == 200


@pytest.mark.django_db
def test_esd5_staff_home_points_to_the_admin_with_alerts_and_low_stock(client, staff):
    """Staff see today's alerts and the products below their warning threshold (ESD-5), with links into the
    admin."""
    make_product(name="Scarce Suite", low_stock_threshold=5)
    make_product(name="Plenty Pack", low_stock_threshold=0)
    StaffAlert.objects.create(kind=StaffAlert.Kind.VENDOR_FAILED, message="x")
    login_staff_with_mfa(client, staff)
    html = client.get(reverse("home")).content.decode()
    assert reverse("admin:index") in html and "Scarce Suite" in html and "Plenty Pack" not in html
    assert "1 raised today" in html
    alerts = reverse("admin:orders_staffalert_changelist") + "?acknowledged_at__isempty=1"
    low = reverse("admin:catalog_product_changelist") + "?stock=low"
    assert f'<a class="card stat stat--alert" href="{alerts}">' in html  # an open alert: the card is red
    assert f'<a class="card stat stat--attention" href="{low}">' in html


@pytest.mark.django_db
def test_end_customer_home_is_the_locker(client, end_customer):
    client.force_login(end_customer)
    assert client.get(reverse("home"))["Location"] == reverse("locker:index")


@pytest.mark.django_db
def test_customer_member_without_reseller_goes_to_the_centre_and_keeps_the_locker(client):
    """A member of a customer organisation starts in the customer centre (issue #14); as an end customer
    they may also receive keys, so their locker stays reachable (ESD-7)."""
    user = make_user(make_org(Organisation.Kind.CUSTOMER, "Buyer Ltd"), email="it@buyer.test")
    client.force_login(user)
    assert client.get(reverse("home"))["Location"] == reverse("centre:home")
    assert client.get(reverse("locker:index")).status_code == 200
