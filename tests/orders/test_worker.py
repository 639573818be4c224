"""The journey through a real Celery worker process, Redis, PostgreSQL and a real SMTP server."""

import re

import pytest
from django.conf import settings

from locker.models import ProductKey
from orders.models import Order
from orders.services import LineIn, order_place
from orders.tasks import sweep_orders
from tests.conftest import wait_until
from tests.factories import make_product, org_of, stock


def _body(message) -> tuple[str, str]:
    text = html = ""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode()
        elif part.get_content_type() == "text/html":
            html = part.get_payload(decode=True).decode()
    return text, html


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_esd3_esd9_worker_fulfils_and_sends_the_welcome_mail(celery_worker, smtp_server, reseller):
    """ESD-3, ESD-9: placement to welcome mail with no person, on the real services, within seconds."""
    win = make_product("W81-PRO", name="Windows 8.1 Pro")
    office = make_product("O2013-HB", name="Office Home and Business 2013")
    keys = stock(win, 2) + stock(office, 1)
    order = order_place(
        reseller=org_of(reseller),
        placed_by=reseller,
        end_customer_email="journey@end.test",
        lines=[LineIn(product_id=win.pk, quantity=2), LineIn(product_id=office.pk, quantity=1)],
    )
    wait_until(
        lambda: Order.objects.get(pk=order.pk).welcome_mail_status == Order.MailStatus.SENT,
        timeout=60,
        what="the welcome mail to be sent",
    )
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert ProductKey.objects.filter(owner__email="journey@end.test").count() == 3

    message = smtp_server.wait_for(lambda m: m["To"] == "journey@end.test")
    assert message["From"] == settings.LOCKER_EMAIL_FROM
    text, html = _body(message)
    assert text and html
    for body in (text, html):
        assert win.installer_url in body and office.installer_url in body
        assert re.search(r"/accounts/password/reset/key/[0-9a-z]+-", body)
        for k in keys:
            assert k not in body and k.replace("-", "") not in body
    assert message["Subject"] and all(k not in message["Subject"] for k in keys)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_esd5_all5_waiting_order_completes_when_keys_arrive_and_sweeper_recovers(
    celery_worker, smtp_server, reseller
):
    """ESD-5, ALL-5: an order short of keys waits, then completes by itself once keys are imported."""
    product = make_product()
    order = order_place(
        reseller=org_of(reseller),
        placed_by=reseller,
        end_customer_email="waiting@end.test",
        lines=[LineIn(product_id=product.pk, quantity=2)],
    )
    wait_until(
        lambda: Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_STOCK,
        timeout=60,
        what="the order to wait for stock",
    )
    stock(product, 2)
    wait_until(
        lambda: Order.objects.get(pk=order.pk).welcome_mail_status == Order.MailStatus.SENT,
        timeout=60,
        what="the order to complete after the import",
    )

    # A message that never reached the broker: the sweeper task, run by the worker, finds the order.
    stock(product, 1)
    lost = Order.objects.create(
        reseller=org_of(reseller), placed_by=reseller, end_customer_email="lost@end.test"
    )
    lost.lines.create(product=product, quantity=1, unit_price=product.unit_price)
    Order.objects.filter(pk=lost.pk).update(next_attempt_at=lost.created_at.replace(year=2020))
    sweep_orders.delay()
    wait_until(
        lambda: Order.objects.get(pk=lost.pk).status == Order.Status.FULFILLED,
        timeout=60,
        what="the sweeper to fulfil the lost order",
    )
