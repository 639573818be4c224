import pytest
from django.core import mail

from accounts.models import User
from locker.models import ProductKey
from orders.models import Allocation, Order, OrderEvent
from orders.services import OrderError, order_fulfil, orders_sweep
from tests.factories import make_product, stock
from tests.factories import place_order as place


@pytest.mark.django_db
def test_esd3_order_is_fulfilled_and_mailed_without_a_person(
    reseller, product, product2, django_capture_on_commit_callbacks
):
    """ESD-3, ESD-4, ESD-9: placing an order is all it takes: keys allocated, welcome mail sent."""
    stock(product, 3)
    stock(product2, 1)
    with django_capture_on_commit_callbacks(execute=True):
        order = place(reseller, (product, 2), (product2, 1))
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert order.welcome_mail_status == Order.MailStatus.SENT
    assert Allocation.objects.filter(line__order=order).count() == 3
    assert list(order.events.values_list("kind", flat=True)) == [
        "placed",
        "fulfilled",
        "welcome_mail_queued",
        "welcome_mail_sent",
    ]
    assert order.events.get(kind="placed").actor == reseller
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_esd1_server_and_non_esd_products_cannot_be_ordered(reseller):
    """ESD-1: only ESD-eligible, non-server, active products are orderable."""
    not_esd = make_product(esd_eligible=False)
    server = make_product(esd_eligible=False, is_server=True)
    inactive = make_product(active=False)
    for p in (not_esd, server, inactive):
        with pytest.raises(OrderError) as exc:
            place(reseller, (p, 1))
        assert exc.value.code == "product_not_orderable"
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_esd1_database_refuses_a_server_product_marked_esd():
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        make_product(esd_eligible=True, is_server=True)


@pytest.mark.django_db
def test_esd2_one_order_one_address_many_products_and_units(reseller, product, product2):
    """ESD-2: several products and units, one end customer; repeated products are merged into one line."""
    order = place(reseller, (product, 2), (product2, 1), (product, 3), email="  Mixed@Case.TEST ")
    assert order.end_customer_email == "mixed@case.test"
    assert sorted(order.lines.values_list("product__sku", "quantity")) == [("O2013-HB", 1), ("W81-PRO", 5)]
    for bad in ("", "not-an-address", "a@b"):
        with pytest.raises(OrderError) as exc:
            place(reseller, (product, 1), email=bad)
        assert exc.value.field == "end_customer_email"
    with pytest.raises(OrderError):
        place(reseller)
    with pytest.raises(OrderError):
        place(reseller, (product, 0))


@pytest.mark.django_db
def test_esd5_short_order_waits_whole_then_completes_when_keys_arrive(
    reseller, product, product2, django_capture_on_commit_callbacks
):
    """ESD-5: never half-delivered; waits (staff see what is short) and completes by itself on import."""
    stock(product, 2)
    with django_capture_on_commit_callbacks(execute=True):
        order = place(reseller, (product, 2), (product2, 3))
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_STOCK
    assert ProductKey.objects.filter(product=product, status="available").count() == 2  # nothing held back
    assert not Allocation.objects.exists()
    assert order.events.get(kind="awaiting_stock").data == {"short": {"O2013-HB": 3}}
    assert order.end_customer is None and not mail.outbox

    stock(product2, 2)  # still short: keeps waiting, no second awaiting event
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_STOCK
    with django_capture_on_commit_callbacks(execute=True):
        stock(product2, 1)
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert order.events.filter(kind="awaiting_stock").count() == 1
    assert Allocation.objects.filter(line__order=order).count() == 5
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_all5_fulfilment_run_twice_does_no_harm_twice(reseller, product, django_capture_on_commit_callbacks):
    """ALL-5: a task delivered twice finds the work done."""
    stock(product, 5)
    order = place(reseller, (product, 2))
    with django_capture_on_commit_callbacks(execute=True):
        order_fulfil(order_id=order.pk)
    with django_capture_on_commit_callbacks(execute=True):
        order_fulfil(order_id=order.pk)
    from orders.mail import welcome_mail_send

    assert welcome_mail_send(order_id=order.pk) is False
    assert Allocation.objects.filter(line__order=order).count() == 2
    assert order.events.filter(kind="fulfilled").count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_all5_sweeper_picks_up_orders_whose_message_was_lost(
    reseller, product, settings, django_capture_on_commit_callbacks
):
    """ALL-5: the database is the truth; an order whose task never ran is fulfilled by the sweeper, and a
    sweep enqueues each due order at most once per interval (no flood while workers are away)."""
    from datetime import timedelta

    from django.utils import timezone

    stock(product, 1)
    order = place(reseller, (product, 1))  # on_commit never ran: the message is "lost"
    assert Order.objects.get(pk=order.pk).status == Order.Status.PLACED
    assert orders_sweep() == {"fulfil": 0, "welcome_mail": 0}  # not due yet
    later = timezone.now() + timedelta(seconds=settings.ORDER_SWEEP_INTERVAL + 1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert orders_sweep(now=later) == {"fulfil": 1, "welcome_mail": 0}
    assert orders_sweep(now=later) == {"fulfil": 0, "welcome_mail": 0}  # pushed back one interval
    for callback in callbacks:
        with django_capture_on_commit_callbacks(execute=True):
            callback()
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED and order.welcome_mail_status == Order.MailStatus.SENT
    assert order.next_attempt_at is None


@pytest.mark.django_db
def test_esd15_one_locker_account_per_address_across_resellers(
    reseller, other_reseller, product, django_capture_on_commit_callbacks
):
    """ESD-15: orders for one address from two resellers land in the same locker account."""
    stock(product, 2)
    with django_capture_on_commit_callbacks(execute=True):
        a = place(reseller, (product, 1), email="same@end.test")
    with django_capture_on_commit_callbacks(execute=True):
        b = place(other_reseller, (product, 1), email="SAME@end.test")
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.end_customer == b.end_customer
    account = User.objects.get(email="same@end.test")
    assert not account.has_usable_password()
    assert ProductKey.objects.filter(owner=account).count() == 2


@pytest.mark.django_db
def test_all3_transitions_are_recorded_and_only_allowed_ones_happen(reseller, product):
    """ALL-3: a fulfilled order cannot go back; every transition wrote an event with its actor."""
    from orders.services import order_transition

    order = place(reseller, (product, 1))
    with pytest.raises(OrderError):
        order_transition(order, Order.Status.PLACED)
    assert OrderEvent.objects.filter(order=order).count() == 1


@pytest.mark.django_db
def test_esd7_keys_never_go_to_a_portal_members_address(reseller, other_reseller, staff, product):
    """ESD-7: a reseller cannot order keys to its own (or any portal member's) address."""
    for email in (reseller.email, other_reseller.email.upper(), staff.email):
        with pytest.raises(OrderError) as exc:
            place(reseller, (product, 1), email=email)
        assert exc.value.code == "member_address" and exc.value.field == "end_customer_email"
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_all2_overlong_address_is_a_field_error_not_a_500(client, reseller, product):
    """ALL-2: an address longer than the column is refused next to the field."""
    long_email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".test"
    with pytest.raises(OrderError):
        place(reseller, (product, 1), email=long_email)
    client.force_login(reseller)
    from django.urls import reverse

    response = client.post(
        reverse("orders:new"),
        {
            "end_customer_email": long_email,
            "end_customer_email_confirmation": long_email,
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-product": product.pk,
            "lines-0-quantity": "1",
        },
    )
    assert response.status_code == 200 and "errorlist" in response.content.decode()


@pytest.mark.django_db
def test_esd5_shortage_recorded_is_what_the_order_lacks(
    reseller, product, product2, django_capture_on_commit_callbacks
):
    """ESD-5: staff see exactly what is short, product by product."""
    stock(product, 1)
    with django_capture_on_commit_callbacks(execute=True):
        order = place(reseller, (product2, 2), (product, 3))
    event = Order.objects.get(pk=order.pk).events.get(kind="awaiting_stock")
    assert event.data == {"short": {"W81-PRO": 2, "O2013-HB": 2}}
